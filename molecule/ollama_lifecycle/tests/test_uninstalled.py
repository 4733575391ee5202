"""After `ollama_state: absent`: no unit, binary, libraries or listener; models kept."""
import pytest

testinfra_hosts = ["og-ollama-lifecycle"]


@pytest.mark.parametrize(
    "path",
    [
        "/etc/systemd/system/ollama.service",
        "/etc/systemd/system/ollama.service.d",
        "/usr/local/bin/ollama",
        "/opt/ollama",
        "/var/cache/ollama-gate",
    ],
)
def test_removed(host, path):
    assert not host.file(path).exists


def test_unit_unknown_to_systemd(host):
    out = host.run("systemctl show --property LoadState --value ollama.service").stdout.strip()
    assert out == "not-found"


def test_nothing_listens_on_11434(host):
    assert not [s for s in host.socket.get_listening_sockets() if s.endswith(":11434")]
    assert host.run("curl -sS http://127.0.0.1:11434/").rc != 0


def test_models_kept(host):
    manifest = "/usr/share/ollama/.ollama/models/manifests/registry.ollama.ai/library/all-minilm/latest"
    assert host.file(manifest).exists
    assert host.user("ollama").exists
