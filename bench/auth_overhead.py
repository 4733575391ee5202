#!/usr/bin/env python3
"""Cost of Basic Auth in the gateway: requests/s with vs without credentials checking.

Runs against a converged gateway test host (default: the demo host from `make demo`). Inside it,
a bench-only copy of the gateway site without auth is served on another port, so both
measurements go through the same proxy, to the same Ollama, with the same settings; the only
difference is the credential check. Load: wrk from this machine, small GET /api/tags,
16 connections; rounds alternate (auth, no auth, ...) and the medians are compared.

    python bench/auth_overhead.py [--host ollama-gate-demo] [--proxy nginx] [--rounds 3]
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import statistics
import subprocess
import sys

BENCH_PORT = 18080
NGINX_SITE = "/etc/nginx/sites-available/ollama-gateway"
NGINX_BENCH_SITE = "/etc/nginx/sites-enabled/zz-ollama-gate-bench"


def sh(*args: str, check: bool = True) -> str:
    return subprocess.run(args, check=check, capture_output=True, text=True).stdout.strip()


def dexec(host: str, script: str) -> str:
    return sh("docker", "exec", host, "sh", "-c", script)


def container_address(host: str) -> str:
    info = json.loads(sh("docker", "inspect", host))[0]
    return info["NetworkSettings"]["Networks"]["ollama-gate"]["IPAddress"]


def gateway_user(host: str, inventory: str) -> tuple[str, str]:
    """The first user of the gateway, as the inventory used to converge it defines it."""
    out = subprocess.run(
        ["ansible", "-i", inventory, host, "-m", "ansible.builtin.debug", "-a", "msg={{ ollama_gate_users | first | to_json }}"],
        check=True, capture_output=True, text=True, env={**os.environ, "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1"},
    ).stdout
    user = json.loads(json.loads(out)["plays"][0]["tasks"][0]["hosts"][host]["msg"])
    return user["name"], user["password"]


CADDYFILE = "/etc/caddy/Caddyfile"


def add_unauthenticated_site(host: str, proxy: str, port: int) -> None:
    if proxy == "caddy":
        # the gateway's site block, copied without its basic_auth block, on another port
        dexec(
            host,
            f"cp {CADDYFILE} {CADDYFILE}.bench-orig && printf '\\n:{port} {{\\n\\treverse_proxy 127.0.0.1:11434 "
            f"{{\\n\\t\\theader_up Host {{upstream_hostport}}\\n\\t}}\\n}}\\n' >> {CADDYFILE} "
            f"&& caddy validate --adapter caddyfile --config {CADDYFILE} >/dev/null 2>&1 && systemctl reload caddy",
        )
        return
    # the gateway's server block (the one with auth_basic), copied without auth to another port;
    # upstreams and maps are shared, so everything else is the same
    site = sh("docker", "exec", host, "cat", NGINX_SITE)
    blocks = re.findall(r"^server \{\n.*?^\}\n", site + "\n", flags=re.S | re.M)
    block = next(b for b in blocks if "auth_basic " in b)
    block = re.sub(r"^\s*auth_basic_user_file .*;\n", "", block, flags=re.M)
    block = re.sub(r"auth_basic .*;", "auth_basic off;", block)
    block = re.sub(r"listen (.*):\d+;", rf"listen \1:{port};", block)
    subprocess.run(["docker", "exec", "-i", host, "sh", "-c", f"cat > {NGINX_BENCH_SITE}"],
                   input=block, text=True, check=True)
    dexec(host, "nginx -t -q && systemctl reload nginx")


def remove_unauthenticated_site(host: str, proxy: str) -> None:
    if proxy == "caddy":
        dexec(host, f"mv {CADDYFILE}.bench-orig {CADDYFILE} && systemctl reload caddy")
    else:
        dexec(host, f"rm -f {NGINX_BENCH_SITE} && nginx -t -q && systemctl reload nginx")


def wrk(url: str, seconds: int, headers: list[str]) -> float:
    args = ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency"]
    for h in headers:
        args += ["-H", h]
    out = sh(*args, url)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit(f"{non2xx.group(1)} failed responses from {url}:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="ollama-gate-demo")
    parser.add_argument("--inventory", default="inventories/local/hosts.yml")
    parser.add_argument("--proxy", default="nginx")
    parser.add_argument("--port", type=int, default=8080, help="the gateway's port")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install wrk")

    address = container_address(args.host)
    name, password = gateway_user(args.host, args.inventory)
    auth = "Authorization: Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()
    # the firewall (site.yml) lets only the gateway port in: open the bench port for the run
    dexec(args.host, f"! command -v ufw >/dev/null || ufw allow {BENCH_PORT}/tcp comment 'bench only'")
    add_unauthenticated_site(args.host, args.proxy, BENCH_PORT)
    try:
        # warm-up (keep-alive connections, Ollama's model list cache)
        wrk(f"http://{address}:{args.port}/api/tags", 1, [auth])
        with_auth, without_auth = [], []
        for _ in range(args.rounds):
            with_auth.append(wrk(f"http://{address}:{args.port}/api/tags", args.seconds, [auth]))
            without_auth.append(wrk(f"http://{address}:{BENCH_PORT}/api/tags", args.seconds, []))
    finally:
        remove_unauthenticated_site(args.host, args.proxy)
        dexec(args.host, f"! command -v ufw >/dev/null || ufw delete allow {BENCH_PORT}/tcp")

    a, b = statistics.median(with_auth), statistics.median(without_auth)
    print(f"proxy: {args.proxy}  host: {args.host}  GET /api/tags, 16 connections, {args.rounds} x {args.seconds}s alternating")
    print(f"  with Basic Auth    : {a:8.1f} req/s  (rounds: {', '.join(f'{x:.0f}' for x in with_auth)})")
    print(f"  without auth       : {b:8.1f} req/s  (rounds: {', '.join(f'{x:.0f}' for x in without_auth)})")
    print(f"  ratio auth/no-auth : {a / b:.3f}  (target >= 0.9)")
    return 0 if a / b >= 0.9 else 1


if __name__ == "__main__":
    sys.exit(main())
