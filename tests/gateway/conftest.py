"""Fixtures shared by the gateway scenarios (one test library for every proxy).

The scenario's molecule.yml names its hosts through the verifier env:
OG_GATEWAY (the gateway test host), OG_CLIENT (a separate client test host) and OG_PROXY.
"""
import datetime
import functools
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest
import testinfra
import yaml

PROJECT = Path(__file__).resolve().parents[2]
NETWORK = "ollama-gate"


def _inventory():
    return os.environ["MOLECULE_INVENTORY_FILE"]


@functools.cache
def _inventory_json(name, inventory):
    return subprocess.check_output(["ansible-inventory", "-i", inventory, "--host", name])


def host_vars(name, inventory=None):
    """A host's variables as the scenario's inventory defines them (a fresh copy). Read once per
    test session: tests change hosts and pass variables with -e, they never edit the inventory."""
    return json.loads(_inventory_json(name, inventory or _inventory()))


def _host(name):
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={_inventory()}")


@dataclass
class Gateway:
    name: str
    proxy: str
    port: int
    address: str
    users: list
    client_name: str
    users_file: str

    @property
    def url(self):
        return f"http://{self.name}:{self.port}"

    @property
    def outside_url(self):
        """URL as seen from the controller (container address on the test network)."""
        return f"http://{self.address}:{self.port}"


@pytest.fixture(scope="session")
def gateway():
    name = os.environ["OG_GATEWAY"]
    info = host_vars(name)
    container = docker.from_env().containers.get(name)
    address = container.attrs["NetworkSettings"]["Networks"][NETWORK]["IPAddress"]
    proxy = os.environ.get("OG_PROXY", "nginx")
    port = int(os.environ.get("OG_PORT", "8080"))
    # users with a password in the inventory (generated ones are tested in test_zz_rotation)
    users = [u for u in info["ollama_gate_users"] if may_log_in(u) and "password" in u]
    users_file = {"nginx": "/etc/nginx/ollama-gateway.htpasswd", "caddy": "/etc/caddy/ollama-gateway.users"}[proxy]
    return Gateway(name, proxy, port, address, users, os.environ["OG_CLIENT"], users_file)


@pytest.fixture(scope="session")
def gateway_host(gateway):
    return _host(gateway.name)


@pytest.fixture(scope="session")
def client():
    return _host(os.environ["OG_CLIENT"])


@dataclass
class Reply:
    status: int
    headers: dict
    body: str

    def json(self):
        return json.loads(self.body)


def curl(client, url, user=None, password=None, headers=(), method="GET", data_file=None, timeout=30, head_only=False):
    """One request from the client host with curl; returns status, headers (lower-case) and body."""
    cmd = ["curl", "-sS", "-o", "/tmp/og-body", "-D", "/tmp/og-head", "-w", "%{http_code}", "-m", str(timeout)]
    cmd += ["-I"] if head_only else ["-X", method]
    if user is not None:
        cmd += ["-u", f"{user}:{password}"]
    for h in headers:
        cmd += ["-H", h]
    if data_file:
        cmd += ["--data-binary", f"@{data_file}"]
    cmd.append(url)
    status = client.check_output(" ".join(_quote(c) for c in cmd))
    head = client.file("/tmp/og-head").content_string
    parsed = {}
    for line in head.splitlines()[1:]:
        key, sep, value = line.partition(":")
        if sep:
            parsed[key.strip().lower()] = value.strip()
    return Reply(int(status), parsed, client.file("/tmp/og-body").content_string)


def _quote(arg):
    return "'" + str(arg).replace("'", "'\\''") + "'"


def said(proc):
    """A run's output with whitespace collapsed (the YAML callback folds long lines)."""
    return " ".join(proc.output.split())


def run_playbook(playbook, *extra, check=True):
    """Run a project playbook against the scenario's inventory from the controller."""
    cmd = ["ansible-playbook", "-i", _inventory(), str(PROJECT / playbook), *extra]
    env = dict(os.environ, ANSIBLE_ROLES_PATH=str(PROJECT / "roles"), ANSIBLE_FORCE_COLOR="0")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=PROJECT)
    proc.output = proc.stdout + proc.stderr  # Ansible 2.19 prints errors on stderr
    if check and proc.returncode != 0:
        raise AssertionError(f"{playbook} failed ({proc.returncode}):\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}")
    return proc


def write_vars(tmp_path, data):
    path = tmp_path / "vars.yml"
    path.write_text(yaml.safe_dump(data))
    return f"@{path}"


def _scenario_users():
    """Users of the scenario's gateway, read from its inventory (for parametrizing)."""
    inventory = os.environ.get("MOLECULE_INVENTORY_FILE")
    name = os.environ.get("OG_GATEWAY")
    if not inventory or not name:
        return []
    return [u for u in host_vars(name, inventory).get("ollama_gate_users", []) if may_log_in(u) and "password" in u]


def may_log_in(user):
    """Listed as present and not past its expiry date."""
    expires = user.get("expires")
    expired = bool(expires) and datetime.date.fromisoformat(str(expires)) < datetime.date.today()
    return user.get("state", "present") == "present" and not expired


def scenario_users():
    """Every user of the scenario's inventory (also absent and expired ones)."""
    return host_vars(os.environ["OG_GATEWAY"]).get("ollama_gate_users", [])


def pytest_generate_tests(metafunc):
    if "user" in metafunc.fixturenames:
        users = _scenario_users()
        metafunc.parametrize("user", users, ids=[u["name"] for u in users])
