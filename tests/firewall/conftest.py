"""Fixtures of the firewall scenario: the gateway host, a client inside the allowlist and one
outside it (fixed addresses on their own test network), and the shared gateway test helpers."""
import contextlib
import importlib.util
import os
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "ollama_gate_gateway_conftest", Path(__file__).resolve().parents[1] / "gateway" / "conftest.py"
)
gateway_lib = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gateway_lib)

run_playbook = gateway_lib.run_playbook
write_vars = gateway_lib.write_vars
said = gateway_lib.said


def added_rules(host):
    """The user rules ufw lists (`ufw show added`)."""
    return host.check_output("ufw show added")


@pytest.fixture(scope="session")
def gateway_host():
    return gateway_lib._host(os.environ["OG_GATEWAY"])


@pytest.fixture(scope="session")
def inside():
    return gateway_lib._host(os.environ["OG_INSIDE"])


@pytest.fixture(scope="session")
def outside():
    return gateway_lib._host(os.environ["OG_OUTSIDE"])


@pytest.fixture(scope="session")
def url():
    return f"http://{os.environ['OG_GATEWAY_ADDRESS']}:8080"


@pytest.fixture(scope="session")
def users():
    return gateway_lib.host_vars(os.environ["OG_GATEWAY"])["ollama_gate_users"]


def probe(host, url, user=None, password=None, timeout=10):
    """HTTP status from `host`, or "000" when no connection could be made (dropped by ufw: no
    answer to the SYN within 2 s, where the test network answers in milliseconds)."""
    cred = f"-u '{user}:{password}' " if user else ""
    result = host.run(f"curl -s -o /dev/null -w '%{{http_code}}' --connect-timeout 2 -m {timeout} {cred}{url}")
    return result.stdout.strip() or "000"


@contextlib.contextmanager
def ufw_disabled(gateway_host):
    """ufw off for the block (the proxies' own allowlist is then all that refuses clients)."""
    gateway_host.run_expect([0], "ufw disable")
    try:
        yield
    finally:
        gateway_host.run_expect([0], "ufw --force enable")
