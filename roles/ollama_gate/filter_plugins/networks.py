"""Filters of the network settings: client allowlists (checked and written in canonical form for
the proxies), and the firewall role's checks of its settings, the ufw rules it wants and the
rules it owns.

Rules are owned through their ufw comment ("ollama-gate ..."): what `ufw show added` lists with
such a comment and is no longer wanted is stale and gets deleted; other rules are left alone.
"""
from __future__ import annotations

import ipaddress
import re


def gateway_networks_problems(entries, variable: str) -> list[str]:
    """What is wrong with an allowlist (IPv4/IPv6 addresses and CIDRs), naming each bad entry."""
    if entries is None or isinstance(entries, (str, dict)) or not hasattr(entries, "__iter__"):
        return [f"{variable} must be a list of IP addresses or CIDRs, not {entries!r}"]
    problems = []
    for entry in entries:
        try:
            ipaddress.ip_network(str(entry).strip(), strict=True)
        except ValueError as exc:
            problems.append(f"{variable}: {entry!r} is not an IP address or CIDR ({exc})")
    return problems


def gateway_networks(entries) -> list[str]:
    """An allowlist in canonical form (2001:DB8::/32 -> 2001:db8::/32), duplicates dropped."""
    seen: list[str] = []
    for entry in entries or []:
        network = ipaddress.ip_network(str(entry).strip(), strict=True)
        text = str(network.network_address) if network.num_addresses == 1 else str(network)
        if text not in seen:
            seen.append(text)
    return seen


# --------------------------------------------------------------------------- pools of backends
_LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")


def _listen_host(address: str) -> str:
    """The host part of an ollama_host value ("http://10.0.0.11:11434" -> "10.0.0.11")."""
    hostport = re.sub(r"^https?://", "", str(address or "")).split("/", 1)[0]
    if hostport.startswith("["):
        return hostport[1:hostport.find("]")] if "]" in hostport else hostport
    return hostport.rsplit(":", 1)[0] if hostport.count(":") == 1 else hostport


def ollama_gate_backend_address_problems(address, name: str) -> list[str]:
    """What keeps the gateways from connecting to a backend's ollama_host (loopback, every
    address, none at all), naming the host."""
    if not address:
        return [f"ollama_host is not set for backend {name}: set it to the backend's private address and "
                f"Ollama's port, e.g. \"10.0.0.11:11434\" (Ollama listens there and the gateways connect to it)"]
    host = _listen_host(address)
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if host.lower() in _LOOPBACK_NAMES or (ip is not None and ip.is_loopback):
        return [f"ollama_host of backend {name} is {address!r}, on loopback: the gateways cannot reach it. Set it "
                f"to the backend's private address, e.g. \"10.0.0.11:11434\""]
    if host == "" or (ip is not None and ip.is_unspecified):
        return [f"ollama_host of backend {name} is {address!r}, every address: the gateways need one address to "
                f"connect to. Set it to the backend's private address, e.g. \"10.0.0.11:11434\""]
    return []


def ollama_gate_backend_access_problems(name: str, firewall, allow_direct_access, gateway_addresses,
                                        gateways_without_host=()) -> list[str]:
    """What would let others than the gateways reach a backend's Ollama (no authentication: whoever
    reaches it is an admin), or no gateway at all: ufw off without the opt-in, no gateway address,
    gateways without an ansible_host in the default list, addresses that are none."""
    addresses = list(gateway_addresses or [])
    problems = []
    if not firewall and not allow_direct_access:
        problems.append(f"ollama_gate_firewall is false on backend {name}: keep it on (ufw opens Ollama's port to "
                        f"the gateways only), or set ollama_gate_allow_direct_access: true if the network already "
                        f"allows nobody else")
    if firewall and not addresses:
        problems.append(f"ollama_gate_gateway_addresses is empty on backend {name}: no gateway could reach Ollama. "
                        f"Put the gateways in group ollama_gateways (with ansible_host), or list the addresses they "
                        f"connect from")
    if gateways_without_host and "" in addresses:
        problems.append(f"ollama_gate_gateway_addresses: the gateways {', '.join(gateways_without_host)} have no "
                        f"ansible_host; set ollama_gate_gateway_addresses to the addresses they connect from")
    return problems + gateway_networks_problems([a for a in addresses if a != ""], "ollama_gate_gateway_addresses")


def ollama_gate_pool_problems(backends, hosts, addresses) -> list[str]:
    """What is wrong with a gateway's pool: names that are not inventory hosts, duplicates, and
    backends the gateway could not connect to. addresses: {backend name: its ollama_host}."""
    problems, seen = [], set()
    for name in backends or []:
        if name in seen:
            problems.append(f"ollama_gate_backends lists {name} twice")
        seen.add(name)
        if name not in (hosts or []):
            problems.append(f"ollama_gate_backends: {name!r} is not a host of this inventory")
        else:
            problems += ollama_gate_backend_address_problems((addresses or {}).get(name), name)
    return problems


# --------------------------------------------------------------------------- firewall (ufw)
OWNER = "ollama-gate"
# The forms `ufw show added` prints for port rules (ufw 0.36); proto missing = tcp and udp.
_SIMPLE = re.compile(r"^ufw (allow|deny|reject|limit) (\d+)(?:/(tcp|udp))?(?: comment '(.*)')?$")
_FULL = re.compile(
    r"^ufw (allow|deny|reject|limit) from (\S+) to any port (\d+)(?: proto (tcp|udp))?(?: comment '(.*)')?$"
)


def _port_ok(port) -> bool:
    try:
        return 1 <= int(port) <= 65535 and str(port).strip().isdigit()
    except (TypeError, ValueError):
        return False


def firewall_problems(ssh_port, ssh_from, allowlist, gateway_ports, protected_ports, http_open=False,
                      backend_port=None, backend_from=()) -> list[str]:
    """What is wrong with the settings, one text per problem, naming the variable and entry.

    backend_port/backend_from: on a pool backend, Ollama's port and the gateways' addresses, the
    only sources it is opened to (a backend-only host has no gateway ports).
    """
    problems = []
    problems += gateway_networks_problems(ssh_from, "firewall_ssh_allowed_from")
    problems += gateway_networks_problems(allowlist, "firewall_allowlist")
    problems += gateway_networks_problems(backend_from or [], "firewall_backend_allowed_from")
    if not _port_ok(ssh_port):
        problems.append(f"firewall_ssh_port: {ssh_port!r} is not a port (1-65535)")
    if backend_from and not _port_ok(backend_port):
        problems.append(f"firewall_backend_port: {backend_port!r} is not a port (1-65535)")
    ports = gateway_ports if isinstance(gateway_ports, list) else [gateway_ports]
    if not ports and not backend_from:
        problems.append("firewall_gateway_ports is empty")
    for port in ports:
        if not _port_ok(port):
            problems.append(f"firewall_gateway_ports: {port!r} is not a port (1-65535)")
    protected = {int(p) for p in protected_ports or [] if _port_ok(p)}
    opened = [int(p) for p in ports if _port_ok(p)] + ([80] if http_open else [])
    if _port_ok(ssh_port):
        opened.append(int(ssh_port))
    if http_open and 80 in [int(p) for p in ports if _port_ok(p)] and allowlist:
        problems.append(
            "firewall_http_open opens port 80 to everyone, but port 80 is also a gateway port "
            "(firewall_gateway_ports) with an allowlist: the allowlist would not apply there"
        )
    for port in sorted(set(opened) & protected):
        problems.append(
            f"port {port} is protected (firewall_protected_ports: Ollama's API must only be reached "
            f"through the gateway) but firewall_gateway_ports/firewall_ssh_port/firewall_http_open would open it"
        )
    return problems


def firewall_lockout_problems(ssh_connection: str, ssh_port, ssh_from) -> list[str]:
    """Refuse settings that would drop the SSH connection this run uses.

    ssh_connection: $SSH_CONNECTION as the target sees it ("client_ip client_port server_ip
    server_port"), empty when the run does not come over SSH (local, container connections).
    """
    fields = (ssh_connection or "").split()
    if len(fields) != 4:
        return []
    client, server_port = fields[0], fields[3]
    problems = []
    if str(server_port) != str(ssh_port):
        problems.append(
            f"firewall_ssh_port is {ssh_port}, but this run is connected over SSH port {server_port}: "
            f"enabling the firewall would cut the connection"
        )
    if ssh_from:
        address = ipaddress.ip_address(client.split("%")[0])
        if address.version == 6 and address.ipv4_mapped:
            address = address.ipv4_mapped
        networks = [ipaddress.ip_network(str(n).strip()) for n in ssh_from]
        if not any(address.version == n.version and address in n for n in networks):
            problems.append(
                f"firewall_ssh_allowed_from does not include {address}, the address this run's SSH "
                f"connection comes from: the firewall would cut it"
            )
    return problems


def _rule(port, source, purpose) -> dict:
    return {"rule": "allow", "from_ip": source, "to_port": str(port), "proto": "tcp", "comment": f"{OWNER} {purpose}"}


def firewall_rules(ssh_port, ssh_from, allowlist, gateway_ports, http_open=False,
                   backend_port=None, backend_from=()) -> dict:
    """The rules wanted, SSH ones apart (they go in first): {'ssh': [...], 'other': [...]}.

    An empty allowlist opens the gateway ports to everyone; an empty backend_from opens
    Ollama's port to no one (a backend serves the gateways only)."""
    ssh = [_rule(ssh_port, source, "ssh") for source in gateway_networks(ssh_from) or ["any"]]
    other = []
    for port in gateway_ports:
        other += [_rule(port, source, "gateway") for source in gateway_networks(allowlist) or ["any"]]
    if http_open:
        other.append(_rule(80, "any", "http"))
    other += [_rule(backend_port, source, "backend") for source in gateway_networks(backend_from)]
    return {"ssh": ssh, "other": other}


def _key(rule: dict) -> tuple:
    source = rule.get("from_ip", "any")
    if source != "any":
        network = ipaddress.ip_network(source, strict=False)
        source = str(network.network_address) if network.num_addresses == 1 else str(network)
    return (rule["rule"], source, str(rule["to_port"]), rule.get("proto", "tcp"))


def firewall_parsed_rules(show_added: str) -> list[dict]:
    """The port rules `ufw show added` lists, each with owned: True when it carries our comment."""
    parsed = []
    for line in (show_added or "").splitlines():
        line = line.strip()
        simple, full = _SIMPLE.match(line), _FULL.match(line)
        if simple:
            action, port, proto, comment = simple.groups()
            source = "any"
        elif full:
            action, source, port, proto, comment = full.groups()
        else:
            continue
        parsed.append({
            "rule": action, "from_ip": source, "to_port": port, "proto": proto or "any",
            "comment": comment or "", "owned": (comment or "").startswith(OWNER + " "), "line": line,
        })
    return parsed


def firewall_owned_rules(show_added: str) -> list[dict]:
    """The rules in `ufw show added` output that carry this role's comment."""
    return [
        {k: r[k] for k in ("rule", "from_ip", "to_port", "proto", "comment")}
        for r in firewall_parsed_rules(show_added) if r["owned"]
    ]


def firewall_rules_to_add(wanted: list[dict], show_added: str) -> list[dict]:
    """Wanted rules, except those that exist already: as someone else's rule (ufw would move
    that rule over to our comment, and a later run could delete it), or as ours with the same
    comment (nothing to do; each ufw call costs a second or two)."""
    parsed = firewall_parsed_rules(show_added)
    foreign = {_key(r) for r in parsed if not r["owned"]}
    present = {(_key(r), r["comment"]) for r in parsed if r["owned"]}
    return [r for r in wanted if _key(r) not in foreign and (_key(r), r.get("comment", "")) not in present]


_COMMENT = re.compile(r"\s+comment\s+'(.*)'$")
_PORTSPEC = re.compile(r"^(\d+(?::\d+)?(?:,\d+(?::\d+)?)*)(?:/(tcp|udp))?$")


def _ports(spec: str) -> list | None:
    """'11434' / '11000:12000' / '80,443' -> [(low, high), ...]; None when the text is no port list."""
    match = _PORTSPEC.match(spec)
    if not match:
        return None
    ranges = []
    for part in match.group(1).split(","):
        low, _, high = part.partition(":")
        ranges.append((int(low), int(high or low)))
    return ranges


def _openings(show_added: str) -> list[dict]:
    """Every rule in `ufw show added` that lets traffic in (allow or limit; also route rules,
    which forward it): {line, owned, route, source, ports}. ports: [(low, high), ...], None for
    all ports, empty when the rule names an application profile (its ports are not in the line). Covers
    the forms ufw prints: "allow 11434/tcp", port lists and ranges ("allow 11000:12000/tcp"),
    "allow from 10.0.0.5" (all ports), "allow in on eth0 to any port 11434", rules to a specific
    address ("allow to 10.0.0.1 port 11434") and "route allow ..."."""
    openings = []
    for raw in (show_added or "").splitlines():
        line = raw.strip()
        if not line.startswith("ufw "):
            continue
        comment = _COMMENT.search(line)
        tokens = _COMMENT.sub("", line).split()[1:]
        route = bool(tokens) and tokens[0] == "route"
        tokens = tokens[1:] if route else tokens
        if not tokens or tokens[0] not in ("allow", "limit", "deny", "reject"):
            continue
        action, rest = tokens[0], [t for t in tokens[1:] if t not in ("log", "log-all")]
        direction = "in"
        fields: dict = {}
        i = 0
        while i < len(rest):
            word = rest[i]
            if word in ("in", "out"):  # a route rule has both: "in on eth0 out on eth1"
                if not fields.get("direction_set"):
                    direction, fields["direction_set"] = word, True
                i += 1
            elif word == "on" and i + 1 < len(rest):
                i += 2
            elif word in ("proto", "from", "to", "port", "app") and i + 1 < len(rest):
                if word == "port":
                    fields["to_port" if "to" in fields else "from_port"] = rest[i + 1]
                elif word == "app":
                    fields["to_app" if "to" in fields else "from_app"] = rest[i + 1]
                else:
                    fields[word] = rest[i + 1]
                i += 2
            else:
                fields.setdefault("simple", word)
                i += 1
        if action not in ("allow", "limit") or (direction == "out" and not route):
            continue
        if "simple" in fields:  # "allow 11434/tcp", "allow 80,443/tcp", "allow OpenSSH"
            ports = _ports(fields["simple"]) or []
        elif "to_app" in fields:
            ports = []
        elif "to_port" in fields:
            ports = _ports(fields["to_port"]) or []
        else:  # "allow from 10.0.0.5", "allow in on eth0", "allow to 10.0.0.1": every port
            ports = None
        openings.append({
            "line": line, "route": route, "source": fields.get("from", "any"), "ports": ports,
            "owned": bool(comment) and comment.group(1).startswith(OWNER + " "),
        })
    return openings


def _opens(opening: dict, port: int) -> bool:
    return opening["ports"] is None or any(low <= port <= high for low, high in opening["ports"])


def firewall_foreign_problems(show_added: str, protected_ports) -> list[str]:
    """Rules not added by this role that open a protected port (Ollama's), in any form: a port,
    a list or range holding it, every port, on one interface, to one address, or forwarded."""
    protected = sorted({int(p) for p in protected_ports or [] if _port_ok(p)})
    problems = []
    for opening in _openings(show_added):
        hit = [p for p in protected if _opens(opening, p)]
        if not opening["owned"] and hit:
            what = "every port, protected port" if opening["ports"] is None else "protected port"
            problems.append(
                f"the ufw rule \"{opening['line']}\" (not added by ollama-gate) opens {what} {hit[0]} "
                f"(firewall_protected_ports): delete it (ufw delete ...) first"
            )
    return problems


def firewall_foreign_warnings(show_added: str, gateway_ports, allowlist) -> list[str]:
    """Rules not added by this role that let clients beyond the allowlist reach a gateway port."""
    if not allowlist:
        return []
    networks = [ipaddress.ip_network(str(n).strip()) for n in allowlist]
    ports = sorted({int(p) for p in gateway_ports if _port_ok(p)})
    warnings = []
    for opening in _openings(show_added):
        hit = [p for p in ports if _opens(opening, p)]
        if opening["owned"] or not hit:
            continue
        try:
            source = ipaddress.ip_network(opening["source"], strict=False) if opening["source"] != "any" else None
        except ValueError:
            source = None
        if source is None or not any(source.version == n.version and source.subnet_of(n) for n in networks):
            warnings.append(
                f"the ufw rule \"{opening['line']}\" (not added by ollama-gate) lets clients outside the allowlist "
                f"reach gateway port {hit[0]}; the proxy still answers them 403"
            )
    return warnings


def firewall_stale_rules(owned: list[dict], wanted: dict) -> list[dict]:
    """Owned rules that are no longer wanted."""
    keys = {_key(r) for r in wanted["ssh"] + wanted["other"]}
    return [r for r in owned if _key(r) not in keys]


class FilterModule:
    def filters(self):
        return {
            "gateway_networks_problems": gateway_networks_problems,
            "gateway_networks": gateway_networks,
            "ollama_gate_networks_problems": gateway_networks_problems,
            "ollama_gate_pool_problems": ollama_gate_pool_problems,
            "ollama_gate_backend_address_problems": ollama_gate_backend_address_problems,
            "ollama_gate_backend_access_problems": ollama_gate_backend_access_problems,
            "firewall_problems": firewall_problems,
            "firewall_lockout_problems": firewall_lockout_problems,
            "firewall_rules": firewall_rules,
            "firewall_owned_rules": firewall_owned_rules,
            "firewall_rules_to_add": firewall_rules_to_add,
            "firewall_foreign_problems": firewall_foreign_problems,
            "firewall_foreign_warnings": firewall_foreign_warnings,
            "firewall_stale_rules": firewall_stale_rules,
        }
