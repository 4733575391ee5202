"""Browser clients (CORS), the same on every proxy: a preflight from an allowed origin is answered
by the gateway without credentials and never reaches Ollama; responses to allowed origins (401
and 403 included) carry Access-Control-Allow-Origin; any other origin gets 403 even with valid
credentials; origins Ollama's own list lacks work without touching OLLAMA_ORIGINS."""
import json
import os
from pathlib import Path

import yaml

from conftest import curl, host_vars

DEFAULTS = yaml.safe_load((Path(__file__).resolve().parents[2] / "roles/ollama_gate/defaults/main.yml").read_text())
HOSTILE = "https://evil.example"


def allowed_origin():
    """An origin the scenario allows that Ollama itself would refuse when there is one
    (ollama_gate_cors_origins set in the scenario), else one of the default list."""
    origins = host_vars(os.environ["OG_GATEWAY"]).get("ollama_gate_cors_origins",
                                                        DEFAULTS["ollama_gate_cors_origins"])
    outside_ollamas_list = [o for o in origins if "localhost" not in o and "127.0.0.1" not in o and "*" not in o]
    return (outside_ollamas_list or ["http://localhost:3000"])[0]


def preflight(client, gateway, origin, path="/api/chat"):
    return curl(client, f"{gateway.url}{path}", method="OPTIONS",
                headers=[f"Origin: {origin}", "Access-Control-Request-Method: POST",
                         "Access-Control-Request-Headers: authorization, content-type"])


def test_preflight_answered_by_the_gateway_without_credentials(client, gateway, ollama_log):
    origin = allowed_origin()
    reply = preflight(client, gateway, origin)
    assert reply.status == 204, reply.body
    assert reply.headers["access-control-allow-origin"] == origin
    allowed_headers = [h.strip().lower() for h in reply.headers["access-control-allow-headers"].split(",")]
    assert "authorization" in allowed_headers and "content-type" in allowed_headers
    assert "POST" in reply.headers["access-control-allow-methods"]
    assert int(reply.headers["access-control-max-age"]) > 0
    assert "origin" in reply.headers["vary"].lower()
    assert curl(client, f"{gateway.url}/api/version").status == 401  # a marker that does reach the gateway
    user = gateway.users[0]
    assert curl(client, f"{gateway.url}/api/version", user["name"], user["password"]).status == 200
    logged = ollama_log.requests(wait_for=[("GET", "/api/version")])
    assert not [entry for entry in logged if entry[0] == "OPTIONS"], logged


def test_allowed_origin_gets_its_header_on_200_401_and_403(client, gateway):
    origin = allowed_origin()
    user = [u for u in gateway.users if u.get("role", "user") == "user"][0]
    header = [f"Origin: {origin}"]
    ok = curl(client, f"{gateway.url}/api/tags", user["name"], user["password"], headers=header)
    assert ok.status == 200 and ok.headers["access-control-allow-origin"] == origin
    assert "llama3.2:latest" in [m["name"] for m in ok.json()["models"]]  # Ollama answered, not its own 403
    anonymous = curl(client, f"{gateway.url}/api/tags", headers=header)
    assert anonymous.status == 401 and anonymous.headers["access-control-allow-origin"] == origin
    forbidden = curl(client, f"{gateway.url}/api/pull", user["name"], user["password"], headers=header, method="POST")
    assert forbidden.status == 403 and forbidden.headers["access-control-allow-origin"] == origin
    # not a preflight: no preflight headers
    assert "access-control-allow-headers" not in ok.headers
    # refused before the credentials are looked at: a path that is not canonical (400)
    bad = curl(client, f"{gateway.url}/api//tags", headers=header)
    assert bad.status == 400 and bad.headers["access-control-allow-origin"] == origin
    # caches must keep answers per origin: Vary on every answer, with or without Origin
    for reply in (ok, anonymous, forbidden, bad, curl(client, f"{gateway.url}/api/tags")):
        assert "origin" in reply.headers.get("vary", "").lower()


def test_empty_origin_is_no_origin(client, gateway):
    """An empty Origin header is not a browser origin (browsers send "null" for opaque ones): it
    passes as no Origin does, on every proxy alike."""
    user = gateway.users[0]
    reply = curl(client, f"{gateway.url}/api/tags", user["name"], user["password"], headers=["Origin;"])
    assert reply.status == 200 and "access-control-allow-origin" not in reply.headers


def test_hostile_origin_refused_even_with_valid_credentials(client, gateway, ollama_log):
    user = gateway.users[0]
    reply = curl(client, f"{gateway.url}/api/tags", user["name"], user["password"], headers=[f"Origin: {HOSTILE}"])
    assert reply.status == 403 and json.loads(reply.body) == {"error": "forbidden: origin not allowed"}
    assert "access-control-allow-origin" not in reply.headers
    assert preflight(client, gateway, HOSTILE).status == 403
    for near_miss in ("http://localhost.evil.example", "null", f"{allowed_origin()}.evil.example"):
        assert curl(client, f"{gateway.url}/api/tags", user["name"], user["password"],
                    headers=[f"Origin: {near_miss}"]).status == 403, near_miss
    assert curl(client, f"{gateway.url}/api/version", user["name"], user["password"]).status == 200
    logged = ollama_log.requests(wait_for=[("GET", "/api/version")])
    assert ("GET", "/api/tags") not in logged and not [e for e in logged if e[0] == "OPTIONS"], logged


def test_ollama_origins_left_alone(gateway_host):
    """Ollama's own origin list is never edited for the gateway's browser clients."""
    dropin = gateway_host.file("/etc/systemd/system/ollama.service.d/10-ollama-gate.conf").content_string
    assert allowed_origin() not in dropin
