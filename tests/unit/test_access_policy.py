"""The access policy both proxies enforce: endpoint allowlist, canonical paths, browser origins,
API keys (accounts, the credential store, rotation names) and the refusals of bad input."""
import base64
import datetime
import re
from pathlib import Path

import pytest
import yaml

from ollama_gate_filters import credentials, load

ROOT = Path(__file__).resolve().parents[2]
access = load("access")
gu = load("users")
verify = load("verify")
DEFAULTS = yaml.safe_load((ROOT / "roles/ollama_gate/defaults/main.yml").read_text())
ENDPOINTS = DEFAULTS["ollama_gate_user_endpoints"]
ORIGINS = DEFAULTS["ollama_gate_cors_origins"]


def matcher(regex):
    return re.compile(f"^(?:{regex})$")


# --------------------------------------------------------------------------- endpoints

USER_MAY = [
    "GET /", "HEAD /", "GET /api/version", "HEAD /api/tags", "GET /api/tags", "GET /api/ps", "POST /api/show",
    "POST /api/generate", "POST /api/chat", "POST /api/embed", "POST /api/embeddings", "GET /v1/models",
    "GET /v1/models/llama3.2:latest", "POST /v1/chat/completions", "POST /v1/completions", "POST /v1/embeddings",
    "POST /v1/responses", "POST /v1/messages", "POST /v1/images/generations", "POST /v1/images/edits",
    "POST /v1/audio/transcriptions",
]
ADMIN_ONLY = [
    "POST /api/pull", "POST /api/push", "POST /api/create", "POST /api/copy", "DELETE /api/delete",
    "POST /api/blobs/sha256:00", "HEAD /api/blobs/sha256:00", "GET /api/status", "POST /api/me",
    "POST /api/signout", "DELETE /api/user/keys/abc", "POST /api/experimental/web_search",
    "POST /api/experimental/web_fetch",
    # variants and unknown paths: another case, a trailing slash, another method, two segments
    "GET /API/tags", "GET /api/tags/", "GET /api/Tags", "GET /api/generate", "POST /api/tags", "OPTIONS /api/tags",
    "GET /v1/models/library/llama3.2", "GET /api/unknown", "PUT /api/chat",
]


@pytest.mark.parametrize("request_line", USER_MAY)
def test_default_user_endpoints_open_inference_and_reads(request_line):
    assert matcher(access.gateway_endpoints_regex(ENDPOINTS)).match(request_line)


@pytest.mark.parametrize("request_line", ADMIN_ONLY)
def test_everything_else_is_for_admins(request_line):
    assert not matcher(access.gateway_endpoints_regex(ENDPOINTS)).match(request_line)


def test_an_empty_allowlist_matches_nothing():
    regex = matcher(access.gateway_endpoints_regex([]))
    assert not any(regex.match(line) for line in USER_MAY + ["", " "])


def test_the_default_lists_are_valid():
    assert access.gateway_endpoints_problems(ENDPOINTS, "x") == []
    assert access.gateway_origins_problems(ORIGINS, "x") == []


@pytest.mark.parametrize(
    ("entry", "named"),
    [
        ("get /api/tags", "'get /api/tags' is not"),
        ("GET api/tags", "'GET api/tags' is not"),
        ("GET /api/../pull", "'GET /api/../pull' is not"),
        ("GET /api/*/tags", "'GET /api/*/tags' is not"),
        ("GET GET /api/tags", "'GET GET /api/tags' is not"),
        ("FETCH /api/tags", "'FETCH /api/tags' is not"),
        ("/api/tags", "'/api/tags' is not"),
        ("GET /api/ta gs", "'GET /api/ta gs' is not"),
        (42, "42 is not"),
    ],
)
def test_malformed_endpoint_refused_naming_it(entry, named):
    problems = access.gateway_endpoints_problems(["GET /api/tags", entry], "ollama_gate_user_endpoints")
    assert len(problems) == 1 and problems[0].startswith("ollama_gate_user_endpoints: ") and named in problems[0]


def test_endpoint_listed_twice_refused():
    problems = access.gateway_endpoints_problems(["GET HEAD /api/tags", "GET /api/tags"], "v")
    assert problems == ["v: GET /api/tags is listed twice ('GET HEAD /api/tags', 'GET /api/tags')"]
    assert access.gateway_endpoints_problems("GET /api/tags", "v")[0].startswith("v must be a list")


# --------------------------------------------------------------------------- canonical paths

@pytest.mark.parametrize(
    ("target", "bad"),
    [
        ("/api/tags", False), ("/api/ta%67s", False), ("/v1/models/llama3.2:latest", False), ("/", False),
        ("/api/tags?x=..//%2F", False), ("/api/tags/", False),
        ("/api//tags", True), ("//api/tags", True), ("/api/./tags", True), ("/api/x/../tags", True),
        ("/api/..", True), ("/api/tags/.", True), ("/api/.?x", True), ("/api%2Ftags", True), ("/api%2ftags", True),
        ("/api/%2e%2e/pull", True), ("/api/%2E/tags", True), ("/api%5Ctags", True),
        # characters no path needs, raw or encoded: "#", braces (Caddy placeholders), controls
        # (a decoded line break lets "$" match early), a backslash, space, non-ASCII bytes
        ("/api/chat#x", True), ("/x/..#", True), ("/api/tags%0A", True), ("/api/tags%0d", True),
        ("/api/%00", True), ("/api/%7f", True), ("/api/%23", True), ("/api/%7Bx%7D", True), ("/api/{x}", True),
        ("/api\\tags", True), ("/api/a b", True), ("/api/caf\xc3\xa9", True), ("/api/a|b", True),
        ("/api/caf%C3%A9", False), ("/api/a%20b", False), ("/api/tags%252F", False), ("/api/a;b=c", False),
        ("/api/tags?q={x}#y", False), ("/api/...", False), ("/api/.x", False),
        # absolute form (forward-proxy style): checked from its path on
        ("http://h/api/tags", False), ("http://h:8080/api/tags", False), ("http://h//api/tags", True),
        ("http://h/api/../pull", True), ("http://h/api/{x}", True),
    ],
)
def test_non_canonical_paths_are_told_apart(target, bad):
    assert bool(re.search(access.BAD_PATH_REGEX, target)) is bad


# --------------------------------------------------------------------------- browser origins

@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("http://localhost", True), ("http://localhost:3000", True), ("https://127.0.0.1:8443", True),
        ("http://0.0.0.0:8080", True), ("app://obsidian.md", True), ("vscode-webview://abc", True),
        ("https://chat.example.com", False), ("http://localhost.evil.example", False), ("null", False),
        ("http://localhost:3000/", False), ("HTTP://LOCALHOST", False), ("", False),
    ],
)
def test_default_origins_are_ollamas_own(origin, allowed):
    assert bool(matcher(access.gateway_origins_regex(ORIGINS)).match(origin)) is allowed


def test_origin_scheme_is_matched_literally():
    regex = matcher(access.gateway_origins_regex(["vscode.webview://x", "git+ssh://h"]))
    assert regex.match("vscode.webview://x") and regex.match("git+ssh://h")
    assert not regex.match("vscodeXwebview://x") and not regex.match("gittssh://h")


def test_origin_with_trailing_newline_refused():
    assert access.gateway_origins_problems(["http://localhost\n"], "v") == [
        "v: 'http://localhost\\n' is not an origin: scheme://host[:port] (port may be *), no path, no trailing slash"]


def test_added_origin_is_exact():
    regex = matcher(access.gateway_origins_regex(["https://chat.example.com", "http://[::1]:8080"]))
    assert regex.match("https://chat.example.com") and regex.match("http://[::1]:8080")
    assert not regex.match("https://chatXexample.com") and not regex.match("https://chat.example.com:443")


@pytest.mark.parametrize(
    ("origin", "named"),
    [
        ("*", "'*' would let every web page"),
        ("https://*", "'https://*' would allow every web site"),
        ("null", "'null' is not an origin"),
        ("https://chat.example.com/", "'https://chat.example.com/' is not an origin"),
        ("chat.example.com", "'chat.example.com' is not an origin"),
        ("https://chat.example.com/ui", "is not an origin"),
        ("http://localhost:70000", "port 70000 is out of range"),
    ],
)
def test_bad_origin_refused_naming_it(origin, named):
    problems = access.gateway_origins_problems(["http://localhost", origin], "ollama_gate_cors_origins")
    assert len(problems) == 1 and problems[0].startswith("ollama_gate_cors_origins: ") and named in problems[0]


def test_policy_for_both_proxies_is_computed_once():
    policy = access.gateway_access_policy(ENDPOINTS, ORIGINS)
    assert policy["endpoints_regex"] == access.gateway_endpoints_regex(ENDPOINTS)
    assert policy["origins_regex"] == access.gateway_origins_regex(ORIGINS)
    assert "Authorization" in policy["cors_headers"] and "Content-Type" in policy["cors_headers"]
    # regular expressions both PCRE (nginx) and RE2 (Caddy) read alike: no look-arounds
    assert not re.search(r"\(\?[=!<]", policy["endpoints_regex"] + policy["origins_regex"] + access.BAD_PATH_REGEX)
    with pytest.raises(Exception, match="listed twice"):
        access.gateway_access_policy(["GET /", "GET /"], ORIGINS)


# --------------------------------------------------------------------------- API keys

FUTURE = (datetime.date.today() + datetime.timedelta(days=365)).isoformat()
LATER = (datetime.date.today() + datetime.timedelta(days=400)).isoformat()
USERS = [
    {"name": "alice", "password": "alice-password-0123456789", "role": "admin", "keys": [{"name": "laptop"}]},
    {"name": "bob", "expires": FUTURE,
     "keys": [{"name": "ci", "expires": FUTURE}, {"name": "old", "state": "absent"}, {"name": "tmp", "expires": "2001-01-01"}]},
    {"name": "carol", "state": "absent", "keys": [{"name": "phone"}]},
]


def test_accounts_one_per_user_and_key_with_the_users_role_and_expiry():
    accounts = {a["name"]: a for a in gu.gateway_accounts(USERS)}
    assert list(accounts) == ["alice", "alice~laptop", "bob", "bob~ci", "bob~old", "bob~tmp", "carol", "carol~phone"]
    assert accounts["alice~laptop"] == {"name": "alice~laptop", "user": "alice", "key": "laptop", "role": "admin",
                                        "state": "present"}
    assert accounts["bob~ci"]["role"] == "user" and accounts["bob~ci"]["expires"] == FUTURE
    assert accounts["bob~old"]["state"] == "absent" and accounts["carol~phone"]["state"] == "absent"
    assert "keys" not in accounts["alice"]
    assert gu.gateway_accounts(gu.gateway_accounts(USERS)) == gu.gateway_accounts(USERS)
    assert gu.gateway_users_present(gu.gateway_accounts(USERS)) == ["alice", "alice~laptop", "bob", "bob~ci"]
    assert gu.gateway_users_admins(gu.gateway_accounts(USERS)) == ["alice", "alice~laptop"]


def test_a_key_without_expiry_expires_with_its_user():
    accounts = gu.gateway_accounts([{"name": "dave", "expires": FUTURE, "keys": [{"name": "k"}]}])
    assert accounts[1]["expires"] == FUTURE


@pytest.mark.parametrize(
    ("keys", "named"),
    [
        ([{"name": "bad key"}], "key 1: name 'bad key' is not allowed"),
        ([{"name": "a~b"}], "key 1: name 'a~b' is not allowed"),
        ([{"name": "ci\n"}], "key 1: name 'ci\\n' is not allowed"),
        ([{}], "key 1: name None is not allowed"),
        (["laptop"], "key 1: name None is not allowed"),
        ([{"name": "ci"}, {"name": "ci"}], "key 'ci': listed twice"),
        ([{"name": "ci"}, {"name": "CI"}], "key 'CI': differs from 'ci' only in case"),
        ([{"name": "ci", "expires": LATER}], f"key 'ci': expires {LATER}, after its user ({FUTURE})"),
        ([{"name": "ci", "expires": "soon"}], "key 'ci': expires must be a date"),
        ([{"name": "ci", "password": "mine-0123456789-0123456789"}], "key 'ci': password cannot be set"),
        ([{"name": "ci", "role": "admin"}], "key 'ci': role cannot be set"),
        ([{"name": "ci", "state": "gone"}], "key 'ci': state must be present or absent"),
        ("ci", "keys must be a list"),
    ],
)
def test_bad_keys_refused_naming_user_and_key(keys, named):
    users = [{"name": "bob", "password": "bob-password-0123456789xx", "expires": FUTURE, "keys": keys}]
    problems = gu.gateway_users_problems(users, need_passwords=False)
    assert len(problems) == 1 and problems[0].startswith("user 'bob': ") and named in problems[0], problems
    assert "mine-0123456789" not in problems[0]  # never a secret


def test_account_names_must_be_user_tilde_key():
    problems = gu.gateway_users_problems([{"name": "x~y", "user": "x", "key": "z", "password": "p" * 30}])
    assert problems == ["entry 1: API key account 'x~y' is not <user>~<key name>"]
    assert gu.gateway_users_problems([{"name": "x~y", "password": "p" * 30}])[0].startswith("entry 1: name 'x~y'")


def test_user_name_with_trailing_newline_refused():
    problems = gu.gateway_users_problems([{"name": "bob\n", "password": "p" * 30}])
    assert len(problems) == 1 and problems[0].startswith("entry 1: name 'bob\\n' is not allowed")


@pytest.mark.parametrize("name", ["default", "include", "hostnames", "volatile", "import", "Default"])
def test_proxy_keywords_refused_as_user_names(name):
    problems = gu.gateway_users_problems([{"name": name, "password": "p" * 30, "role": "admin"}])
    assert problems == [f"entry 1: name {name!r} is reserved: it is a keyword where the proxies list user names"
                        " (nginx's map, Caddy's accounts file); choose another name"]


def test_keys_given_to_a_role_directly_are_expanded_not_dropped():
    """nginx_gateway_users / caddy_gateway_users may hold users with keys: each key becomes its
    account (or, without its secret, the list is refused naming it), never silently left out."""
    users = [{"name": "x", "password": "p" * 30, "role": "admin", "keys": [{"name": "k"}]}]
    assert gu.gateway_users_problems(users) == [
        "API key 'x~k': no secret (API keys are generated into the controller-side credential store by the"
        " project's playbooks)"]
    assert gu.gateway_users_present(users) == ["x", "x~k"] and gu.gateway_users_admins(users) == ["x", "x~k"]
    with pytest.raises(Exception, match="x~k"):
        gu.gateway_htpasswd(users)


def test_a_key_without_its_secret_is_named():
    problems = gu.gateway_users_problems(gu.gateway_accounts([{"name": "x", "password": "p" * 30, "keys": [{"name": "k"}]}]))
    assert problems == ["API key 'x~k': no secret (API keys are generated into the controller-side credential store"
                        " by the project's playbooks)"]


def decode(key):
    assert key.startswith("og_")
    account, _, secret = base64.b64decode(key[3:], validate=True).decode().partition(":")
    return account, secret


def test_key_generated_into_the_store_as_a_token_and_its_secret_is_the_password(tmp_path):
    store = tmp_path / "credentials"
    resolved = {a["name"]: a for a in credentials(USERS, str(store))}
    key = (store / "alice~laptop").read_text().strip()
    account, secret = decode(key)
    assert account == "alice~laptop" and resolved["alice~laptop"]["password"] == secret
    assert len(secret) == 32 and secret.isalnum()  # 32 of 62 symbols: 190 bits
    assert (store / "alice~laptop").stat().st_mode & 0o777 == 0o600
    assert resolved["alice"]["password"] == USERS[0]["password"]
    # only keys that may log in are generated; bob's password is generated too
    assert sorted(p.name for p in store.iterdir() if not p.name.startswith(".")) == ["alice~laptop", "bob", "bob~ci"]
    again = {a["name"]: a for a in credentials(USERS, str(store))}
    assert again["alice~laptop"]["password"] == secret


def test_revoked_key_is_deleted_from_the_store(tmp_path):
    store = tmp_path / "credentials"
    credentials(USERS, str(store))
    assert (store / "bob~ci").exists()
    revoked = [dict(USERS[1], keys=[{"name": "ci", "state": "absent"}])]
    assert credentials(revoked, str(store), create=False) and (store / "bob~ci").exists()  # check mode
    credentials(revoked, str(store))
    assert not (store / "bob~ci").exists() and (store / "bob").exists()


def test_key_rotation_renews_once_per_run(tmp_path):
    store = tmp_path / "credentials"
    credentials(USERS, str(store))
    old = (store / "bob~ci").read_text()
    credentials(USERS, str(store), renew=["bob~ci"], renewal="run-1")
    new = (store / "bob~ci").read_text()
    assert new != old and decode(new.strip())[0] == "bob~ci"
    credentials(USERS, str(store), renew=["bob~ci"], renewal="run-1")
    assert (store / "bob~ci").read_text() == new


def test_a_store_file_that_is_not_the_accounts_key_is_refused(tmp_path):
    store = tmp_path / "credentials"
    store.mkdir(mode=0o700)
    (store / "alice~laptop").write_text("og_" + base64.b64encode(b"bob~ci:secret").decode() + "\n")
    with pytest.raises(Exception, match="does not hold an API key of alice~laptop") as err:
        credentials(USERS[:1], str(store))
    assert "secret" not in str(err.value)


def test_generated_and_expiring_include_keys():
    assert gu.ollama_gate_generated_users(USERS) == ["alice~laptop", "bob", "bob~ci"]
    soon = (datetime.date.today() + datetime.timedelta(days=3)).isoformat()
    users = [{"name": "eve", "password": "x" * 30, "keys": [{"name": "k", "expires": soon}]}]
    assert gu.ollama_gate_expiring(users, 14) == [f"eve~k (expires {soon})"]


@pytest.mark.parametrize(
    ("request_", "names"),
    [
        ("all", ["alice", "alice~laptop", "bob", "bob~ci"]),
        (["all"], ["alice", "alice~laptop", "bob", "bob~ci"]),
        ("bob", ["bob"]),
        ("bob~ci", ["bob~ci"]),
        ("alice~*, bob", ["alice~laptop", "bob"]),
        (["bob~*", "bob~ci"], ["bob~ci"]),
        ("carol~*", ["carol~*"]),
        ("mallory", ["mallory"]),
        ("", []),
    ],
)
def test_rotation_names(request_, names):
    assert gu.ollama_gate_rotation_names(request_, gu.ollama_gate_accounts(USERS)) == names


def test_given_passwords_are_checked_before_generated_ones_exist():
    users = [{"name": "gen"}, {"name": "eve", "password": "CHANGE-ME-0123456789-0123"}, {"name": "sam", "password": "short"}]
    assert gu.gateway_users_problems(users, need_passwords=False) == [
        "user 'eve': password is still the placeholder", "user 'sam': password shorter than 20 characters"]
    assert "user 'gen': no password" in gu.gateway_users_problems(users)


def test_verify_report_names_keys_as_bearer():
    ok = {"status": 200, "json": {"version": "1", "models": []}}
    lines = verify.ollama_gate_verify_report({"status": 401, "www_authenticate": 'Basic realm="x"'}, [ok, ok], [ok, ok],
                                         ["bob", "bob~ci"])
    assert lines[1].startswith("PASS  user bob -> ") and lines[2].startswith("PASS  key bob~ci (Bearer) -> ")


def test_readme_lists_the_default_endpoints_and_origins():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("ollama_gate_user_endpoints:      #")[1].split("```")[0]
    assert [line.strip()[2:] for line in block.splitlines() if line.strip().startswith("- ")] == ENDPOINTS
    for origin in ("http(s)://localhost", "`app://*`", "`file://*`", "`tauri://*`", "`vscode-webview://*`",
                   "`vscode-file://*`"):
        assert origin in readme
    assert all(o.split("://")[0] + "://" in readme for o in ORIGINS)
