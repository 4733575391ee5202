"""HTTPS: certificates from a real ACME CA (Pebble, HTTP-01 through ufw) for Nginx + certbot and
Caddy, renewal through the distribution's certbot timer unit, and LAN mode with internal CAs."""
import time

import pytest

from conftest import PEBBLE_ROOT, controller_ca, host, request, run_playbook, said, served_certificate, write_vars

NGINX = "nginx.ollama-gate.test"
CADDY = "caddy.ollama-gate.test"
TRUST_PEBBLE = f"--cacert {PEBBLE_ROOT}"


def wait_for_certificate(client, name, issuer_part="Pebble", timeout=90):
    """Caddy obtains its certificate in the background after a reload: wait for it."""
    deadline = time.time() + timeout
    while True:
        try:
            cert = served_certificate(client, name)
            if issuer_part in cert["issuer"]:
                return cert
        except AssertionError:
            cert = None
        if time.time() > deadline:
            raise AssertionError(f"{name} serves no certificate from {issuer_part} after {timeout} s: {cert}")
        time.sleep(2)


@pytest.mark.parametrize("name", [NGINX, CADDY])
def test_acme_certificate_from_pebble(client, name):
    cert = wait_for_certificate(client, name)
    assert "Pebble Intermediate" in cert["issuer"]
    names = client.check_output(
        f"openssl s_client -connect {name}:443 -servername {name} </dev/null 2>/dev/null"
        " | openssl x509 -noout -ext subjectAltName"
    )
    assert f"DNS:{name}" in names


@pytest.mark.parametrize("name", [NGINX, CADDY])
def test_https_401_then_200_with_pebble_root_trusted(client, users, name):
    wait_for_certificate(client, name)
    rc, status, headers, body = request(client, f"https://{name}/api/tags", TRUST_PEBBLE)
    assert (rc, status) == (0, "401"), body
    assert headers["www-authenticate"].startswith("Basic realm=")
    alice = users[0]
    rc, status, headers, body = request(client, f"https://{name}/api/tags", TRUST_PEBBLE,
                                        user=alice["name"], password=alice["password"])
    assert (rc, status) == (0, "200"), body
    assert "llama3.2" in body
    assert headers["strict-transport-security"] == "max-age=63072000"
    rc, status, _, body = request(client, f"https://{name}/api/tags", TRUST_PEBBLE,
                                  user=alice["name"], password="wrong-password-000000000")
    assert (rc, status) == (0, "401"), body


@pytest.mark.parametrize("name", [NGINX, CADDY])
def test_certificate_is_not_trusted_without_the_pebble_root(client, name):
    wait_for_certificate(client, name)
    rc, _, _, err = request(client, f"https://{name}/api/tags")
    assert rc == 60, err  # curl: peer certificate cannot be authenticated


@pytest.mark.parametrize("name, code", [(NGINX, "301"), (CADDY, "308")])
def test_plain_http_redirects_to_https(client, name, code):
    rc, status, headers, body = request(client, f"http://{name}/api/tags?x=1")
    assert (rc, status) == (0, code), body
    assert headers["location"] == f"https://{name}/api/tags?x=1"


def test_nginx_serves_challenges_over_http_not_redirected(client):
    rc, status, _, body = request(client, f"http://{NGINX}/.well-known/acme-challenge/not-a-token")
    assert (rc, status) == (0, "404"), body


def test_nginx_tls_profile(client):
    """Mozilla intermediate: TLS 1.2 and 1.3 only (the client is allowed TLS 1.1 and 1.0)."""
    old = client.run(f"openssl s_client -connect {NGINX}:443 -servername {NGINX} -tls1_1 "
                     "-cipher 'DEFAULT:@SECLEVEL=0' </dev/null")
    # the server itself refuses the protocol (alert 70), not the client
    assert old.rc != 0 and "CONNECTED" in old.stdout
    assert "alert protocol version" in old.stderr, old.stderr
    assert "Cipher is (NONE)" in old.stdout
    for flag, proto in (("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")):
        new = client.run(f"openssl s_client -connect {NGINX}:443 -servername {NGINX} {flag} </dev/null")
        assert new.rc == 0 and f"New, {proto}, Cipher is " in new.stdout, new.stdout[-800:]


def test_renewal_by_the_timer_unit_reloads_nginx_without_a_restart(client):
    """The distribution's certbot.service (what certbot.timer starts) renews the certificate (it
    is due: Pebble's are valid 7 days), against Pebble, trusting it through the role's drop-in;
    the role's deploy hook reloads nginx, which then serves the new certificate with the same
    main process."""
    gateway = host("og-tls-nginx")
    before = served_certificate(client, NGINX)
    pid = gateway.check_output("systemctl show -p MainPID --value nginx.service")
    assert "server = https://og-pebble:14000/dir" in gateway.file("/etc/letsencrypt/renewal/ollama-gateway.conf").content_string
    assert gateway.service("certbot.timer").is_enabled
    result = gateway.run("systemctl start certbot.service")
    assert result.rc == 0, gateway.run("journalctl -u certbot.service -n 40 --no-pager").stdout
    log = gateway.file("/var/log/letsencrypt/letsencrypt.log").content_string
    assert "ollama-gate deploy hook: nginx reloaded for /etc/letsencrypt/live/ollama-gateway" in log
    after = served_certificate(client, NGINX)
    assert after["serial"] != before["serial"]
    assert "Pebble Intermediate" in after["issuer"]
    assert gateway.check_output("systemctl show -p MainPID --value nginx.service") == pid
    alice_ok = request(client, f"https://{NGINX}/api/version", TRUST_PEBBLE,
                       user="alice", password="alice-test-password-0001")
    assert alice_ok[:2] == (0, "200")


@pytest.mark.parametrize("gateway, address", [("og-tls-lan", "10.213.8.13"), ("og-tls-lan-caddy", "10.213.8.14")])
def test_lan_https_verifies_with_the_fetched_ca_only(gateway, address, users, tmp_path):
    """From the controller: the fetched CA certificate verifies the gateway by IP and by name;
    without it (system trust store) the connection fails."""
    import subprocess

    ca = controller_ca(gateway)
    assert ca.is_file() and "BEGIN CERTIFICATE" in ca.read_text()
    alice = users[0]

    def curl(url, *options):
        proc = subprocess.run(["curl", "-sS", "-o", str(tmp_path / "body"), "-w", "%{http_code}", "-m", "20",
                               *options, url], capture_output=True, text=True)
        return proc.returncode, proc.stdout, proc.stderr

    assert curl(f"https://{address}/api/tags", "--cacert", str(ca))[:2] == (0, "401")
    rc, status, err = curl(f"https://{address}/api/tags", "--cacert", str(ca), "-u", f"{alice['name']}:{alice['password']}")
    assert (rc, status) == (0, "200"), err
    assert "llama3.2" in (tmp_path / "body").read_text()
    rc, status, err = curl(f"https://{gateway}/api/tags", "--cacert", str(ca), "--resolve", f"{gateway}:443:{address}",
                           "-u", f"{alice['name']}:{alice['password']}")
    assert (rc, status) == (0, "200"), err
    rc, _, err = curl(f"https://{address}/api/tags", "-u", f"{alice['name']}:{alice['password']}")
    assert rc == 60, err
    # another gateway's CA does not verify this one
    other = controller_ca("og-tls-lan-caddy" if gateway == "og-tls-lan" else "og-tls-lan")
    rc, _, err = curl(f"https://{address}/api/tags", "--cacert", str(other))
    assert rc == 60, err


def test_verify_playbook_checks_lan_gateways_over_https():
    proc = run_playbook("playbooks/verify.yml", "-l", "og-tls-lan,og-tls-lan-caddy")
    out = said(proc)
    for address in ("10.213.8.13", "10.213.8.14"):
        assert f"Gateway https://{address}" in out
    assert out.count("PASS user alice -> HTTP 200/200") == 2
    assert "WARNING plain HTTP" not in out


def test_verify_playbook_fails_with_a_ca_that_did_not_sign_the_gateway():
    wrong = controller_ca("og-tls-lan-caddy")
    proc = run_playbook("playbooks/verify.yml", "-l", "og-tls-lan", "-e", f"ollama_gate_verify_ca={wrong}", check=False)
    assert proc.returncode != 0
    out = said(proc)
    assert "FAIL no credentials -> HTTP -1" in out
    assert "CERTIFICATE_VERIFY_FAILED" in out or "certificate verify failed" in out


def test_lan_nginx_server_certificate_names(client):
    cert = host("og-tls-lan").check_output("openssl x509 -in /etc/ollama-gate/tls/server.crt -noout -ext subjectAltName")
    assert "DNS:og-tls-lan" in cert and "IP Address:10.213.8.13" in cert
    key_mode = host("og-tls-lan").file("/etc/ollama-gate/tls/ca.key").mode
    assert key_mode == 0o600


def test_users_only_run_keeps_https(client, users):
    """A users-only run (--tags users, as rotation runs use) rewrites nothing and keeps HTTPS."""
    proc = run_playbook("playbooks/gateway.yml", "--tags", "users", "-l", "og-tls-nginx,og-tls-caddy,og-tls-lan")
    recap = proc.stdout.split("PLAY RECAP")[-1]
    for name in ("og-tls-nginx", "og-tls-caddy", "og-tls-lan"):
        line = next(line for line in recap.splitlines() if line.startswith(name))
        assert "changed=0" in line and "failed=0" in line, line
    alice = users[0]
    for name in (NGINX, CADDY):
        rc, status, _, body = request(client, f"https://{name}/api/tags", TRUST_PEBBLE,
                                      user=alice["name"], password=alice["password"])
        assert (rc, status) == (0, "200"), body


@pytest.mark.parametrize(
    "settings, named",
    [
        ({"ollama_gate_tls": "acme"}, "ollama_gate_domain must be set for tls acme"),
        ({"ollama_gate_tls": "acme", "ollama_gate_domain": "lan.ollama-gate.test",
          "ollama_gate_acme_directory": "http://og-pebble:14000/dir"}, "ollama_gate_acme_directory must be an https:// URL"),
        ({"ollama_gate_tls": "acme", "ollama_gate_domain": "lan.ollama-gate.test", "ollama_gate_acme_ca_bundle": "pebble.pem"},
         "ollama_gate_acme_ca_bundle: 'pebble.pem' is not an absolute path to a file on the controller"),
        ({"ollama_gate_tls": "acme", "ollama_gate_domain": "lan.ollama-gate.test", "nginx_gateway_http_port": 8081},
         "nginx_gateway_http_port must be 80 with tls acme"),
    ],
)
def test_bad_https_settings_refused_before_any_change(settings, named, tmp_path):
    """Refused by the preflight play with the variable named (every message: tests/unit)."""
    lan = host("og-tls-lan")
    site = "/etc/nginx/sites-available/ollama-gateway"
    before = (lan.file(site).sha256sum, lan.file("/etc/ollama-gate/tls/server.crt").sha256sum)
    proc = run_playbook("playbooks/site.yml", "-l", "og-tls-lan", "-e", write_vars(tmp_path, settings), check=False)
    assert proc.returncode != 0
    assert named in said(proc)
    assert "Nothing was changed" in said(proc)
    assert (lan.file(site).sha256sum, lan.file("/etc/ollama-gate/tls/server.crt").sha256sum) == before


def san_of(client, name):
    return client.check_output(
        f"openssl s_client -connect {name}:443 -servername {name} </dev/null 2>/dev/null"
        " | openssl x509 -noout -ext subjectAltName"
    )


def test_z_domain_change_reissues_and_nginx_serves_it_without_restart(client):
    """A new domain gets a new certificate, served after a reload; going back to the old name
    (a substring of the new one) is noticed too."""
    gateway = host("og-tls-nginx")
    pid = gateway.check_output("systemctl show -p MainPID --value nginx.service")
    www = "www." + NGINX
    try:
        proc = run_playbook("playbooks/gateway.yml", "-l", "og-tls-nginx", "-e", f"ollama_gate_domain={www}")
        assert "changed=0" not in proc.stdout.split("PLAY RECAP")[-1]
        assert f"DNS:{www}" in san_of(client, www)
        rc, status, _, body = request(client, f"https://{www}/api/version", TRUST_PEBBLE,
                                      user="alice", password="alice-test-password-0001")
        assert (rc, status) == (0, "200"), body
    finally:
        run_playbook("playbooks/gateway.yml", "-l", "og-tls-nginx")
    names = san_of(client, NGINX)
    assert f"DNS:{NGINX}" in names and www not in names
    assert gateway.check_output("systemctl show -p MainPID --value nginx.service") == pid


def test_zz_leaving_acme_removes_the_lineage_and_coming_back_issues_again(client, tmp_path):
    gateway = host("og-tls-nginx")
    internal = write_vars(tmp_path, {"ollama_gate_tls": "internal", "ollama_gate_tls_names": [NGINX]})
    run_playbook("playbooks/gateway.yml", "-l", "og-tls-nginx", "-e", internal)
    # nothing left for certbot's timer to renew (it would fail: nobody serves the challenges)
    assert not gateway.file("/etc/letsencrypt/renewal/ollama-gateway.conf").exists
    assert not gateway.file("/etc/letsencrypt/renewal-hooks/deploy/ollama-gate-nginx").exists
    assert not gateway.file("/etc/systemd/system/certbot.service.d/ollama-gate.conf").exists
    assert "ollama-gate CA og-tls-nginx" in served_certificate(client, NGINX)["issuer"]
    # back to the ACME CA
    run_playbook("playbooks/gateway.yml", "-l", "og-tls-nginx")
    assert "Pebble Intermediate" in served_certificate(client, NGINX)["issuer"]
    assert gateway.file("/etc/letsencrypt/renewal-hooks/deploy/ollama-gate-nginx").exists
