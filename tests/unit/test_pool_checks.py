"""playbooks/preflight.yml on a pool inventory (gateways in ollama_gateways, Ollama hosts in
ollama_backends): a valid pool passes; each bad pool setting stops its host before anything
changes, with a message naming the variable. One check-mode run, local connection (the checks
read nothing a test machine lacks)."""
import pytest

from conftest import LOCAL, run_preflight

USERS = [{"name": "alice", "password": "alice-test-password-0001", "role": "admin"}]

GATEWAYS = {
    "gw-ok": {"ansible_host": "10.0.0.10", "ollama_gate_backends": ["b-ok"]},
    "gw-unknown-backend": {"ansible_host": "10.0.0.20", "ollama_gate_backends": ["b-ok", "b-nowhere"]},
    "gw-loopback-backend": {"ansible_host": "10.0.0.30", "ollama_gate_backends": ["b-loopback"]},
    # backend TLS on the backends only
    "gw-tls-mismatch": {"ansible_host": "10.0.0.50", "ollama_gate_backends": ["b-ok", "b-tls"]},
}
BACKENDS = {
    "b-ok": {"ollama_host": "10.0.0.11:11434"},
    "b-loopback": {"ollama_host": "127.0.0.1:11434"},
    "b-no-firewall": {"ollama_host": "10.0.0.12:11434", "ollama_gate_firewall": False},
    "b-gateway-name": {"ollama_host": "10.0.0.13:11434", "ollama_gate_gateway_addresses": ["gw.example.com"]},
    # backend TLS: the pool's CA on the first gateway by default, never on a backend
    "b-tls": {"ollama_host": "10.0.0.14:11434", "ollama_gate_backend_tls": True},
    "b-tls-ca-on-backend": {"ollama_host": "10.0.0.15:11434", "ollama_gate_backend_tls": True,
                            "ollama_gate_backend_tls_ca_host": "b-ok"},
}
# a single-host server in the same inventory serves its own Ollama, not the pool (whose
# b-loopback would fail its pool check)
SINGLE = {"single-host": {"ansible_host": "10.0.0.40"}}
EXPECTED = {
    "single-host": None,
    "gw-ok": None,
    "b-ok": None,
    "gw-unknown-backend": "ollama_gate_backends: 'b-nowhere' is not a host of this inventory",
    "gw-loopback-backend": "ollama_host of backend b-loopback is '127.0.0.1:11434', on loopback: the gateways cannot",
    "b-loopback": "ollama_host of backend b-loopback is '127.0.0.1:11434', on loopback",
    "b-no-firewall": "ollama_gate_firewall is false on backend b-no-firewall: keep it on",
    "b-gateway-name": "ollama_gate_gateway_addresses: 'gw.example.com' is not an IP address or CIDR",
    "b-tls": None,
    "gw-tls-mismatch": "ollama_gate_backend_tls is false on gateway gw-tls-mismatch but true on its backends b-tls: "
                       "set it for the gateways and the backends alike",
    "b-tls-ca-on-backend": 'ollama_gate_backend_tls_ca_host is "b-ok": with ollama_gate_backend_tls the pool\'s CA is '
                           "kept on a gateway, a host of group ollama_gateways (gw-",
}


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pool")
    gateway_vars = {"ollama_gate_users": USERS, "ollama_gate_allowlist": ["10.0.0.0/16"], "ollama_gate_firewall": False}
    failed, report, _ = run_preflight(tmp, {"all": {"vars": LOCAL, "children": {
        "ollama_servers": {"hosts": SINGLE, "vars": gateway_vars},
        "ollama_gateways": {"hosts": GATEWAYS, "vars": gateway_vars},
        "ollama_backends": {"hosts": BACKENDS},
    }}})
    return failed, report


@pytest.mark.parametrize("host", EXPECTED)
def test_pool_settings_checked_naming_the_variable(outcome, host):
    failed, _ = outcome
    if EXPECTED[host] is None:
        assert host not in failed, failed.get(host)
    else:
        assert EXPECTED[host] in (failed.get(host) or ""), failed.get(host)
        assert failed[host].endswith("Nothing was changed.")


def test_each_group_gets_its_own_checks(outcome):
    """Gateways get the gateway checks, backends the backend checks; every host is checked."""
    _, report = outcome
    plays = {play["play"]["name"]: {h for t in play["tasks"] for h in t["hosts"]} for play in report["plays"]}
    assert plays["Preflight"] == set(GATEWAYS) | set(SINGLE)
    assert plays["Preflight of the pool backends"] == set(BACKENDS)
