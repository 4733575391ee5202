"""A gateway (group ollama_gateways) in front of a pool of three Ollama hosts (ollama_backends):
where the backends listen and who reaches them, the models on every backend, requests spread
over the pool, and a backend stopped during continuous requests (nginx; Caddy in
test_z_caddy.py)."""
import json
import time

from conftest import Load, assert_left_out_and_back, probe, run_playbook, said

GATEWAY_ADDRESSES = ["10.213.9.10", "10.213.9.20"]  # the gateways on the pool network (molecule/pool)
GENERATE = ("POST", "/api/generate")


def test_backends_listen_on_their_private_address_for_the_gateway_only(gateway_host, backends):
    for backend in backends:
        local = backend.host.check_output("ss -Hltn 'sport = :11434'").split()
        assert local[3] == backend.address, local  # not loopback, not every address
        rules = backend.host.check_output("ufw show added")
        for address in GATEWAY_ADDRESSES:
            assert (f"ufw allow from {address} to any port 11434 proto tcp comment 'ollama-gate backend'"
                    in rules.splitlines())
        assert "8080" not in rules  # no gateway port on a backend-only host
        assert probe(gateway_host, f"http://{backend.address}/api/version") == "200"
    # another host of the same network is dropped by the backend's ufw ...
    first, other = backends[0], backends[1]
    assert probe(other.host, f"http://{first.address}/api/version") == "000"
    # ... which is what keeps it out: with ufw off on the backend it gets in
    first.host.run_expect([0], "ufw disable")
    try:
        assert probe(other.host, f"http://{first.address}/api/version") == "200"
    finally:
        first.host.run_expect([0], "ufw --force enable")


def test_every_backend_has_the_models(gateway_host, backends):
    """ollama_models pulled by the role on each backend, not through the gateway."""
    for backend in backends:
        tags = json.loads(gateway_host.check_output(f"curl -s http://{backend.address}/api/tags"))
        assert "llama3.2:latest" in [m["name"] for m in tags["models"]], backend.name


def test_verify_playbook_checks_the_pool_like_a_client(gateway_address):
    proc = run_playbook("playbooks/verify.yml", "--limit", "og-pool-gw", "-e", f"ollama_gate_url=http://{gateway_address}:8080")
    output = said(proc)
    assert "PASS no credentials -> HTTP 401" in output, output[-2000:]
    for user in ("alice", "bob"):
        assert f"PASS user {user} -> HTTP 200/200, version 0.32.15, models:" in output
    assert "FAIL" not in output


def test_requests_are_spread_over_the_pool(gateway_address, alice, backends):
    logs = [backend.log() for backend in backends]
    with Load(gateway_address, alice, workers=6) as load:
        time.sleep(4)
    assert load.outcomes and all(o.ok for o in load.outcomes), [o.detail for o in load.outcomes if not o.ok][:3]
    counts = [log.requests(wait_for=[GENERATE]).count(GENERATE) for log in logs]
    # least_conn: six clients over three backends that run two generations each
    assert sum(counts) >= len(load.outcomes) and min(counts) >= sum(counts) / 5, counts


def test_a_stopped_backend_is_left_out_without_failures_and_comes_back(gateway_address, alice, backends):
    assert_left_out_and_back(gateway_address, alice, backends[1])


def test_an_admin_pull_through_the_gateway_reaches_one_backend(gateway_address, alice, backends, gateway_host):
    """Decided and documented (README "A pool of Ollama hosts"): /api/pull through the gateway is
    one request to one backend; models for every backend come from ollama_models."""
    import base64
    import http.client

    auth = base64.b64encode(":".join(alice).encode()).decode()
    connection = http.client.HTTPConnection(gateway_address, 8080, timeout=60)
    connection.request("POST", "/api/pull", json.dumps({"model": "all-minilm", "stream": False}),
                       {"Authorization": f"Basic {auth}"})
    response = connection.getresponse()
    assert response.status == 200 and json.loads(response.read()) == {"status": "success"}
    having = [b.name for b in backends
              if "all-minilm:latest" in [m["name"] for m in json.loads(
                  gateway_host.check_output(f"curl -s http://{b.address}/api/tags"))["models"]]]
    assert len(having) == 1, having
