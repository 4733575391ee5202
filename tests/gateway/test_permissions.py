"""Default-deny access policy, the same on every proxy (this module runs unchanged against nginx
and Caddy): role user reaches the inference and read endpoints; everything else is for role
admin, and a user gets 403 with a JSON error from the gateway, the request never reaching
Ollama; wrong credentials stay 401; path variants get the same answer from every proxy; expired
users cannot log in."""
import json

import pytest

from conftest import curl, scenario_users

# Role user: (method, path, body) -> Ollama's own answer
USER_ENDPOINTS = [
    ("GET", "/", None),
    ("HEAD", "/", None),
    ("GET", "/api/version", None),
    ("GET", "/api/tags", None),
    ("HEAD", "/api/tags", None),
    ("GET", "/api/ps", None),
    ("POST", "/api/show", '{"model":"llama3.2"}'),
    ("POST", "/api/generate", '{"model":"llama3.2","prompt":"hi","stream":false}'),
    ("POST", "/api/chat", '{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":false}'),
    ("POST", "/api/embed", '{"model":"llama3.2","input":"hi"}'),
    ("POST", "/api/embeddings", '{"model":"llama3.2","prompt":"hi"}'),
    ("GET", "/v1/models", None),
    ("GET", "/v1/models/llama3.2:latest", None),
    ("POST", "/v1/chat/completions", '{"model":"llama3.2","messages":[{"role":"user","content":"hi"}]}'),
    ("POST", "/v1/completions", '{"model":"llama3.2","prompt":"hi"}'),
    ("POST", "/v1/embeddings", '{"model":"llama3.2","input":"hi"}'),
    ("POST", "/v1/responses", '{"model":"llama3.2","input":"hi"}'),
    ("POST", "/v1/messages", '{"model":"llama3.2","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}'),
    ("POST", "/v1/images/generations", '{"model":"llama3.2","prompt":"a cat"}'),
    ("POST", "/v1/images/edits", '{"model":"llama3.2","prompt":"a cat"}'),
    ("POST", "/v1/audio/transcriptions", '{"model":"llama3.2"}'),
]
# Role admin only: model management, account and cloud features, anything unknown
ADMIN_ENDPOINTS = [
    ("POST", "/api/pull", '{"model":"tinyllama","stream":false}'),
    ("POST", "/api/push", '{"model":"llama3.2","stream":false}'),
    ("POST", "/api/create", '{"model":"mine","from":"llama3.2","stream":false}'),
    ("POST", "/api/copy", '{"source":"llama3.2","destination":"llama3.2-copy"}'),
    ("DELETE", "/api/delete", '{"model":"no-such-model"}'),
    ("HEAD", "/api/blobs/sha256:" + "0" * 64, None),
    ("POST", "/api/blobs/sha256:" + "0" * 64, "x"),
    ("GET", "/api/status", None),
    ("POST", "/api/me", "{}"),
    ("POST", "/api/signout", "{}"),
    ("DELETE", "/api/user/keys/c3NoLWVkMjU1MTk", None),
    ("POST", "/api/experimental/web_search", '{"query":"ollama"}'),
    ("POST", "/api/experimental/web_fetch", '{"url":"https://ollama.com"}'),
    ("GET", "/api/not-yet-invented", None),
]
# The same path written differently: (method, target as sent, body, status for a user, for an
# admin). 400: not canonical (refused before anything else); 403: not on the user list; other
# codes are Ollama's (case-sensitive router; a trailing slash redirects; percent-encoding is
# decoded). Every proxy must give exactly these answers.
DELETE = '{"model":"no-such-model"}'
VARIANTS = [
    ("GET", "/api/tags", None, 200, 200),
    ("GET", "/API/tags", None, 403, 404),
    ("GET", "/api/Tags", None, 403, 404),
    ("GET", "/api/tags/", None, 403, 301),
    ("GET", "/api//tags", None, 400, 400),
    ("GET", "//api/tags", None, 400, 400),
    ("GET", "/api/ta%67s", None, 200, 200),
    ("GET", "/api/./tags", None, 400, 400),
    ("GET", "/api/x/../tags", None, 400, 400),
    ("GET", "/api/%2e%2e/api/tags", None, 400, 400),
    ("GET", "/api%2Ftags", None, 400, 400),
    ("GET", "/api/tags?next=../../api/pull", None, 200, 200),
    ("DELETE", "/api/delete", DELETE, 403, 404),
    ("DELETE", "/API/delete", DELETE, 403, 404),
    ("DELETE", "/api/delete/", DELETE, 403, 307),
    ("DELETE", "/api/dele%74e", DELETE, 403, 404),
    ("DELETE", "/api//delete", DELETE, 400, 400),
    ("DELETE", "/api/tags/../delete", DELETE, 400, 400),
    ("DELETE", "/api/tags%2F..%2Fdelete", DELETE, 400, 400),
    ("HEAD", "/api/Blobs/sha256:" + "0" * 64, None, 403, 404),
    ("GET", "/api/generate", None, 403, 405),
    ("POST", "/api/tags", "{}", 403, 405),
    # decoded, a path must not hold what the proxies' checks could read otherwise than Ollama:
    # a line break ("$" matches before it), braces (Caddy placeholders), "#", a backslash
    ("GET", "/api/tags%0A", None, 400, 400),
    ("GET", "/api/tags%0d", None, 400, 400),
    ("GET", "/api/%7Bhttp.request.method%7D", None, 400, 400),
    ("GET", "/api/{http.request.method}", None, 400, 400),
    ("POST", "/api/chat%23x", "{}", 400, 400),
    ("GET", "/api\\tags", None, 400, 400),
    ("GET", "/api/tags%00", None, 400, 400),
    ("GET", "/v1/models/caf%C3%A9", None, 404, 404),
]
FORBIDDEN = "forbidden: this endpoint is not open to role user (it needs the admin role)"


def request(client, gateway, user, method, path, body, headers=()):
    extra = {}
    if body is not None:
        client.check_output(f"printf '%s' '{body}' > /tmp/og-req.json")
        extra = {"data_file": "/tmp/og-req.json", "headers": ["Content-Type: application/json", *headers]}
    elif headers:
        extra = {"headers": list(headers)}
    if method == "HEAD":
        return curl(client, f"{gateway.url}{path}", user["name"], user["password"], method="HEAD", head_only=True,
                    **extra)
    return curl(client, f"{gateway.url}{path}", user["name"], user["password"], method=method, **extra)


def by_role(gateway, role):
    users = [u for u in gateway.users if u.get("role", "user") == role]
    assert users, f"the scenario needs a user with role {role}"
    return users[0]


def ids(cases):
    return [f"{c[0]} {c[1][:40]}" for c in cases]


def test_user_reaches_inference_and_read_endpoints(client, gateway, ollama_log):
    user = by_role(gateway, "user")
    for method, path, body in USER_ENDPOINTS:
        reply = request(client, gateway, user, method, path, body)
        # Ollama's own answer (200, or its 400 for a model that cannot do images or audio)
        assert reply.status != 401 and FORBIDDEN not in reply.body, (method, path, reply.status, reply.body[:200])
    logged = ollama_log.requests(wait_for=[(m, p) for m, p, _ in USER_ENDPOINTS])
    assert all((m, p) in logged for m, p, _ in USER_ENDPOINTS)


def test_user_gets_403_json_for_everything_else_and_ollama_never_sees_it(client, gateway, ollama_log):
    user = by_role(gateway, "user")
    for method, path, body in ADMIN_ENDPOINTS:
        reply = request(client, gateway, user, method, path, body)
        assert reply.status == 403, (method, path, reply.status, reply.body[:200])
        if method != "HEAD":
            assert json.loads(reply.body) == {"error": FORBIDDEN}
            assert reply.headers["content-type"].startswith("application/json")
    # a request that does reach Ollama, so the log is known to be read right
    assert request(client, gateway, user, "GET", "/api/version", None).status == 200
    logged = ollama_log.requests(wait_for=[("GET", "/api/version")])
    assert not [entry for entry in logged if entry != ("GET", "/api/version")], logged


def test_admin_reaches_everything(client, gateway, ollama_log):
    admin = by_role(gateway, "admin")
    for method, path, body in ADMIN_ENDPOINTS:
        reply = request(client, gateway, admin, method, path, body)
        assert FORBIDDEN not in reply.body and reply.headers.get("www-authenticate") is None, (method, path)
    logged = ollama_log.requests(wait_for=[(m, p) for m, p, _ in ADMIN_ENDPOINTS])
    assert all((m, p) in logged for m, p, _ in ADMIN_ENDPOINTS), logged


@pytest.mark.parametrize(("method", "path", "body", "for_user", "for_admin"), VARIANTS, ids=ids(VARIANTS))
def test_path_variants_get_the_same_answer_on_every_proxy(client, gateway, method, path, body, for_user, for_admin):
    assert request(client, gateway, by_role(gateway, "user"), method, path, body).status == for_user
    assert request(client, gateway, by_role(gateway, "admin"), method, path, body).status == for_admin


# Targets curl cannot send as they are (a raw "#", raw non-ASCII bytes, the absolute form a
# forward proxy sends), written to the socket: (request target, status for a user).
RAW_TARGETS = [
    ("/api/chat#x", 400),
    ("/x/..#", 400),
    ("/api/tags#", 400),
    ("/v1/models/caf\xc3\xa9", 400),
    ("/api/tags?q=#frag", 200),
    ("{url}/api/tags", 200),
    ("{url}/api/pull", 403),
    ("{url}//api/tags", 400),
]
RAW_REQUEST = """
import base64, socket, sys
host, port, auth, target = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4].encode("latin-1").decode("unicode_escape")
s = socket.create_connection((host, port), timeout=10)
s.sendall(("GET " + target + " HTTP/1.1\\r\\nHost: " + host + "\\r\\nConnection: close\\r\\nAuthorization: Basic "
           + base64.b64encode(auth.encode()).decode() + "\\r\\n\\r\\n").encode("latin-1"))
print(s.makefile("rb").readline().split()[1].decode())
"""


@pytest.mark.parametrize(("target", "for_user"), RAW_TARGETS, ids=[t[0] for t in RAW_TARGETS])
def test_raw_targets_get_the_same_answer_on_every_proxy(client, gateway, target, for_user):
    user = by_role(gateway, "user")
    client.check_output(f"cat > /tmp/og-raw.py <<'EOF'\n{RAW_REQUEST}\nEOF")
    status = client.check_output("python3 /tmp/og-raw.py %s %s %s %s", gateway.name, str(gateway.port),
                                 f"{user['name']}:{user['password']}",
                                 target.format(url=gateway.url).encode("unicode_escape").decode())
    assert int(status) == for_user


def test_wrong_password_on_admin_endpoint_is_401_not_403(client, gateway):
    user = dict(by_role(gateway, "user"), password="wrong-password-0123456789")
    assert request(client, gateway, user, "POST", "/api/pull", '{"model":"x"}').status == 401
    assert request(client, gateway, user, "POST", "/api/signout", "{}").status == 401


def test_expired_user_cannot_log_in(client, gateway):
    expired = [u for u in scenario_users() if u.get("expires", "9999-12-31") < "2026-01-01"]
    assert expired, "the scenario needs an expired user"
    for user in expired:
        assert curl(client, f"{gateway.url}/api/tags", user["name"], user["password"]).status == 401
