"""The run lock (roles/ollama_gate/library/ollama_gate_lock.py): one run at a time, a run that has
ended leaves a lock the next one takes over, and two runs racing for a free lock never both get it."""
import importlib.util
import multiprocessing
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "roles" / "ollama_gate" / "library" / "ollama_gate_lock.py"
_spec = importlib.util.spec_from_file_location("ollama_gate_lock", _PATH)
lock = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lock)


def run(pid, command=None):
    """A lock holder record for a process on this machine."""
    if command is None:
        command = lock._parent_and_command(pid)[1]
    return {"pid": pid, "host": socket.gethostname(), "user": "root", "started": "2026-12-01T00:00:00Z",
            "command": command}


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / ".run.lock")


@pytest.fixture
def other_run():
    """Another run that keeps going (a process of its own)."""
    proc = subprocess.Popen(["sleep", "60"])
    yield run(proc.pid)
    proc.kill()
    proc.wait()


def test_a_free_lock_is_taken_held_again_and_released(path):
    me = run(os.getpid())
    assert lock.take(path, me)[0] == "taken"
    assert lock.take(path, me)[0] == "held"
    assert lock.release(path, me) is True
    assert not os.path.exists(path)
    assert lock.release(path, me) is False


def test_a_lock_of_a_run_going_on_is_busy_and_not_released_by_another(path, other_run):
    assert lock.take(path, other_run)[0] == "taken"
    state, holder = lock.take(path, run(os.getpid()))
    assert state == "busy" and holder["pid"] == other_run["pid"]
    assert lock.release(path, run(os.getpid())) is False and os.path.exists(path)
    assert f"PID {other_run['pid']} on {socket.gethostname()}" in lock.describe(holder)


def test_the_lock_of_a_run_that_ended_is_taken_over(path):
    proc = subprocess.Popen(["sleep", "60"])
    ended = run(proc.pid)
    lock.take(path, ended)
    proc.kill()
    proc.wait()
    assert lock.take(path, run(os.getpid()))[0] == "taken"


def test_a_long_command_line_is_compared_whole(path, monkeypatch):
    """ps cuts command lines to the terminal's width unless told not to: a run recorded under one
    width must not look ended under another."""
    me = run(os.getpid())
    monkeypatch.setenv("COLUMNS", "40")
    assert lock.alive(me)


def test_a_pid_reused_by_another_program_does_not_keep_the_lock(path, other_run):
    lock.take(path, dict(other_run, command="ansible-playbook -i inventories/prod/hosts.yml site.yml"))
    assert lock.take(path, run(os.getpid()))[0] == "taken"


def test_a_lock_from_another_machine_is_never_taken_over(path):
    lock.take(path, dict(run(os.getpid()), host="elsewhere.example", pid=1))
    assert lock.take(path, run(os.getpid()))[0] == "busy"


def test_check_mode_writes_nothing(path):
    assert lock.take(path, run(os.getpid()), check_mode=True)[0] == "taken"
    assert not os.path.exists(path)


def test_an_unreadable_lock_is_replaced(path):
    Path(path).write_text("{half-written")
    assert lock.take(path, run(os.getpid()))[0] == "taken"


def _race(path, barrier, results):
    barrier.wait()
    results.put(lock.take(path, run(os.getpid()))[0])
    # every racer's run goes on until all have tried (a run that ended would leave a stale lock)
    barrier.wait()


def test_runs_racing_for_a_free_lock_never_both_get_it(path):
    for _ in range(5):
        if os.path.exists(path):
            os.unlink(path)
        barrier, results = multiprocessing.Barrier(4), multiprocessing.Queue()
        racers = [multiprocessing.Process(target=_race, args=(path, barrier, results)) for _ in range(4)]
        for racer in racers:
            racer.start()
        states = sorted(results.get(timeout=30) for _ in racers)
        for racer in racers:
            racer.join()
        assert states == ["busy", "busy", "busy", "taken"]


def test_the_run_is_the_topmost_ansible_playbook_process():
    """The worker that runs a task is a fork of ansible-playbook (same command line): the lock names
    the topmost one, which lives for the whole run."""
    # ansible-playbook -> a forked worker with the same command line -> the task's process
    outer = subprocess.Popen(["bash", "-c", 'exec -a ansible-playbook bash -c "( sleep 30; true ); true"'])

    def children(pid):
        return subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()

    try:
        deadline = time.monotonic() + 10
        while not (task := [c for worker in children(outer.pid) for c in children(worker)]):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        pid, command = lock.run_process(int(task[0]))
        assert pid == outer.pid and command.startswith("ansible-playbook")
    finally:
        for worker in children(outer.pid):
            for task_pid in children(worker):
                os.kill(int(task_pid), 9)
            os.kill(int(worker), 9)
        outer.kill()
        outer.wait()
