"""Generated credentials and rotation runs (playbooks/rotate-users.yml), on a running gateway."""
import datetime
import os
from pathlib import Path

import pytest

from conftest import curl, run_playbook, said, scenario_users, write_vars

STORE = Path(os.environ.get("MOLECULE_INVENTORY_FILE", "/nonexistent")).parent / "credentials"
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
    proc = rotate("-e", "ollama_gate_rotate=all")
    assert stored(name) != old
    for user in gateway.users:
        assert f"{user['name']}: password from the inventory/vault applied" in said(proc)
        assert status(client, gateway, user["name"], user["password"]) == 200
    assert status(client, gateway, name, stored(name)) == 200
    for secret in secrets_of(gateway, old, stored(name)):
        assert secret not in proc.output


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


def test_users_expiring_soon_are_listed(gateway, tmp_path):
    soon = (datetime.date.today() + datetime.timedelta(days=3)).isoformat()
    later = (datetime.date.today() + datetime.timedelta(days=90)).isoformat()
    first, second = gateway.users[0]["name"], gateway.users[1]["name"]
    # the whole list given with -e (generated-credential users included), as a person might
    users = [
        dict(u, expires=soon) if u["name"] == first else dict(u, expires=later) if u["name"] == second else u
        for u in scenario_users()
    ]
    assert any("password" not in u for u in users)
    proc = rotate("--tags", "users", "-e", write_vars(tmp_path, {"ollama_gate_users": users}))
    assert f"{first} (expires {soon})" in said(proc)
    assert second + " (expires" not in said(proc)
    assert "changed=0" in proc.stdout.split("PLAY RECAP")[-1]
