"""What only the Caddy gateway has: directive by version, accounts file, validation before reload."""
import os
import re

import pytest

from conftest import curl, may_log_in, run_playbook, scenario_accounts, write_vars

pytestmark = pytest.mark.skipif(os.environ.get("OG_PROXY", "nginx") != "caddy", reason="caddy gateway only")
CADDYFILE = "/etc/caddy/Caddyfile"
ADMIN_SOCKET = "/run/caddy/admin.sock"
# Caddy accepts an empty Host (or, from 2.7 on, 127.0.0.1) on a unix-socket admin API
ADMIN = f"curl -sS --unix-socket {ADMIN_SOCKET} -H 'Host;'"


def caddy_version(gateway_host):
    return tuple(int(x) for x in re.search(r"(\d+)\.(\d+)\.(\d+)", gateway_host.check_output("caddy version")).groups())


def test_expected_caddy_version(gateway_host):
    expected = os.environ["OG_CADDY_VERSION"]
    assert caddy_version(gateway_host) == tuple(int(x) for x in expected.split("."))


def test_auth_directive_matches_version(gateway_host):
    caddyfile = gateway_host.file(CADDYFILE).content_string
    directive = "basic_auth" if caddy_version(gateway_host) >= (2, 8, 0) else "basicauth"
    assert re.search(rf"^\s*{directive} bcrypt \"Ollama\" {{$", caddyfile, re.M), caddyfile


def directives(gateway_host):
    """The Caddyfile without comments."""
    return "\n".join(l for l in gateway_host.file(CADDYFILE).content_string.splitlines() if not l.lstrip().startswith("#"))


def test_proxy_settings_ollama_needs(gateway_host):
    caddyfile = directives(gateway_host)
    assert "header_up Host {upstream_hostport}" in caddyfile
    assert "flush_interval" not in caddyfile
    assert not re.search(r"^\s*encode\b", caddyfile, re.M)


def test_accounts_file_owner_mode_and_bcrypt(gateway_host, gateway):
    accounts = gateway_host.file(gateway.users_file)
    assert (accounts.user, accounts.group, accounts.mode) == ("root", "caddy", 0o640)
    lines = accounts.content_string.splitlines()
    # users and API keys (<user>~<key>) who may log in, in list order
    assert [line.split(" ")[0] for line in lines] == [u["name"] for u in scenario_accounts() if may_log_in(u)]
    assert any("~" in line.split(" ")[0] for line in lines)
    assert all(line.split(" ")[1].startswith("$2y$12$") for line in lines)
    for user in gateway.users:
        assert user["password"] not in accounts.content_string


def test_only_caddy_listens_on_the_gateway_port(gateway_host):
    assert gateway_host.service("caddy").is_running
    assert not gateway_host.package("nginx").is_installed
    listeners = gateway_host.check_output("ss -Hltnp 'sport = :8080'").splitlines()
    assert listeners, "nothing listens on 8080"
    assert all('"caddy"' in line for line in listeners), listeners


def test_config_caddy_rejects_is_never_applied(client, gateway_host, gateway, tmp_path):
    before = gateway_host.file(CADDYFILE).md5sum
    # Caddy reloads in-process: the loaded configuration (admin API) tells whether one happened
    loaded = gateway_host.check_output(f"{ADMIN} http://admin/config/")
    proc = run_playbook("playbooks/gateway.yml", "-e", write_vars(tmp_path, {"caddy_gateway_address": ":99999"}), check=False)
    assert proc.returncode != 0
    assert "port 99999 is out of range" in proc.output
    assert gateway_host.file(CADDYFILE).md5sum == before
    assert gateway_host.check_output(f"{ADMIN} http://admin/config/") == loaded
    user = gateway.users[0]
    assert curl(client, f"{gateway.url}/api/tags", user["name"], user["password"]).status == 200


def test_admin_api_only_for_root_and_caddy(gateway_host, client, gateway):
    """Caddy's admin API is a unix socket in a directory only root and caddy can enter: nothing
    listens on TCP 2019, and the ollama account (like any other local one) cannot load a config
    that would drop Basic Auth."""
    listeners = gateway_host.check_output("ss -Hltnp").splitlines()
    assert not [line for line in listeners if ":2019 " in line], listeners
    directory = gateway_host.file("/run/caddy")
    assert (directory.user, directory.group, directory.mode) == ("caddy", "caddy", 0o750)
    assert gateway_host.file(ADMIN_SOCKET).is_socket
    loaded = gateway_host.check_output(f"{ADMIN} http://admin/config/")
    assert '"listen":"unix/' + ADMIN_SOCKET in loaded  # root (and the reload, as caddy) can use it
    open_config = '{"apps":{"http":{"servers":{"x":{"listen":[":8080"],"routes":[{"handle":[{"handler":"static_response","body":"open"}]}]}}}}}'
    for target in (f"--unix-socket {ADMIN_SOCKET} -H 'Host;' http://admin/load", "http://127.0.0.1:2019/load",
                   "http://localhost:2019/load"):
        attempt = gateway_host.run(f"runuser -u ollama -- curl -sS -X POST -H 'Content-Type: application/json' "
                                   f"-d '{open_config}' {target}")
        assert attempt.rc == 7, (target, attempt.rc, attempt.stdout, attempt.stderr)  # could not connect
    assert gateway_host.check_output(f"{ADMIN} http://admin/config/") == loaded
    assert curl(client, f"{gateway.url}/api/tags").status == 401
    # systemd's reload (the unit's ExecReload, run as caddy) goes through the socket
    gateway_host.check_output("systemctl reload caddy")
    user = gateway.users[0]
    assert curl(client, f"{gateway.url}/api/tags", user["name"], user["password"]).status == 200
