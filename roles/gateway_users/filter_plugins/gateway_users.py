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
# Words a user name cannot be: nginx's map reads them as parameters ("default" 1; would be a second
# default), Caddy's accounts file (imported into basic_auth) as a directive ("import").
RESERVED_NAMES = frozenset({"default", "include", "hostnames", "volatile", "import"})
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


def gateway_users_problems(users, min_length: int = 20, need_passwords: bool = True) -> list[str]:
    """What is wrong with a user list, one text per problem, naming the user (never a password).

    The list may be as written in the inventory (users with `keys`) or already expanded into
    accounts (gateway_accounts: one entry per user and per API key). need_passwords false accepts
    entries without a password (checked before generated credentials are read from or written to
    the store); passwords that are given are checked all the same."""
    problems = _user_list_problems(users, min_length, need_passwords)
    if problems or not isinstance(users, list) or not any(isinstance(u, dict) and "keys" in u for u in users):
        return problems
    # the accounts the proxies get: each key's own account needs its secret too
    return _user_list_problems(gateway_accounts(users), min_length, need_passwords)


def _user_list_problems(users, min_length, need_passwords) -> list[str]:
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
        if "key" in user:  # an API key's account, from gateway_accounts
            valid = isinstance(name, str) and name == f"{user.get('user')}~{user.get('key')}" and all(
                isinstance(part, str) and NAME_RE.fullmatch(part) for part in (user.get("user"), user.get("key")))
            if not valid:
                problems.append(f"{where}: API key account {name!r} is not <user>~<key name>")
                continue
        elif not isinstance(name, str) or not NAME_RE.fullmatch(name):
            problems.append(
                f"{where}: name {name!r} is not allowed: use letters, digits and . _ @ + -, starting"
                " with a letter or digit (no ':', no whitespace)"
            )
            continue
        elif name.casefold() in RESERVED_NAMES:
            problems.append(f"{where}: name {name!r} is reserved: it is a keyword where the proxies list"
                            " user names (nginx's map, Caddy's accounts file); choose another name")
            continue
        where = f"API key {name!r}" if "key" in user else f"user {name!r}"
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
        if "keys" in user:
            problems += _key_problems(user, where)
        if state == "absent" or _expired(user):
            continue
        password = user.get("password")
        if not need_passwords and password in (None, ""):
            continue  # generated later, into the credential store
        if "key" in user and not (isinstance(password, str) and password):
            problems.append(f"{where}: no secret (API keys are generated into the controller-side credential"
                            " store by the project's playbooks)")
        elif not isinstance(password, str) or not password:
            problems.append(f"{where}: no password")
        elif len(password) < int(min_length):
            problems.append(f"{where}: password shorter than {int(min_length)} characters")
        elif password.upper().startswith("CHANGE-ME"):
            problems.append(f"{where}: password is still the placeholder")
        elif "\n" in password or "\r" in password:
            problems.append(f"{where}: password contains a line break")
    return problems


def _key_problems(user: dict, where: str) -> list[str]:
    """What is wrong with a user's `keys` (names, duplicates, states, expiry within the user's)."""
    keys = user["keys"]
    if not isinstance(keys, list):
        return [f"{where}: keys must be a list of {{name, expires, state}} entries"]
    problems: list[str] = []
    seen: dict[str, str] = {}
    user_expiry = _expiry(user.get("expires")) if user.get("expires") else None
    for index, key in enumerate(keys):
        name = key.get("name") if isinstance(key, dict) else None
        if not isinstance(name, str) or not NAME_RE.fullmatch(name):
            problems.append(f"{where}: key {index + 1}: name {name!r} is not allowed: use letters, digits and"
                            " . _ @ + -, starting with a letter or digit")
            continue
        label = f"{where}: key {name!r}"
        if name.casefold() in seen:
            problems.append(f"{label}: listed twice" if seen[name.casefold()] == name
                            else f"{label}: differs from {seen[name.casefold()]!r} only in case")
        seen.setdefault(name.casefold(), name)
        unknown = sorted(set(key) - {"name", "expires", "state"})
        if unknown:
            # a key's secret is always generated (never given), and its role is its user's
            problems.append(f"{label}: {', '.join(unknown)} cannot be set (a key has name, expires and state)")
        if key.get("state", "present") not in ("present", "absent"):
            problems.append(f"{label}: state must be present or absent, not {key.get('state')!r}")
        if "expires" in key:
            expiry = _expiry(key["expires"])
            if expiry is None:
                problems.append(f"{label}: expires must be a date like 2026-12-31, not {key['expires']!r}")
            elif user_expiry is not None and expiry > user_expiry:
                problems.append(f"{label}: expires {expiry.isoformat()}, after its user ({user_expiry.isoformat()})")
    return problems


def gateway_accounts(users) -> list[dict]:
    """The user list expanded into accounts: each user, then one account per API key, named
    <user>~<key>, with the user's role, the key's expiry (else the user's) and the user's state
    (absent when either is). Entries that are already accounts pass through unchanged."""
    accounts = []
    for user in users or []:
        if not isinstance(user, dict) or not isinstance(user.get("keys"), list):
            accounts.append(user)
            continue
        accounts.append({k: v for k, v in user.items() if k != "keys"})
        for key in user["keys"]:
            if not isinstance(key, dict):
                continue
            absent = "absent" in (user.get("state", "present"), key.get("state", "present"))
            account = {"name": f"{user.get('name')}~{key.get('name')}", "user": user.get("name"),
                       "key": key.get("name"), "role": user.get("role", "user"),
                       "state": "absent" if absent else "present"}
            expires = key.get("expires") or user.get("expires")
            if expires:
                account["expires"] = expires
            accounts.append(account)
    return accounts


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
    """Accounts that may log in: state present (the default) and not expired; a user's `keys`
    are expanded into their accounts (lists that are accounts already pass unchanged)."""
    return [u for u in gateway_accounts(users) if u.get("state", "present") == "present" and not _expired(u, today)]


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


# --------------------------------------------------------------------------- access policy
# Regular expressions below are used by both proxies: nginx (PCRE) and Caddy (Go's RE2), so
# they keep to what both read the same way (no look-arounds, no backreferences).
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_SEGMENT_RE = re.compile(r"^[A-Za-z0-9._~-]+$")
# Matches nothing, in PCRE and RE2 alike (an empty allowlist).
NOTHING = r"[^\s\S]"
# Request targets (the raw path, before "?") that are not in canonical form: empty segments,
# dot segments, a character outside RFC 3986's path characters (a raw "#", "{", space, "\\",
# non-ASCII), or an encoded slash, backslash, dot, "#", brace or control character. Both proxies
# answer them 400 before anything else, so a path is checked exactly as Ollama, which decodes
# percent-encoding but cleans nothing, will route it, and a decoded path never holds a line break
# ("$" would match before it) or a Caddy placeholder. An absolute-form target
# ("http://host/path") is checked from its path on.
BAD_PATH_ERROR = ("bad request: the path has empty or dot segments, encoded slashes, dots or control"
                  " characters, or characters outside a URL path")
_PATH_CHARS = r"-A-Za-z0-9._~!$&'()*+,;=:@%"
_BAD_ESCAPES = r"%(?:[01][0-9A-Fa-f]|2[3EeFf]|5[Cc]|7[BbDdFf])"
BAD_PATH_REGEX = (r"^(?:[A-Za-z][A-Za-z0-9+.-]*://[^/?]*)?(?:/[^/?]*)*?/(?:/|\.\.?(?:/|\?|$)|[^/?]*?(?:"
                  + _BAD_ESCAPES + r"|[^" + _PATH_CHARS + r"/?]))")


def _endpoint(entry) -> tuple[list[str], str] | None:
    """("GET HEAD /api/tags") -> (["GET", "HEAD"], "/api/tags"); None when malformed."""
    if not isinstance(entry, str):
        return None
    words = entry.split()
    if len(words) < 2 or not all(m in HTTP_METHODS for m in words[:-1]) or len(set(words[:-1])) != len(words) - 1:
        return None
    path = words[-1]
    if path == "/":
        return words[:-1], path
    segments = path.split("/")
    if segments[0] != "" or not all(_SEGMENT_RE.fullmatch(seg) or seg == "*" for seg in segments[1:]):
        return None
    if any(seg in (".", "..") for seg in segments) or "*" in segments[1:-1]:
        return None
    return words[:-1], path


def gateway_endpoints_problems(entries, variable: str) -> list[str]:
    """What is wrong with an endpoint allowlist ("METHOD [METHOD ...] /path"), naming each entry."""
    if not isinstance(entries, list):
        return [f"{variable} must be a list of \"METHOD [METHOD ...] /path\" entries, not {entries!r}"]
    problems = []
    seen: dict[str, str] = {}
    for entry in entries:
        parsed = _endpoint(entry)
        if parsed is None:
            problems.append(
                f"{variable}: {entry!r} is not \"METHOD [METHOD ...] /path\" (methods of {', '.join(HTTP_METHODS)};"
                " path segments of letters, digits and . _ ~ -, or * as the last segment: any one segment)")
            continue
        for method in parsed[0]:
            key = f"{method} {parsed[1]}"
            if key in seen:
                problems.append(f"{variable}: {key} is listed twice ({seen[key]!r}, {entry!r})")
            seen.setdefault(key, entry)
    return problems


def gateway_endpoints_regex(entries) -> str:
    """One regular expression matching "METHOD /decoded/path" for every allowed endpoint (anchor it
    with ^(?:...)$). Case-sensitive and exact, like Ollama's router: a trailing slash or another
    case is another endpoint."""
    problems = gateway_endpoints_problems(entries, "endpoints")
    if problems:
        raise AnsibleFilterError("; ".join(problems))
    alternatives = []
    for methods, path in (_endpoint(e) for e in entries):
        pattern = "/".join("[^/]+" if seg == "*" else seg.replace(".", "\\.") for seg in path.split("/"))
        method = methods[0] if len(methods) == 1 else "(?:" + "|".join(methods) + ")"
        alternatives.append(f"{method} {pattern or '/'}")
    return "|".join(alternatives) or NOTHING


# What Ollama itself allows by default (envconfig.AllowedOrigins): loopback and app origins.
_ORIGIN_RE = re.compile(r"^(?P<scheme>[a-z][a-z0-9+.-]*)://(?P<host>\*|\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)"
                        r"(?::(?P<port>\*|[0-9]{1,5}))?$")


def gateway_origins_problems(entries, variable: str) -> list[str]:
    """What is wrong with a list of browser origins allowed to use the gateway, naming each entry."""
    if not isinstance(entries, list):
        return [f"{variable} must be a list of origins like https://chat.example.com, not {entries!r}"]
    problems = []
    for entry in entries:
        found = _ORIGIN_RE.fullmatch(entry) if isinstance(entry, str) else None
        if entry == "*":
            problems.append(f"{variable}: '*' would let every web page use the gateway with its visitors'"
                            " credentials; list the origins of your browser clients")
        elif found is None:
            problems.append(f"{variable}: {entry!r} is not an origin: scheme://host[:port] (port may be *),"
                            " no path, no trailing slash")
        elif found["host"] == "*" and found["scheme"] in ("http", "https"):
            problems.append(f"{variable}: {entry!r} would allow every web site; name the host")
        elif found["port"] not in (None, "*") and not 0 < int(found["port"]) < 65536:
            problems.append(f"{variable}: {entry!r}: port {found['port']} is out of range")
    return problems


def gateway_origins_regex(entries) -> str:
    """One regular expression matching the allowed Origin header values (anchor it with ^(?:...)$)."""
    problems = gateway_origins_problems(entries, "origins")
    if problems:
        raise AnsibleFilterError("; ".join(problems))
    alternatives = []
    for entry in entries:
        found = _ORIGIN_RE.fullmatch(entry)
        host = "[^/]+" if found["host"] == "*" else re.sub(r"([.\[\]])", r"\\\1", found["host"].lower())
        port = "" if found["port"] is None else (":[0-9]+" if found["port"] == "*" else ":" + found["port"])
        scheme = re.sub(r"([.+])", r"\\\1", found["scheme"])
        alternatives.append(f"{scheme}://{host}{port}")
    return "|".join(dict.fromkeys(alternatives)) or NOTHING


# What a preflight may ask for: the methods of Ollama's API, and the request headers its own CORS
# setup allows (OpenAI SDK headers included), plus the Anthropic SDK's and x-api-key.
CORS_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE"
CORS_HEADERS = ", ".join([
    "Authorization", "Content-Type", "User-Agent", "Accept", "X-Requested-With", "X-Api-Key",
    "Anthropic-Version", "Anthropic-Beta", "Anthropic-Dangerous-Direct-Browser-Access", "OpenAI-Beta",
    "X-Stainless-Arch", "X-Stainless-Async", "X-Stainless-Custom-Poll-Interval", "X-Stainless-Helper-Method",
    "X-Stainless-Lang", "X-Stainless-OS", "X-Stainless-Package-Version", "X-Stainless-Poll-Helper",
    "X-Stainless-Retry-Count", "X-Stainless-Runtime", "X-Stainless-Runtime-Version", "X-Stainless-Timeout",
])
CORS_MAX_AGE = 7200  # seconds; browsers cap it (Chromium at 2 h)


def gateway_access_policy(endpoints, origins) -> dict:
    """Everything both proxies' configurations derive from the policy inputs, computed once:
    the user endpoints' and the origins' regular expressions, the bad-path expression and the
    CORS answer's headers."""
    return {
        "endpoints_regex": gateway_endpoints_regex(endpoints),
        "origins_regex": gateway_origins_regex(origins),
        "bad_path_regex": BAD_PATH_REGEX,
        "bad_path_error": BAD_PATH_ERROR,
        "cors_methods": CORS_METHODS,
        "cors_headers": CORS_HEADERS,
        "cors_max_age": CORS_MAX_AGE,
    }


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
        elif _ip(str(domain)) or not DNS_NAME_RE.fullmatch(str(domain)) or "." not in str(domain):
            problems.append(f"{variable_prefix}_domain: {domain!r} is not a fully qualified DNS name (ACME CAs do not certify IP addresses or bare host names: use tls internal for those)")
        if email and not re.fullmatch(r"^[^@\s{}\"'\\]+@[^@\s{}\"'\\]+\.[^@\s{}\"'\\]+$", str(email)):
            problems.append(f"{variable_prefix}_acme_email: {email!r} is not an email address")
        directory_variable = directory_variable or f"{variable_prefix}_acme_directory"
        ca_bundle_variable = ca_bundle_variable or f"{variable_prefix}_acme_ca_bundle"
        if directory and not re.fullmatch(r"^https://[^\s{}\"']+$", str(directory)):
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
                if not (_ip(text) or DNS_NAME_RE.fullmatch(text)):
                    problems.append(f"{variable_prefix}_tls_names: {name!r} is neither a host name nor an IP address")
    return problems


class FilterModule:
    def filters(self):
        return {
            "gateway_accounts": gateway_accounts,
            "gateway_access_policy": gateway_access_policy,
            "gateway_endpoints_problems": gateway_endpoints_problems,
            "gateway_endpoints_regex": gateway_endpoints_regex,
            "gateway_origins_problems": gateway_origins_problems,
            "gateway_origins_regex": gateway_origins_regex,
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
