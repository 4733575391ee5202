"""TLS with client certificates between the gateways and the backends (ollama_gate_backend_tls),
switched on here for a pool that ran without it (test_pool.py): from this module on, every
playbook run passes it (conftest.EXTRA_VARS), so the rotation (test_y_rotation.py) and Caddy
(test_z_caddy.py) run over it too. Each backend's Ollama moves to loopback behind a TLS
terminator on its private address, which lets in only clients with a certificate of the pool's
CA: the gateways."""
import os
import re
import time

import pytest

import conftest
from conftest import Load, assert_left_out_and_back, run_playbook, said

DIR = "/etc/ollama-gate/backend-tls"
NAME = "ollama-gate-backend"  # the pool's name in every backend certificate


@pytest.fixture(scope="module", autouse=True)
def backend_tls(gateway_host):
    conftest.EXTRA_VARS["ollama_gate_backend_tls"] = True
    # check mode first, while there is no CA and no terminator yet: it runs and changes nothing
    run_playbook("playbooks/backend-tls.yml", "--check")
    assert not gateway_host.file("/etc/ollama-gate/backend-ca").exists
    run_playbook("playbooks/site.yml")


def curl(host, backend, *options):
    """status and body of GET /api/version on `backend`'s TLS terminator from `host`, checking the
    backend's certificate against the pool's CA and name (no -k)."""
    ip, port = backend.address.rsplit(":", 1)
    result = host.run(
        f"curl -s --connect-timeout 2 -m 5 -w '\\n%{{http_code}}' --cacert {DIR}/ca.crt "
        f"--resolve {NAME}:{port}:{ip} {' '.join(options)} https://{NAME}:{port}/api/version")
    body, _, status = result.stdout.rpartition("\n")
    return status.strip() or "000", body


def test_ollama_listens_on_loopback_behind_the_terminator(backends):
    for backend in backends:
        ip, port = backend.address.rsplit(":", 1)
        listening = backend.host.check_output(f"ss -Hltnp 'sport = :{port}'")
        by_address = {line.split()[3]: line for line in listening.splitlines()}
        assert set(by_address) == {f"127.0.0.1:{port}", backend.address}, listening
        assert "nginx" in by_address[backend.address] and "nginx" not in by_address[f"127.0.0.1:{port}"], listening
        unit = backend.host.service("ollama-gate-backend-tls")
        assert unit.is_running and unit.is_enabled
        # the system's nginx.service, which the install started, is not serving anything
        assert not backend.host.service("nginx").is_running


def test_a_backend_refuses_a_client_without_the_pool_certificate(gateway_host, backends, tmp_path):
    # another CA's client certificate, made on the gateway (the backend's ufw lets only gateways in)
    gateway_host.run_expect([0], "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                                 "-subj /CN=intruder -days 1 -keyout /tmp/other.key -out /tmp/other.crt")
    for backend in backends:
        status, body = curl(gateway_host, backend, f"--cert {DIR}/host.crt --key {DIR}/host.key")
        assert status == "200" and '"version"' in body, (backend.name, status, body)
        status, body = curl(gateway_host, backend)
        assert status == "400" and "No required SSL certificate was sent" in body, (backend.name, status, body)
        status, body = curl(gateway_host, backend, "--cert /tmp/other.crt --key /tmp/other.key")
        assert status == "400" and "The SSL certificate error" in body, (backend.name, status, body)
        plain = gateway_host.run(f"curl -s -m 5 http://{backend.address}/api/version").stdout
        assert "The plain HTTP request was sent to HTTPS port" in plain, (backend.name, plain)
        assert "version" not in plain


def test_the_gateway_checks_the_backend_certificate(gateway_host):
    """Only a server with a certificate of the pool's CA for the pool's name is talked to."""
    site = gateway_host.file("/etc/nginx/sites-available/ollama-gateway").content_string
    for directive in ("proxy_ssl_verify on;", f"proxy_ssl_name {NAME};",
                      f"proxy_ssl_trusted_certificate {DIR}/ca.crt;", f"proxy_ssl_certificate {DIR}/host.crt;"):
        assert directive in site
    assert "https://ollama_gateway_backend;" in site
    key = gateway_host.file(f"{DIR}/host.key")
    assert key.user == "root" and key.group == "root" and key.mode == 0o640


def test_the_pool_serves_over_tls_and_a_stopped_backend_is_left_out(gateway_address, alice, backends):
    """The terminator goes with Ollama: a stopped Ollama leaves a refused connection, which nginx
    sends on to another backend, as without TLS."""
    with Load(gateway_address, alice, workers=3) as load:
        time.sleep(2)
    assert load.outcomes and all(o.ok for o in load.outcomes), [o.detail for o in load.outcomes][:3]
    assert_left_out_and_back(gateway_address, alice, backends[0])
    assert backends[0].host.service("ollama-gate-backend-tls").is_running


def test_a_second_run_changes_nothing():
    output = said(run_playbook("playbooks/backend-tls.yml"))
    recap = dict(re.findall(r"(\S+) : ok=\d+ changed=(\d+)", output))
    hosts = os.environ["OG_GATEWAYS"].split(",") + os.environ["OG_BACKENDS"].split(",")
    assert sorted(recap) == sorted(hosts) and set(recap.values()) == {"0"}, output[-3000:]
