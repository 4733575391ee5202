"""Role `ollama` on a Debian 12 test host: installed from the stand-in's release archive."""
import json

import pytest

VERSION = "0.32.15"
DROPIN = "/etc/systemd/system/ollama.service.d/10-ollama-gate.conf"


def api(host, path, headers=()):
    """GET an API path on the test host's loopback; returns (status, body)."""
    args = " ".join(f"-H '{h}'" for h in headers)
    out = host.check_output(f"curl -sS -o /dev/stdout -w '\\n%{{http_code}}' {args} http://127.0.0.1:11434{path}")
    body, _, status = out.rpartition("\n")
    return int(status), body


def test_service_enabled_running_as_ollama(host):
    svc = host.service("ollama")
    assert svc.is_enabled
    assert svc.is_running
    pid = host.check_output("systemctl show --property MainPID --value ollama")
    assert host.check_output(f"ps -o user= -p {pid}") == "ollama"


def test_system_account(host):
    user = host.user("ollama")
    assert user.exists
    assert user.home == "/usr/share/ollama"
    assert user.shell in ("/bin/false", "/usr/sbin/nologin")
    assert user.group == "ollama"


def test_listens_on_loopback_only(host):
    sockets = [s for s in host.socket.get_listening_sockets() if s.endswith(":11434")]
    assert sockets == ["tcp://127.0.0.1:11434"]


def test_cli_reports_pinned_version(host):
    assert host.check_output("ollama -v") == f"ollama version is {VERSION}"
    assert json.loads(api(host, "/api/version")[1]) == {"version": VERSION}


def test_versioned_install_layout(host):
    link = host.file("/usr/local/bin/ollama")
    assert link.is_symlink
    assert host.check_output("readlink -f /usr/local/bin/ollama") == f"/opt/ollama/{VERSION}/bin/ollama"
    assert host.file(f"/opt/ollama/{VERSION}/lib/ollama").is_directory


def test_requested_models_listed(host):
    status, body = api(host, "/api/tags")
    assert status == 200
    names = {m["name"] for m in json.loads(body)["models"]}
    assert names == {"llama3.2:latest", "qwen2.5:0.5b"}


def test_models_stored_in_models_dir_owned_by_ollama(host):
    models = host.file("/usr/share/ollama/.ollama/models")
    assert models.user == "ollama"
    assert host.file("/usr/share/ollama/.ollama/models/manifests/registry.ollama.ai/library/llama3.2/latest").exists


@pytest.mark.parametrize(
    "line",
    [
        'Environment="OLLAMA_HOST=127.0.0.1:11434"',
        'Environment="OLLAMA_ORIGINS=https://chat.example.com"',
        'Environment="OLLAMA_MODELS=/usr/share/ollama/.ollama/models"',
        'Environment="OLLAMA_KEEP_ALIVE=10m"',
        'Environment="OLLAMA_NUM_PARALLEL=2"',
        'Environment="OLLAMA_MAX_LOADED_MODELS=0"',
        'Environment="OLLAMA_MAX_QUEUE=512"',
        'Environment="OLLAMA_CONTEXT_LENGTH=8192"',
        'Environment="OLLAMA_FLASH_ATTENTION=true"',
        'Environment="OLLAMA_DEBUG=false"',
        'Environment="OLLAMA_KV_CACHE_TYPE=q8_0"',
    ],
)
def test_dropin_holds_environment(host, line):
    assert line in host.file(DROPIN).content_string.splitlines()


def test_running_server_has_the_environment(host):
    env = host.check_output("systemctl show --property Environment --value ollama")
    assert "OLLAMA_KEEP_ALIVE=10m" in env and "OLLAMA_KV_CACHE_TYPE=q8_0" in env


def test_configured_origin_allowed_other_refused(host):
    assert api(host, "/api/version", ["Origin: https://chat.example.com"])[0] == 200
    assert api(host, "/api/version", ["Origin: https://evil.example"])[0] == 403


def test_host_check_active_on_loopback(host):
    assert api(host, "/api/tags", ["Host: ollama.example.com"]) == (403, "")
    assert api(host, "/api/tags", ["Host: localhost:11434"])[0] == 200


def test_restart_policy_and_hardening(host):
    props = host.check_output("systemctl show --property Restart,NoNewPrivileges,ProtectSystem,PrivateDevices ollama")
    assert "Restart=always" in props
    assert "NoNewPrivileges=yes" in props
    assert "ProtectSystem=strict" in props
    assert "PrivateDevices=no" in props
