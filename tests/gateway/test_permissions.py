"""Roles: model management only for admins (403 for others), inference and reads for every user;
expired users cannot log in."""
import pytest

from conftest import curl, scenario_users

# (method, path, body) of each model-management endpoint
ADMIN_ENDPOINTS = [
    ("POST", "/api/pull", '{"model":"tinyllama","stream":false}'),
    ("POST", "/api/push", '{"model":"llama3.2","stream":false}'),
    ("POST", "/api/create", '{"model":"mine","from":"llama3.2","stream":false}'),
    ("POST", "/api/copy", '{"source":"llama3.2","destination":"llama3.2-copy"}'),
    ("DELETE", "/api/delete", '{"model":"no-such-model"}'),
    ("HEAD", "/api/blobs/sha256:" + "0" * 64, None),
    ("POST", "/api/blobs/sha256:" + "0" * 64, "x"),
]
OPEN_ENDPOINTS = [
    ("POST", "/api/generate", '{"model":"llama3.2","prompt":"hi","stream":false}'),
    ("POST", "/api/chat", '{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":false}'),
    ("POST", "/api/embed", '{"model":"llama3.2","input":"hi"}'),
    ("GET", "/api/tags", None),
    ("GET", "/api/ps", None),
    ("POST", "/api/show", '{"model":"llama3.2"}'),
    ("GET", "/api/version", None),
    ("GET", "/v1/models", None),
    ("POST", "/v1/chat/completions", '{"model":"llama3.2","messages":[{"role":"user","content":"hi"}]}'),
]


def request(client, gateway, user, method, path, body):
    extra = {}
    if body is not None:
        client.check_output(f"printf '%s' '{body}' > /tmp/og-req.json")
        extra = {"data_file": "/tmp/og-req.json", "headers": ["Content-Type: application/json"]}
    if method == "HEAD":
        return curl(client, f"{gateway.url}{path}", user["name"], user["password"], method="HEAD", head_only=True)
    return curl(client, f"{gateway.url}{path}", user["name"], user["password"], method=method, **extra)


def by_role(gateway, role):
    users = [u for u in gateway.users if u.get("role", "user") == role]
    assert users, f"the scenario needs a user with role {role}"
    return users[0]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ENDPOINTS, ids=[f"{m} {p[:16]}" for m, p, _ in ADMIN_ENDPOINTS])
def test_user_role_forbidden_model_management(client, gateway, method, path, body):
    reply = request(client, gateway, by_role(gateway, "user"), method, path, body)
    assert reply.status == 403


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ENDPOINTS, ids=[f"{m} {p[:16]}" for m, p, _ in ADMIN_ENDPOINTS])
def test_admin_reaches_model_management(client, gateway, method, path, body):
    reply = request(client, gateway, by_role(gateway, "admin"), method, path, body)
    assert reply.status not in (401, 403), reply.body  # Ollama's own answer (200, 400, 404, ...)
    assert reply.headers.get("www-authenticate") is None


def test_wrong_password_on_admin_endpoint_is_401_not_403(client, gateway):
    user = dict(by_role(gateway, "user"), password="wrong-password-0123456789")
    assert request(client, gateway, user, "POST", "/api/pull", '{"model":"x"}').status == 401


@pytest.mark.parametrize(("method", "path", "body"), OPEN_ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in OPEN_ENDPOINTS])
def test_user_role_reaches_inference_and_reads(client, gateway, method, path, body):
    assert request(client, gateway, by_role(gateway, "user"), method, path, body).status == 200


def test_expired_user_cannot_log_in(client, gateway):
    expired = [u for u in scenario_users() if u.get("expires", "9999-12-31") < "2026-01-01"]
    assert expired, "the scenario needs an expired user"
    for user in expired:
        assert curl(client, f"{gateway.url}/api/tags", user["name"], user["password"]).status == 401
