"""Fixtures of the pool scenario: a gateway (group ollama_gateways) in front of three Ollama
backends (ollama_backends) on their own network with fixed addresses, a load of streamed
generations sent from the controller, and the shared gateway test helpers."""
import base64
import http.client
import importlib.util
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

_spec = importlib.util.spec_from_file_location(
    "ollama_gate_gateway_conftest", Path(__file__).resolve().parents[1] / "gateway" / "conftest.py"
)
gateway_lib = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gateway_lib)

# From test_tls.py on, the pool runs with backend TLS (ollama_gate_backend_tls: true), as an inventory
# would set it for the gateways and the backends: every playbook run from then on passes it.
EXTRA_VARS: dict = {}


def run_playbook(playbook, *extra, check=True):
    if EXTRA_VARS:
        extra = ("-e", json.dumps(EXTRA_VARS), *extra)
    return gateway_lib.run_playbook(playbook, *extra, check=check)


said = gateway_lib.said
OllamaLog = gateway_lib.OllamaLog
PORT = 8080
# The credential store on every gateway (ollama_gate_credentials_store: gateways in molecule/pool)
HOST_STORE = "/var/lib/ollama-gate/credentials"


@dataclass
class Backend:
    name: str
    address: str  # where Ollama listens (its ollama_host)
    host: object  # testinfra host

    def log(self):
        log = OllamaLog(self.host)
        log.mark()
        return log


@pytest.fixture(scope="session")
def gateway_host():
    return gateway_lib._host(os.environ["OG_GATEWAY"])


@pytest.fixture(scope="session")
def gateway_hosts():
    """Every gateway of the scenario (OG_GATEWAYS)."""
    return [gateway_lib._host(name) for name in os.environ["OG_GATEWAYS"].split(",")]


def _address(name):
    """A test host's address on the shared test network, as the controller reaches it."""
    container = docker.from_env().containers.get(name)
    return container.attrs["NetworkSettings"]["Networks"][gateway_lib.NETWORK]["IPAddress"]


@pytest.fixture(scope="session")
def gateway_address():
    """The gateway's address on the shared test network, as the controller reaches it."""
    return _address(os.environ["OG_GATEWAY"])


@pytest.fixture(scope="session")
def affinity_gateway_address():
    """The second gateway's (it runs with ollama_gate_model_affinity: molecule/pool)."""
    return _address(os.environ["OG_GATEWAYS"].split(",")[1])


@pytest.fixture(scope="session")
def backends():
    return [Backend(name, gateway_lib.host_vars(name)["ollama_host"], gateway_lib._host(name))
            for name in os.environ["OG_BACKENDS"].split(",")]


@pytest.fixture(scope="session")
def users():
    return gateway_lib.host_vars(os.environ["OG_GATEWAY"])["ollama_gate_users"]


@pytest.fixture(scope="session")
def alice(users):
    user = next(u for u in users if u["name"] == "alice")
    return user["name"], user["password"]


def probe(host, url, timeout=3):
    """HTTP status from `host`, or "000" when no connection could be made (ufw drops: no answer
    to the SYN within 2 s, where the test network answers in milliseconds)."""
    result = host.run(f"curl -s -o /dev/null -w '%{{http_code}}' --connect-timeout 2 -m {timeout} {url}")
    return result.stdout.strip() or "000"


@dataclass
class Outcome:
    started: float
    ended: float
    ok: bool
    detail: str


def generate(address, credentials, prompt, tokens=4, timeout=30, model="llama3.2") -> Outcome:
    """One streamed /api/generate through the gateway, read to its last line: ok when the stream
    ended with done: true and every line was one NDJSON object."""
    started = time.monotonic()
    auth = base64.b64encode(":".join(credentials).encode()).decode()
    body = json.dumps({"model": model, "prompt": prompt, "options": {"num_predict": tokens}})
    try:
        connection = http.client.HTTPConnection(address, PORT, timeout=timeout)
        connection.request("POST", "/api/generate", body, {"Authorization": f"Basic {auth}",
                                                           "Content-Type": "application/json"})
        response = connection.getresponse()
        data = response.read().decode()
        connection.close()
        if response.status != 200:
            return Outcome(started, time.monotonic(), False, f"{response.status} {data[:200]}")
        lines = [json.loads(line) for line in data.splitlines() if line.strip()]
        done = bool(lines) and lines[-1].get("done") is True
        detail = "" if done else (f"200 without a final line after {time.monotonic() - started:.2f} s, "
                                  f"{len(data)} bytes, headers {dict(response.getheaders())}: {data[-200:]!r}")
        return Outcome(started, time.monotonic(), done, detail)
    except Exception as exc:  # a cut stream, a reset connection: the client saw a failure
        return Outcome(started, time.monotonic(), False, repr(exc))


class Load:
    """Continuous streamed generations through the gateway from `workers` clients at once, each
    starting its next request when the last one ended, until stop()."""

    def __init__(self, address, credentials, workers=6, tokens=4, model="llama3.2"):
        self.address, self.credentials, self.workers, self.tokens = address, credentials, workers, tokens
        self.model = model
        self.outcomes: list[Outcome] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = []

    def _worker(self, index):
        count = 0
        while not self._stop.is_set():
            outcome = generate(self.address, self.credentials, f"client {index} request {count}", self.tokens,
                               model=self.model)
            count += 1
            with self._lock:
                self.outcomes.append(outcome)

    def __enter__(self):
        for index in range(self.workers):
            thread = threading.Thread(target=self._worker, args=(index,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def since(self, moment):
        """Outcomes of the requests started at or after `moment` (time.monotonic())."""
        with self._lock:
            return [o for o in self.outcomes if o.started >= moment]


# ollama_gate_backend_fail_timeout in molecule/pool: how long a failed backend is left out (and
# Caddy's health check interval)
FAIL_TIMEOUT = 3


def stop_and_restart_a_backend(gateway_address, credentials, backend, workers=6):
    """Continuous generations through the gateway while `backend`'s Ollama is stopped, then
    started again. Returns (load, stopped_at, log of the backend from its restart on)."""
    with Load(gateway_address, credentials, workers=workers) as load:
        time.sleep(1.5)
        backend.host.run_expect([0], "systemctl stop ollama.service")  # returns once it has exited
        stopped_at = time.monotonic()
        time.sleep(2 * FAIL_TIMEOUT + 1)
        log = backend.log()
        backend.host.run_expect([0], "systemctl start ollama.service")
        time.sleep(2 * FAIL_TIMEOUT + 2)
    return load, stopped_at, log


def assert_left_out_and_back(gateway_address, credentials, backend, grace=0.0):
    """A backend's Ollama stopped during continuous generations through the gateway: no request
    started `grace` seconds or more after the stop failed (the first detection: none on nginx,
    one health check interval on Caddy), and the backend got requests again once it was back."""
    load, stopped_at, log = stop_and_restart_a_backend(gateway_address, credentials, backend)
    after = load.since(stopped_at + grace)
    assert len(after) > 30
    failed = [f"{o.started - stopped_at:+.2f} s: {o.detail}" for o in after if not o.ok]
    assert not failed, failed[:5]
    assert ("POST", "/api/generate") in log.requests(wait_for=[("POST", "/api/generate")]), \
        f"no request reached {backend.name} again"
