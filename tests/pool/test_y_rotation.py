"""A rotation across several gateways (ollama_gateways): every gateway gets the same new
credential (one store, renewed once per run), the run reports each gateway, and a gateway that
was unreachable is reported as not done and catches up on the next run."""
import os
import subprocess

from conftest import HOST_STORE, run_playbook, said

GATEWAYS = os.environ["OG_GATEWAYS"].split(",")


def status(gateway_host, user, password):
    out = gateway_host.run(f"curl -s -o /dev/null -w '%{{http_code}}' -u '{user}:{password}' "
                           "http://127.0.0.1:8080/api/tags")
    return out.stdout


def erin(gateway_host):
    return gateway_host.check_output(f"cat {HOST_STORE}/erin").strip()


def test_a_rotation_gives_every_gateway_the_same_new_credential(gateway_hosts):
    old = {erin(host) for host in gateway_hosts}
    assert len(old) == 1
    old = old.pop()
    proc = run_playbook("playbooks/rotate-users.yml", "-e", "ollama_gate_rotate=erin", "--tags", "users")
    output = said(proc)
    for name in GATEWAYS:
        assert f"{name}: applied (erin)" in output
    assert "not applied on none" in output
    new = {erin(host) for host in gateway_hosts}
    assert len(new) == 1 and old not in new
    new = new.pop()
    assert new not in proc.output and old not in proc.output
    for host in gateway_hosts:
        assert status(host, "erin", new) == "200"
        assert status(host, "erin", old) == "401"


def test_an_unreachable_gateway_is_reported_and_catches_up(gateway_hosts):
    before = erin(gateway_hosts[0])
    subprocess.run(["docker", "pause", GATEWAYS[1]], check=True)
    try:
        proc = run_playbook("playbooks/rotate-users.yml", "-e", "ollama_gate_rotate=erin", "--tags", "users",
                            check=False)
    finally:
        subprocess.run(["docker", "unpause", GATEWAYS[1]], check=True)
    output = said(proc)
    assert proc.returncode != 0  # a host was unreachable
    assert f"{GATEWAYS[0]}: applied (erin)" in output
    assert f"not applied on {GATEWAYS[1]}: they failed or were unreachable" in output
    rotated = erin(gateway_hosts[0])
    assert rotated != before and erin(gateway_hosts[1]) == before  # the paused one kept the old one
    assert status(gateway_hosts[1], "erin", before) == "200"
    # the next run reaches it: the newest credential in the store wins, on every gateway
    run_playbook("playbooks/gateway.yml", "--tags", "users")
    assert erin(gateway_hosts[1]) == rotated
    assert status(gateway_hosts[1], "erin", rotated) == "200"
    assert status(gateway_hosts[1], "erin", before) == "401"
