"""After A -> B -> A, version A runs cleanly and nothing of B is left."""
import json

testinfra_hosts = ["og-ollama-upgrade"]


A, B = "0.32.14", "0.32.15"


def test_serves_version_a(host):
    assert json.loads(host.check_output("curl -fsS http://127.0.0.1:11434/api/version")) == {"version": A}
    assert host.check_output("ollama -v") == f"ollama version is {A}"


def test_only_version_a_installed(host):
    assert host.check_output("ls /opt/ollama") .split() == [A, "current"]
    assert not host.file(f"/opt/ollama/{B}").exists
    assert host.check_output("ls /opt/ollama/current/lib/ollama/").split().count(f"libggml-{A}.so") == 1
    assert f"libggml-{B}.so" not in host.check_output("ls /opt/ollama/current/lib/ollama/")


def test_only_version_a_cached(host):
    assert host.check_output("ls /var/cache/ollama-gate").split() == [f"ollama-{A}-ollama-linux-amd64.tar.zst"]


def test_model_kept_across_versions(host):
    tags = json.loads(host.check_output("curl -fsS http://127.0.0.1:11434/api/tags"))
    assert [m["name"] for m in tags["models"]] == ["tinyllama:latest"]
