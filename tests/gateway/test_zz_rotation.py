"""Generated credentials and rotation runs (playbooks/rotate-users.yml), on a running gateway."""
import datetime

import pytest

from conftest import STORE, curl, key_of, run_playbook, said, scenario_users, write_vars

LOAD_SECONDS_MAX = 180


@pytest.fixture(scope="module", autouse=True)
def inventory_state_applied():
    """Earlier tests left the gateway with a reduced user list: apply the inventory's again
    (only users changed, so the users fast path restores it)."""
    run_playbook("playbooks/gateway.yml", "--tags", "users")


def generated_user():
    users = [u for u in scenario_users() if "password" not in u]
    assert users, "the scenario needs a user without a password (generated credential)"
    return users[0]["name"]


def stored(name):
    return (STORE / name).read_text().strip()


def status(client, gateway, name, password):
    return curl(client, f"{gateway.url}/api/tags", name, password).status


def rotate(*extra, check=True):
    return run_playbook("playbooks/rotate-users.yml", *extra, check=check)


def secrets_of(gateway, *more):
    return [u["password"] for u in gateway.users] + list(more)


def test_generated_credential_stored_privately_and_works(client, gateway):
    name = generated_user()
    path = STORE / name
    assert path.exists()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct(STORE.stat().st_mode & 0o777) == "0o700"
    password = stored(name)
    assert len(password) >= 24 and password.isalnum()
    assert status(client, gateway, name, password) == 200


def test_rotating_one_user_while_another_keeps_working(client, gateway):
    name = generated_user()
    old = stored(name)
    other = gateway.users[0]
    # continuous requests of an unaffected user, from the client host, until told to stop
    client.run("rm -f /tmp/og-load /tmp/og-load-stop")
    client.run(
        "nohup sh -c 'end=$(($(date +%s)+" + str(LOAD_SECONDS_MAX) + ")); "
        "while [ ! -e /tmp/og-load-stop ] && [ $(date +%s) -lt $end ]; do "
        f"curl -s -o /dev/null -m 10 -w \"%{{http_code}}\\n\" -u '{other['name']}:{other['password']}' {gateway.url}/api/tags >> /tmp/og-load; "
        "sleep 0.05; done' > /dev/null 2>&1 &"
    )
    proc = rotate("-e", f"ollama_gate_rotate={name}")
    client.run("touch /tmp/og-load-stop && sleep 1")
    statuses = client.file("/tmp/og-load").content_string.split()
    new = stored(name)
    assert new != old
    assert f"rotated: {name}" in said(proc)
    assert f"{name}: new credential in {STORE}/{name}" in said(proc)
    for secret in secrets_of(gateway, old, new):
        assert secret not in proc.output
    assert status(client, gateway, name, old) == 401
    assert status(client, gateway, name, new) == 200
    assert len(statuses) >= 20, "the load did not run during the rotation"
    assert set(statuses) == {"200"}, f"{len(statuses) - statuses.count('200')} failed requests"


def test_rotating_all(client, gateway):
    name = generated_user()
    old = stored(name)
    old_key = key_of("user")[1]
    proc = rotate("-e", "ollama_gate_rotate=all")
    assert stored(name) != old
    for user in gateway.users:
        assert f"{user['name']}: password from the inventory/vault applied" in said(proc)
        assert status(client, gateway, user["name"], user["password"]) == 200
    assert status(client, gateway, name, stored(name)) == 200
    for secret in secrets_of(gateway, old, stored(name)):
        assert secret not in proc.output
    # "all" takes the API keys along
    account, key = key_of("user")
    assert key != old_key and f"{account}: new credential in" in said(proc) and key not in proc.output
    assert bearer(client, gateway, old_key) == 401 and bearer(client, gateway, key) == 200


def bearer(client, gateway, key):
    return curl(client, f"{gateway.url}/api/tags", headers=[f"Authorization: Bearer {key}"]).status


def test_rotating_a_users_keys(client, gateway):
    """One key, or all of a user's keys (<user>~*), through the users fast path."""
    account, old = key_of("user")
    user = account.split("~")[0]
    proc = rotate("--tags", "users", "-e", f"ollama_gate_rotate={user}~*")
    _, new = key_of("user")
    assert new != old and f"rotated: {account}" in said(proc)
    assert f"{account}: new credential in {STORE}/{account}" in said(proc)
    assert old not in proc.output and new not in proc.output
    assert bearer(client, gateway, old) == 401 and bearer(client, gateway, new) == 200
    admin_account, admin_key = key_of("admin")
    rotate("--tags", "users", "-e", f"ollama_gate_rotate={admin_account}")
    assert key_of("admin")[1] != admin_key and key_of("user")[1] == new


def test_users_only_rotation(client, gateway):
    """The fast path (--tags users) updates the proxy's user store on its own."""
    name = generated_user()
    old = stored(name)
    proc = rotate("--tags", "users", "-e", f"ollama_gate_rotate={name}")
    new = stored(name)
    assert new != old
    assert f"{name}: new credential in {STORE}/{name}" in said(proc)
    assert status(client, gateway, name, old) == 401
    assert status(client, gateway, name, new) == 200
    again = rotate("--tags", "users")
    assert "changed=0" in again.stdout.split("PLAY RECAP")[-1]


def test_run_without_rotation_changes_nothing(gateway):
    name = generated_user()
    before = stored(name)
    proc = rotate()
    assert "rotated: nobody" in said(proc)
    assert "changed=0" in proc.stdout.split("PLAY RECAP")[-1]
    assert stored(name) == before


def test_unknown_name_refused_before_any_change(gateway):
    name = generated_user()
    before = stored(name)
    proc = rotate("-e", "ollama_gate_rotate=mallory", check=False)
    assert proc.returncode != 0
    assert "ollama_gate_rotate names mallory" in proc.output
    assert stored(name) == before


def expiring(user, date):
    """The user expiring on date, its API keys no later (a key may not outlive its user)."""
    keys = [dict(k, expires=min(str(k["expires"]), date)) if "expires" in k else k for k in user.get("keys", [])]
    return dict(user, expires=date, **({"keys": keys} if "keys" in user else {}))


def test_users_expiring_soon_are_listed(gateway, tmp_path):
    soon = (datetime.date.today() + datetime.timedelta(days=3)).isoformat()
    later = (datetime.date.today() + datetime.timedelta(days=90)).isoformat()
    first, second = gateway.users[0]["name"], gateway.users[1]["name"]
    # the whole list given with -e (generated-credential users included), as a person might
    users = [
        expiring(u, soon) if u["name"] == first else expiring(u, later) if u["name"] == second else u
        for u in scenario_users()
    ]
    assert any("password" not in u for u in users)
    proc = rotate("--tags", "users", "-e", write_vars(tmp_path, {"ollama_gate_users": users}))
    assert f"{first} (expires {soon})" in said(proc)
    assert second + " (expires" not in said(proc)
    assert "changed=0" in proc.stdout.split("PLAY RECAP")[-1]
