"""Fixtures of the https scenario: the gateways, the ACME CA host (Pebble, also the client) and
the shared gateway test helpers. Addresses and names are those of molecule/https/molecule.yml."""
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
said = gateway_lib.said
write_vars = gateway_lib.write_vars
host = gateway_lib._host

PEBBLE_ROOT = "/tmp/pebble-root.pem"


@pytest.fixture(scope="session")
def users():
    return gateway_lib.host_vars("og-tls-nginx")["ollama_gate_users"]


@pytest.fixture(scope="session")
def client():
    """og-pebble: the ACME CA host, also the client; trusts Pebble's issuing root when asked."""
    pebble = host(os.environ["OG_ACME_CA"])
    # the root Pebble signs with (made at its start: never restart Pebble during the tests)
    pebble.check_output(
        f"curl -sS --fail --cacert /etc/og-pebble/cert.pem https://localhost:15000/roots/0 -o {PEBBLE_ROOT}"
    )
    return pebble


def request(client, url, *options, user=None, password=None, timeout=20):
    """curl from the client: (exit code, HTTP status, lower-case headers, body)."""
    cred = f"-u '{user}:{password}' " if user else ""
    result = client.run(
        f"curl -sS -o /tmp/og-body -D /tmp/og-head -w '%{{http_code}}' -m {timeout} {' '.join(options)} {cred}'{url}'"
    )
    headers = {}
    if result.rc == 0:
        for line in client.file("/tmp/og-head").content_string.splitlines()[1:]:
            key, sep, value = line.partition(":")
            if sep:
                headers[key.strip().lower()] = value.strip()
    body = client.file("/tmp/og-body").content_string if result.rc == 0 else ""
    return result.rc, result.stdout.strip(), headers, body + result.stderr


def served_certificate(client, name, port=443):
    """Subject, issuer and serial of the certificate the gateway serves for `name`."""
    out = client.check_output(
        f"openssl s_client -connect {name}:{port} -servername {name} </dev/null 2>/dev/null"
        " | openssl x509 -noout -subject -issuer -serial"
    )
    return dict(line.split("=", 1) for line in out.splitlines())


def controller_ca(gateway):
    """The internal CA certificate the run fetched to the controller."""
    return Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent / "ca" / f"{gateway}-ca.crt"
