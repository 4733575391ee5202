"""Bans, on every proxy: an address that keeps sending wrong passwords (or wrong API keys) is
banned by fail2ban through ufw - its next request, even with the right password, does not get
through - while other addresses keep working; the ban ends after its time, or when lifted with
fail2ban-client. The scenario bans after 3 failures for 15 s and never bans its client host; the
test gives that host extra addresses on the test network to fail from."""
import ipaddress
import os
import time

import docker
import pytest

from conftest import NETWORK, altered, curl, key_of

JAIL = "ollama-gate"


@pytest.fixture(scope="module")
def addresses(client):
    """Three unused addresses of the test network, added to the client host's interface there."""
    network = docker.from_env().networks.get(NETWORK)
    subnet = ipaddress.ip_network(network.attrs["IPAM"]["Config"][0]["Subnet"])
    used = {c["IPv4Address"].split("/")[0] for c in network.attrs["Containers"].values()}
    free = [str(subnet.broadcast_address - n) for n in range(30, 60) if str(subnet.broadcast_address - n) not in used][:3]
    own = docker.from_env().containers.get(os.environ["OG_CLIENT"]).attrs["NetworkSettings"]["Networks"]
    device = client.check_output(f"ip -o -4 addr show | awk '$4 ~ /^{own[NETWORK]['IPAddress']}\\// {{print $2}}'")
    for address in free:
        client.check_output(f"ip addr add {address}/{subnet.prefixlen} dev {device}")
    yield free
    for address in free:
        client.run(f"ip addr del {address}/{subnet.prefixlen} dev {device}")


def status_from(client, address, url, user=None, password=None, headers=()):
    """The HTTP status of one request sent from `address` ("000": no answer)."""
    cmd = f"curl -s -o /dev/null -m 5 -w '%{{http_code}}' --interface {address} "
    cmd += f"-u '{user}:{password}' " if user else ""
    cmd += " ".join(f"-H '{h}'" for h in headers) + f" {url}"
    return client.run(cmd).stdout.strip() or "000"


def banned(gateway_host):
    """Addresses fail2ban has banned whose ufw rule is in place (fail2ban lists a ban before its
    action has run)."""
    out = gateway_host.check_output(f"fail2ban-client status {JAIL}")
    rules = gateway_host.check_output("ufw status")
    return [a for a in out.split("Banned IP list:", 1)[1].split() if a in rules.split()]


def unbanned(gateway_host, address):
    """Neither in fail2ban's list nor in ufw."""
    out = gateway_host.check_output(f"fail2ban-client status {JAIL}")
    listed = out.split("Banned IP list:", 1)[1].split()
    return address not in listed and address not in gateway_host.check_output("ufw status").split()


def wait_for(condition, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.5)
    return condition()


def test_jail_reads_the_proxys_log(gateway_host, gateway):
    jail = gateway_host.file("/etc/fail2ban/jail.d/ollama-gate.conf").content_string
    expected = {"nginx": ("filter = nginx-http-auth", "logpath = /var/log/nginx/error.log"),
                "caddy": ("filter = ollama-gate-caddy", "logpath = /var/log/ollama-gate/caddy-access.json")}
    for line in (*expected[gateway.proxy], "banaction = ufw", "maxretry = 3", "bantime = 15"):
        assert line in jail
    assert gateway_host.service("fail2ban").is_running and gateway_host.service("fail2ban").is_enabled


def test_wrong_passwords_get_an_address_banned_until_the_ban_ends(client, gateway_host, gateway, addresses):
    guesser, bystander, _ = addresses
    user = gateway.users[0]
    url = f"{gateway.url}/api/tags"
    # a browser's first request carries no credentials: not counted
    for _ in range(4):
        assert status_from(client, guesser, url) == "401"
    assert guesser not in banned(gateway_host)
    for _ in range(3):
        assert status_from(client, guesser, url, user["name"], "wrong-password-000000000") == "401"
    assert wait_for(lambda: guesser in banned(gateway_host), 15), "not banned"
    # the right password from the banned address does not get through; other addresses do
    assert status_from(client, guesser, url, user["name"], user["password"]) == "000"
    assert status_from(client, bystander, url, user["name"], user["password"]) == "200"
    assert curl(client, url, user["name"], user["password"]).status == 200
    # after the ban time (15 s) the address gets through again
    assert wait_for(lambda: unbanned(gateway_host, guesser), 40), "still banned"
    assert status_from(client, guesser, url, user["name"], user["password"]) == "200"


def test_wrong_api_keys_count_like_passwords_and_a_ban_can_be_lifted(client, gateway_host, gateway, addresses):
    _, _, guesser = addresses
    _, key = key_of("user")
    url = f"{gateway.url}/api/tags"
    for _ in range(3):
        assert status_from(client, guesser, url, headers=[f"Authorization: Bearer {altered(key)}"]) == "401"
    assert wait_for(lambda: guesser in banned(gateway_host), 15), "not banned"
    assert status_from(client, guesser, url, headers=[f"x-api-key: {key}"]) == "000"
    # lifting a ban by hand (README "Operating it")
    gateway_host.check_output(f"fail2ban-client set {JAIL} unbanip {guesser}")
    assert wait_for(lambda: unbanned(gateway_host, guesser), 10), "still banned"
    assert status_from(client, guesser, url, headers=[f"x-api-key: {key}"]) == "200"
