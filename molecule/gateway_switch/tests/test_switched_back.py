"""After nginx -> caddy -> nginx: nginx alone, nothing of Caddy left behind."""


def test_only_nginx_installed_and_running(host):
    assert host.package("nginx").is_installed
    assert not host.package("caddy").is_installed
    assert host.service("nginx").is_running
    assert not host.file("/etc/caddy/ollama-gateway.users").exists


def test_gateway_port_held_by_nginx(host):
    listeners = host.check_output("ss -Hltnp 'sport = :8080'").splitlines()
    assert listeners and all('"nginx"' in line for line in listeners)


def test_users_still_get_in(host):
    assert host.check_output("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/api/tags") == "401"
    out = host.check_output("curl -s -o /dev/null -w '%{http_code}' -u alice:alice-test-password-0001 http://127.0.0.1:8080/api/tags")
    assert out == "200"
