#!/usr/bin/env python3
"""The gateway's own cost per request: Bearer API keys vs Basic Auth, and Basic Auth vs none, at
10, 100 and 1,000 credentials, with a fast upstream.

Ollama (and the stand-in, which is slower than real Ollama) answers in milliseconds and hides
what the gateway itself costs; here the upstream is a static responder on the gateway host, so
the proxy's work is most of each request. On a converged gateway test host (the demo host of
`make demo`, nginx or Caddy), two bench copies of the gateway's own site are added: one with the
access policy and authentication exactly as configured (CORS, key rewrite, role check), reading
a bench credential file, and one without authentication; both proxy to the static responder.
The bench account and its API key are placed last in the file (nginx scans its user file on
every request; Caddy looks accounts up by name). Rounds alternate between the variants; the
medians are compared. Target: Bearer keys cost no more than 10 % over Basic (ratio >= 0.9).

    python bench/access_overhead.py --proxy nginx|caddy [--host ollama-gate-demo] [--rounds 3]
"""
from __future__ import annotations

import argparse
import base64
import re
import secrets
import shutil
import statistics
import string
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]
from auth_overhead import container_address, dexec, sh, wrk  # noqa: E402 - bench/ is not a package
from ollama_gate_filters import load  # noqa: E402 - nor is tests/

gateway_users = load("users")

STATIC_PORT, AUTH_PORT, OPEN_PORT = 18099, 18081, 18082
COUNTS = (10, 100, 1000)
NGINX_SITE = "/etc/nginx/sites-available/ollama-gateway"
NGINX_BENCH = "/etc/nginx/sites-enabled/zz-ollama-gate-bench"
NGINX_USERS = "/etc/nginx/ollama-gate-bench.htpasswd"
CADDYFILE = "/etc/caddy/Caddyfile"
CADDY_USERS = "/etc/caddy/ollama-gate-bench.users"
STATIC_BODY = '{"models":[]}'


def random_secret() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))


def write(host: str, path: str, content: str) -> None:
    subprocess.run(["docker", "exec", "-i", host, "sh", "-c", f"cat > {path}"], input=content, text=True, check=True)


def credential_file(proxy: str, count: int, user: str, password: str, key_account: str, key_secret: str) -> str:
    """count accounts, the bench user and its key's account last; nginx: {SSHA} (the gateway's
    default), Caddy: bcrypt (cost 4 for the others, whom no request names; 12 for the bench ones)."""
    others = [{"name": f"bench-other-{i:04d}", "password": random_secret()} for i in range(count - 2)]
    ours = [{"name": user, "password": password},
            {"name": key_account, "user": user, "key": key_account.split("~")[1], "password": key_secret}]
    if proxy == "nginx":
        return gateway_users.gateway_htpasswd(others + ours, "", "ssha")
    return (gateway_users.gateway_htpasswd(others, "", "bcrypt", 4, " ")
            + gateway_users.gateway_htpasswd(ours, "", "bcrypt", 12, " "))


def nginx_sites(host: str) -> None:
    site = sh("docker", "exec", host, "cat", NGINX_SITE)
    block = next(b for b in re.findall(r"^server \{\n.*?^\}\n", site + "\n", flags=re.S | re.M) if "auth_basic " in b)
    block = block.replace("proxy_pass http://$ollama_gateway_upstream;", f"proxy_pass http://127.0.0.1:{STATIC_PORT};")
    auth = re.sub(r"listen (.*):\d+;", rf"listen \1:{AUTH_PORT};", block)
    auth = re.sub(r"auth_basic_user_file .*;", f"auth_basic_user_file {NGINX_USERS};", auth)
    open_ = re.sub(r"listen (.*):\d+;", rf"listen \1:{OPEN_PORT};", block)
    open_ = re.sub(r"^\s*auth_basic_user_file .*;\n", "", open_, flags=re.M)
    open_ = re.sub(r"auth_basic .*;", "auth_basic off;", open_)
    static = (f"server {{\n    listen 127.0.0.1:{STATIC_PORT};\n    access_log off;\n    default_type application/json;\n"
              f"    return 200 '{STATIC_BODY}';\n}}\n")
    write(host, NGINX_BENCH, static + auth + open_)
    dexec(host, "nginx -t -q && systemctl reload nginx")


def caddy_sites(host: str) -> None:
    caddyfile = sh("docker", "exec", host, "cat", CADDYFILE)
    dexec(host, f"cp {CADDYFILE} {CADDYFILE}.bench-orig")
    site = re.search(r"^(?P<address>\S+) \{\n(?P<body>.*?)^\}\n", caddyfile.split("\n}\n", 1)[1].lstrip("\n") + "\n",
                     flags=re.S | re.M)
    body = re.sub(r"reverse_proxy \S+ \{", f"reverse_proxy 127.0.0.1:{STATIC_PORT} {{", site["body"])
    auth = body.replace("import /etc/caddy/ollama-gateway.users", f"import {CADDY_USERS}")
    open_ = re.sub(r"\t\t(basic_auth|basicauth) bcrypt \"[^\"]*\" \{\n\t\t\timport [^\n]*\n\t\t\}\n", "", body)
    static = f"http://127.0.0.1:{STATIC_PORT} {{\n\trespond `{STATIC_BODY}` 200\n}}\n"
    write(host, CADDYFILE, caddyfile + "\n" + static + f":{AUTH_PORT} {{\n{auth}}}\n:{OPEN_PORT} {{\n{open_}}}\n")
    dexec(host, f"caddy validate --adapter caddyfile --config {CADDYFILE} >/dev/null 2>&1 && systemctl reload caddy")


def status(url: str, headers: list[str]) -> int:
    request = urllib.request.Request(url, headers=dict(h.split(": ", 1) for h in headers))
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status
    except urllib.error.HTTPError as error:
        return error.code


def remove_sites(host: str, proxy: str) -> None:
    if proxy == "nginx":
        dexec(host, f"rm -f {NGINX_BENCH} {NGINX_USERS} && nginx -t -q && systemctl reload nginx")
    else:
        dexec(host, f"mv {CADDYFILE}.bench-orig {CADDYFILE} && rm -f {CADDY_USERS} && systemctl reload caddy")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="ollama-gate-demo")
    parser.add_argument("--proxy", default="nginx", choices=["nginx", "caddy"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=3)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install wrk")

    address = container_address(args.host)
    user, password = "bench-user", random_secret()
    key_account, key_secret = f"{user}~bench", random_secret()
    basic = "Authorization: Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    bearer = "Authorization: Bearer og_" + base64.b64encode(f"{key_account}:{key_secret}".encode()).decode()
    users_path = NGINX_USERS if args.proxy == "nginx" else CADDY_USERS
    dexec(args.host, f"! command -v ufw >/dev/null || {{ ufw allow {AUTH_PORT}/tcp comment 'bench only' "
                     f"&& ufw allow {OPEN_PORT}/tcp comment 'bench only'; }}")
    rows = {}
    try:
        write(args.host, users_path, credential_file(args.proxy, COUNTS[0], user, password, key_account, key_secret))
        (nginx_sites if args.proxy == "nginx" else caddy_sites)(args.host)
        for count in COUNTS:
            write(args.host, users_path, credential_file(args.proxy, count, user, password, key_account, key_secret))
            if args.proxy == "caddy":  # Caddy reads its accounts when the config loads
                dexec(args.host, "systemctl reload caddy")
            url = f"http://{address}:{AUTH_PORT}/api/tags"
            # the authenticating copy does authenticate (wrk fails on any answer but 2xx/3xx)
            for header in ([], ["Authorization: Bearer og_" + base64.b64encode(f"{key_account}:x".encode()).decode()]):
                assert status(url, header) == 401, f"{url} with {header or 'no credentials'} is not 401"
            # warm-up: keep-alive connections, Caddy's cache of verified credentials (bcrypt at cost
            # 12 takes a quarter second per connection until it is cached), the proxy's heap
            wrk(f"http://{address}:{OPEN_PORT}/api/tags", 2, [])
            for header in (basic, bearer):
                wrk(url, 2, [header])
            results = {"none": [], "basic": [], "bearer": []}
            for _ in range(args.rounds):
                results["none"].append(wrk(f"http://{address}:{OPEN_PORT}/api/tags", args.seconds, []))
                results["basic"].append(wrk(url, args.seconds, [basic]))
                results["bearer"].append(wrk(url, args.seconds, [bearer]))
            rows[count] = {k: statistics.median(v) for k, v in results.items()}
    finally:
        remove_sites(args.host, args.proxy)
        dexec(args.host, f"! command -v ufw >/dev/null || {{ ufw delete allow {AUTH_PORT}/tcp; "
                         f"ufw delete allow {OPEN_PORT}/tcp; }}")

    print(f"\n{args.proxy} on {args.host}: GET /api/tags to a static responder, 16 connections, "
          f"{args.rounds} x {args.seconds}s alternating, medians in req/s")
    print(f"  {'credentials':>11} {'no auth':>9} {'Basic':>9} {'Bearer key':>11} {'Basic/none':>11} {'Bearer/Basic':>13}")
    ok = True
    for count, r in rows.items():
        ratio = r["bearer"] / r["basic"]
        ok = ok and ratio >= 0.9
        print(f"  {count:>11} {r['none']:9.0f} {r['basic']:9.0f} {r['bearer']:11.0f} {r['basic'] / r['none']:11.2f} "
              f"{ratio:13.2f}")
    print(f"  target: Bearer/Basic >= 0.9 at every size -> {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
