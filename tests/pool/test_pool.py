"""A gateway (group ollama_gateways) in front of a pool of three Ollama hosts (ollama_backends):
where the backends listen and who reaches them, the models on every backend, requests spread
over the pool, and a backend stopped during continuous requests (nginx; Caddy in
test_z_caddy.py)."""
import json
import os
import time

from conftest import Load, assert_left_out_and_back, generate, probe, run_playbook, said

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
    proc = run_playbook("playbooks/verify.yml", "--limit", os.environ["OG_GATEWAY"], "-e", f"ollama_gate_url=http://{gateway_address}:8080")
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


def test_model_affinity_sends_each_model_to_one_backend(affinity_gateway_address, alice, backends):
    """og-pool-gw2 runs with ollama_gate_model_affinity: every request naming a model goes to the
    backend that model's name hashes to (models the backends lack too: Ollama's 404 comes from
    that backend), and different models are spread over the pool."""
    import base64
    import http.client

    auth = base64.b64encode(":".join(alice).encode()).decode()
    where = {}
    for model in ("llama3.2", "llama3.2:1b", "qwen2.5:0.5b", "qwen2.5", "tinyllama", "mistral", "phi3", "gemma2"):
        logs = [backend.log() for backend in backends]
        for _ in range(3):
            connection = http.client.HTTPConnection(affinity_gateway_address, 8080, timeout=30)
            connection.request("POST", "/api/generate",
                               json.dumps({"model": model, "prompt": "hi", "stream": False,
                                           "options": {"num_predict": 1}}),
                               {"Authorization": f"Basic {auth}"})
            response = connection.getresponse()
            response.read()
            assert response.status in (200, 400, 404), (model, response.status)  # answered by Ollama
        for _ in range(25):  # the journal takes a moment
            counts = [log.requests().count(GENERATE) for log in logs]
            if sum(counts) >= 3:
                break
            time.sleep(0.2)
        assert sorted(counts) == [0, 0, 3], (model, counts)
        where[model] = counts.index(3)
    assert len(set(where.values())) >= 2, where
    # the backend of a model stopped: that model's requests go to another one, without failures
    backend = backends[where["llama3.2"]]
    backend.host.run_expect([0], "systemctl stop ollama.service")
    try:
        outcomes = [generate(affinity_gateway_address, alice, f"request {i}") for i in range(6)]
    finally:
        backend.host.run_expect([0], "systemctl start ollama.service")
    assert all(o.ok for o in outcomes), [o.detail for o in outcomes]
