"""Filters of the gateway user list: its checks, its expansion into accounts (one per user and
per API key), who may log in, and the user files the proxies read (nginx htpasswd, Caddy's
basic_auth accounts); also the playbooks' views of the list (rotation names, expiry report,
accounts whose credential the controller-side store holds).

They run on the controller (libpass from requirements.txt), so target hosts need no Python
packages. Passwords never appear in what they return except as hashes, and error texts name
users, never passwords.
"""
from __future__ import annotations

import datetime
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


def ollama_gate_active_users(users) -> list[dict]:
    """The accounts of the list who may log in (state present, not expired): users, and each API
    key as <user>~<key>."""
    return _present(users or [])


def ollama_gate_accounts(users) -> list[dict]:
    """The user list expanded into accounts: each user, then one <user>~<key> per API key."""
    return gateway_accounts(users or [])


def ollama_gate_generated_users(users) -> list[str]:
    """Accounts who may log in and whose credential comes from the store: users without a
    password in the inventory, and every API key (<user>~<key>)."""
    return [u["name"] for u in _present(users or [])
            if not u.get("password") or "key" in u]


def ollama_gate_rotation_names(request, accounts) -> list[str]:
    """The accounts a rotation request names: "all", or a list (or comma-separated string) of
    user names, API keys (<user>~<key>) and <user>~* (all of a user's keys). Names that match
    nothing are returned as given, for the caller's check."""
    names = [a["name"] for a in _present(accounts or [])]
    if request in ("all", ["all"]):
        return names
    words = request.split(",") if isinstance(request, str) else list(request or [])
    chosen: list[str] = []
    for word in (str(w).strip() for w in words):
        if not word:
            continue
        matches = [n for n in names if n.startswith(word[:-1])] if word.endswith("~*") else [word]
        chosen += [m for m in (matches or [word]) if m not in chosen]
    return chosen


def ollama_gate_expiring(users, days: int) -> list[str]:
    """'name (expires YYYY-MM-DD)' for users and API keys who may log in and expire within `days` days."""
    limit = datetime.date.today() + datetime.timedelta(days=int(days))
    return [
        f"{u['name']} (expires {u['expires']})" for u in _present(users or [])
        if u.get("expires") and _expiry(u["expires"]) <= limit
    ]


class FilterModule:
    def filters(self):
        return {
            "gateway_accounts": gateway_accounts,
            "gateway_users_present": gateway_users_present,
            "gateway_users_admins": gateway_users_admins,
            "gateway_users_problems": gateway_users_problems,
            "gateway_htpasswd": gateway_htpasswd,
            "ollama_gate_users_problems": gateway_users_problems,
            "ollama_gate_active_users": ollama_gate_active_users,
            "ollama_gate_accounts": ollama_gate_accounts,
            "ollama_gate_generated_users": ollama_gate_generated_users,
            "ollama_gate_rotation_names": ollama_gate_rotation_names,
            "ollama_gate_expiring": ollama_gate_expiring,
        }
