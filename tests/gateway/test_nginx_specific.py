"""What only the Nginx gateway has: the htpasswd file, whole-config validation, nginx headers."""
import os

import pytest

from conftest import curl, run_playbook, write_vars

pytestmark = pytest.mark.skipif(os.environ.get("OG_PROXY", "nginx") != "nginx", reason="nginx gateway only")


def test_user_file_owner_and_mode(gateway_host, gateway):
    users_file = gateway_host.file(gateway.users_file)
    assert (users_file.user, users_file.group, users_file.mode) == ("root", "www-data", 0o640)
    content = users_file.content_string
    for user in gateway.users:
        assert user["password"] not in content
        assert f"{user['name']}:{{SSHA}}" in content


def test_server_version_not_disclosed(client, gateway):
    assert curl(client, f"{gateway.url}/api/tags").headers["server"] == "nginx"


def test_site_enabled_default_site_gone(gateway_host):
    assert gateway_host.file("/etc/nginx/sites-enabled/ollama-gateway").linked_to == "/etc/nginx/sites-available/ollama-gateway"
    assert not gateway_host.file("/etc/nginx/sites-enabled/default").exists
    assert not [s for s in gateway_host.socket.get_listening_sockets() if s.endswith(":80")]


def test_proxy_settings_ollama_needs(gateway_host):
    site = gateway_host.file("/etc/nginx/sites-available/ollama-gateway").content_string
    for line in ['proxy_set_header Host "localhost:11434";', "proxy_http_version 1.1;", "proxy_buffering off;",
                 "proxy_read_timeout 300s;", "proxy_connect_timeout 75s;", "server_tokens off;"]:
        assert line in site
    assert 'proxy_set_header Connection "";' in site
    assert not [line for line in site.splitlines() if "Connection" in line and "upgrade" in line and not line.lstrip().startswith("#")]


def test_config_nginx_rejects_is_never_applied(client, gateway_host, gateway, tmp_path):
    before = gateway_host.file("/etc/nginx/sites-available/ollama-gateway").md5sum
    # a reload keeps the master but replaces the workers: their PIDs tell whether one happened
    workers = gateway_host.check_output("pgrep -P $(systemctl show --property MainPID --value nginx) | sort")
    bad = write_vars(tmp_path, {"nginx_gateway_server_name": "~^(unclosed"})
    proc = run_playbook("playbooks/gateway.yml", "-e", bad, check=False)
    assert proc.returncode != 0
    assert "nginx.conf test failed" in proc.output
    assert gateway_host.file("/etc/nginx/sites-available/ollama-gateway").md5sum == before
    assert gateway_host.check_output("pgrep -P $(systemctl show --property MainPID --value nginx) | sort") == workers
    user = gateway.users[0]
    assert curl(client, f"{gateway.url}/api/tags", user["name"], user["password"]).status == 200


def test_rate_limit_per_address_before_credentials(client, gateway_host, gateway, tmp_path):
    """A burst beyond the rate gets 429 with a JSON error, before any credential is looked at;
    another client address is unaffected. (A users-only run applies the low limit and one puts the
    scenario's back.)"""
    low = write_vars(tmp_path, {"nginx_gateway_rate_limit": 1, "nginx_gateway_rate_burst": 3})
    run_playbook("playbooks/gateway.yml", "--tags", "users", "-e", low)
    try:
        site = gateway_host.file("/etc/nginx/sites-available/ollama-gateway").content_string
        assert "rate=1r/s" in site and "burst=3 nodelay" in site
        codes = client.check_output(
            f"for i in $(seq 12); do curl -s -o /dev/null -w '%{{http_code}} ' {gateway.url}/api/tags; done").split()
        assert codes[:4] == ["401"] * 4 and codes.count("429") >= 6, codes
        reply = curl(client, f"{gateway.url}/api/tags", gateway.users[0]["name"], gateway.users[0]["password"])
        assert reply.status == 429 and reply.json() == {"error": "too many requests from this address: slow down and retry"}
        # another client address (the gateway host itself, on loopback) is not limited by that burst
        assert gateway_host.check_output(
            f"curl -s -o /dev/null -w '%{{http_code}}' http://127.0.0.1:{gateway.port}/api/tags") == "401"
    finally:
        run_playbook("playbooks/gateway.yml", "--tags", "users")
    assert "rate=20r/s" in gateway_host.file("/etc/nginx/sites-available/ollama-gateway").content_string
