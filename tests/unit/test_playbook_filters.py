"""Filters the playbooks use (roles/ollama_gate/filter_plugins: credentials.py, users.py,
verify.py): credential store, expiry report, verify report."""
import datetime

import pytest
from ansible.errors import AnsibleFilterError

from ollama_gate_filters import credentials, load

store_filters = load("credentials")
gu = load("users")
verify = load("verify")

USERS = [{"name": "alice", "password": "alice-password-0123456789"}, {"name": "gen"}, {"name": "old", "state": "absent"}]


def test_missing_credential_generated_stored_0600_and_reused(tmp_path):
    store = tmp_path / "credentials"
    assert store_filters.ollama_gate_credentials_missing(gu.ollama_gate_generated_users(USERS), str(store)) == ["gen"]
    first = credentials(USERS, str(store))
    password = first[1]["password"]
    assert len(password) == 32 and password.isalnum()
    assert (store / "gen").stat().st_mode & 0o777 == 0o600
    assert store.stat().st_mode & 0o777 == 0o700
    assert store_filters.ollama_gate_credentials_missing(gu.ollama_gate_generated_users(USERS), str(store)) == []
    assert credentials(USERS, str(store))[1]["password"] == password
    assert first[0] == USERS[0] and first[2] == USERS[2]


def test_check_mode_writes_nothing(tmp_path):
    resolved = credentials(USERS, str(tmp_path / "credentials"), create=False)
    assert len(resolved[1]["password"]) == 32
    assert not (tmp_path / "credentials").exists()


def test_expiring_lists_only_users_within_the_window():
    today = datetime.date.today()
    users = [
        {"name": "soon", "password": "x", "expires": (today + datetime.timedelta(days=3)).isoformat()},
        {"name": "later", "password": "x", "expires": (today + datetime.timedelta(days=40)).isoformat()},
        {"name": "past", "password": "x", "expires": "2001-01-01"},
        {"name": "never", "password": "x"},
    ]
    assert gu.ollama_gate_expiring(users, 14) == [f"soon (expires {users[0]['expires']})"]


def test_verify_report_lines():
    anonymous = {"status": 401, "www_authenticate": 'Basic realm="Ollama"'}
    ok_version, ok_tags = {"status": 200, "json": {"version": "1.2.3"}}, {"status": 200, "json": {"models": [{"name": "m:latest"}]}}
    lines = verify.ollama_gate_verify_report(anonymous, [ok_version, {"status": 401}], [ok_tags, {"status": 401}], ["alice", "bob"])
    assert lines[0] == 'PASS  no credentials -> HTTP 401 (Basic realm="Ollama")'
    assert lines[1] == "PASS  user alice -> HTTP 200/200, version 1.2.3, models: m:latest"
    assert lines[2].startswith("FAIL  user bob -> HTTP 401/401")


def test_verify_report_fails_open_gateway_and_empty_list():
    lines = verify.ollama_gate_verify_report({"status": 200}, [], [], [])
    assert lines[0].startswith("FAIL  no credentials -> HTTP 200")
    assert lines[1].startswith("FAIL  no credentials to check")


def test_rotation_report_says_where_not_what():
    lines = store_filters.ollama_gate_rotation_report(["alice", "erin"], ["erin"], "/inv/credentials")
    assert lines == [
        "rotated: alice, erin",
        "alice: password from the inventory/vault applied",
        "erin: new credential in /inv/credentials/erin",
    ]
    assert store_filters.ollama_gate_rotation_report([], [], "/x") == ["rotated: nobody"]


def test_expired_user_gets_no_generated_credential(tmp_path):
    users = [{"name": "gone", "expires": "2020-01-01"}]
    resolved = credentials(users, str(tmp_path / "store"))
    assert "password" not in resolved[0]
    assert not (tmp_path / "store").exists()


def test_renewal_replaces_once_per_rotation_run(tmp_path):
    store = str(tmp_path / "store")
    first = credentials(USERS, store)[1]["password"]
    renewed = credentials(USERS, store, renew=["gen"], renewal="run-1")[1]["password"]
    assert renewed != first
    # a second host of the same run gets the same new credential
    assert credentials(USERS, store, renew=["gen"], renewal="run-1")[1]["password"] == renewed
    assert credentials(USERS, store)[1]["password"] == renewed
    nxt = credentials(USERS, store, renew=["gen"], renewal="run-2")[1]["password"]
    assert nxt != renewed
    assert oct((tmp_path / "store" / "gen").stat().st_mode & 0o777) == "0o600"


def test_renewal_in_check_mode_writes_nothing(tmp_path):
    store = str(tmp_path / "store")
    first = credentials(USERS, store)[1]["password"]
    dry = credentials(USERS, store, create=False, renew=["gen"], renewal="run-1")[1]["password"]
    assert dry != first
    assert (tmp_path / "store" / "gen").read_text().strip() == first


def test_rotation_report_in_check_mode_says_nothing_was_written():
    assert store_filters.ollama_gate_rotation_report(["erin"], ["erin"], "/s", written=False)[1] == (
        "erin: new credential in /s/erin (check mode: not written)"
    )


def test_vault_encrypted_store(tmp_path):
    from ansible.parsing.vault import VaultLib, VaultSecret

    store, secret = tmp_path / "store", tmp_path / "vault-pass"
    secret.write_text("s3cret-vault-password\n")
    password = credentials(USERS, str(store), vault_password_file=str(secret))[1]["password"]
    raw = (store / "gen").read_text()
    assert raw.startswith("$ANSIBLE_VAULT;") and password not in raw
    assert oct((store / "gen").stat().st_mode & 0o777) == "0o600"
    # what `ansible-vault view` shows
    assert VaultLib([("default", VaultSecret(b"s3cret-vault-password"))]).decrypt(raw).decode().strip() == password
    assert credentials(USERS, str(store), vault_password_file=str(secret))[1]["password"] == password


def test_vault_encrypted_store_errors_name_the_variable(tmp_path):
    store, secret, wrong = tmp_path / "store", tmp_path / "vault-pass", tmp_path / "wrong"
    secret.write_text("right-password")
    wrong.write_text("wrong-password")
    credentials(USERS, str(store), vault_password_file=str(secret))
    with pytest.raises(AnsibleFilterError, match="ollama_gate_credentials_vault_password_file"):
        credentials(USERS, str(store))
    with pytest.raises(AnsibleFilterError, match="cannot decrypt"):
        credentials(USERS, str(store), vault_password_file=str(wrong))
    with pytest.raises(AnsibleFilterError, match="cannot read"):
        credentials(USERS, str(store), vault_password_file=str(tmp_path / "missing"))


def test_plain_credentials_stay_readable_with_a_vault(tmp_path):
    store, secret = tmp_path / "store", tmp_path / "vault-pass"
    secret.write_text("pw")
    plain = credentials(USERS, str(store))[1]["password"]
    assert credentials(USERS, str(store), vault_password_file=str(secret))[1]["password"] == plain
    renewed = credentials(USERS, str(store), renew=["gen"], renewal="r1", vault_password_file=str(secret))
    assert (store / "gen").read_text().startswith("$ANSIBLE_VAULT;")
    assert renewed[1]["password"] != plain


def test_generated_users_are_those_without_a_password_who_may_log_in():
    users = USERS + [{"name": "empty", "password": ""}, {"name": "gone", "expires": "2020-01-01"}]
    assert gu.ollama_gate_generated_users(users) == ["gen", "empty"]


def test_verify_report_says_why_there_was_no_answer():
    anonymous = {"status": -1, "msg": "Request failed: <urlopen error [SSL: CERTIFICATE_VERIFY_FAILED]\n certificate verify failed>"}
    lines = verify.ollama_gate_verify_report(anonymous, [{"status": -1}], [{"status": -1}], ["alice"])
    assert lines[0].startswith("FAIL  no credentials -> HTTP -1 (Request failed:")
    assert "CERTIFICATE_VERIFY_FAILED" in lines[0] and "\n" not in lines[0]
    assert lines[1].startswith("FAIL  user alice")


def test_the_store_takes_accounts_not_the_user_list(tmp_path):
    users = [{"name": "alice", "password": "alice-password-0123456789", "keys": [{"name": "laptop"}]}]
    with pytest.raises(AnsibleFilterError, match="expand the user list with ollama_gate_accounts first"):
        store_filters.ollama_gate_credentials(users, str(tmp_path / "store"), active=["alice", "alice~laptop"])
    assert not (tmp_path / "store").exists()


def test_only_accounts_named_active_get_a_credential(tmp_path):
    resolved = store_filters.ollama_gate_credentials(gu.ollama_gate_accounts(USERS), str(tmp_path / "store"), active=[])
    assert resolved == USERS and not (tmp_path / "store").exists()


def test_a_name_that_is_no_plain_file_of_the_store_is_refused(tmp_path):
    for name in ("../escape", "a/b", ".lock", "", "line\nbreak", "a b", "alice~", "a~b~c"):
        with pytest.raises(AnsibleFilterError, match="cannot name a credential file"):
            store_filters.ollama_gate_credentials_missing([name], str(tmp_path / "store"))
        with pytest.raises(AnsibleFilterError, match="cannot name a credential file"):
            store_filters.ollama_gate_credentials([{"name": name}], str(tmp_path / "store"), active=[name], create=False)
    assert not (tmp_path / "store").exists() and not (tmp_path / "escape").exists()


def test_api_keys_get_their_credential_through_the_playbooks_chain(tmp_path):
    """users | ollama_gate_accounts | ollama_gate_credentials(active=<accounts> | gateway_users_present),
    as the gateway checks chain it: the key account is active and gets its key from the store."""
    users = [{"name": "alice", "password": "alice-password-0123456789", "keys": [{"name": "laptop"}]}]
    resolved = {a["name"]: a for a in credentials(users, str(tmp_path / "store"))}
    assert resolved["alice"]["password"] == "alice-password-0123456789"
    assert resolved["alice~laptop"]["password"] and (tmp_path / "store" / "alice~laptop").is_file()


def test_store_kept_on_the_gateways_is_merged_newest_first():
    """tasks/store-pull.yml's listings ("<name> <mtime> <base64>" per file, one per gateway): per
    name the newest copy wins; hidden files (the lock, renewal marks), paths and junk are ignored."""
    gw1 = "erin 100 ZXJpbi1vbGQ=\nalice~laptop 300 a2V5\n.run.lock 500 eA==\n"
    gw2 = "erin 200 ZXJpbi1uZXc=\n../etc 900 eA==\nbroken line\nbob+ci 50 Ym9i\n"
    merged = store_filters.ollama_gate_store_newest([gw1, gw2, ""])
    assert merged == [
        {"name": "alice~laptop", "mtime": 300, "content": "a2V5"},
        {"name": "bob+ci", "mtime": 50, "content": "Ym9i"},
        {"name": "erin", "mtime": 200, "content": "ZXJpbi1uZXc="},
    ]
    assert store_filters.ollama_gate_store_newest([]) == []
