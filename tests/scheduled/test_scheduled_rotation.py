"""Scheduled rotation (playbooks/systemd, README "Scheduled rotation") on a test host that is the
controller of its own gateway: the README's recipe installs the units, the service's runs rotate
with the vault password from LoadCredential=, report users expiring soon, never overlap with a
run by hand (the run lock), and a missed month is caught up when the timer starts."""
import datetime
import json
import time

from conftest import ALICE_PASSWORD, CLONE, INVENTORY, SERVICE, STORE, TIMER, VAULT_PASSWORD, gateway_lib

# Runs after the first one take the users-only fast path, by hand and scheduled (OLLAMA_GATE_ARGS)
FAST = "--tags users"
MANUAL = (f"cd {CLONE} && .venv/bin/ansible-playbook -i {INVENTORY} playbooks/rotate-users.yml"
          f" --vault-password-file /root/vault-password -e ollama_gate_rotate=erin {FAST}")


def test_recipe_installs_a_monthly_persistent_timer(controller):
    assert controller.out(f"systemctl is-enabled {TIMER}") == "enabled"
    assert controller.out(f"systemctl is-active {TIMER}") == "active"
    assert controller.out(f"systemctl show -P Persistent {TIMER}") == "yes"
    # the next run: the first of a month, 03:00
    nxt = controller.out(f"systemctl show -P NextElapseUSecRealtime {TIMER}")
    assert " 03:00:00 " in nxt + " " and controller.out(f"date -d '{nxt}' +%d") == "01", nxt
    assert controller.out("stat -c '%a %U' /etc/ollama-gate/vault-password") == "600 root"
    controller.run(f"systemd-analyze verify /etc/systemd/system/{SERVICE} /etc/systemd/system/{TIMER}")


def test_a_run_rotates_applies_the_vault_and_reports_who_expires(controller):
    old = controller.out(f"test ! -e {STORE}/erin || cat {STORE}/erin")
    molecule_erin = (gateway_lib.STORE / "erin").read_text().strip()
    assert controller.status("erin", molecule_erin) == "200"

    result, journal = controller.start_and_wait()
    assert result == "success", journal[-6000:]
    new = controller.stored("erin")
    assert new and new != old and new != molecule_erin
    assert controller.status("erin", new) == "200"
    assert controller.status("erin", molecule_erin) == "401"
    # alice's password came out of the vault (decrypted with the password systemd handed over)
    assert controller.status("alice", ALICE_PASSWORD) == "200"
    assert controller.status("dave", controller.stored("dave")) == "200"
    # the expiry report, in the journal
    soon = (datetime.date.today() + datetime.timedelta(days=5)).isoformat()
    assert f"expiring within 14 days: dave (expires {soon})" in " ".join(journal.split())
    for secret in (VAULT_PASSWORD, ALICE_PASSWORD, new, molecule_erin):
        assert secret not in journal
    # handed over as a credential: not in the unit's environment
    assert VAULT_PASSWORD not in controller.out(f"systemctl show -P Environment {SERVICE}")
    assert controller.run(f"test -e {STORE}/.run.lock", check=False)[0] != 0, "the lock was not released"
    controller.setting("OLLAMA_GATE_ARGS", FAST)


def _after(unit, task, since, controller):
    """When a task of a run in a unit's journal ended: the time of the first result line after it."""
    return float(controller.out(
        f"journalctl -q -o short-unix -u {unit} --since @{since}"
        f" | awk '/{task}/ {{f=1; next}} f && /-> localhost\\]/ {{print $1; exit}}'"))


def test_the_timer_waits_for_a_run_by_hand_to_end(controller):
    controller.run(f"install -m 0600 /dev/null /root/vault-password && printf %s '{VAULT_PASSWORD}' > /root/vault-password")
    before = controller.stored("erin")
    since = controller.now()
    controller.run(f"systemd-run --unit og-manual-rotation --collect -p SyslogIdentifier=manual bash -c '{MANUAL}'")
    # the run by hand holds the lock, naming its ansible-playbook process
    deadline = time.monotonic() + 120
    while controller.run(f"test -s {STORE}/.run.lock", check=False)[0] != 0:
        assert time.monotonic() < deadline, controller.out("journalctl -q -o cat -u og-manual-rotation")
        time.sleep(0.2)
    holder = json.loads(controller.out(f"cat {STORE}/.run.lock"))
    assert "ansible-playbook" in controller.out(f"ps -o args= -p {holder['pid']}")

    controller.run(f"systemctl start --no-block {SERVICE}")
    deadline = time.monotonic() + 10
    while controller.show("ActiveState") != "activating":
        assert time.monotonic() < deadline, "the service did not start"
        time.sleep(0.2)
    started = float(controller.out("date +%s.%N"))
    result, journal = controller.wait(since)
    assert result == "success", journal[-6000:]
    manual = controller.out(f"journalctl -q -o cat -u og-manual-rotation --since @{since}")
    assert "failed=0" in manual and "rotated: erin" in manual
    # the service started while the run by hand held the lock, and took it only once that run let go
    released = _after("og-manual-rotation", "Release the run lock", since, controller)
    taken = _after(SERVICE, "Hold the run lock", since, controller)
    assert started < released < taken
    # two rotations of erin, one after the other: the later one's credential is in force
    after = controller.stored("erin")
    assert after != before and controller.status("erin", after) == "200"


def test_a_run_that_cannot_get_the_lock_fails_and_changes_nothing(controller):
    # a run by hand that keeps going (its process named like ansible-playbook), holding the lock
    controller.run("systemd-run --unit og-holder --collect bash -c 'exec -a ansible-playbook sleep 300'")
    pid = controller.out("systemctl show -P MainPID og-holder")
    command = controller.out(f"ps -o args= -p {pid}")
    hostname = controller.out("hostname")
    lock = {"pid": int(pid), "host": hostname, "user": "root", "started": "2026-12-01T00:00:00Z", "command": command}
    controller.run(f"printf %s '{json.dumps(lock)}' > {STORE}/.run.lock")
    controller.setting("OLLAMA_GATE_LOCK_WAIT", "2")
    try:
        before = controller.stored("erin")
        users_file = controller.out("sha256sum /etc/nginx/ollama-gateway.htpasswd")
        result, journal = controller.start_and_wait()
        assert result == "exit-code"
        said = " ".join(journal.split())
        assert f"Another ollama-gate run holds {STORE}/.run.lock (PID {pid} on {hostname}" in said
        assert "Nothing was changed" in said
        assert controller.stored("erin") == before
        assert controller.out("sha256sum /etc/nginx/ollama-gateway.htpasswd") == users_file
        # the other run ends (without releasing: killed); its stale lock is taken over
        controller.run("systemctl stop og-holder")
        result, journal = controller.start_and_wait()
        assert result == "success", journal[-6000:]
        assert controller.stored("erin") != before
    finally:
        controller.run("systemctl stop og-holder", check=False)
        controller.setting("OLLAMA_GATE_LOCK_WAIT", None)


def test_a_missed_month_is_caught_up_when_the_timer_starts(controller):
    """As after a controller that was off on the first: the timer's last run is 40 days old."""
    before = controller.stored("erin")
    last_run = controller.show("InvocationID")
    controller.run(f"systemctl stop {TIMER}")
    since = controller.now()
    controller.run(f"touch -d '-40 days' /var/lib/systemd/timers/stamp-{TIMER} && systemctl start {TIMER}")
    deadline = time.monotonic() + 30
    while controller.show("InvocationID") == last_run:
        assert time.monotonic() < deadline, "the timer did not start the missed run"
        time.sleep(0.5)
    result, journal = controller.wait(since)
    assert result == "success", journal[-6000:]
    assert controller.stored("erin") != before
    # and the next one is a regular monthly run again
    nxt = controller.out(f"systemctl show -P NextElapseUSecRealtime {TIMER}")
    assert controller.out(f"date -d '{nxt}' +%d") == "01"
