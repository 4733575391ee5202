#!/usr/bin/python
"""ollama-gate's run lock, on the controller: one run at a time changes the gateways' users.

A run that applies the user list (site.yml, gateway.yml, rotate-users.yml, by hand or from the
systemd timer) holds a lock file next to the credential store. The file names the
ansible-playbook process that holds it; a lock whose process has ended (a run that failed or was
killed) is stale and is taken over. A lock held by a run on another machine (a store on a shared
file system) is never taken over: its process cannot be checked from here.
"""
from __future__ import annotations

DOCUMENTATION = r"""
module: ollama_gate_lock
short_description: Take or release ollama-gate's run lock on the controller
description:
  - Takes the lock file at I(path) for the ansible-playbook run this task belongs to, waiting up to
    I(wait) seconds for another run that holds it; a lock of a run that has ended is taken over.
  - Releases it when this run holds it.
  - Run it on the controller (delegate_to localhost).
options:
  path:
    description: The lock file.
    type: path
    required: true
  state:
    description: C(held) takes the lock (again, when this run holds it already), C(released) lets it go.
    type: str
    choices: [held, released]
    default: held
  wait:
    description: Seconds to wait for another run to end before failing.
    type: int
    default: 0
"""

RETURN = r"""
holder:
  description: Who holds the lock (pid, host, user, started, command), after the task.
  type: dict
  returned: always
"""

import contextlib
import datetime
import fcntl
import getpass
import json
import os
import socket
import subprocess
import time

from ansible.module_utils.basic import AnsibleModule

# the process a run is known by: the ansible-playbook that forked the worker running this task
RUN_COMMAND = "ansible-playbook"


def _parent_and_command(pid: int) -> tuple[int, str]:
    """(parent pid, command line) of a process; (0, "") when there is no such process."""
    # -ww: the whole command line (ps cuts it to the terminal's or COLUMNS' width otherwise)
    proc = subprocess.run(["ps", "-ww", "-o", "ppid=", "-o", "args=", "-p", str(pid)],
                          capture_output=True, text=True, check=False)
    parent, _, command = proc.stdout.strip().partition(" ")
    return (int(parent), command.strip()) if parent.isdigit() else (0, "")


def run_process(start: int) -> tuple[int, str]:
    """The run this task belongs to: the topmost ancestor of `start` that is ansible-playbook (its
    workers are forks of it, with the same command line). Falls back to the topmost ancestor
    whose command names ansible (ansible-runner, a wrapper), then to `start` itself."""
    chain = []
    pid = start
    # (PID 1 included: ansible-playbook may be a container's first process)
    while pid > 0 and len(chain) < 32:
        parent, command = _parent_and_command(pid)
        if not command:
            break
        chain.append((pid, command))
        pid = parent
    for word in (RUN_COMMAND, "ansible"):
        matching = [link for link in chain if word in link[1]]
        if matching:
            return matching[-1]
    return chain[0] if chain else (start, "")


def alive(holder: dict) -> bool:
    """Whether the run named in a lock file still runs. Only a run on this machine can be checked:
    one elsewhere counts as running."""
    if holder.get("host") != socket.gethostname():
        return True
    pid = holder.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    _, command = _parent_and_command(pid)
    # the same process, not a later one that got its number
    return bool(command) and command == holder.get("command", command)


def read(path: str) -> dict | None:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        return data if isinstance(data, dict) else {}
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        # unreadable or half-written: nobody can be shown to hold it
        return {}


@contextlib.contextmanager
def guarded(path: str):
    """Every look at the lock and change of it happens under a kernel lock on a guard file, so two
    runs never both take a free or stale lock."""
    with open(path + ".guard", "a", encoding="utf-8") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(guard, fcntl.LOCK_UN)


def take(path: str, me: dict, check_mode: bool = False) -> tuple[str, dict]:
    """('taken' | 'held' | 'busy', holder) - held: this run has it already; busy: another run."""
    with guarded(path):
        holder = read(path)
        if holder and holder.get("pid") == me["pid"] and holder.get("host") == me["host"]:
            return "held", holder
        if holder is not None and holder and alive(holder):
            return "busy", holder
        if not check_mode:
            partial = f"{path}.{me['pid']}.tmp"
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(me, handle)
            os.replace(partial, path)
        return "taken", me


def release(path: str, me: dict, check_mode: bool = False) -> bool:
    """Remove the lock when this run holds it; True when it did (or would)."""
    with guarded(path):
        holder = read(path)
        if not holder or holder.get("pid") != me["pid"] or holder.get("host") != me["host"]:
            return False
        if not check_mode:
            os.unlink(path)
        return True


def describe(holder: dict) -> str:
    return (f"PID {holder.get('pid', '?')} on {holder.get('host', '?')}, user {holder.get('user', '?')},"
            f" since {holder.get('started', '?')}: {holder.get('command', '?')}")


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "state": {"type": "str", "choices": ["held", "released"], "default": "held"},
            "wait": {"type": "int", "default": 0},
        },
        supports_check_mode=True,
    )
    path, wait = module.params["path"], max(0, module.params["wait"])
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        if module.params["state"] == "released" or module.check_mode:
            module.exit_json(changed=False, holder={})
        os.makedirs(directory, mode=0o700, exist_ok=True)
    pid, command = run_process(os.getppid())
    me = {
        "pid": pid,
        "host": socket.gethostname(),
        "user": getpass.getuser(),
        "started": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": command,
    }
    if module.params["state"] == "released":
        module.exit_json(changed=release(path, me, module.check_mode), holder={})
    deadline = time.monotonic() + wait
    while True:
        state, holder = take(path, me, module.check_mode)
        if state != "busy":
            module.exit_json(changed=state == "taken", holder=holder)
        if time.monotonic() >= deadline:
            module.fail_json(
                msg=(f"Another ollama-gate run holds {path} ({describe(holder)}). Waited {wait} s"
                     " (ollama_gate_lock_wait); run again when it has ended. A lock of a run that has"
                     " ended is taken over; one from another machine is not: delete the file when no"
                     " run is going on there. Nothing was changed."),
                holder=holder,
            )
        time.sleep(min(5, max(0.2, deadline - time.monotonic())))


if __name__ == "__main__":
    main()
