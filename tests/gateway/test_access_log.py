"""The access log, on every proxy: one JSON line per request with time, client, user (and API
key), method, path, status, bytes in and out and request time (nginx also the upstream time),
read the same way for both (roles/ollama_gate/filter_plugins/usage.py); never a password, an API
key or a request body. nginx's log is rotated by logrotate with the configured retention.
playbooks/usage-report.yml adds up the requests per user and key and writes CSV and JSON."""
import json

import pytest

from conftest import curl, key_of, load, run_playbook, said, scenario_users

LOGS = {"nginx": "/var/log/nginx/ollama-gateway-access.json", "caddy": "/var/log/ollama-gate/caddy-access.json"}
BODY = "og-body-marker-4f1d9c"


def new_lines(gateway_host, gateway, send):
    """The log lines the requests sent by send() added."""
    path = LOGS[gateway.proxy]
    before = int(gateway_host.check_output(f"stat -c %s {path}"))
    send()
    # Caddy writes the line as the answer goes out; give the writer a moment
    for _ in range(50):
        text = gateway_host.check_output(f"tail -c +{before + 1} {path}")
        if text.count("\n") >= 5:
            break
        gateway_host.run("sleep 0.1")
    return [line for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def logged(gateway_host, gateway, client):
    alice = next(u for u in scenario_users() if u["name"] == "alice")
    account, key = key_of("user")
    client.run(f"printf '%s' '{{\"model\":\"llama3.2\",\"prompt\":\"{BODY}\",\"stream\":false}}' > /tmp/og-log-body")

    def send():
        assert curl(client, f"{gateway.url}/api/tags").status == 401
        assert curl(client, f"{gateway.url}/api/version", "alice", alice["password"]).status == 200
        assert curl(client, f"{gateway.url}/api/tags", "alice", alice["password"] + "x").status == 401
        assert curl(client, f"{gateway.url}/api/tags", headers=[f"Authorization: Bearer {key}"]).status == 200
        assert curl(client, f"{gateway.url}/api/generate", headers=[f"x-api-key: {key}"], method="POST",
                    data_file="/tmp/og-log-body").status == 200

    lines = new_lines(gateway_host, gateway, send)
    return lines, account, key, alice["password"]


def test_one_json_line_per_request_with_who_did_what(logged, client):
    lines, account, _, _ = logged
    parse = load("usage").ollama_gate_access_record
    records = [parse(line) for line in lines]
    assert [(r["method"], r["path"], r["status"]) for r in records] == [
        ("GET", "/api/tags", 401), ("GET", "/api/version", 200), ("GET", "/api/tags", 401),
        ("GET", "/api/tags", 200), ("POST", "/api/generate", 200)]
    user, key = account.split("~")
    assert records[0]["user"] == ""
    # the name a refused login gave: nginx logs it, Caddy logs no user for a refused request
    assert records[2]["user"] == ("alice" if records[2]["proxy"] == "nginx" else "")
    assert (records[1]["user"], records[1]["key"]) == ("alice", "")
    assert [(r["user"], r["key"]) for r in records[3:]] == [(user, key), (user, key)]
    client_address = client.check_output("hostname -I").split()[0]
    for record in records:
        assert record["client"] == client_address
        assert record["time"].endswith("+00:00")
        # nginx counts whole requests and answers (headers included), Caddy the bodies only
        if record["proxy"] == "nginx":
            assert record["bytes_in"] > 0 and record["bytes_out"] > 0
        else:
            assert record["bytes_in"] >= 0 and (record["bytes_out"] > 0) == (record["status"] == 200)
        assert record["request_time"] is not None and record["request_time"] >= 0
    if records[4]["proxy"] == "nginx":  # Caddy 2.6 logs bytes_read 0 for a body it proxied (README)
        assert records[4]["bytes_in"] > len(BODY)  # the body was counted, not written
    if records[0]["proxy"] == "nginx":
        assert records[0]["upstream_time"] is None  # refused at the gateway: Ollama never saw it
        assert records[1]["upstream_time"] is not None and records[1]["upstream_time"] >= 0


def test_no_credential_and_no_body_in_the_log(logged, gateway_host, gateway):
    _, account, key, password = logged
    secret = __import__("base64").b64decode(key[3:]).decode().partition(":")[2]
    text = gateway_host.check_output(f"cat {LOGS[gateway.proxy]}")
    for value in (password, password + "x", key, key[3:], secret, BODY, "Basic ", "Bearer "):
        assert value not in text
    if gateway.proxy == "caddy":  # the request headers are logged, credentials as REDACTED
        assert '"Authorization":"REDACTED"' in text and '"X-Api-Key":"REDACTED"' in text
    # every line is JSON
    for line in text.splitlines():
        json.loads(line)


def test_nginx_log_rotated_daily_with_the_retention(gateway_host, gateway, client):
    if gateway.proxy != "nginx":
        pytest.skip("Caddy rolls its log itself (size-based); its settings are in the Caddyfile")
    config = gateway_host.file("/etc/logrotate.d/ollama-gateway-nginx").content_string
    assert LOGS["nginx"] in config and "daily" in config and "rotate 30" in config
    gateway_host.check_output("logrotate -f /etc/logrotate.d/ollama-gateway-nginx")
    assert gateway_host.file(LOGS["nginx"] + ".1").exists
    # nginx reopened its log: the next request lands in the new file
    assert curl(client, f"{gateway.url}/api/tags").status == 401
    for _ in range(50):
        if "/api/tags" in gateway_host.file(LOGS["nginx"]).content_string:
            break
        gateway_host.run("sleep 0.1")
    assert '"status":401' in gateway_host.file(LOGS["nginx"]).content_string


def test_caddy_log_rolls_with_the_retention(gateway_host, gateway):
    if gateway.proxy != "caddy":
        pytest.skip("nginx's log is rotated by logrotate")
    caddyfile = gateway_host.file("/etc/caddy/Caddyfile").content_string
    assert f"output file {LOGS['caddy']}" in caddyfile
    assert "roll_keep 30" in caddyfile and "roll_keep_for 720h" in caddyfile


def logged_proxy(logged):
    return load("usage").ollama_gate_access_record(logged[0][0])["proxy"]


def test_usage_report_per_user_and_key(logged, tmp_path):
    _, account, _, _ = logged
    user, key = account.split("~")
    proc = run_playbook("playbooks/usage-report.yml", "-e", f"ollama_gate_usage_dir={tmp_path}")
    out = said(proc)
    assert "last 30 days, 1 gateway(s):" in out
    assert f"{user} (key {key}): " in out and "(anonymous): " in out
    [csv_file] = tmp_path.glob("usage-*.csv")
    [json_file] = tmp_path.glob("usage-*.json")
    rows = {(r["user"], r["key"]): r for r in json.loads(json_file.read_text())}
    keyed = rows[(user, key)]
    assert keyed["requests"] >= 2 and keyed["ok"] >= 2 and keyed["p95_seconds"] >= keyed["p50_seconds"] >= 0
    assert "POST /api/generate" in keyed["top_endpoints"] and "GET /api/tags" in keyed["top_endpoints"]
    assert rows[("(anonymous)", "")]["401"] >= 1
    if logged_proxy(logged) == "nginx":  # nginx logs the user name a refused login gave; Caddy none
        assert rows[("alice", "")]["401"] >= 1
    header, *lines = csv_file.read_text().splitlines()
    assert header.startswith("user,key,requests,ok,401,403,429,5xx,") and len(lines) == len(rows)
    assert oct(csv_file.stat().st_mode & 0o777) == "0o600"
