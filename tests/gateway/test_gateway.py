"""Behaviour of an authenticating gateway, seen from a separate client host.

Shared by every proxy scenario (OG_PROXY=nginx|caddy). Order matters only at the end: the
tests that change the user list run last.
"""
import json

import ollama
import pytest

from conftest import curl, key_of, run_playbook, write_vars

CHUNK_SCRIPT = r"""
import base64, http.client, json, sys, time
host, port, user, password, path = sys.argv[1:6]
conn = http.client.HTTPConnection(host, int(port), timeout=60)
auth = base64.b64encode(f"{user}:{password}".encode()).decode()
body = json.dumps({"model": "llama3.2", "prompt": "Why is the sky blue?"})
start = time.monotonic()
conn.request("POST", path, body, {"Authorization": "Basic " + auth, "Content-Type": "application/json"})
resp = conn.getresponse()
times, lines = [], []
while True:
    line = resp.readline()
    if not line:
        break
    times.append(time.monotonic() - start)
    lines.append(json.loads(line))
print(json.dumps({"status": resp.status, "times": times, "lines": lines}))
"""


def stream(client, host, port, user):
    client.check_output("cat > /tmp/og-stream.py << 'EOF'\n" + CHUNK_SCRIPT + "\nEOF")
    out = client.check_output(f"python3 /tmp/og-stream.py {host} {port} '{user['name']}' '{user['password']}' /api/generate")
    return json.loads(out)


def test_no_credentials_gets_401_with_realm(client, gateway):
    reply = curl(client, f"{gateway.url}/api/tags")
    assert reply.status == 401
    assert reply.headers["www-authenticate"].startswith('Basic realm="')


def test_wrong_password_gets_401(client, gateway):
    user = gateway.users[0]
    assert curl(client, f"{gateway.url}/api/tags", user["name"], user["password"] + "x").status == 401


def test_unknown_user_gets_401(client, gateway):
    assert curl(client, f"{gateway.url}/api/tags", "mallory", "mallory-password-0123456789").status == 401


def test_user_gets_200_and_the_models(client, gateway, user):
    reply = curl(client, f"{gateway.url}/api/tags", user["name"], user["password"])
    assert reply.status == 200
    assert "llama3.2:latest" in [m["name"] for m in reply.json()["models"]]
    version = curl(client, f"{gateway.url}/api/version", user["name"], user["password"])
    assert version.status == 200 and version.json()["version"]


def test_public_host_header_is_not_refused(client, gateway):
    user = gateway.users[0]
    reply = curl(client, f"{gateway.url}/api/tags", user["name"], user["password"], headers=["Host: ollama.example.com"])
    assert reply.status == 200, "the proxy passed the client's Host and Ollama refused it"


def test_direct_request_with_public_host_is_refused(gateway_host):
    """Control: Ollama itself does refuse that Host, so the test above proves the proxy rewrites it."""
    out = gateway_host.check_output("curl -s -o /dev/null -w '%{http_code}' -H 'Host: ollama.example.com' http://127.0.0.1:11434/api/tags")
    assert out == "403"


def test_generate_streams_chunk_by_chunk(client, gateway):
    result = stream(client, gateway.name, gateway.port, gateway.users[0])
    assert result["status"] == 200
    times, lines = result["times"], result["lines"]
    assert len(lines) >= 5 and lines[-1]["done"] is True
    assert times[-1] - times[0] >= 1.0, f"all chunks arrived together: {times}"
    assert times[0] < times[-1] / 2, f"first chunk held back: {times}"


def test_20mb_body_is_not_refused(client, gateway):
    user = gateway.users[0]
    client.check_output(
        "python3 -c \"import json,base64; json.dump({'model':'llama3.2','prompt':'describe','stream':False,"
        "'images':[base64.b64encode(b'x'*15000000).decode()]}, open('/tmp/og-big.json','w'))\""
    )
    assert client.file("/tmp/og-big.json").size >= 20_000_000
    reply = curl(client, f"{gateway.url}/api/generate", user["name"], user["password"], method="POST", data_file="/tmp/og-big.json", timeout=120)
    assert reply.status == 200, reply.body[:200]
    assert reply.json()["done"] is True


def test_ollama_port_not_reachable_from_client(client, gateway, gateway_host):
    # site.yml's firewall drops it: a connect timeout (not a refusal or a name error)
    dropped = client.run(f"curl -sS --connect-timeout 2 http://{gateway.address}:11434/")
    assert dropped.rc == 28, dropped.stderr
    # and behind the firewall nothing listens there (Ollama is on loopback): refused
    gateway_host.run_expect([0], "ufw disable")
    try:
        refused = client.run(f"curl -sS --connect-timeout 2 http://{gateway.address}:11434/")
        assert refused.rc == 7, refused.stderr
    finally:
        gateway_host.run_expect([0], "ufw --force enable")


def test_ollama_listens_on_loopback_only(gateway_host):
    sockets = [s for s in gateway_host.socket.get_listening_sockets() if s.endswith(":11434")]
    assert sockets == ["tcp://127.0.0.1:11434"]


def test_official_python_client_with_auth(gateway, user):
    models = ollama.Client(host=gateway.outside_url, auth=(user["name"], user["password"])).list()
    assert "llama3.2:latest" in [m.model for m in models.models]


def test_official_python_client_without_auth_is_refused(gateway):
    with pytest.raises(ollama.ResponseError) as err:
        ollama.Client(host=gateway.outside_url).list()
    assert err.value.status_code == 401


def test_verify_playbook_passes(gateway):
    proc = run_playbook("playbooks/verify.yml", "-e", f"ollama_gate_url={gateway.url}", "-e", f"ollama_gate_verify_from={gateway.client_name}")
    assert "PASS  no credentials -> HTTP 401" in proc.output
    for user in gateway.users:
        assert f"PASS  user {user['name']} -> HTTP 200/200" in proc.output
        assert user["password"] not in proc.output
    account, key = key_of("user")
    assert f"PASS  key {account} (Bearer) -> HTTP 200/200" in proc.output and key not in proc.output
    assert "llama3.2:latest" in proc.output


def test_verify_playbook_fails_on_a_bad_credential(gateway, tmp_path):
    bad = [{"name": gateway.users[0]["name"], "password": "not-the-password-0123456789"}]
    proc = run_playbook(
        "playbooks/verify.yml", "-e", f"ollama_gate_url={gateway.url}", "-e", f"ollama_gate_verify_from={gateway.client_name}",
        "-e", write_vars(tmp_path, {"ollama_gate_verify_users": bad}), check=False,
    )
    assert proc.returncode != 0
    assert f"FAIL  user {bad[0]['name']} -> HTTP 401/401" in proc.output
