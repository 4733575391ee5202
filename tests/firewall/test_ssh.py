"""The firewall over a real SSH connection (sshd on the gateway host, the controller as client):
settings that would cut the connection are refused before any change; on a host whose ufw was
reset, a run with one SSH connection per task (no connection sharing) gets through, so SSH is
allowed before the default policy and ufw take effect."""
import json
import subprocess

import pytest
import yaml

from conftest import added_rules, run_playbook

GATEWAY = "og-fw"


@pytest.fixture(scope="module")
def ssh(tmp_path_factory, gateway_host):
    """(inventory file that reaches the gateway over SSH, the controller's address as the gateway sees it)."""
    tmp = tmp_path_factory.mktemp("ssh")
    key = tmp / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    public = (tmp / "id_ed25519.pub").read_text().strip()
    gateway_host.run_expect([0], f"install -d -m 700 /root/.ssh && echo '{public}' > /root/.ssh/authorized_keys")
    network = json.loads(subprocess.check_output(["docker", "inspect", GATEWAY]))[0]["NetworkSettings"]["Networks"]
    address = network["ollama-gate"]["IPAddress"]
    host = {
        "ansible_host": address,
        "ansible_connection": "ssh",
        "ansible_user": "root",
        "ansible_ssh_private_key_file": str(key),
        # throwaway test host with a fresh key: nothing to pin
        "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
        # a new TCP connection for every task: a firewall that dropped SSH would show at once
        "ansible_ssh_args": "-o ControlMaster=no -o ControlPersist=no",
    }
    inventory = tmp / "ssh.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {GATEWAY: host}}}))
    # the address this machine's SSH connections come from, as the gateway sees it
    seen = subprocess.run(
        ["ssh", "-i", str(key), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
         "-o", "BatchMode=yes", f"root@{address}", "echo $SSH_CONNECTION"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout.split()
    assert len(seen) == 4 and seen[3] == "22", seen
    gateway_ip = seen[0]
    return str(inventory), gateway_ip


def over_ssh(ssh, *extra, check=True):
    inventory, _ = ssh
    return run_playbook("playbooks/firewall.yml", "-i", inventory, *extra, check=check)


def test_allowed_from_without_this_connection_refused(ssh, gateway_host):
    before = added_rules(gateway_host)
    proc = over_ssh(ssh, "-e", '{"firewall_ssh_allowed_from": ["10.99.0.0/16"]}', check=False)
    assert proc.returncode != 0
    assert f"firewall_ssh_allowed_from does not include {ssh[1]}" in proc.output
    assert "Nothing was changed" in proc.output
    assert added_rules(gateway_host) == before


def test_other_ssh_port_refused(ssh, gateway_host):
    before = added_rules(gateway_host)
    proc = over_ssh(ssh, "-e", "firewall_ssh_port=2222", check=False)
    assert proc.returncode != 0
    assert "firewall_ssh_port is 2222, but this run is connected over SSH port 22" in proc.output
    assert added_rules(gateway_host) == before


def test_fresh_ufw_enabled_over_ssh_keeps_the_connection(ssh, gateway_host):
    gateway_host.run_expect([0], "ufw --force reset")
    assert "Status: inactive" in gateway_host.check_output("ufw status")
    try:
        # SSH limited to the controller: the new SSH rule goes in, the old "from anywhere" one is
        # not there any more after the reset; each task opens a new SSH connection
        allowed = f'{{"firewall_ssh_allowed_from": ["{ssh[1]}"]}}'
        first = over_ssh(ssh, "-e", allowed)
        assert "changed=0" not in first.stdout.split("PLAY RECAP")[-1]
        status = gateway_host.check_output("ufw status verbose")
        assert "Status: active" in status and "deny (incoming)" in status
        rules = added_rules(gateway_host)
        assert f"ufw allow from {ssh[1]} to any port 22 proto tcp comment 'ollama-gate ssh'" in rules
        # a new connection after the run still gets in, and nothing is left to change
        again = over_ssh(ssh, "-e", allowed)
        assert "changed=0" in again.stdout.split("PLAY RECAP")[-1]
    finally:
        run_playbook("playbooks/firewall.yml")
    assert "ufw allow 22/tcp comment 'ollama-gate ssh'" in added_rules(gateway_host)
