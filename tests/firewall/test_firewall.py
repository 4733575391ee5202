"""ufw allowlist on the gateway host, plus the proxies' own allowlist (defence in depth), seen
from a client inside the allowlist and one outside it."""
import os

import pytest

from conftest import added_rules, probe, run_playbook, said, ufw_disabled, write_vars

def test_inside_gets_401_then_200(inside, url, users):
    assert probe(inside, f"{url}/api/tags") == "401"
    for user in users:
        assert probe(inside, f"{url}/api/tags", user["name"], user["password"]) == "200"

def test_outside_cannot_connect(outside, url, users):
    assert probe(outside, f"{url}/api/tags") == "000"
    assert probe(outside, f"{url}/api/tags", users[0]["name"], users[0]["password"]) == "000"

def test_nobody_reaches_the_ollama_port(gateway_host, inside, outside):
    """Even something listening on the outside address at Ollama's port stays unreachable."""
    address = os.environ["OG_GATEWAY_ADDRESS"]
    gateway_host.run_expect([0], f"systemd-run --unit og-fw-listener python3 -m http.server 11434 --bind {address}")
    try:
        gateway_host.run_expect([0], f"for i in $(seq 50); do curl -s -o /dev/null http://{address}:11434/ && exit 0; sleep 0.1; done; exit 1")
        for client in (inside, outside):
            assert probe(client, f"http://{address}:11434/") == "000"
        # the listener is reachable as soon as ufw is off: the check above can fail
        with ufw_disabled(gateway_host):
            assert probe(inside, f"http://{address}:11434/") == "200"
    finally:
        gateway_host.run("systemctl stop og-fw-listener")

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
    assert gateway_host.file("/etc/ufw/ufw.conf").contains("^ENABLED=yes")

def test_nginx_refuses_outside_when_ufw_is_off(gateway_host, inside, outside, url, users):
    with ufw_disabled(gateway_host):
        assert probe(outside, f"{url}/api/tags") == "403"
        assert probe(outside, f"{url}/api/tags", users[0]["name"], users[0]["password"]) == "403"
        assert probe(inside, f"{url}/api/tags", users[0]["name"], users[0]["password"]) == "200"
    assert probe(outside, f"{url}/api/tags") == "000"

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
    assert named in said(proc)
    assert "Nothing was changed" in said(proc)
    assert added_rules(gateway_host) == before

# Runs that only change the allowlist: the whole stack minus the Ollama play (unchanged here).
NO_OLLAMA = ("--skip-tags", "ollama")


def test_z_shrinking_the_allowlist_cuts_the_client_off(gateway_host, inside, url, users, tmp_path):
    smaller = write_vars(tmp_path, {"ollama_gate_allowlist": ["10.213.7.99"]})
    try:
        run_playbook("playbooks/site.yml", "-e", smaller, *NO_OLLAMA)
        assert probe(inside, f"{url}/api/tags", users[0]["name"], users[0]["password"]) == "000"
        rules = added_rules(gateway_host)
        assert "from 10.213.7.99 to any port 8080" in rules
        assert "10.213.7.20" not in rules and "2001:db8:7::/48" not in rules
        # and the proxy alone would refuse it too
        with ufw_disabled(gateway_host):
            assert probe(inside, f"{url}/api/tags", users[0]["name"], users[0]["password"]) == "403"
        again = run_playbook("playbooks/site.yml", "-e", smaller, *NO_OLLAMA)
        assert "changed=0" in again.stdout.split("PLAY RECAP")[-1]
    finally:
        run_playbook("playbooks/site.yml", *NO_OLLAMA)
    assert probe(inside, f"{url}/api/tags", users[0]["name"], users[0]["password"]) == "200"

def test_rules_of_others_are_kept_theirs(gateway_host, tmp_path):
    gateway_host.run_expect([0], "ufw allow from 10.213.7.99 to any port 8080 proto tcp comment 'team'")
    try:
        wider = write_vars(tmp_path, {"ollama_gate_allowlist": ["10.213.7.20", "10.213.7.99", "2001:db8:7::/48"]})
        run_playbook("playbooks/firewall.yml", "-e", wider)
        run_playbook("playbooks/firewall.yml")
        # not taken over (ufw would have moved it to our comment), so not deleted either
        assert "ufw allow from 10.213.7.99 to any port 8080 proto tcp comment 'team'" in added_rules(gateway_host)
        proc = run_playbook("playbooks/firewall.yml")
        assert "lets clients outside the allowlist reach gateway port 8080" in said(proc)
        assert "changed=0" in proc.stdout.split("PLAY RECAP")[-1]
    finally:
        gateway_host.run("ufw delete allow from 10.213.7.99 to any port 8080 proto tcp")

def test_rule_of_others_opening_ollama_port_refused(gateway_host):
    gateway_host.run_expect([0], "ufw allow 11434/tcp comment 'debug'")
    try:
        before = added_rules(gateway_host)
        proc = run_playbook("playbooks/site.yml", check=False)
        assert proc.returncode != 0
        assert "ufw allow 11434/tcp comment" in said(proc) and "protected port 11434" in said(proc)
        assert added_rules(gateway_host) == before
    finally:
        gateway_host.run("ufw delete allow 11434/tcp")
