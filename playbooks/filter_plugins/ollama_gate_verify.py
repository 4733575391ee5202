"""Filters of the project's playbooks: verify.yml's report, the controller-side credential
store, and the user-list check of the preflight (the same code the gateway roles use, loaded
from roles/gateway_users)."""
from __future__ import annotations

import base64
import contextlib
import datetime
import fcntl
import importlib.util
import os
import secrets
import string
from pathlib import Path

from ansible.errors import AnsibleFilterError

_spec = importlib.util.spec_from_file_location(
    "ollama_gate_gateway_users", Path(__file__).resolve().parents[2] / "roles/gateway_users/filter_plugins/gateway_users.py"
)
_gateway_users = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_gateway_users)


def _json(result) -> dict:
    data = result.get("json")
    return data if isinstance(data, dict) else {}


def _failure(result) -> str:
    """Why a request got no usable answer (no connection, TLS verification) or no realm."""
    if result.get("status") == -1:
        return " ".join(str(result.get("msg", "no connection")).split())[:300]
    return "no WWW-Authenticate: Basic realm"


def ollama_gate_verify_report(anonymous, versions, tags, names) -> list[str]:
    """Lines like 'PASS  user alice -> HTTP 200, version 0.32.15, models: llama3.2:latest'
    ('key alice~laptop (Bearer)' for an API key's account).

    anonymous: uri result without credentials; versions/tags: uri loop results, one per name.
    """
    lines = []
    realm = anonymous.get("www_authenticate", "")
    ok = anonymous.get("status") == 401 and realm.startswith("Basic realm=")
    lines.append(
        f"{'PASS' if ok else 'FAIL'}  no credentials -> HTTP {anonymous.get('status')}"
        + (f" ({realm})" if realm else f" ({_failure(anonymous)})")
    )
    names = list(names)
    if not names:
        lines.append("FAIL  no credentials to check (ollama_gate_users is empty)")
    for name, version, tag in zip(names, versions, tags):
        models = _json(tag).get("models")
        ok = version.get("status") == 200 and tag.get("status") == 200 and isinstance(models, list)
        listed = ", ".join(m.get("name", "?") for m in models or []) or "none"
        what = f"key {name} (Bearer)" if "~" in name else f"user {name}"
        lines.append(
            f"{'PASS' if ok else 'FAIL'}  {what} -> HTTP {version.get('status')}/{tag.get('status')}, "
            f"version {_json(version).get('version', '?')}, models: {listed}"
        )
    return lines


def ollama_gate_active_users(users) -> list[dict]:
    """The accounts of the list who may log in (state present, not expired): users, and each API
    key as <user>~<key> (gateway_users._present expands keys)."""
    return _gateway_users._present(users or [])


def ollama_gate_accounts(users) -> list[dict]:
    """The user list expanded into accounts: each user, then one <user>~<key> per API key."""
    return _gateway_users.gateway_accounts(users or [])


def ollama_gate_rotation_names(request, accounts) -> list[str]:
    """The accounts a rotation request names: "all", or a list (or comma-separated string) of
    user names, API keys (<user>~<key>) and <user>~* (all of a user's keys). Names that match
    nothing are returned as given, for the caller's check."""
    names = [a["name"] for a in _gateway_users._present(accounts or [])]
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


CREDENTIAL_LENGTH = 32
CREDENTIAL_ALPHABET = string.ascii_letters + string.digits


def ollama_gate_expiring(users, days: int) -> list[str]:
    """'name (expires YYYY-MM-DD)' for users and API keys who may log in and expire within `days` days."""
    limit = datetime.date.today() + datetime.timedelta(days=int(days))
    return [
        f"{u['name']} (expires {u['expires']})" for u in _gateway_users._present(users or [])
        if u.get("expires") and _gateway_users._expiry(u["expires"]) <= limit
    ]


def ollama_gate_rotation_report(rotated, generated, store: str, written: bool = True) -> list[str]:
    """Who was rotated, and where each new credential is (never the credential itself).

    written false (check mode): the store was not touched, and the lines say so."""
    rotated, generated = list(rotated or []), set(generated or [])
    lines = [f"rotated: {', '.join(rotated) or 'nobody'}"]
    for name in rotated:
        if name in generated:
            lines.append(f"{name}: new credential in {store}/{name}" + ("" if written else " (check mode: not written)"))
        else:
            lines.append(f"{name}: password from the inventory/vault applied")
    return lines


def _credential_path(directory: str, name: str) -> Path:
    """<store>/<user>, or <store>/<user>~<key> for an API key."""
    if not all(_gateway_users.NAME_RE.fullmatch(part) for part in str(name).split("~", 1)):
        raise AnsibleFilterError(f"ollama_gate_users: name {name!r} cannot name a credential file")
    return Path(directory) / name


def ollama_gate_generated_users(users) -> list[str]:
    """Accounts who may log in and whose credential comes from the store: users without a
    password in the inventory, and every API key (<user>~<key>)."""
    return [u["name"] for u in _gateway_users._present(users or [])
            if not u.get("password") or "key" in u]


def ollama_gate_credentials_missing(users, directory: str) -> list[str]:
    """Users who may log in, have no password in the inventory and no stored credential yet."""
    return [name for name in ollama_gate_generated_users(users) if not _credential_path(directory, name).exists()]


def _new_credential() -> str:
    """32 random letters and digits: 190 bits."""
    return "".join(secrets.choice(CREDENTIAL_ALPHABET) for _ in range(CREDENTIAL_LENGTH))


KEY_PREFIX = "og_"


def _new_key(account: str) -> str:
    """An API key: "og_" + base64("<user>~<key>:<secret>"), the Basic credential of the key's
    account (the gateways turn a Bearer or x-api-key key back into it); the secret is a new
    credential (190 bits)."""
    return KEY_PREFIX + base64.b64encode(f"{account}:{_new_credential()}".encode()).decode()


def _key_secret(account: str, key: str, path: Path) -> str:
    """The secret inside a stored API key, which must be this account's."""
    try:
        name, sep, secret = base64.b64decode(key.removeprefix(KEY_PREFIX), validate=True).decode().partition(":")
    except ValueError:
        name, sep, secret = "", "", ""
    if not key.startswith(KEY_PREFIX) or not sep or name != account or not secret:
        raise AnsibleFilterError(f"{path} does not hold an API key of {account} (rotate it to make a new one)")
    return secret


VAULT_HEADER = "$ANSIBLE_VAULT;"
VAULT_VARIABLE = "ollama_gate_credentials_vault_password_file"


def _vault(password_file: str):
    """An Ansible Vault for the store, from a password file; None when the store is plain."""
    if not password_file:
        return None
    from ansible.parsing.vault import VaultLib, VaultSecret

    try:
        secret = Path(password_file).expanduser().read_bytes().strip()
    except OSError as exc:
        raise AnsibleFilterError(f"{VAULT_VARIABLE}: cannot read {password_file} ({exc.strerror})") from None
    if not secret:
        raise AnsibleFilterError(f"{VAULT_VARIABLE}: {password_file} is empty")
    return VaultLib([("default", VaultSecret(secret))])


def _read_credential(path: Path, vault) -> str:
    text = path.read_text()
    if not text.startswith(VAULT_HEADER):
        return text.strip()
    if vault is None:
        raise AnsibleFilterError(f"{path} is vault-encrypted: set {VAULT_VARIABLE}")
    try:
        return vault.decrypt(text).decode().strip()
    except Exception:  # noqa: BLE001 - AnsibleError subclasses; never show the content
        raise AnsibleFilterError(f"{path}: cannot decrypt it with the vault password of {VAULT_VARIABLE}") from None


def _store_credential(path: Path, credential: str, vault=None) -> None:
    """Write atomically (a new 0600 file renamed over the old one): never a half-written file.
    With a vault, the file holds the credential encrypted (`ansible-vault view` shows it)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    content = vault.encrypt(credential + "\n").decode() if vault else credential + "\n"
    with os.fdopen(fd, "w") as f:
        f.write(content)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


@contextlib.contextmanager
def _store_lock(directory: Path):
    """Serialize store updates: the hosts of one run resolve credentials in parallel forks."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ollama_gate_credentials(
    users, directory: str, create: bool = True, renew=(), renewal: str = "", vault_password_file: str = ""
) -> list[dict]:
    """The user list with a password for everyone who may log in.

    Users without an explicit password get one from the controller-side store `directory`
    (one file per user, 0600, directory 0700); a missing one is generated (32 random letters
    and digits) and stored first. The list comes back expanded into accounts (gateway_accounts):
    each API key is an account <user>~<key> whose store file holds the key itself (handed to the
    key's user) and whose password is the key's secret; a key with state absent is deleted from
    the store. Users named in `renew` get a new one, once per `renewal`
    (an id of the rotation run: every host of the run gets the same new credential).
    With create false (check mode) nothing is written: new credentials exist in memory only.
    With vault_password_file, new credentials are stored vault-encrypted (and encrypted ones
    are read with it; plain ones stay readable).
    """
    users = _gateway_users.gateway_accounts(users or [])
    renew = set(renew or [])
    may_log_in = {u["name"] for u in _gateway_users._present(users)}
    pending = [u for u in users if (not u.get("password") or "key" in u) and u.get("name") in may_log_in]
    revoked = [u for u in users if "key" in u and u.get("state", "present") == "absent"]
    if revoked and create:
        pending += revoked
    vault = _vault(vault_password_file) if pending else None
    if pending and create:
        with _store_lock(Path(directory)):
            return _resolve(users, directory, may_log_in, renew, renewal, create, vault)
    return _resolve(users, directory, may_log_in, renew, renewal, create, vault)


def _resolve(users, directory, may_log_in, renew, renewal, create, vault) -> list[dict]:
    resolved = []
    for user in users:
        user = dict(user)
        is_key = "key" in user
        if is_key and user.get("state", "present") == "absent" and create:
            # a revoked key is deleted from the store: it can never come back
            path = _credential_path(directory, user["name"])
            path.unlink(missing_ok=True)
            path.with_name(f".{path.name}.renewal").unlink(missing_ok=True)
        if (user.get("password") and not is_key) or user.get("name") not in may_log_in:
            resolved.append(user)
            continue
        path = _credential_path(directory, user["name"])
        marker = path.with_name(f".{path.name}.renewal")
        renewing = user["name"] in renew and not (
            renewal and marker.exists() and marker.read_text().strip() == renewal
        )
        new = _new_key(user["name"]) if is_key else _new_credential()
        if path.exists() and not renewing:
            credential = _read_credential(path, vault)
        elif create:
            _store_credential(path, new, vault)
            if renewing and renewal:
                marker.write_text(renewal + "\n")
            credential = _read_credential(path, vault)
        else:
            credential = new
        user["password"] = _key_secret(user["name"], credential, path) if is_key else credential
        resolved.append(user)
    return resolved


class FilterModule:
    def filters(self):
        return {
            "ollama_gate_verify_report": ollama_gate_verify_report,
            "ollama_gate_active_users": ollama_gate_active_users,
            "ollama_gate_accounts": ollama_gate_accounts,
            "ollama_gate_rotation_names": ollama_gate_rotation_names,
            "ollama_gate_users_problems": _gateway_users.gateway_users_problems,
            "ollama_gate_networks_problems": _gateway_users.gateway_networks_problems,
            "ollama_gate_tls_problems": _gateway_users.gateway_tls_problems,
            "ollama_gate_endpoints_problems": _gateway_users.gateway_endpoints_problems,
            "ollama_gate_origins_problems": _gateway_users.gateway_origins_problems,
            "ollama_gate_credentials": ollama_gate_credentials,
            "ollama_gate_credentials_missing": ollama_gate_credentials_missing,
            "ollama_gate_generated_users": ollama_gate_generated_users,
            "ollama_gate_expiring": ollama_gate_expiring,
            "ollama_gate_rotation_report": ollama_gate_rotation_report,
        }
