"""The credential store kept on the gateways (ollama_gate_credentials_store: gateways), for AWX
and other runners that start every job from a fresh copy of the project: runs from two fresh
copies, each with an empty working copy of the store, issue a new user's credential once and
never again, and the gateway keeps the store root only."""
import hashlib
import os
import secrets
import shutil
import subprocess
from pathlib import Path

from conftest import HOST_STORE, gateway_lib, run_playbook, said

WORKING_COPY = Path(gateway_lib._inventory()).parent / "credentials"


def host_store(gateway_host):
    """{name: sha256} of the store on the gateway."""
    out = gateway_host.check_output(f"cd {HOST_STORE} && sha256sum *")
    return {line.split()[1]: line.split()[0] for line in out.splitlines()}


def test_the_store_is_kept_on_every_gateway_root_only(gateway_hosts):
    for gateway_host in gateway_hosts:
        directory = gateway_host.file(HOST_STORE)
        assert directory.is_directory and directory.user == "root" and directory.mode == 0o700
        stored = host_store(gateway_host)
        assert {"erin", "alice~laptop"} <= set(stored)
        assert stored == host_store(gateway_hosts[0])  # the same store on every gateway
        for name, digest in stored.items():
            item = gateway_host.file(f"{HOST_STORE}/{name}")
            assert item.user == "root" and item.mode == 0o600
            assert hashlib.sha256((WORKING_COPY / name).read_bytes()).hexdigest() == digest


def fresh_copy(root: Path) -> Path:
    """A fresh copy of the project (its git files, as an AWX project sync has them) with the
    scenario's inventory and no credential store: what an AWX job starts from."""
    project = gateway_lib.PROJECT
    files = subprocess.check_output(["git", "ls-files", "-co", "--exclude-standard"], cwd=project, text=True)
    for name in files.splitlines():
        if (project / name).is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(project / name, root / name)
    inventory = Path(gateway_lib._inventory()).parent
    shutil.copytree(inventory, root / "inventories/awx", ignore=shutil.ignore_patterns("credentials"))
    return root / "inventories/awx" / Path(gateway_lib._inventory()).name


def run_from(copy_inventory: Path, *extra):
    cmd = ["ansible-playbook", "-i", str(copy_inventory), "playbooks/gateway.yml", "--tags", "users", *extra]
    root = copy_inventory.parents[2]
    # the copy's own ansible.cfg (roles, settings), as in an AWX job; not Molecule's
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "MOLECULE_"))}
    env.update(ANSIBLE_CONFIG=str(root / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0")
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, env=env)
    proc.output = proc.stdout + proc.stderr
    assert proc.returncode == 0, proc.output[-5000:]
    return proc


def test_two_fresh_project_copies_do_not_reissue_credentials(tmp_path, gateway_host, gateway_address, users):
    before = host_store(gateway_host)
    name = f"frank{secrets.token_hex(3)}"  # a user no earlier run created
    with_frank = gateway_lib.write_vars(tmp_path, {"ollama_gate_users": [*users, {"name": name}]})
    first = fresh_copy(tmp_path / "job1")
    proc = run_from(first, "-e", with_frank)
    assert f"new credential for {name}" in said(proc)
    assert "new credential for erin" not in said(proc)  # taken from the gateway, not issued again
    frank = (first.parent / f"credentials/{name}").read_text().strip()
    assert frank not in proc.output
    second = fresh_copy(tmp_path / "job2")
    proc = run_from(second, "-e", with_frank)
    assert "new credential for" not in said(proc)
    assert (second.parent / f"credentials/{name}").read_text().strip() == frank
    after = host_store(gateway_host)
    assert {k: v for k, v in after.items() if k != name} == before and name in after
    # the new user logs in with the credential the first job issued
    reply = gateway_host.run(f"curl -s -o /dev/null -w '%{{http_code}}' -u '{name}:{frank}' http://127.0.0.1:8080/api/tags")
    assert reply.stdout == "200"

