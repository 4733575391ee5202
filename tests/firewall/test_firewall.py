"""ufw allowlist on the gateway host, plus the proxies' own allowlist (defence in depth), seen
from a client inside the allowlist and one outside it."""
import contextlib
import os

import pytest

from conftest import probe, run_playbook, write_vars

GATEWAY = os.environ.get("OG_GATEWAY", "og-fw")


@contextlib.contextmanager
def ufw_disabled(gateway_host):
    gateway_host.run_expect([0], "ufw disable")
    try:
        yield
    finally:
        gateway_host.run_expect([0], "ufw --force enable")


def added_rules(gateway_host):
    return gateway_host.check_output("ufw show added")


def test_inside_gets_401_then_200(inside, url, users):
    assert probe(inside, f"{url}/api/tags") == "401"
    for user in users:
        assert probe(inside, f"{url}/api/tags", user["name"], user["password"]) == "200"


def test_outside_cannot_connect(outside, url, users):
    assert probe(outside, f"{url}/api/tags") == "000"
    assert probe(outside, f"{url}/api/tags", users[0]["name"], users[0]["password"]) == "000"


def test_nobody_reaches_ollama(inside, outside):
    address = os.environ["OG_GATEWAY_ADDRESS"]
    for client in (inside, outside):
        assert probe(client, f"http://{address}:11434/api/version") == "000"


def test_policy_and_owned_rules(gateway_host):
    status = gateway_host.check_output("ufw status verbose")
    assert "Status: active" in status
    assert "deny (incoming)" in status and "allow (outgoing)" in status
    rules = added_rules(gateway_host)
    assert "ufw allow 22/tcp comment 'ollama-gate ssh'" in rules
    assert "ufw allow from 10.213.7.20 to any port 8080 proto tcp comment 'ollama-gate gateway'" in rules
    assert "ufw allow from 2001:db8:7::/48 to any port 8080 proto tcp comment 'ollama-gate gateway'" in rules
    assert "11434" not in rules
    assert gateway_host.file("/etc/default/ufw").contains("^IPV6=yes")
    # enabled at boot, not just now
    assert gateway_host.service("ufw").is_enabled


def test_nginx_refuses_outside_when_ufw_is_off(gateway_host, inside, outside, url, users):
    with ufw_disabled(gateway_host):
        assert probe(outside, f"{url}/api/tags") == "403"
        assert probe(outside, f"{url}/api/tags", users[0]["name"], users[0]["password"]) == "403"
        assert probe(inside, f"{url}/api/tags", users[0]["name"], users[0]["password"]) == "200"
    assert probe(outside, f"{url}/api/tags") == "000"


def test_caddy_refuses_outside_when_ufw_is_off(gateway_host, inside, outside, url, users):
    caddy = ("-e", "ollama_gate_proxy=caddy", "-e", "caddy_gateway_install_method=distribution")
    run_playbook("playbooks/gateway.yml", *caddy)
    try:
        assert probe(inside, f"{url}/api/tags") == "401"
        with ufw_disabled(gateway_host):
            assert probe(outside, f"{url}/api/tags") == "403"
            assert probe(outside, f"{url}/api/tags", users[0]["name"], users[0]["password"]) == "403"
            assert probe(inside, f"{url}/api/tags", users[0]["name"], users[0]["password"]) == "200"
    finally:
        run_playbook("playbooks/gateway.yml")
    assert probe(inside, f"{url}/api/tags", users[0]["name"], users[0]["password"]) == "200"


@pytest.mark.parametrize(
    "settings, named",
    [
        ({"ollama_gate_allowlist": ["10.213.7.20", "10.0.0.300"]}, "'10.0.0.300'"),
        ({"ollama_gate_allowlist": ["10.213.7.0/8"]}, "'10.213.7.0/8'"),
        ({"firewall_ssh_allowed_from": ["example.com"]}, "firewall_ssh_allowed_from: 'example.com'"),
        ({"firewall_gateway_ports": [70000]}, "firewall_gateway_ports: 70000"),
        ({"firewall_gateway_ports": [11434]}, "port 11434 is protected"),
    ],
)
def test_bad_settings_refused_before_any_change(gateway_host, tmp_path, settings, named):
    before = added_rules(gateway_host)
    proc = run_playbook("playbooks/site.yml", "-e", write_vars(tmp_path, settings), check=False)
    assert proc.returncode != 0
    assert named in proc.output
    assert "Nothing was changed" in proc.output
    assert added_rules(gateway_host) == before


def test_z_shrinking_the_allowlist_cuts_the_client_off(gateway_host, inside, url, users, tmp_path):
    smaller = write_vars(tmp_path, {"ollama_gate_allowlist": ["10.213.7.99"]})
    try:
        run_playbook("playbooks/site.yml", "-e", smaller)
        assert probe(inside, f"{url}/api/tags", users[0]["name"], users[0]["password"]) == "000"
        rules = added_rules(gateway_host)
        assert "from 10.213.7.99 to any port 8080" in rules
        assert "10.213.7.20" not in rules and "2001:db8:7::/48" not in rules
        # and the proxy alone would refuse it too
        with ufw_disabled(gateway_host):
            assert probe(inside, f"{url}/api/tags", users[0]["name"], users[0]["password"]) == "403"
        again = run_playbook("playbooks/site.yml", "-e", smaller)
        assert "changed=0" in again.stdout.split("PLAY RECAP")[-1]
    finally:
        run_playbook("playbooks/site.yml")
    assert probe(inside, f"{url}/api/tags", users[0]["name"], users[0]["password"]) == "200"
