"""Changing the user list on a running gateway (runs after the read-only tests)."""
import base64

import pytest

from conftest import STORE, curl, key_of, run_playbook, said, write_vars

NEW_PASSWORD = "alice-rotated-password-0123456789"


def gateway_run(tmp_path, users, *extra, check=True, **more_vars):
    return run_playbook(
        "playbooks/gateway.yml", "-e", write_vars(tmp_path, {"ollama_gate_users": users, **more_vars}), *extra, check=check
    )


def status(client, gateway, name, password):
    return curl(client, f"{gateway.url}/api/tags", name, password).status


@pytest.fixture
def users(gateway):
    return [dict(u) for u in gateway.users]


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        ({"name": "eve:il", "password": "eve-password-0123456789"}, "name 'eve:il' is not allowed"),
        ({"name": "eve il", "password": "eve-password-0123456789"}, "name 'eve il' is not allowed"),
        ({"name": "eve", "password": "too-short"}, "user 'eve': password shorter than 20 characters"),
        ({"name": "default", "password": "eve-password-0123456789", "role": "admin"}, "name 'default' is reserved"),
        ({"name": "eve", "password": "eve-password-0123456789", "expires": "2030-01-01",
          "keys": [{"name": "k", "expires": "2031-01-01"}]},
         "user 'eve': key 'k': expires 2031-01-01, after its user (2030-01-01)"),
        ({"name": "eve", "password": "eve-password-0123456789", "keys": [{"name": "k"}, {"name": "K"}]},
         "user 'eve': key 'K': differs from 'k' only in case"),
        ({"name": "eve", "password": "eve-password-0123456789", "keys": [{"name": "my key"}]},
         "user 'eve': key 1: name 'my key' is not allowed"),
    ],
)
def test_bad_user_list_refused_before_any_change(client, gateway_host, gateway, users, tmp_path, bad, expected):
    before = gateway_host.file(gateway.users_file).md5sum
    proc = gateway_run(tmp_path, users + [bad], check=False)
    assert proc.returncode != 0
    assert expected in proc.output
    assert bad["password"] not in proc.output
    assert gateway_host.file(gateway.users_file).md5sum == before
    assert status(client, gateway, users[0]["name"], users[0]["password"]) == 200
    assert not [p for p in STORE.iterdir() if p.name.startswith("eve")], "the credential store was written"


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"ollama_gate_user_endpoints": ["GET /api/tags", "POST /api/../pull"]},
         "ollama_gate_user_endpoints: 'POST /api/../pull' is not \"METHOD [METHOD ...] /path\""),
        ({"ollama_gate_user_endpoints": ["GET /api/tags", "GET HEAD /api/tags"]},
         "ollama_gate_user_endpoints: GET /api/tags is listed twice"),
        ({"ollama_gate_cors_origins": ["*"]}, "ollama_gate_cors_origins: '*' would let every web page"),
        ({"ollama_gate_cors_origins": ["https://chat.example.com/"]},
         "ollama_gate_cors_origins: 'https://chat.example.com/' is not an origin"),
    ],
)
def test_bad_access_policy_refused_before_any_change(gateway_host, gateway, users, tmp_path, settings, expected):
    before = gateway_host.file(gateway.users_file).md5sum
    proc = gateway_run(tmp_path, users, check=False, **settings)
    assert proc.returncode != 0
    assert expected in said(proc) and "Nothing was changed" in said(proc)
    assert gateway_host.file(gateway.users_file).md5sum == before


def bearer(client, gateway, key):
    return curl(client, f"{gateway.url}/api/tags", headers=[f"Authorization: Bearer {key}"]).status


def with_key(users, account, **change):
    """The list with one API key changed (state, expires)."""
    name, key_name = account.split("~")
    return [dict(u, keys=[dict(k, **change) if k["name"] == key_name else k for k in u.get("keys", [])])
            if u["name"] == name else u for u in users]


def test_expired_key_refused(client, gateway, users, tmp_path):
    account, key = key_of("admin")
    assert bearer(client, gateway, key) == 200
    gateway_run(tmp_path, with_key(users, account, expires="2020-01-01"), "--tags", "users")
    assert bearer(client, gateway, key) == 401
    assert status(client, gateway, users[0]["name"], users[0]["password"]) == 200


def test_revoked_key_refused_and_deleted_from_the_store(client, gateway, users, tmp_path):
    account, key = key_of("user")
    assert bearer(client, gateway, key) == 200
    gateway_run(tmp_path, with_key(users, account, state="absent"), "--tags", "users")
    assert bearer(client, gateway, key) == 401
    assert not (STORE / account).exists()


def test_placeholder_password_stops_site_before_ollama_is_touched(gateway_host, users, tmp_path):
    """site.yml checks the user list first: Ollama is not upgraded when the gateway run would fail."""
    users.append({"name": "dave", "password": "CHANGE-ME-at-least-20-characters"})
    dropin = "/etc/systemd/system/ollama.service.d/10-ollama-gate.conf"
    before = gateway_host.file(dropin).md5sum
    proc = run_playbook(
        "playbooks/site.yml", "-e", write_vars(tmp_path, {"ollama_gate_users": users, "ollama_keep_alive": "42m"}), check=False
    )
    assert proc.returncode != 0
    assert "user 'dave': password is still the placeholder" in proc.output
    assert "TASK [ollama :" not in proc.output  # the ollama role (not ollama_gate, whose checks run first)
    assert gateway_host.file(dropin).md5sum == before


def test_password_change_no_secret_in_verbose_diff_output(client, gateway, users, tmp_path):
    old = users[0]["password"]
    users[0]["password"] = NEW_PASSWORD
    proc = gateway_run(tmp_path, users, "-v", "--diff")
    output = proc.output
    keys = [key_of(role)[1] for role in ("user", "admin")]
    secrets = [base64.b64decode(key[3:]).decode().partition(":")[2] for key in keys]
    for secret in [old, NEW_PASSWORD] + [u["password"] for u in users] + keys + secrets:
        assert secret not in output
    assert status(client, gateway, users[0]["name"], NEW_PASSWORD) == 200
    assert status(client, gateway, users[0]["name"], old) == 401
    for other in users[1:]:
        assert status(client, gateway, other["name"], other["password"]) == 200


def test_rerun_with_same_list_changes_nothing(users, tmp_path):
    """Hashes of unchanged passwords are kept (the users fast path runs the same user-store
    tasks as a full run; a full re-run's 0 changed is the scenario's idempotence step)."""
    users[0]["password"] = NEW_PASSWORD
    proc = gateway_run(tmp_path, users, "--tags", "users")
    assert "changed=0" in proc.output.split("PLAY RECAP")[-1]


def test_removed_user_gets_401_others_200(client, gateway, users, tmp_path):
    """Both ways of removing someone in one run: the entry deleted, or left with state: absent."""
    assert len(users) >= 3, "the scenario needs three users with passwords"
    users[0]["password"] = NEW_PASSWORD
    deleted, absent, kept = users[-1], users[-2], users[:-2]
    gateway_run(tmp_path, kept + [{"name": absent["name"], "state": "absent"}])
    assert status(client, gateway, deleted["name"], deleted["password"]) == 401
    assert status(client, gateway, absent["name"], absent["password"]) == 401
    for user in kept:
        assert status(client, gateway, user["name"], user["password"]) == 200
