"""Role-level input checks, run on the controller against no host: each gateway role refuses a
bad allowlist or bad HTTPS settings by itself (also when used without the project's playbooks),
naming its own variable, before any task could touch a host."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[2]
# the venv's ansible-playbook, also when the venv is not on PATH
PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook") if (Path(sys.executable).parent / "ansible-playbook").exists() else "ansible-playbook"
USERS = [{"name": "alice", "password": "alice-test-password-0001"}]


def run_role(tmp_path, role, settings):
    play = [{
        "hosts": "all",
        "gather_facts": False,
        "tasks": [{"ansible.builtin.include_role": {"name": role}, "vars": settings}],
    }]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    env = dict(os.environ, ANSIBLE_ROLES_PATH=str(PROJECT / "roles"), ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"))
    proc = subprocess.run(
        [PLAYBOOK, "-i", "role-check-host,", "-c", "local", "--check", str(tmp_path / "play.yml")],
        capture_output=True, text=True, env=env, cwd=tmp_path,
    )
    return proc.returncode, " ".join((proc.stdout + proc.stderr).split())


@pytest.mark.parametrize("role", ["nginx_gateway", "caddy_gateway"])
def test_role_refuses_a_bad_allowlist_naming_its_variable(tmp_path, role):
    rc, out = run_role(tmp_path, role, {f"{role}_users": USERS, f"{role}_allowlist": ["10.0.0.0/33"]})
    assert rc != 0
    assert f"{role}_allowlist: '10.0.0.0/33' is not an IP address or CIDR" in out
    assert "Nothing was changed" in out


@pytest.mark.parametrize("role", ["nginx_gateway", "caddy_gateway"])
def test_role_refuses_acme_without_a_domain_naming_its_variable(tmp_path, role):
    rc, out = run_role(tmp_path, role, {f"{role}_users": USERS, f"{role}_tls": "acme",
                                        "ansible_facts": {"os_family": "Debian", "service_mgr": "systemd"}})
    assert rc != 0
    assert f"{role}_domain (or ollama_gate_domain) must be set for tls acme" in out
