#!/usr/bin/env python3
"""Throughput of streamed generations through one gateway with 1, 2 and 3 Ollama backends,
measured side by side in one run on the pool test hosts (molecule/pool: its first gateway and
three of the backends, created and converged when missing).

The backends run the Ollama stand-in, which behaves like Ollama under load: every token costs a
fixed delay (OLLAMA_STANDIN_CHUNK_DELAY, 0.05 s there), at most OLLAMA_NUM_PARALLEL (2)
generations run at a time per backend and the next ones wait in its queue. So a backend's
throughput is bounded the way a GPU's is, and the gateway's pool is what can raise it. For each
pool size the gateway is re-applied with ollama_gate_backends set to the first N backends
(playbooks/gateway.yml), then the same load runs: CLIENTS clients, each sending its next
streamed /api/generate (TOKENS tokens) as soon as the last one ended, for SECONDS seconds.
Generations completed per second are compared with one backend's. Target: at least 2.7x with
three backends (the bench fails below). The gateway is left with its whole pool.

    python bench/pool_throughput.py [--proxy nginx|caddy] [--seconds 20] [--clients 12]
"""
from __future__ import annotations

import argparse
import glob
import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
BACKENDS = ["og-pool-b1", "og-pool-b2", "og-pool-b3"]
TOKENS = 20
TARGET = 2.7

_spec = importlib.util.spec_from_file_location("ollama_gate_pool_conftest", PROJECT / "tests/pool/conftest.py")
pool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pool)


def inventory() -> str:
    """The pool scenario's inventory, converging the scenario first when its hosts are missing."""
    found = sorted(glob.glob(os.path.expanduser("~/.ansible/tmp/molecule.*.pool/inventory/ansible_inventory.yml")),
                   key=os.path.getmtime)
    running = subprocess.run(["docker", "ps", "-q", "-f", "name=^og-pool-gw$"], capture_output=True, text=True).stdout
    if not found or not running.strip():
        subprocess.run(["molecule", "converge", "-s", "pool"], cwd=PROJECT, check=True, stdout=subprocess.DEVNULL)
        return inventory()
    return found[-1]


def apply(inventory_file: str, proxy: str, backends: list[str]) -> None:
    extra = f'{{"ollama_gate_backends": {backends!r}, "ollama_gate_proxy": "{proxy}"}}'.replace("'", '"')
    cmd = ["ansible-playbook", "-i", inventory_file, "playbooks/gateway.yml", "--limit", "og-pool-gw", "-e", extra,
           "-e", "caddy_gateway_install_method=distribution"]
    subprocess.run(cmd, cwd=PROJECT, check=True, stdout=subprocess.DEVNULL)


def measure(address: str, credentials: tuple[str, str], clients: int, seconds: float) -> tuple[float, int]:
    """Generations completed per second, and how many failed."""
    with pool.Load(address, credentials, workers=clients, tokens=TOKENS) as load:
        time.sleep(2)  # every client has one in flight
        start = time.monotonic()
        time.sleep(seconds)
        end = time.monotonic()
    done = [o for o in load.outcomes if start <= o.ended <= end]
    return sum(o.ok for o in done) / (end - start), sum(not o.ok for o in load.outcomes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proxy", choices=["nginx", "caddy"], default="nginx")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=12)
    args = parser.parse_args()
    os.environ.setdefault("MOLECULE_INVENTORY_FILE", inventory())
    os.environ.setdefault("OG_GATEWAY", "og-pool-gw")
    inventory_file = os.environ["MOLECULE_INVENTORY_FILE"]
    address = pool.docker.from_env().containers.get("og-pool-gw").attrs["NetworkSettings"]["Networks"][
        pool.gateway_lib.NETWORK]["IPAddress"]
    user = next(u for u in pool.gateway_lib.host_vars("og-pool-gw")["ollama_gate_users"] if u["name"] == "alice")
    rates = {}
    try:
        for count in (1, 2, 3):
            apply(inventory_file, args.proxy, BACKENDS[:count])
            rates[count], failed = measure(address, (user["name"], user["password"]), args.clients, args.seconds)
            print(f"{args.proxy}, {count} backend(s): {rates[count]:.2f} generations/s "
                  f"({rates[count] * TOKENS:.0f} tokens/s), {failed} failed", flush=True)
    finally:
        if rates.get(3) is None:
            apply(inventory_file, args.proxy, BACKENDS)
    ratios = {count: rates[count] / rates[1] for count in (2, 3)}
    print(f"{args.proxy}: 2 backends {ratios[2]:.2f}x, 3 backends {ratios[3]:.2f}x one backend's throughput "
          f"({args.clients} clients, {TOKENS} tokens per generation; target >= {TARGET}x at 3)")
    return 0 if ratios[3] >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
