"""Filters of the controller-side credential store: one file per account (0600, directory 0700)
holding a generated password, or an API key, optionally vault-encrypted; updates are atomic and
serialized across the forks of a run. Also the rotation report, which says where each new
credential is (never the credential itself).

They take accounts and names already worked out from the user list (users.py:
ollama_gate_accounts, gateway_users_present, ollama_gate_generated_users), composed in Jinja.
"""
from __future__ import annotations

import base64
import contextlib
import fcntl
import os
import re
import secrets
import string
from pathlib import Path

from ansible.errors import AnsibleFilterError

CREDENTIAL_LENGTH = 32
CREDENTIAL_ALPHABET = string.ascii_letters + string.digits


_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]*(~[A-Za-z0-9][A-Za-z0-9._@+-]*)?")


def _credential_path(directory: str, name) -> Path:
    """<store>/<user>, or <store>/<user>~<key> for an API key: a file right in the store, never a
    hidden one (the store's lock, renewal markers and half-written files start with a dot)."""
    text = str(name)
    # a file name of letters, digits and . _ @ + - (with one ~ between user and key), not starting
    # with a dot: nothing that could leave the store or hide in it
    if not _FILE_NAME.fullmatch(text):
        raise AnsibleFilterError(f"ollama_gate_users: name {name!r} cannot name a credential file")
    return Path(directory) / text


def ollama_gate_credentials_missing(names, directory: str) -> list[str]:
    """Of the accounts whose credential comes from the store (ollama_gate_generated_users), those
    with no stored credential yet."""
    return [name for name in names or [] if not _credential_path(directory, name).exists()]


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
    accounts, directory: str, active, create: bool = True, renew=(), renewal: str = "", vault_password_file: str = ""
) -> list[dict]:
    """The accounts with a password for everyone who may log in:
    `users | ollama_gate_accounts | ollama_gate_credentials(store, active=<those accounts> | gateway_users_present)`.

    accounts: the user list expanded into accounts (each API key an account <user>~<key>);
    active: the names of the accounts who may log in (state present, not expired), the only ones
    whose credential is read or made. Those without an explicit password get one from the
    controller-side store `directory` (one file per account, 0600, directory 0700); a missing one
    is generated (32 random letters and digits) and stored first. An API key's store file holds
    the key itself (handed to the key's user) and its account's password is the key's secret; a
    key with state absent is deleted from the store. Accounts named in `renew` get a new one, once
    per `renewal` (an id of the rotation run: every host of the run gets the same new credential).
    With create false (check mode) nothing is written: new credentials exist in memory only.
    With vault_password_file, new credentials are stored vault-encrypted (and encrypted ones
    are read with it; plain ones stay readable).
    """
    accounts = list(accounts or [])
    if any(isinstance(a, dict) and "keys" in a for a in accounts):
        raise AnsibleFilterError("ollama_gate_credentials takes accounts: expand the user list with"
                                 " ollama_gate_accounts first (each API key is an account of its own)")
    renew = set(renew or [])
    may_log_in = set(active or [])
    pending = [a for a in accounts if (not a.get("password") or "key" in a) and a.get("name") in may_log_in]
    revoked = [a for a in accounts if "key" in a and a.get("state", "present") == "absent"]
    if revoked and create:
        pending += revoked
    vault = _vault(vault_password_file) if pending else None
    if pending and create:
        with _store_lock(Path(directory)):
            return _resolve(accounts, directory, may_log_in, renew, renewal, create, vault)
    return _resolve(accounts, directory, may_log_in, renew, renewal, create, vault)


def _resolve(accounts, directory, may_log_in, renew, renewal, create, vault) -> list[dict]:
    resolved = []
    for user in accounts:
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


def ollama_gate_store_newest(listings) -> list[dict]:
    """The credential store kept on the gateways, merged: each gateway's listing is lines of
    "<name> <mtime> <base64 content>" (tasks/store-pull.yml); per name the newest copy wins (a
    gateway that missed a rotation holds an older one). [{name, mtime, content (base64)}]."""
    newest: dict[str, dict] = {}
    for listing in listings or []:
        for line in str(listing or "").splitlines():
            parts = line.split(" ")
            if len(parts) != 3 or not _STORE_NAME.fullmatch(parts[0]) or not parts[1].isdigit():
                continue
            entry = {"name": parts[0], "mtime": int(parts[1]), "content": parts[2]}
            if parts[0] not in newest or entry["mtime"] > newest[parts[0]]["mtime"]:
                newest[parts[0]] = entry
    return [newest[name] for name in sorted(newest)]


# account names as the store writes them: users, and <user>~<key> for API keys; never a path
_STORE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+~-]*")


class FilterModule:
    def filters(self):
        return {
            "ollama_gate_credentials": ollama_gate_credentials,
            "ollama_gate_credentials_missing": ollama_gate_credentials_missing,
            "ollama_gate_rotation_report": ollama_gate_rotation_report,
            "ollama_gate_store_newest": ollama_gate_store_newest,
        }
