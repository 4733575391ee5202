"""Fixtures shared by the gateway scenarios (one test library for every proxy).

The scenario's molecule.yml names its hosts through the verifier env:
OG_GATEWAY (the gateway test host), OG_CLIENT (a separate client test host) and OG_PROXY.
"""
import base64
import datetime
import functools
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest
import testinfra
import yaml

PROJECT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT / "tests"))  # the shared loader of the project's filter plugins
from ollama_gate_filters import load  # noqa: E402 - tests/ is no package

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
    """One request from the client host with curl; returns status, headers (lower-case) and body.
    The path is sent exactly as given (--path-as-is: no dot-segment squashing; --globoff: braces
    and brackets are not curl patterns)."""
    cmd = ["curl", "-sS", "--path-as-is", "--globoff", "-o", "/tmp/og-body", "-D", "/tmp/og-head", "-w", "%{http_code}",
           "-m", str(timeout)]
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
        if sep:  # a header sent twice reads as one, values joined (RFC 9110 5.3)
            key = key.strip().lower()
            parsed[key] = f"{parsed[key]}, {value.strip()}" if key in parsed else value.strip()
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


def scenario_accounts():
    """The scenario's users expanded as the gateways see them: each user, then <user>~<key> per API key."""
    return load("users").gateway_accounts(scenario_users())


STORE = Path(os.environ.get("MOLECULE_INVENTORY_FILE", "/nonexistent")).parent / "credentials"


def key_of(role):
    """(account, key) of the first present API key of a user with this role, from the credential store."""
    for user in scenario_users():
        if user.get("role", "user") == role and user.get("state", "present") == "present":
            for key in user.get("keys", []):
                if key.get("state", "present") == "present":
                    account = f"{user['name']}~{key['name']}"
                    return account, (STORE / account).read_text().strip()
    raise AssertionError(f"the scenario needs a user with role {role} and an API key")


def altered(key):
    """The key with one character of its secret changed (not just a padding bit)."""
    middle = len(key) // 2
    return key[:middle] + ("A" if key[middle] != "A" else "B") + key[middle + 1:]


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


class OllamaLog:
    """Requests that reached Ollama (the stand-in's gin log lines in the journal), since a mark:
    tells "refused at the gateway" from "answered by Ollama"."""

    LINE = re.compile(r'\[GIN\] .*\| +(?P<status>\d{3}) \|.*\| (?P<method>[A-Z]+) +"(?P<path>[^"]*)"')

    def __init__(self, host):
        self.host = host
        self.cursor = None

    def mark(self):
        out = self.host.check_output("journalctl -u ollama.service -n 0 --show-cursor --no-pager")
        self.cursor = out.split("-- cursor: ")[-1].strip()

    def requests(self, wait_for=()):
        """(method, decoded path) of every request logged since mark(); waits (up to 5 s) until the
        ones in wait_for are there, as the journal takes a moment."""
        for _ in range(25):
            out = self.host.check_output(
                f"journalctl -u ollama.service --after-cursor='{self.cursor}' -o cat --no-pager")
            seen = [(m["method"], m["path"]) for m in map(self.LINE.search, out.splitlines()) if m]
            if all(w in seen for w in wait_for):
                return seen
            time.sleep(0.2)
        return seen


@pytest.fixture
def ollama_log(gateway_host):
    log = OllamaLog(gateway_host)
    log.mark()
    return log


SNIFFER = r"""
import os, socket, sys, time
# raw capture on loopback of what the gateway sends to Ollama (TCP payloads to port 11434),
# until <out>.stop appears (or the time is up)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(3))
s.bind(("lo", 0))
s.settimeout(0.2)
open(sys.argv[2] + ".ready", "w").close()
end = time.time() + float(sys.argv[1])
with open(sys.argv[2], "wb") as out:
    while time.time() < end and not os.path.exists(sys.argv[2] + ".stop"):
        try:
            packet, address = s.recvfrom(65535)
        except socket.timeout:
            continue
        if address[2] == socket.PACKET_OUTGOING:  # loopback shows each packet twice
            continue
        ip = packet[14:]
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6:
            continue
        tcp = ip[(ip[0] & 15) * 4:]
        if int.from_bytes(tcp[2:4], "big") == int(sys.argv[3]):
            out.write(tcp[(tcp[12] >> 4) * 4:])
            out.flush()
"""


def upstream_traffic(gateway_host, send, seconds=60, port=11434):
    """What the gateway sent to Ollama (bytes, as on the wire) while send() ran."""
    gateway_host.check_output("cat > /tmp/og-sniff.py << 'EOF'\n" + SNIFFER + "\nEOF")
    gateway_host.run("rm -f /tmp/og-sniff.out /tmp/og-sniff.out.ready /tmp/og-sniff.out.stop")
    gateway_host.check_output(f"nohup python3 /tmp/og-sniff.py {seconds} /tmp/og-sniff.out {port} > /dev/null 2>&1 &")
    gateway_host.check_output("for i in $(seq 50); do [ -e /tmp/og-sniff.out.ready ] && exit 0; sleep 0.1; done; exit 1")
    try:
        send()
        time.sleep(0.5)  # the last packets
    finally:
        gateway_host.run("touch /tmp/og-sniff.out.stop")
    # "[o]g-...": the pattern does not match this shell's own command line
    gateway_host.check_output("for i in $(seq 50); do pgrep -f '[o]g-sniff.py' >/dev/null || exit 0; sleep 0.1; done; exit 1")
    return base64.b64decode(gateway_host.check_output("base64 -w0 /tmp/og-sniff.out"))