#!/usr/bin/env python3
"""The cost of model affinity (ollama_gate_model_affinity, nginx), measured side by side in one
run on the pool test hosts (molecule/pool: its first gateway and three backends, created and
converged when missing): the gateway is applied with least_conn, then with affinity, and the same
loads run against each.

- one model: CLIENTS clients sending streamed generations (TOKENS tokens) of the same model, each
  its next as soon as the last one ended, for SECONDS seconds: generations per second;
- three models: the same, client i asking for model i % 3 (the three are pulled on every backend
  first);
- latency: REQUESTS sequential POST /api/show (no token delay: what the gateway adds shows) by
  one client, paced below the gateway's rate limit, median and 95th percentile.

The backends' stand-in runs two generations at a time and queues the rest (as Ollama with
OLLAMA_NUM_PARALLEL=2), each token 0.05 s: a backend is saturated like a GPU. What affinity buys
(a model stays loaded where its requests go, no swapping when not every model fits on every
backend) the stand-in does not model: it loads models instantly. The gateway is left with
least_conn.

    python bench/pool_affinity.py [--seconds 15] [--clients 12] [--requests 300]
"""
from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import statistics
import subprocess
import sys
import time

import pool_throughput as bench

MODELS = ["llama3.2", "llama3.2:1b", "qwen2.5:0.5b"]


def apply(inventory_file: str, affinity: bool) -> None:
    extra = json.dumps({"ollama_gate_model_affinity": affinity, "ollama_gate_backends": bench.BACKENDS,
                        "ollama_gate_proxy": "nginx"})
    subprocess.run(["ansible-playbook", "-i", inventory_file, "playbooks/gateway.yml", "--limit", "og-pool-gw",
                    "-e", extra], cwd=bench.PROJECT, check=True, stdout=subprocess.DEVNULL)


def pull_models() -> None:
    """The three models on every backend, pulled by each backend's own Ollama (loopback, or its
    private address without backend TLS)."""
    for backend in bench.BACKENDS:
        for model in MODELS:
            script = ("for a in 127.0.0.1 $(hostname -I); do curl -sf -m 60 http://$a:11434/api/pull "
                      f"-d '{{\"model\": \"{model}\", \"stream\": false}}' >/dev/null && exit 0; done; exit 1")
            subprocess.run(["docker", "exec", backend, "sh", "-c", script], check=True)


def throughput(address: str, credentials: tuple[str, str], clients: int, seconds: float, models: list[str]):
    """Generations completed per second with client i asking for models[i % len(models)], and how
    many failed."""
    loads = [bench.pool.Load(address, credentials, workers=1, tokens=bench.TOKENS, model=models[i % len(models)])
             for i in range(clients)]
    for load in loads:
        load.__enter__()
    try:
        time.sleep(2)  # every client has one in flight
        start = time.monotonic()
        time.sleep(seconds)
        end = time.monotonic()
    finally:
        for load in loads:
            load.__exit__(None, None, None)
    outcomes = [o for load in loads for o in load.outcomes]
    done = [o for o in outcomes if start <= o.ended <= end]
    return sum(o.ok for o in done) / (end - start), sum(not o.ok for o in outcomes)


def latency(address: str, credentials: tuple[str, str], requests: int) -> tuple[float, float]:
    """Median and 95th percentile of POST /api/show through the gateway, in milliseconds."""
    auth = base64.b64encode(":".join(credentials).encode()).decode()
    connection = http.client.HTTPConnection(address, bench.pool.PORT, timeout=30)
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        connection.request("POST", "/api/show", json.dumps({"model": "llama3.2"}), {"Authorization": f"Basic {auth}"})
        response = connection.getresponse()
        response.read()
        assert response.status == 200, response.status
        times.append((time.perf_counter() - start) * 1000)
        time.sleep(0.06)  # below the gateway's per-address rate limit (20/s)
    connection.close()
    return statistics.median(times), statistics.quantiles(times, n=20)[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=12)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    os.environ.setdefault("MOLECULE_INVENTORY_FILE", bench.inventory())
    os.environ.setdefault("OG_GATEWAY", "og-pool-gw")
    inventory_file = os.environ["MOLECULE_INVENTORY_FILE"]
    address = bench.pool._address("og-pool-gw")
    user = next(u for u in bench.pool.gateway_lib.host_vars("og-pool-gw")["ollama_gate_users"] if u["name"] == "alice")
    credentials = (user["name"], user["password"])
    pull_models()
    results = {}
    try:
        for affinity in (False, True):
            apply(inventory_file, affinity)
            name = "affinity" if affinity else "least_conn"
            one, failed_one = throughput(address, credentials, args.clients, args.seconds, MODELS[:1])
            three, failed_three = throughput(address, credentials, args.clients, args.seconds, MODELS)
            median, p95 = latency(address, credentials, args.requests)
            results[name] = (one, three, median, p95)
            print(f"{name}: one model {one:.2f} generations/s ({failed_one} failed), three models {three:.2f}/s "
                  f"({failed_three} failed), /api/show median {median:.2f} ms, p95 {p95:.2f} ms", flush=True)
    finally:
        apply(inventory_file, False)
    base, aff = results["least_conn"], results["affinity"]
    print(f"affinity vs least_conn: one model {aff[0] / base[0]:.2f}x, three models {aff[1] / base[1]:.2f}x "
          f"the throughput; /api/show median {aff[2] - base[2]:+.2f} ms ({args.clients} clients, "
          f"{bench.TOKENS} tokens per generation, 3 backends of 2 slots)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
