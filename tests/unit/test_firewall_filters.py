"""Filters of the firewall role (roles/ollama_gate/filter_plugins/networks.py): settings checks,
lock-out checks, wanted/owned/stale rules."""
from ollama_gate_filters import load

fw = load("networks")

SHOW_ADDED = """Added user rules (see 'ufw status' for running firewall):
ufw allow 22/tcp comment 'ollama-gate ssh'
ufw allow from 10.213.7.20 to any port 8080 proto tcp comment 'ollama-gate gateway'
ufw allow from 2001:db8:7::/48 to any port 8080 proto tcp comment 'ollama-gate gateway'
ufw allow from 10.213.7.30 to any port 8080 proto tcp comment 'ollama-gate gateway'
ufw allow 443/tcp
ufw allow from 192.0.2.0/24 to any port 8080 proto tcp comment 'my own rule'
"""


def test_good_settings_have_no_problems():
    assert fw.firewall_problems(22, ["192.0.2.0/24", "2001:db8::/32"], ["10.0.0.1", "fd00::1"], [8080], [11434]) == []


def test_each_bad_entry_is_named():
    problems = fw.firewall_problems(0, ["example.com"], ["10.0.0.1", "10.0.0.300", "10.1.2.3/8"], [8080, "x"], [11434])
    text = "; ".join(problems)
    assert "firewall_ssh_port: 0" in text
    assert "firewall_ssh_allowed_from: 'example.com'" in text
    assert "firewall_allowlist: '10.0.0.300'" in text
    assert "firewall_allowlist: '10.1.2.3/8'" in text and "host bits" in text
    assert "firewall_gateway_ports: 'x'" in text
    assert "10.0.0.1'" not in text.replace("10.0.0.300'", "")


def test_lists_must_be_lists():
    assert fw.firewall_problems(22, "10.0.0.0/8", [], [8080], [11434]) == [
        "firewall_ssh_allowed_from must be a list of IP addresses or CIDRs, not '10.0.0.0/8'"
    ]


def test_protected_port_never_opened():
    assert any("port 11434 is protected" in p for p in fw.firewall_problems(22, [], [], [11434], [11434]))
    assert any("port 80 is protected" in p for p in fw.firewall_problems(22, [], [], [8080], [80], http_open=True))


def test_lockout_refused_for_other_port_or_source():
    conn = "198.51.100.7 50022 192.0.2.10 22"
    assert fw.firewall_lockout_problems(conn, 22, []) == []
    assert fw.firewall_lockout_problems(conn, 22, ["198.51.100.0/24"]) == []
    [wrong_port] = fw.firewall_lockout_problems(conn, 2222, [])
    assert "firewall_ssh_port is 2222" in wrong_port and "port 22" in wrong_port
    [wrong_source] = fw.firewall_lockout_problems(conn, 22, ["10.0.0.0/8", "2001:db8::/32"])
    assert "firewall_ssh_allowed_from does not include 198.51.100.7" in wrong_source


def test_lockout_check_handles_ipv6_and_no_ssh():
    assert fw.firewall_lockout_problems("2001:db8::5 40000 2001:db8::1 22", 22, ["2001:db8::/64"]) == []
    assert fw.firewall_lockout_problems("::ffff:198.51.100.7 40000 ::ffff:192.0.2.1 22", 22, ["198.51.100.0/24"]) == []
    assert fw.firewall_lockout_problems("", 2222, ["10.0.0.0/8"]) == []


def test_wanted_rules_ssh_apart_and_open_when_list_empty():
    wanted = fw.firewall_rules(22, [], [], [8080], http_open=True)
    assert [(r["from_ip"], r["to_port"]) for r in wanted["ssh"]] == [("any", "22")]
    assert [(r["from_ip"], r["to_port"]) for r in wanted["other"]] == [("any", "8080"), ("any", "80")]
    wanted = fw.firewall_rules(2222, ["192.0.2.0/24"], ["10.0.0.1", "2001:DB8::/32", "10.0.0.1"], [8080, 8443])
    assert [(r["from_ip"], r["to_port"]) for r in wanted["ssh"]] == [("192.0.2.0/24", "2222")]
    assert [(r["from_ip"], r["to_port"]) for r in wanted["other"]] == [
        ("10.0.0.1", "8080"), ("2001:db8::/32", "8080"), ("10.0.0.1", "8443"), ("2001:db8::/32", "8443")
    ]
    assert all(r["comment"].startswith("ollama-gate ") for r in wanted["ssh"] + wanted["other"])


def test_only_own_rules_that_are_no_longer_wanted_are_stale():
    owned = fw.firewall_owned_rules(SHOW_ADDED)
    assert len(owned) == 4  # not "443/tcp" (no comment) nor "my own rule"
    wanted = fw.firewall_rules(22, [], ["10.213.7.20", "2001:db8:7::/48"], [8080])
    assert fw.firewall_stale_rules(owned, wanted) == [
        {"rule": "allow", "from_ip": "10.213.7.30", "to_port": "8080", "proto": "tcp", "comment": "ollama-gate gateway"}
    ]
    # nothing wanted any more: all of ours go, SSH included (the role adds the new SSH rule first)
    assert len(fw.firewall_stale_rules(owned, fw.firewall_rules(2222, [], [], [9090]))) == 4


FOREIGN = """Added user rules (see 'ufw status' for running firewall):
ufw allow 22/tcp comment 'ollama-gate ssh'
ufw allow from 10.213.7.20 to any port 8080 proto tcp comment 'team'
ufw allow 8080/tcp comment 'ollama-gateway-legacy'
ufw allow 11434
"""


def test_comments_of_others_are_not_ours():
    owned = fw.firewall_owned_rules(FOREIGN)
    assert [r["comment"] for r in owned] == ["ollama-gate ssh"]


def test_rules_of_others_are_not_taken_over():
    wanted = fw.firewall_rules(22, [], ["10.213.7.20", "10.213.7.21"], [8080])
    to_add = fw.firewall_rules_to_add(wanted["other"], FOREIGN)
    assert [r["from_ip"] for r in to_add] == ["10.213.7.21"]


def test_own_rules_already_there_are_not_added_again():
    wanted = fw.firewall_rules(22, [], ["10.213.7.20", "2001:db8:7::/48", "10.213.7.31"], [8080])
    assert [r["from_ip"] for r in fw.firewall_rules_to_add(wanted["ssh"], SHOW_ADDED)] == []
    # 10.213.7.31 is new; the other two are there with our comment
    assert [r["from_ip"] for r in fw.firewall_rules_to_add(wanted["other"], SHOW_ADDED)] == ["10.213.7.31"]
    # the same rule with another of our comments is added (ufw moves it to the wanted comment)
    relabelled = SHOW_ADDED.replace("'ollama-gate gateway'", "'ollama-gate old'")
    assert "10.213.7.20" in [r["from_ip"] for r in fw.firewall_rules_to_add(wanted["other"], relabelled)]


def test_rules_of_others_opening_protected_ports_refused():
    [problem] = fw.firewall_foreign_problems(FOREIGN, [11434])
    assert '"ufw allow 11434"' in problem and "protected port 11434" in problem
    assert fw.firewall_foreign_problems(FOREIGN, [11435]) == []


def test_rules_of_others_wider_than_the_allowlist_reported():
    warnings = fw.firewall_foreign_warnings(FOREIGN, [8080], ["10.213.7.0/24"])
    assert len(warnings) == 1 and "ufw allow 8080/tcp comment 'ollama-gateway-legacy'" in warnings[0]
    assert fw.firewall_foreign_warnings(FOREIGN, [8080], []) == []


def test_http_open_on_an_allowlisted_gateway_port_80_refused():
    assert any("firewall_http_open" in p for p in fw.firewall_problems(22, [], ["10.0.0.0/8"], [80], [11434], True))
    assert fw.firewall_problems(22, [], [], [80], [11434], True) == []


def test_a_backend_opens_ollama_to_the_gateways_only():
    wanted = fw.firewall_rules(22, [], [], [], backend_port=11434, backend_from=["10.0.0.10", "10.0.0.10", "10.0.1.0/24"])
    assert [(r["from_ip"], r["to_port"], r["comment"]) for r in wanted["other"]] == [
        ("10.0.0.10", "11434", "ollama-gate backend"), ("10.0.1.0/24", "11434", "ollama-gate backend")]
    # no gateway addresses: the port stays closed (unlike an empty allowlist, which opens the gateway)
    assert fw.firewall_rules(22, [], [], [], backend_port=11434, backend_from=[])["other"] == []
    assert fw.firewall_problems(22, [], [], [], [11434], backend_port=11434, backend_from=["10.0.0.10"]) == []
    assert fw.firewall_problems(22, [], [], [], [11434]) == ["firewall_gateway_ports is empty"]
    assert fw.firewall_problems(22, [], [], [], [11434], backend_port=11434, backend_from=["gw-01"]) == [
        "firewall_backend_allowed_from: 'gw-01' is not an IP address or CIDR "
        "('gw-01' does not appear to be an IPv4 or IPv6 network)"]


def test_a_pool_names_inventory_hosts_the_gateway_can_reach():
    hosts = ["gw", "b1", "b2", "b3", "b4", "b5"]
    addresses = {"b1": "10.0.0.11:11434", "b2": "127.0.0.1:11434", "b3": "", "b4": "http://0.0.0.0:11434",
                 "b5": "[::1]:11434"}
    problems = fw.ollama_gate_pool_problems(["b1", "b1", "b2", "b3", "b4", "b5", "b9"], hosts, addresses)
    assert problems[0] == "ollama_gate_backends lists b1 twice"
    assert problems[1].startswith("ollama_host of backend b2 is '127.0.0.1:11434', on loopback: the gateways cannot")
    assert problems[2].startswith("ollama_host is not set for backend b3: set it to the backend's private address")
    assert problems[3].startswith("ollama_host of backend b4 is 'http://0.0.0.0:11434', every address")
    assert problems[4].startswith("ollama_host of backend b5 is '[::1]:11434', on loopback")
    assert problems[5] == "ollama_gate_backends: 'b9' is not a host of this inventory"
    assert len(problems) == 6
    assert fw.ollama_gate_pool_problems(["b1"], hosts, addresses) == []
    assert fw.ollama_gate_backend_address_problems("[2001:db8::11]:11434", "b6") == []
    assert fw.ollama_gate_backend_address_problems("localhost:11434", "b7")[0].startswith(
        "ollama_host of backend b7 is 'localhost:11434', on loopback")


def test_only_the_gateways_may_reach_a_backend():
    ok = fw.ollama_gate_backend_access_problems("b1", True, False, ["10.0.0.10", "10.0.0.20/32"])
    assert ok == []
    # ufw off: only with the opt-in (then no address is needed)
    off = fw.ollama_gate_backend_access_problems("b1", False, False, [])
    assert len(off) == 1 and off[0].startswith("ollama_gate_firewall is false on backend b1: keep it on")
    assert fw.ollama_gate_backend_access_problems("b1", False, True, []) == []
    empty = fw.ollama_gate_backend_access_problems("b1", True, False, [])
    assert empty == ["ollama_gate_gateway_addresses is empty on backend b1: no gateway could reach Ollama. Put the "
                     "gateways in group ollama_gateways (with ansible_host), or list the addresses they connect from"]
    # the default list: one entry per gateway, "" for one without ansible_host
    missing = fw.ollama_gate_backend_access_problems("b1", True, False, ["10.0.0.10", ""], ["gw2"])
    assert missing == ["ollama_gate_gateway_addresses: the gateways gw2 have no ansible_host; set "
                       "ollama_gate_gateway_addresses to the addresses they connect from"]
    named = fw.ollama_gate_backend_access_problems("b1", True, False, ["gw.example.com"])
    assert len(named) == 1 and named[0].startswith(
        "ollama_gate_gateway_addresses: 'gw.example.com' is not an IP address or CIDR")
