#!/usr/bin/env python3
"""Cost of one Ansible task on a test host, by connection plugin and pipelining.

Every Molecule scenario talks to its test hosts through an Ansible connection plugin; each task
is one or more `docker exec` round trips (without pipelining: make a temp dir, copy the module,
run it, remove the dir). This runs the same small playbook (a mix of stat, command, copy, file and
a no-op apt, as the roles use them) against one converged test host with each combination, in
alternating rounds, and prints the median seconds per task and the ratio to the old setting
(community.docker.docker without pipelining).

    python bench/connection.py [--host ollama-gate-demo] [--rounds 3] [--tasks 40]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VARIANTS = {
    "docker, no pipelining (before)": ("community.docker.docker", False),
    "docker, pipelining": ("community.docker.docker", True),
    "docker_api, no pipelining": ("community.docker.docker_api", False),
    "docker_api, pipelining": ("community.docker.docker_api", True),
}

TASKS = """\
- name: Stat a file
  ansible.builtin.stat:
    path: /etc/hostname
- name: Run a command
  ansible.builtin.command:
    argv: ["true"]
  changed_when: false
- name: Copy a file
  ansible.builtin.copy:
    content: "bench\\n"
    dest: /tmp/og-bench-connection
    owner: root
    group: root
    mode: "0644"
- name: Set a file's mode
  ansible.builtin.file:
    path: /tmp/og-bench-connection
    mode: "0644"
- name: Keep a package installed
  ansible.builtin.apt:
    name: python3
    state: present
"""


def playbook(path: Path, tasks: int) -> None:
    body = "\n".join("    " + line if line else line for line in TASKS.splitlines())
    repeats = max(1, tasks // 5)
    play = ["---", "- name: Connection bench", "  hosts: all", "  gather_facts: false", "  become: true",
            "  tasks:"]
    for i in range(repeats):
        play.append(f"    - name: Round {i}")
        play.append("      block:")
        play.extend("    " + line for line in body.splitlines())
    path.write_text("\n".join(play) + "\n")


def run(host: str, plugin: str, pipelining: bool, book: Path, inventory: Path) -> float:
    inventory.write_text(f"all:\n  hosts:\n    {host}:\n      ansible_connection: {plugin}\n"
                         "      ansible_python_interpreter: /usr/bin/python3\n")
    env = dict(os.environ, ANSIBLE_PIPELINING=str(pipelining), ANSIBLE_FORCE_COLOR="0")
    start = time.monotonic()
    proc = subprocess.run(["ansible-playbook", "-i", str(inventory), str(book)], env=env,
                          capture_output=True, text=True)
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"{plugin} (pipelining={pipelining}) failed:\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="ollama-gate-demo")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ollama-gate-bench-") as tmp:
        book, inventory = Path(tmp) / "bench.yml", Path(tmp) / "hosts.yml"
        playbook(book, args.tasks)
        tasks = max(1, args.tasks // 5) * 5
        times: dict[str, list[float]] = {label: [] for label in VARIANTS}
        for _ in range(args.rounds):
            for label, (plugin, pipelining) in VARIANTS.items():
                times[label].append(run(args.host, plugin, pipelining, book, inventory))
    base = statistics.median(times["docker, no pipelining (before)"]) / tasks
    print(f"\n{tasks} tasks against {args.host}, median of {args.rounds} rounds (alternating):")
    print(f"  {'connection':34}{'s per task':>11}{'ratio to before':>17}")
    for label in VARIANTS:
        per_task = statistics.median(times[label]) / tasks
        print(f"  {label:34}{per_task:11.3f}{per_task / base:17.2f}")


if __name__ == "__main__":
    main()
