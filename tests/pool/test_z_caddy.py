"""The same pool behind Caddy (the gateway switched from nginx): active health checks on
/api/version, and a backend stopped during continuous requests. Caddy has no passive checks or
retries here (README, "A pool of Ollama hosts"): requests sent to the stopped backend before the
next health check fail, none after it."""
import time

import pytest

from conftest import FAIL_TIMEOUT, Load, run_playbook, stop_and_restart_a_backend

GENERATE = ("POST", "/api/generate")


@pytest.fixture(scope="module", autouse=True)
def caddy():
    run_playbook("playbooks/gateway.yml", "--limit", "og-pool-gw", "-e", "ollama_gate_proxy=caddy",
                 "-e", "caddy_gateway_install_method=distribution")


def test_caddy_checks_every_backend(gateway_host, backends):
    caddyfile = gateway_host.file("/etc/caddy/Caddyfile").content_string
    assert "reverse_proxy " + " ".join(b.address for b in backends) + " {" in caddyfile
    for directive in ("lb_policy least_conn", "health_uri /api/version", "health_interval 3s"):
        assert directive in caddyfile
    assert "fail_duration" not in caddyfile and "lb_try_duration" not in caddyfile
    logs = [backend.log() for backend in backends]
    time.sleep(4)  # one health check interval and some
    for backend, log in zip(backends, logs):
        assert ("GET", "/api/version") in log.requests(wait_for=[("GET", "/api/version")]), backend.name


def test_a_stopped_backend_is_left_out_without_failures_and_comes_back(gateway_address, alice, backends):
    with Load(gateway_address, alice, workers=3) as load:
        time.sleep(2)
    assert load.outcomes and all(o.ok for o in load.outcomes)
    load, stopped_at, log = stop_and_restart_a_backend(gateway_address, alice, backends[2])
    # the first detection: the next health check, at most one interval after the stop
    after = load.since(stopped_at + FAIL_TIMEOUT + 0.5)
    assert len(after) > 30
    failed = [f"{o.started - stopped_at:+.2f} s: {o.detail}" for o in after if not o.ok]
    assert not failed, failed[:5]
    assert GENERATE in log.requests(wait_for=[GENERATE]), f"no request reached {backends[2].name} again"
