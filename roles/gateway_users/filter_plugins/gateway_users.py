"""Filters for the gateway user list shared by every proxy (nginx htpasswd, Caddy hashes).

They run on the controller (libpass from requirements.txt), so target hosts need no Python
packages. Passwords never appear in what they return except as hashes, and error texts name
users, never passwords.
"""
from __future__ import annotations

import datetime
import ipaddress
import os
import re

from ansible.errors import AnsibleFilterError

try:
    from passlib.hash import apr_md5_crypt, bcrypt, ldap_salted_sha1, sha256_crypt, sha512_crypt
except ImportError as exc:  # pragma: no cover - depends on the controller's venv
    _IMPORT_ERROR: Exception | None = exc
else:
    _IMPORT_ERROR = None

SCHEMES = ("ssha", "apr1", "sha256_crypt", "sha512_crypt", "bcrypt")
# Cost used when none is given: glibc's/htpasswd's 5000 rounds, bcrypt 10 (libpass's own
# defaults, 656000 rounds and cost 12, would make every nginx request slow).
DEFAULT_COST = {"sha256_crypt": 5000, "sha512_crypt": 5000, "bcrypt": 10}
# Names end up in htpasswd lines, nginx maps and Caddyfiles: keep them to a safe set.
# Starting with a letter or digit: never ".", ".." or a hidden file in the credential store.
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]*$")
ROLES = ("user", "admin")


def _hasher(scheme: str, cost: int | None):
    if _IMPORT_ERROR is not None:
        raise AnsibleFilterError(f"gateway_users needs libpass on the controller: {_IMPORT_ERROR}")
    if scheme == "ssha":
        return ldap_salted_sha1
    if scheme == "apr1":
        return apr_md5_crypt
    if scheme == "sha256_crypt":
        return sha256_crypt.using(rounds=cost)
    if scheme == "sha512_crypt":
        return sha512_crypt.using(rounds=cost)
    if scheme == "bcrypt":
        return bcrypt.using(rounds=cost, ident="2y")
    raise AnsibleFilterError(f"unknown hash scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")


def _cost_of(scheme: str, hashed: str) -> int | None:
    """The cost parameter a hash was made with (None where the scheme has none)."""
    if scheme == "bcrypt":
        return int(hashed.split("$")[2])
    if scheme in ("sha256_crypt", "sha512_crypt"):
        match = re.match(r"^\$[56]\$rounds=(\d+)\$", hashed)
        return int(match.group(1)) if match else 5000
    return None


def gateway_users_problems(users, min_length: int = 20) -> list[str]:
    """What is wrong with a user list, one text per problem, naming the user (never a password)."""
    problems: list[str] = []
    if not isinstance(users, list):
        return ["must be a list of {name, password, state} entries"]
    seen: set[str] = set()
    seen_folded: dict[str, str] = {}
    for index, user in enumerate(users):
        where = f"entry {index + 1}"
        if not isinstance(user, dict):
            problems.append(f"{where}: must be a mapping with name and password")
            continue
        name = user.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name):
            problems.append(
                f"{where}: name {name!r} is not allowed: use letters, digits and . _ @ + -, starting"
                " with a letter or digit (no ':', no whitespace)"
            )
            continue
        where = f"user {name!r}"
        if name in seen:
            problems.append(f"{where}: listed twice")
        elif name.casefold() in seen_folded:
            # nginx's map compares names without regard to case: keep them apart
            problems.append(f"{where}: differs from {seen_folded[name.casefold()]!r} only in case")
        seen.add(name)
        seen_folded.setdefault(name.casefold(), name)
        state = user.get("state", "present")
        if state not in ("present", "absent"):
            problems.append(f"{where}: state must be present or absent, not {state!r}")
        role = user.get("role", "user")
        if role not in ROLES:
            problems.append(f"{where}: role must be user or admin, not {role!r}")
        if "expires" in user and _expiry(user["expires"]) is None:
            problems.append(f"{where}: expires must be a date like 2026-12-31, not {user['expires']!r}")
        if state == "absent" or _expired(user):
            continue
        password = user.get("password")
        if not isinstance(password, str) or not password:
            problems.append(f"{where}: no password")
        elif len(password) < int(min_length):
            problems.append(f"{where}: password shorter than {int(min_length)} characters")
        elif password.upper().startswith("CHANGE-ME"):
            problems.append(f"{where}: password is still the placeholder")
        elif "\n" in password or "\r" in password:
            problems.append(f"{where}: password contains a line break")
    return problems


def _expiry(value) -> datetime.date | None:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        return None


def _expired(user: dict, today: datetime.date | None = None) -> bool:
    """True once the user's expiry date has passed (the user may log in until the end of that day)."""
    expiry = _expiry(user.get("expires")) if user.get("expires") else None
    return expiry is not None and expiry < (today or datetime.date.today())


def _present(users, today: datetime.date | None = None) -> list[dict]:
    """Users who may log in: state present (the default) and not expired."""
    return [u for u in users if u.get("state", "present") == "present" and not _expired(u, today)]


def _existing_hashes(existing: str, separator: str = ":") -> dict[str, str]:
    hashes: dict[str, str] = {}
    for line in (existing or "").splitlines():
        name, sep, hashed = line.strip().partition(separator)
        if sep and name and not name.startswith("#"):
            hashes[name] = hashed.strip()
    return hashes


def _keep_or_hash(old: str | None, password: str, scheme: str, cost: int | None) -> str:
    """The old hash when it is of the wanted scheme and cost and matches; else a new one."""
    cost = int(cost) if cost else DEFAULT_COST.get(scheme)
    hasher = _hasher(scheme, cost)
    if old and hasher.identify(old) and _cost_of(scheme, old) == cost and hasher.verify(password, old):
        return old
    return hasher.hash(password)


def gateway_htpasswd(users, existing: str = "", scheme: str = "ssha", cost: int | None = None, separator: str = ":") -> str:
    """Content of an exclusive user file ("name<separator>hash" lines) for the present users.

    htpasswd for nginx uses ":"; Caddy's basic_auth accounts use " ". Hashes in `existing`
    are kept for users whose password still verifies with the wanted scheme and cost, so an
    unchanged list yields byte-identical content.
    """
    problems = gateway_users_problems(users, min_length=1)
    if problems:
        raise AnsibleFilterError("; ".join(problems))
    old = _existing_hashes(existing, separator)
    lines = [
        f"{u['name']}{separator}{_keep_or_hash(old.get(u['name']), u['password'], scheme, cost)}" for u in _present(users)
    ]
    return "".join(line + "\n" for line in lines)


def gateway_users_present(users) -> list[str]:
    """Names of the users who may log in (state present, not expired), in list order."""
    return [u["name"] for u in _present(users)]


def gateway_users_admins(users) -> list[str]:
    """Names of the users who may log in and manage models (role admin)."""
    return [u["name"] for u in _present(users) if u.get("role", "user") == "admin"]


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


# A DNS name as certificates and ACME accept it: labels of letters, digits and inner hyphens.
DNS_NAME_RE = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")


def _ip(text: str):
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def gateway_san(name) -> str:
    """A certificate subjectAltName entry for a host name or an IP address."""
    text = str(name).strip()
    address = _ip(text)
    return f"IP:{address}" if address else f"DNS:{text.lower()}"


def gateway_url_host(name) -> str:
    """A host name or IP address as written in URLs and Host headers: IPv6 in brackets."""
    text = str(name).strip()
    address = _ip(text)
    if address is None:
        return text
    return f"[{address}]" if address.version == 6 else str(address)


def gateway_tls_problems(tls: str, variable_prefix: str, domain: str = "", names=None, email: str = "",
                         directory: str = "", ca_bundle: str = "",
                         directory_variable: str = "", ca_bundle_variable: str = "",
                         http_port=None, port=None) -> list[str]:
    """What is wrong with the HTTPS settings of a gateway role, naming each variable.

    directory/ca_bundle: the ACME directory URL and the controller path of a PEM trusted for it
    (checked here, on the controller, so that a playbook refuses them before any host changes).
    http_port/port: nginx's redirect (and HTTP-01) port and its HTTPS port, when given.
    """
    problems = []
    if tls not in ("none", "acme", "internal"):
        return [f"{variable_prefix}_tls must be none, acme or internal (got {tls!r}; YAML reads a bare off as false: write none)"]
    if tls == "acme":
        if not domain:
            problems.append(f"{variable_prefix}_domain{'' if variable_prefix == 'ollama_gate' else ' (or ollama_gate_domain)'} must be set for tls acme: the public DNS name of the gateway")
        elif _ip(str(domain)) or not DNS_NAME_RE.match(str(domain)) or "." not in str(domain):
            problems.append(f"{variable_prefix}_domain: {domain!r} is not a fully qualified DNS name (ACME CAs do not certify IP addresses or bare host names: use tls internal for those)")
        if email and not re.match(r"^[^@\s{}\"'\\]+@[^@\s{}\"'\\]+\.[^@\s{}\"'\\]+$", str(email)):
            problems.append(f"{variable_prefix}_acme_email: {email!r} is not an email address")
        directory_variable = directory_variable or f"{variable_prefix}_acme_directory"
        ca_bundle_variable = ca_bundle_variable or f"{variable_prefix}_acme_ca_bundle"
        if directory and not re.match(r"^https://[^\s{}\"']+$", str(directory)):
            problems.append(f"{directory_variable} must be an https:// URL (got {directory!r})")
        if ca_bundle and not (os.path.isabs(str(ca_bundle)) and os.path.isfile(str(ca_bundle))):
            problems.append(f"{ca_bundle_variable}: {ca_bundle!r} is not an absolute path to a file on the controller")
        if http_port is not None and int(http_port) != 80:
            problems.append("nginx_gateway_http_port must be 80 with tls acme (HTTP-01 challenges always come to "
                            f"port 80; got {http_port})")
    if tls != "none" and http_port is not None and port is not None and int(http_port) == int(port):
        problems.append(f"nginx_gateway_http_port and nginx_gateway_port are both {port}: "
                        "the HTTP redirect needs its own port")
    if tls == "internal":
        if names is None or isinstance(names, (str, dict)) or not hasattr(names, "__iter__") or len(list(names)) == 0:
            problems.append(f"{variable_prefix}_tls_names must be a non-empty list of host names or IP addresses")
        else:
            for name in names:
                text = str(name).strip()
                if not (_ip(text) or DNS_NAME_RE.match(text)):
                    problems.append(f"{variable_prefix}_tls_names: {name!r} is neither a host name nor an IP address")
    return problems


class FilterModule:
    def filters(self):
        return {
            "gateway_users_present": gateway_users_present,
            "gateway_users_admins": gateway_users_admins,
            "gateway_users_problems": gateway_users_problems,
            "gateway_htpasswd": gateway_htpasswd,
            "gateway_networks_problems": gateway_networks_problems,
            "gateway_networks": gateway_networks,
            "gateway_san": gateway_san,
            "gateway_url_host": gateway_url_host,
            "gateway_tls_problems": gateway_tls_problems,
        }
