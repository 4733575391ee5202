"""Switching the proxy with the one variable ollama_gate_proxy, on the firewalled gateway:
nginx -> caddy -> nginx with a client polling every 100 ms (only the port handover fails). After
each run exactly one proxy is installed, running, listening on the gateway port and answering
401/200 to a client inside the allowlist; the proxy's own allowlist holds for Caddy too; an nginx
that also serves another site keeps serving it while the gateway moves to Caddy and back.
Ownership and faults: a proxy ollama-gate did not install is never purged and a Caddy serving the
admin's own Caddyfile is not taken over; Caddy's repository unreachable, or an nginx
configuration that fails validation, stops the switch before the handover while the old proxy
keeps answering every poll. Each test ends with nginx serving the gateway again."""
from pathlib import Path

import pytest

from conftest import probe, run_playbook, ufw_disabled

CADDY = ("-e", "ollama_gate_proxy=caddy", "-e", "caddy_gateway_install_method=distribution")
OTHER_SITE = "/etc/nginx/sites-enabled/other-site"
RECORDS = "/var/lib/ollama-gate/installed"


class Poller:
    """A client polling the gateway every 100 ms with valid credentials, in the background on the
    inside host; `results()` stops it and returns the HTTP codes it saw ("000": no answer)."""

    def __init__(self, inside, url, user):
        self.inside = inside
        self.log = "/tmp/og-poll.log"
        loop = (f"while :; do curl -s -o /dev/null -w '%{{http_code}}\\n' --connect-timeout 1 -m 3 "
                f"-u '{user['name']}:{user['password']}' {url}/api/version; sleep 0.1; done")
        self.pid = inside.check_output(f"rm -f {self.log}; setsid bash -c \"{loop}\" > {self.log} 2>&1 < /dev/null & echo $!")

    def results(self):
        self.inside.run(f"kill -- -{self.pid} 2>/dev/null || kill {self.pid}")
        return self.inside.check_output(f"cat {self.log}").split()


def run_lengths(codes):
    """["200", "200", "000"] -> "200x2 000x1": what the polling client saw, in order."""
    out = []
    for code in codes:
        if out and out[-1][0] == code:
            out[-1][1] += 1
        else:
            out.append([code, 1])
    return " ".join(f"{code}x{count}" for code, count in out)


def gateway_listeners(gateway_host):
    return gateway_host.check_output("ss -Hltnp 'sport = :8080'").splitlines()


def assert_served_by(proxy, gateway_host, inside, url, users):
    other = "caddy" if proxy == "nginx" else "nginx"
    assert gateway_host.package(proxy).is_installed
    assert not gateway_host.package(other).is_installed, f"{other} is still installed"
    assert gateway_host.service(proxy).is_running
    listeners = gateway_listeners(gateway_host)
    assert listeners and all(f'"{proxy}"' in line for line in listeners), listeners
    assert probe(inside, f"{url}/api/tags") == "401"
    for user in users:
        assert probe(inside, f"{url}/api/tags", user["name"], user["password"]) == "200"


@pytest.fixture
def back_to_nginx(gateway_host):
    """Whatever happens in the test, the gateway is nginx's again afterwards (a test that got
    that far has switched back itself)."""
    yield
    if gateway_host.package("caddy").is_installed or not gateway_host.service("nginx").is_running:
        run_playbook("playbooks/gateway.yml")


def assert_only_the_port_handover_failed(codes):
    """A client polling every 100 ms through a switch: every answer a success, and the only
    failures one run of refused connections (the old proxy let go of the port, the new one binds
    it), not the new proxy's install (measured here: 11-13 polls, 1.3-1.5 s; a loaded CI machine
    once took 46 polls before the handover was cut to the release, start and reload; the limit
    leaves room for a slower machine)."""
    assert len(codes) > 30, run_lengths(codes)  # the run took seconds: the client kept polling
    failed = "".join("x" if code != "200" else "." for code in codes).strip(".")
    assert set(codes) <= {"200", "000"}, run_lengths(codes)
    assert "." not in failed and len(failed) <= 40, run_lengths(codes)


def nginx_config_failing_validation_keeps_caddy_serving(gateway_host, inside, url, users):
    """Caddy -> nginx where the whole nginx configuration fails `nginx -t` (a broken file of the
    admin's in conf.d): the run stops before the handover, Caddy keeps serving throughout."""
    broken = "/etc/nginx/conf.d/broken.conf"
    gateway_host.run_expect([0], f"mkdir -p /etc/nginx/conf.d && echo 'this is not nginx;' > {broken}")
    try:
        poller = Poller(inside, url, users[0])
        proc = run_playbook("playbooks/gateway.yml", check=False)
        codes = poller.results()
        assert proc.returncode != 0
        # nginx's package refuses to start with it, or the gateway's whole-config check does
        failed = proc.stdout.split("fatal:")[0].rsplit("TASK [", 1)[-1]
        assert failed.startswith(("nginx_gateway : install | Install nginx", "nginx_gateway : site |")), failed
        assert len(codes) > 10 and set(codes) == {"200"}, run_lengths(codes)
        assert gateway_host.service("caddy").is_running
        listeners = gateway_listeners(gateway_host)
        assert listeners and all('"caddy"' in line for line in listeners), listeners
    finally:
        # what the failed install left (nginx half-configured) goes with the broken file; the
        # failed run recorded nothing, so nothing of it counts as ollama-gate's yet
        assert not gateway_host.file(f"{RECORDS}/nginx").exists
        gateway_host.run_expect([0], f"rm -f {broken} && DEBIAN_FRONTEND=noninteractive apt-get purge -y -q "
                                     "nginx nginx-common libnginx-mod-http-headers-more-filter")


def test_switch_to_caddy_and_back(gateway_host, inside, outside, url, users, back_to_nginx):
    poller = Poller(inside, url, users[0])
    run_playbook("playbooks/gateway.yml", *CADDY)
    assert_only_the_port_handover_failed(poller.results())
    assert_served_by("caddy", gateway_host, inside, url, users)
    # Caddy enforces the allowlist itself: with ufw off, the outside client gets 403
    with ufw_disabled(gateway_host):
        assert probe(outside, f"{url}/api/tags") == "403"
        assert probe(outside, f"{url}/api/tags", users[0]["name"], users[0]["password"]) == "403"
        assert probe(inside, f"{url}/api/tags", users[0]["name"], users[0]["password"]) == "200"
    # a switch back that fails before the handover leaves Caddy serving
    nginx_config_failing_validation_keeps_caddy_serving(gateway_host, inside, url, users)

    poller = Poller(inside, url, users[0])
    run_playbook("playbooks/gateway.yml")
    assert_only_the_port_handover_failed(poller.results())
    assert_served_by("nginx", gateway_host, inside, url, users)
    assert not gateway_host.file("/etc/caddy/ollama-gateway.users").exists
    # nothing of Caddy's left: its record, repository, drop-in and drop-in directory
    for path in (f"{RECORDS}/caddy", "/etc/systemd/system/caddy.service.d", "/etc/apt/sources.list.d/caddy-stable.sources"):
        assert not gateway_host.file(path).exists, path
    assert gateway_host.file(f"{RECORDS}/nginx").exists


def test_nginx_serving_another_site_keeps_it(gateway_host, inside, url, users, back_to_nginx):
    site = 'server { listen 8181; location / { return 200 "other site\\n"; } }'
    gateway_host.run_expect([0], f"printf '%s\\n' '{site}' > {OTHER_SITE}")
    gateway_host.run_expect([0], "nginx -t && systemctl reload nginx")
    try:
        assert gateway_host.check_output("curl -sS http://127.0.0.1:8181/") == "other site"
        run_playbook("playbooks/gateway.yml", *CADDY)
        # the gateway moved to Caddy; nginx stays (only the gateway's site is gone) for the other site
        listeners = gateway_listeners(gateway_host)
        assert listeners and all('"caddy"' in line for line in listeners), listeners
        assert gateway_host.service("nginx").is_running
        assert not gateway_host.file("/etc/nginx/sites-enabled/ollama-gateway").exists
        assert gateway_host.check_output("curl -sS http://127.0.0.1:8181/") == "other site"
        assert probe(inside, f"{url}/api/tags", users[0]["name"], users[0]["password"]) == "200"

        run_playbook("playbooks/gateway.yml")
        assert_served_by("nginx", gateway_host, inside, url, users)
        assert gateway_host.check_output("curl -sS http://127.0.0.1:8181/") == "other site"
    finally:
        gateway_host.run_expect([0], f"rm -f {OTHER_SITE} && nginx -t && systemctl reload nginx")
    # and without the other site, the gateway is as a plain nginx gateway should be
    assert_served_by("nginx", gateway_host, inside, url, users)
    assert not gateway_host.file("/etc/caddy/ollama-gateway.users").exists
    assert gateway_host.run("curl -sS http://127.0.0.1:8181/").rc == 7


def test_caddy_repository_unreachable_while_nginx_serves(gateway_host, inside, url, users, back_to_nginx):
    """The switch to Caddy's official packages fails at the signing key: nginx never stopped
    serving, and stays installed and configured."""
    poller = Poller(inside, url, users[0])
    proc = run_playbook("playbooks/gateway.yml", "-e", "ollama_gate_proxy=caddy",
                        "-e", "caddy_gateway_repo_key_url=http://127.0.0.1:9/gpg.key", check=False)
    codes = poller.results()
    assert proc.returncode != 0
    assert "Download the repository's signing key" in proc.stdout.split("fatal:")[0].rsplit("TASK [", 1)[-1]
    assert len(codes) > 10 and set(codes) == {"200"}, run_lengths(codes)
    assert gateway_host.service("nginx").is_running
    assert gateway_host.file("/etc/nginx/sites-enabled/ollama-gateway").exists
    assert probe(inside, f"{url}/api/tags", users[0]["name"], users[0]["password"]) == "200"


def test_caddy_repository_key_with_another_fingerprint_is_refused(gateway_host, inside, url, users, back_to_nginx):
    """A repository key that is not Caddy's (here a throwaway key, served by the client host) is
    refused before apt trusts it: the keyring and repository are not written, nginx serves."""
    key = (Path(__file__).resolve().parents[1] / "unit/fixtures/test-repo-key.asc").read_text()
    inside.run_expect([0], f"mkdir -p /tmp/keys && printf '%s' '{key}' > /tmp/keys/gpg.key")
    server = inside.check_output("setsid python3 -m http.server 8099 --directory /tmp/keys > /dev/null 2>&1 "
                                 "< /dev/null & echo $!")
    try:
        proc = run_playbook("playbooks/gateway.yml", "-e", "ollama_gate_proxy=caddy",
                            "-e", "caddy_gateway_repo_key_url=http://10.213.7.20:8099/gpg.key", check=False)
    finally:
        inside.run(f"kill {server}")
    assert proc.returncode != 0
    assert ("has the fingerprint(s) 1F89D00A118EE568CE0B8CB9DB70C0B32D2DFFCA, not caddy_gateway_repo_key_fingerprint "
            "65760C51EDEA2017CEA2CA15155B6D79CA56EA34") in " ".join(proc.output.split())
    for path in ("/etc/apt/keyrings/caddy-stable.asc", "/etc/apt/sources.list.d/caddy-stable.sources"):
        assert not gateway_host.file(path).exists, path
    assert not gateway_host.package("caddy").is_installed
    assert probe(inside, f"{url}/api/tags", users[0]["name"], users[0]["password"]) == "200"


def test_nginx_not_installed_by_ollama_gate_is_kept(gateway_host, inside, url, users, back_to_nginx):
    """Without the ownership record (nginx was the admin's), a switch to Caddy removes only the
    gateway's site: nginx stays installed and running, with nothing of the gateway left."""
    record = f"{RECORDS}/nginx"
    assert gateway_host.file(record).exists
    gateway_host.run_expect([0], f"mv {record} /root/nginx.record")
    try:
        proc = run_playbook("playbooks/gateway.yml", *CADDY)
        assert "ollama-gate did not install it" in proc.output
        assert gateway_host.package("nginx").is_installed
        assert gateway_host.service("nginx").is_running
        assert not gateway_host.file("/etc/nginx/sites-enabled/ollama-gateway").exists
        listeners = gateway_listeners(gateway_host)
        assert listeners and all('"caddy"' in line for line in listeners), listeners
        assert probe(inside, f"{url}/api/tags", users[0]["name"], users[0]["password"]) == "200"
        # back to nginx: the admin's nginx is used as it is (no record appears for it)
        run_playbook("playbooks/gateway.yml")
        assert not gateway_host.file(record).exists
        assert probe(inside, f"{url}/api/tags", users[0]["name"], users[0]["password"]) == "200"
    finally:
        gateway_host.run_expect([0], f"mv /root/nginx.record {record}")
    assert_served_by("nginx", gateway_host, inside, url, users)


def test_caddy_serving_its_admins_sites_is_not_taken_over(gateway_host, inside, url, users, back_to_nginx):
    """A Caddy the admin installed serves another site from its own Caddyfile: a switch to Caddy
    stops before any change (saying what to do), the other site and the nginx gateway keep
    answering; the Caddy the admin installed is never purged."""
    other = ":8282 {\n\trespond \"caddy site\"\n}\n"
    gateway_host.run_expect([0], "DEBIAN_FRONTEND=noninteractive apt-get install -y -q caddy")
    gateway_host.run_expect([0], f"printf '%s' '{other}' > /etc/caddy/Caddyfile && systemctl restart caddy")
    try:
        assert gateway_host.check_output("curl -sS http://127.0.0.1:8282/") == "caddy site"
        before = gateway_host.file("/etc/caddy/Caddyfile").sha256sum
        proc = run_playbook("playbooks/gateway.yml", *CADDY, check=False)
        assert proc.returncode != 0
        assert "was not written by ollama-gate and caddy was not installed by it" in proc.output
        assert "Nothing was changed" in proc.output
        assert gateway_host.file("/etc/caddy/Caddyfile").sha256sum == before
        assert not gateway_host.file(f"{RECORDS}/caddy").exists
        assert gateway_host.check_output("curl -sS http://127.0.0.1:8282/") == "caddy site"
        assert probe(inside, f"{url}/api/tags", users[0]["name"], users[0]["password"]) == "200"
        # a gateway run with nginx leaves the admin's Caddy alone
        run_playbook("playbooks/gateway.yml")
        assert gateway_host.package("caddy").is_installed
        assert gateway_host.file("/etc/caddy/Caddyfile").sha256sum == before
        assert gateway_host.check_output("curl -sS http://127.0.0.1:8282/") == "caddy site"
    finally:
        gateway_host.run_expect([0], "DEBIAN_FRONTEND=noninteractive apt-get purge -y -q caddy")
    assert_served_by("nginx", gateway_host, inside, url, users)
