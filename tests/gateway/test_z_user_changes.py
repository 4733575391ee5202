"""Changing the user list on a running gateway (runs after the read-only tests)."""
import pytest

from conftest import curl, run_playbook, write_vars

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
    assert "TASK [ollama" not in proc.output
    assert gateway_host.file(dropin).md5sum == before


def test_password_change_no_secret_in_verbose_diff_output(client, gateway, users, tmp_path):
    old = users[0]["password"]
    users[0]["password"] = NEW_PASSWORD
    proc = gateway_run(tmp_path, users, "-v", "--diff")
    output = proc.output
    for secret in [old, NEW_PASSWORD] + [u["password"] for u in users]:
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
