"""The scheduled_rotation scenario's test host as the controller of a small site: a copy of the
project with its venv in /opt/ollama-gate, an inventory of the host itself (Ansible's local
connection) with a vaulted password, and the README's recipe run to install the systemd units."""
import datetime
import importlib.util
import io
import os
import re
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import docker
import pytest
import yaml

_spec = importlib.util.spec_from_file_location(
    "ollama_gate_gateway_conftest", Path(__file__).resolve().parents[1] / "gateway" / "conftest.py"
)
gateway_lib = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gateway_lib)

PROJECT = gateway_lib.PROJECT
CLONE = "/opt/ollama-gate"
INVENTORY = "inventories/self/hosts.yml"
STORE = f"{CLONE}/inventories/self/credentials"
VAULT_PASSWORD = "vault-test-password-for-the-timer"
ALICE_PASSWORD = "alice-test-password-0001"
# what a controller needs of requirements.txt (the rest is for tests and lint)
CONTROLLER_PACKAGES = ("ansible-core", "ansible", "libpass", "bcrypt")
WHEELS = Path(os.environ.get("OG_STATE", "/var/tmp/ollama-gate")) / "wheels"
SERVICE = "ollama-gate-rotate.service"
TIMER = "ollama-gate-rotate.timer"


class Controller:
    """Commands on the test host, which is controller and gateway at once."""

    def __init__(self, name):
        self.name = name
        self.container = docker.from_env().containers.get(name)

    def run(self, command, check=True):
        code, output = self.container.exec_run(["bash", "-c", command])
        text = output.decode(errors="replace")
        if check and code != 0:
            raise AssertionError(f"{command!r} exited {code}:\n{text[-4000:]}")
        return code, text

    def out(self, command):
        return self.run(command)[1].strip()

    def put(self, directory, files):
        """files: {relative name: bytes or a local Path}; unpacked into `directory`."""
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            for name, content in files.items():
                if isinstance(content, Path):
                    tar.add(content, arcname=name, recursive=False)
                else:
                    info = tarfile.TarInfo(name)
                    info.size, info.mode = len(content), 0o600
                    tar.addfile(info, io.BytesIO(content))
        self.run(f"mkdir -p {directory}")
        assert self.container.put_archive(directory, buffer.getvalue())

    def setting(self, name, value):
        """Set (or with None remove) a variable in /etc/ollama-gate/rotate.env."""
        self.run(f"sed -i '/^{name}=/d' /etc/ollama-gate/rotate.env")
        if value is not None:
            self.run(f"echo '{name}={value}' >> /etc/ollama-gate/rotate.env")

    def status(self, account, password):
        """HTTP status of GET /api/tags through the gateway on this host."""
        return self.out(f"curl -s -o /dev/null -w '%{{http_code}}' -m 10 -u '{account}:{password}'"
                        " http://127.0.0.1:8080/api/tags")

    def stored(self, account):
        return self.out(f"cat {STORE}/{account}")

    def journal(self, since):
        """The service's journal lines since a time on this host (now())."""
        return self.out(f"journalctl -q -o cat -u {SERVICE} --since @{since}")

    def now(self):
        """This host's time in whole seconds (a --since for its journal)."""
        return self.out("date +%s")

    def show(self, prop, unit=SERVICE):
        return self.out(f"systemctl show -P {prop} {unit}")

    def start_and_wait(self):
        """Run the service now (systemctl start waits for a oneshot); (result, journal of the run)."""
        since = self.now()
        self.run(f"systemctl start {SERVICE}", check=False)
        return self.show("Result"), self.journal(since)

    def wait(self, since, timeout=300):
        """Wait for a started run of the service to end; (result, journal since `since`)."""
        deadline = time.monotonic() + timeout
        while (state := self.show("ActiveState")) not in ("inactive", "failed"):
            if time.monotonic() > deadline:
                raise AssertionError(f"{SERVICE} still {state} after {timeout} s:\n{self.journal(since)[-4000:]}")
            time.sleep(1)
        return self.show("Result"), self.journal(since)


def _pins():
    """The controller packages' pins from requirements.txt (one truth for versions)."""
    pins = {}
    for line in (PROJECT / "requirements.txt").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line)
        if match and match.group(1) in CONTROLLER_PACKAGES:
            pins[match.group(1)] = f"{match.group(1)}=={match.group(2)}"
    assert sorted(pins) == sorted(CONTROLLER_PACKAGES), pins
    return list(pins.values())


def _wheels(python_version):
    """Wheels of the controller packages for the test host's Python, fetched on this machine (the
    test host has no PyPI); kept in $OG_STATE/wheels for later runs."""
    WHEELS.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
         "--only-binary=:all:", "--python-version", python_version, "--dest", str(WHEELS), *_pins()],
        check=True,
    )
    return sorted(WHEELS.glob("*.whl"))


def _project_files():
    listed = subprocess.check_output(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=PROJECT)
    return {name: PROJECT / name for name in listed.decode().split("\0")
            if name and (PROJECT / name).is_file() and not name.startswith(".venv/")}


def recipe():
    """The README's install recipe (the shell block after <!-- recipe: scheduled-rotation -->)."""
    text = (PROJECT / "README.md").read_text()
    block = re.search(r"<!-- recipe: scheduled-rotation -->\s*```sh\n(.*?)```", text, re.S)
    assert block, "README.md has no scheduled-rotation recipe"
    return block.group(1)


def _vaulted(value, password_file):
    """`ansible-vault encrypt_string` of a value, as inventory YAML."""
    proc = subprocess.run(
        ["ansible-vault", "encrypt_string", "--vault-password-file", str(password_file), "--name",
         "vault_alice_password", value],
        capture_output=True, text=True, check=True,
    )
    return proc.stdout


@pytest.fixture(scope="session")
def controller(tmp_path_factory):
    host = Controller(os.environ["OG_GATEWAY"])
    # As on a booted machine: outside a container systemd makes every mount shared, and only then
    # do the credentials it mounts under /run reach the service (LoadCredential=); in a container it
    # leaves them private (README "Scheduled rotation").
    host.run("mount --make-rshared /run")
    python_version = host.out("python3 -c 'import sys; print(f\"{sys.version_info[0]}.{sys.version_info[1]}\")'")
    wheels = _wheels(python_version)
    host.run("DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >/dev/null")
    host.put(CLONE, _project_files())
    host.put("/root/wheels", {wheel.name: wheel for wheel in wheels})
    host.run(f"cd {CLONE} && python3 -m venv .venv && .venv/bin/pip install --quiet --no-index"
             f" --find-links /root/wheels {' '.join(_pins())}")

    # the inventory of a small site whose controller is the gateway itself
    molecule_vars = gateway_lib.host_vars(host.name)
    settings = {k: v for k, v in molecule_vars.items()
                if k.startswith(("ollama_gate_", "ollama_")) and k != "ollama_gate_users"}
    soon = (datetime.date.today() + datetime.timedelta(days=5)).isoformat()
    settings["ollama_gate_users"] = [
        {"name": "alice", "password": "{{ vault_alice_password }}", "role": "admin"},
        {"name": "erin"},
        {"name": "dave", "expires": soon},
    ]
    password_file = tmp_path_factory.mktemp("vault") / "password"
    password_file.write_text(VAULT_PASSWORD)
    hosts = {"ollama_servers": {"hosts": {host.name: {
        "ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3"}}}}
    host.put(f"{CLONE}/inventories/self", {
        "hosts.yml": yaml.safe_dump(hosts).encode(),
        "group_vars/ollama_servers/vars.yml": yaml.safe_dump(settings).encode(),
        "group_vars/ollama_servers/vault.yml": _vaulted(ALICE_PASSWORD, password_file).encode(),
    })

    # the README's recipe, word for word but for the inventory's path, the password on its stdin
    script = recipe().replace("inventories/prod/hosts.yml", INVENTORY).replace("/opt/ollama-gate", CLONE)
    host.put("/root", {"recipe.sh": script.encode(), "vault-input": VAULT_PASSWORD.encode()})
    host.run("bash -eu /root/recipe.sh < /root/vault-input && rm /root/vault-input")
    return host
