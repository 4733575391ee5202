"""Switching the proxy with the one variable ollama_gate_proxy, on the firewalled gateway:
nginx -> caddy -> nginx. After each run exactly one proxy is installed, running, listening on the
gateway port and answering 401/200 to a client inside the allowlist; the proxy's own allowlist
holds for Caddy too; and an nginx that also serves another site keeps serving it while the
gateway moves to Caddy and back. Each test ends with nginx serving the gateway again."""
import pytest

from conftest import probe, run_playbook, ufw_disabled

CADDY = ("-e", "ollama_gate_proxy=caddy", "-e", "caddy_gateway_install_method=distribution")
OTHER_SITE = "/etc/nginx/sites-enabled/other-site"


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


def test_switch_to_caddy_and_back(gateway_host, inside, outside, url, users, back_to_nginx):
    run_playbook("playbooks/gateway.yml", *CADDY)
    assert_served_by("caddy", gateway_host, inside, url, users)
    # Caddy enforces the allowlist itself: with ufw off, the outside client gets 403
    with ufw_disabled(gateway_host):
        assert probe(outside, f"{url}/api/tags") == "403"
        assert probe(outside, f"{url}/api/tags", users[0]["name"], users[0]["password"]) == "403"
        assert probe(inside, f"{url}/api/tags", users[0]["name"], users[0]["password"]) == "200"

    run_playbook("playbooks/gateway.yml")
    assert_served_by("nginx", gateway_host, inside, url, users)
    assert not gateway_host.file("/etc/caddy/ollama-gateway.users").exists


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
