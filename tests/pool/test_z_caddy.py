"""The same pool behind Caddy (the gateway switched from nginx), over backend TLS (test_tls.py):
active health checks on /api/version, and a backend stopped during continuous requests. Caddy
has no passive checks or retries here (README, "A pool of Ollama hosts"): requests sent to the
stopped backend before the next health check fail, none after it."""
import os
import time

import pytest

from conftest import FAIL_TIMEOUT, Load, assert_left_out_and_back, run_playbook


@pytest.fixture(scope="module", autouse=True)
def caddy():
    run_playbook("playbooks/gateway.yml", "--limit", os.environ["OG_GATEWAY"], "-e", "ollama_gate_proxy=caddy",
                 "-e", "caddy_gateway_install_method=distribution")


def test_caddy_checks_every_backend(gateway_host, backends):
    caddyfile = gateway_host.file("/etc/caddy/Caddyfile").content_string
    assert "reverse_proxy " + " ".join(b.address for b in backends) + " {" in caddyfile
    for directive in ("lb_policy least_conn", "health_uri /api/version", "health_interval 3s"):
        assert directive in caddyfile
    assert "fail_duration" not in caddyfile and "lb_try_duration" not in caddyfile
    # over backend TLS (switched on in test_tls.py): the client certificate, the pool's CA and name
    tls = "/etc/ollama-gate/backend-tls"
    for directive in (f"tls_client_auth {tls}/host.crt {tls}/host.key", f"tls_trusted_ca_certs {tls}/ca.crt",
                      "tls_server_name ollama-gate-backend"):
        assert directive in caddyfile
    key = gateway_host.file(f"{tls}/host.key")
    assert key.group == "caddy" and key.mode == 0o640
    logs = [backend.log() for backend in backends]
    time.sleep(4)  # one health check interval and some
    for backend, log in zip(backends, logs):
        assert ("GET", "/api/version") in log.requests(wait_for=[("GET", "/api/version")]), backend.name


def test_a_stopped_backend_is_left_out_without_failures_and_comes_back(gateway_address, alice, backends):
    with Load(gateway_address, alice, workers=3) as load:
        time.sleep(2)
    assert load.outcomes and all(o.ok for o in load.outcomes)
    # the first detection: the next health check, at most one interval after the stop
    assert_left_out_and_back(gateway_address, alice, backends[2], grace=FAIL_TIMEOUT + 0.5)
