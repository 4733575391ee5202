"""The unit tests import tests/ollama_gate_filters.py: the project's filter plugins as modules.
`run_preflight` runs playbooks/preflight.yml in check mode on an inventory of local hosts."""
import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PROJECT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PLAYBOOK = str(BIN / "ansible-playbook") if (BIN / "ansible-playbook").exists() else "ansible-playbook"
LOCAL = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}


def run_preflight(directory, inventory):
    """playbooks/preflight.yml --check on `inventory` (written to directory/hosts.yml), with the
    JSON callback. Returns (failed, report, proc): failed maps each host that failed to the message
    of its first failed task (a loop's: the first failed item's), whitespace collapsed."""
    (directory / "hosts.yml").write_text(yaml.safe_dump(inventory))
    env = dict(os.environ, ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"), ANSIBLE_ROLES_PATH=str(PROJECT / "roles"),
               ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_FORCE_COLOR="0")
    proc = subprocess.run([PLAYBOOK, "-i", str(directory / "hosts.yml"), "--check",
                           str(PROJECT / "playbooks/preflight.yml")],
                          capture_output=True, text=True, env=env, cwd=directory)
    report = json.loads(proc.stdout[proc.stdout.index("{"):])
    failed = {}
    for play in report["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                if result.get("failed") and host not in failed:
                    items = [r for r in result.get("results", []) if r.get("failed")]
                    message = items[0].get("msg", "") if items else result.get("msg", "")
                    failed[host] = " ".join(str(message).split())
    return failed, report, proc
