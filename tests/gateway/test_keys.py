"""API keys beside Basic Auth, the same on every proxy: a key is accepted as
`Authorization: Bearer <key>` and as `x-api-key: <key>`, by the official OpenAI, Anthropic and
Ollama clients; it carries its user's role; an altered key gets 401; neither header (nor any
credential) reaches Ollama; the server keeps only a hash."""
import base64

import anthropic
import ollama
import openai
import pytest

from conftest import STORE, altered, curl, key_of, load, upstream_traffic

def status(client, gateway, path="/api/tags", headers=(), method="GET", data_file=None):
    return curl(client, f"{gateway.url}{path}", headers=headers, method=method, data_file=data_file).status


def test_key_in_the_store_names_its_account_and_the_server_keeps_a_hash(gateway_host, gateway):
    account, key = key_of("user")
    path = STORE / account
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert key.startswith("og_")
    name, _, secret = base64.b64decode(key[3:], validate=True).decode().partition(":")
    assert name == account and len(secret) >= 22  # >= 128 bits of letters and digits
    users_file = gateway_host.file(gateway.users_file).content_string
    assert any(line.startswith(account + (":" if gateway.proxy == "nginx" else " ")) for line in users_file.splitlines())
    assert secret not in users_file and key not in users_file


@pytest.mark.parametrize("header", ["Authorization: Bearer {key}", "x-api-key: {key}"], ids=["bearer", "x-api-key"])
def test_key_accepted_and_an_altered_one_refused(client, gateway, header):
    _, key = key_of("user")
    assert status(client, gateway, headers=[header.format(key=key)]) == 200
    assert status(client, gateway, headers=[header.format(key=altered(key))]) == 401
    assert status(client, gateway, headers=[header.format(key="og_" + base64.b64encode(b"bob~nokey:x" * 3).decode())]) == 401


def test_openai_sdk_chat_completion_with_a_key(gateway):
    _, key = key_of("user")
    client = openai.OpenAI(base_url=f"{gateway.outside_url}/v1", api_key=key, max_retries=0)
    reply = client.chat.completions.create(model="llama3.2", messages=[{"role": "user", "content": "Say hi"}])
    assert reply.choices[0].message.content
    assert "llama3.2:latest" in [m.id for m in client.models.list()]
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{gateway.outside_url}/v1", api_key=altered(key), max_retries=0).models.list()


def test_anthropic_sdk_messages_with_a_key(gateway):
    _, key = key_of("user")
    client = anthropic.Anthropic(base_url=gateway.outside_url, api_key=key, max_retries=0)
    message = client.messages.create(model="llama3.2", max_tokens=64, messages=[{"role": "user", "content": "Say hi"}])
    assert message.role == "assistant" and message.content[0].text
    with client.messages.stream(model="llama3.2", max_tokens=64, messages=[{"role": "user", "content": "hi"}]) as stream:
        assert stream.get_final_text()
    with pytest.raises(anthropic.AuthenticationError):
        anthropic.Anthropic(base_url=gateway.outside_url, api_key=altered(key), max_retries=0).messages.create(
            model="llama3.2", max_tokens=8, messages=[{"role": "user", "content": "hi"}])


def test_ollama_client_with_a_bearer_key(gateway):
    _, key = key_of("user")
    models = ollama.Client(host=gateway.outside_url, headers={"Authorization": f"Bearer {key}"}).list()
    assert "llama3.2:latest" in [m.model for m in models.models]


def test_a_key_has_its_users_role(client, gateway, ollama_log):
    _, user_key = key_of("user")
    _, admin_key = key_of("admin")
    client.check_output("printf '%s' '{\"model\":\"no-such-model\"}' > /tmp/og-req.json")
    for header in (f"Authorization: Bearer {user_key}", f"x-api-key: {user_key}"):
        assert status(client, gateway, "/api/delete", [header], "DELETE", "/tmp/og-req.json") == 403
        assert status(client, gateway, "/api/signout", [header], "POST", "/tmp/og-req.json") == 403
    # Ollama's own answer to an admin: the model does not exist
    assert status(client, gateway, "/api/delete", [f"x-api-key: {admin_key}"], "DELETE", "/tmp/og-req.json") == 404
    logged = ollama_log.requests(wait_for=[("DELETE", "/api/delete")])
    assert logged.count(("DELETE", "/api/delete")) == 1 and ("POST", "/api/signout") not in logged


def test_authorization_header_counts_before_x_api_key(client, gateway):
    """With both headers, the Authorization header is the credential (on every proxy alike):
    x-api-key neither overrides a Basic or Bearer credential nor rescues a wrong one."""
    user = [u for u in gateway.users if u.get("role", "user") == "user"][0]
    _, user_key = key_of("user")
    _, admin_key = key_of("admin")
    pull = dict(method="POST", data_file="/tmp/og-req.json")
    client.check_output("printf '%s' '{\"model\":\"x\",\"stream\":false}' > /tmp/og-req.json")
    assert status(client, gateway, "/api/pull", [f"Authorization: Bearer {user_key}", f"x-api-key: {admin_key}"],
                  **pull) == 403
    basic = "Basic " + base64.b64encode(f"{user['name']}:{user['password']}".encode()).decode()
    assert status(client, gateway, "/api/pull", [f"Authorization: {basic}", f"x-api-key: {admin_key}"], **pull) == 403
    assert status(client, gateway, headers=[f"Authorization: Bearer {altered(user_key)}", f"x-api-key: {user_key}"]) == 401
    assert status(client, gateway, headers=[f"x-api-key: {user_key}"]) == 200


def test_no_credential_reaches_ollama(client, gateway, gateway_host):
    _, key = key_of("user")
    user = gateway.users[0]

    def send():
        assert status(client, gateway, headers=[f"Authorization: Bearer {key}"]) == 200
        assert status(client, gateway, headers=[f"x-api-key: {key}", "anthropic-version: 2023-06-01"]) == 200
        assert curl(client, f"{gateway.url}/api/version", user["name"], user["password"],
                    headers=["Origin: http://localhost:3000"]).status == 200

    sent = upstream_traffic(gateway_host, send).lower()
    assert sent.count(b"get /api/tags http/1.1") == 2 and b"get /api/version" in sent, sent[:500]
    assert b"anthropic-version: 2023-06-01" in sent  # other headers do reach Ollama
    for leak in (b"authorization:", b"x-api-key:", b"origin:", key.lower().encode(), user["password"].lower().encode()):
        assert leak not in sent


def test_access_log_names_the_user_and_key(client, gateway, gateway_host):
    """The gateway's JSON access log (test_access_log.py) names a key's user and key."""
    account, key = key_of("user")
    assert status(client, gateway, "/api/ps", [f"Authorization: Bearer {key}"]) == 200
    log = {"nginx": "/var/log/nginx/ollama-gateway-access.json", "caddy": "/var/log/ollama-gate/caddy-access.json"}
    parse = load("usage").ollama_gate_access_record
    last = [parse(line) for line in gateway_host.check_output(f"tail -n 20 {log[gateway.proxy]}").splitlines()]
    user, name = account.split("~")
    assert any((r["user"], r["key"], r["method"], r["path"]) == (user, name, "GET", "/api/ps") for r in last), last
