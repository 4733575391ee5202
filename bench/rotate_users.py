#!/usr/bin/env python3
"""Rotating many gateway users: ollama-gate's rotation run vs a community.general.htpasswd loop.

Runs against the demo gateway (`make demo`, nginx), on the same test host, side by side:

- ollama-gate: `playbooks/rotate-users.yml -e ollama_gate_rotate=all` for N users with generated
  credentials (a bench-only credential store in a temporary directory), twice: the whole run
  (install checks, site, service included) and the users-only fast path (`--tags users`), which
  does what the loop does: update the user store.
- the alternative: bench/htpasswd-loop.yml, one community.general.htpasswd iteration per user,
  with N new passwords, writing a separate file with the same {SSHA} scheme.

Each is timed for the rotation (every password new) and for a re-run with nothing to change,
which must report changed=0. The new credentials are checked: ollama-gate's through the gateway
(new password 200, old 401), the loop's by verifying the written hashes. At the end the demo's
own user list is applied again.

    python bench/rotate_users.py [--users 200] [--host ollama-gate-demo]
"""
from __future__ import annotations

import argparse
import base64
import json
import re
import secrets
import string
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from passlib.hash import ldap_salted_sha1

ROOT = Path(__file__).resolve().parents[1]
INVENTORY = "inventories/local/hosts.yml"
GATEWAY = "http://127.0.0.1:8080"
LOOP_FILE = "/etc/nginx/ollama-gate-bench-loop.htpasswd"


def playbook(playbook: str, *args: str) -> tuple[float, int, str]:
    """Run a playbook; return (seconds, changed count of the recap, output)."""
    start = time.monotonic()
    proc = subprocess.run(
        ["ansible-playbook", "-i", INVENTORY, playbook, *args],
        cwd=ROOT, capture_output=True, text=True,
    )
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"{playbook} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    recap = proc.stdout.split("PLAY RECAP")[-1]
    changed = sum(int(n) for n in re.findall(r"changed=(\d+)", recap))
    return seconds, changed, proc.stdout + proc.stderr


def status(name: str, password: str) -> int:
    request = urllib.request.Request(f"{GATEWAY}/api/tags")
    token = base64.b64encode(f"{name}:{password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def new_passwords(names: list[str]) -> list[dict]:
    alphabet = string.ascii_letters + string.digits
    return [{"name": n, "password": "".join(secrets.choice(alphabet) for _ in range(32))} for n in names]


def write_json(path: Path, data: dict) -> str:
    path.write_text(json.dumps(data))
    return f"@{path}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--host", default="ollama-gate-demo")
    args = parser.parse_args()
    names = [f"bench-user-{i:03d}" for i in range(args.users)]

    with tempfile.TemporaryDirectory(prefix="ollama-gate-bench-") as tmp:
        tmp_path = Path(tmp)
        store = tmp_path / "credentials"
        ours = ("-e", write_json(tmp_path / "ours.json", {
            "ollama_gate_users": [{"name": n} for n in names],
            "ollama_gate_credentials_dir": str(store),
        }))

        # ollama-gate: N users with generated credentials, then rotate them all
        print(f"setting up {args.users} users with generated credentials (not timed) ...", flush=True)
        playbook("playbooks/gateway.yml", *ours)
        rows = {}
        for label, tags in (("ollama-gate rotate-users.yml", ()),
                            ("ollama-gate rotate-users.yml --tags users", ("--tags", "users"))):
            before = (store / names[-1]).read_text().strip()
            seconds, changed, out = playbook(
                "playbooks/rotate-users.yml", *ours, *tags, "-e", "ollama_gate_rotate=all")
            if f"rotated: {', '.join(names)}" not in " ".join(out.split()):
                sys.exit("the rotation run did not report every user as rotated")
            after = (store / names[-1]).read_text().strip()
            if after == before or status(names[-1], before) != 401 or status(names[-1], after) != 200:
                sys.exit("ollama-gate's rotation did not take effect (old password still works or new one not)")
            rerun, rerun_changed, _ = playbook("playbooks/rotate-users.yml", *ours, *tags)
            rows[label] = (seconds, rerun, changed, rerun_changed)

        # the alternative: a community.general.htpasswd loop with N new passwords
        print("preparing the htpasswd loop (passlib on the target, first passwords; not timed) ...", flush=True)
        loop_vars = ("-e", f"bench_htpasswd_path={LOOP_FILE}")
        playbook("bench/htpasswd-loop.yml", *loop_vars, "-e",
                 write_json(tmp_path / "loop1.json", {"bench_users": new_passwords(names)}))
        second = new_passwords(names)
        loop2 = ("-e", write_json(tmp_path / "loop2.json", {"bench_users": second}))
        loop_rotate, loop_rotate_changed, _ = playbook("bench/htpasswd-loop.yml", *loop_vars, *loop2, "--tags", "users")
        written = subprocess.run(["docker", "exec", args.host, "cat", LOOP_FILE],
                                 check=True, capture_output=True, text=True).stdout
        hashes = dict(line.split(":", 1) for line in written.split())
        if not all(ldap_salted_sha1.verify(u["password"], hashes[u["name"]]) for u in second):
            sys.exit("the htpasswd loop did not write the new passwords")
        loop_rerun, loop_rerun_changed, _ = playbook("bench/htpasswd-loop.yml", *loop_vars, *loop2, "--tags", "users")

    print("restoring the demo's user list ...", flush=True)
    playbook("playbooks/gateway.yml")
    subprocess.run(["docker", "exec", args.host, "rm", "-f", LOOP_FILE], check=True)

    rows["community.general.htpasswd loop"] = (loop_rotate, loop_rerun, loop_rotate_changed, loop_rerun_changed)
    print(f"\nRotating {args.users} users on {args.host} (nginx, {{SSHA}} hashes), wall-clock seconds:")
    print(f"  {'':44}{'rotate all':>11}{'re-run':>9}{'changed (rotate/re-run)':>26}")
    for label, (rotate, rerun, changed, rerun_changed) in rows.items():
        print(f"  {label:44}{rotate:11.1f}{rerun:9.1f}{f'{changed}/{rerun_changed}':>26}")
    print("  ratio, loop time / ollama-gate time (rotate all, re-run):")
    for label, (rotate, rerun, _, _) in list(rows.items())[:2]:
        print(f"    {label:42}{loop_rotate / rotate:6.1f}x {loop_rerun / rerun:6.1f}x")
    # like for like: the loop only updates the user file, as --tags users does
    fast = rows["ollama-gate rotate-users.yml --tags users"]
    ok = fast[3] == 0 and rows["ollama-gate rotate-users.yml"][3] == 0 and loop_rotate / fast[0] >= 10
    print(f"  target: users-only rotation >= 10x faster than the loop, re-runs changed=0 -> {'met' if ok else 'NOT met'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
