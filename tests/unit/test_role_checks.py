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


@pytest.mark.parametrize("variable", ["OLLAMA_HOST", "OLLAMA_ORIGINS"])
def test_ollama_role_refuses_host_or_origins_in_the_extra_environment(tmp_path, variable):
    """ollama_environment_extra cannot move Ollama off loopback or widen its origins behind the
    gateway's back."""
    rc, out = run_role(tmp_path, "ollama", {"ollama_environment_extra": {variable: "0.0.0.0"},
                                            "ansible_facts": {"os_family": "Debian", "service_mgr": "systemd", "distribution": "Debian",
                                                              "architecture": "x86_64"}})
    assert rc != 0
    assert f'ollama_environment_extra: "{variable}" must be a valid environment variable name' in out
    assert "not OLLAMA_HOST or OLLAMA_ORIGINS" in out


@pytest.mark.parametrize("role", ["nginx_gateway", "caddy_gateway"])
@pytest.mark.parametrize("realm", ["Oll\\ama", "Ollama\n", 'Oll"ama'], ids=["backslash", "trailing-newline", "quote"])
def test_gateway_roles_refuse_a_realm_that_would_break_the_config(tmp_path, role, realm):
    rc, out = run_role(tmp_path, role, {f"{role}_users": USERS, f"{role}_realm": realm, f"{role}_allow_plain_http": True,
                                        "ansible_facts": {"os_family": "Debian", "service_mgr": "systemd"}})
    assert rc != 0
    assert f"{role}_realm without quotes" in out


@pytest.mark.parametrize("role", ["nginx_gateway", "caddy_gateway"])
def test_gateway_roles_refuse_plain_http_to_anyone_without_the_opt_in(tmp_path, role):
    rc, out = run_role(tmp_path, role, {f"{role}_users": USERS,
                                        "ansible_facts": {"os_family": "Debian", "service_mgr": "systemd"}})
    assert rc != 0
    assert f"{role}_tls is none and {role}_allowlist is empty: passwords and API keys would cross the network" in out
    assert f"{role}_allow_plain_http: true (ollama_gate_allow_plain_http)" in out and "Nothing was changed" in out


def run_gateway_preflight(tmp_path, settings):
    """The playbooks' own gateway checks (playbooks/tasks/gateway-preflight.yml), no host touched."""
    play = [{"hosts": "all", "gather_facts": False,
             "tasks": [{"ansible.builtin.import_role": {"name": "ollama_gate", "tasks_from": "check.yml"}},
                       {"ansible.builtin.import_tasks": str(PROJECT / "playbooks/tasks/gateway-preflight.yml")}]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"),
               ANSIBLE_ROLES_PATH=str(PROJECT / "roles"))
    (tmp_path / "vars.yml").write_text(yaml.safe_dump(settings))
    proc = subprocess.run([PLAYBOOK, "-i", "preflight-host,", "-c", "local", "--check", "-e", f"@{tmp_path / 'vars.yml'}",
                           str(tmp_path / "play.yml")], capture_output=True, text=True, env=env, cwd=tmp_path)
    return proc.returncode, " ".join((proc.stdout + proc.stderr).split())


@pytest.mark.parametrize("proxy", ["nginx", "caddy"])
def test_playbooks_refuse_plain_http_to_anyone_before_any_host_changes(tmp_path, proxy):
    rc, out = run_gateway_preflight(tmp_path, {"ollama_gate_proxy": proxy, "ollama_gate_users": USERS})
    assert rc != 0
    assert f"{proxy}_gateway_tls is none and {proxy}_gateway_allowlist is empty" in out
    assert "ollama_gate_allow_plain_http: true for a trusted network" in out and "Nothing was changed" in out
