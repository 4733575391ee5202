"""The test host behaves like a real systemd machine (molecule scenario `default`)."""


def test_systemd_is_pid_1(host):
    assert host.file("/proc/1/comm").content_string.strip() == "systemd"


def test_system_is_running(host):
    state = host.run("systemctl is-system-running").stdout.strip()
    assert state == "running", host.run("systemctl --failed --no-legend").stdout


def test_apt_installed_a_working_package(host):
    assert host.package("hello").is_installed
    assert host.check_output("hello") == "Hello, world!"


def test_unit_started_enabled_and_serving(host):
    unit = host.service("og-probe")
    assert unit.is_running
    assert unit.is_enabled
    assert host.socket("tcp://127.0.0.1:8001").is_listening
    body = host.check_output("curl -fsS http://127.0.0.1:8001/sha256sum.txt")
    assert body == host.file("/root/sha256sum.txt").content_string.strip()


def test_release_server_checksum_file_is_release_shaped(host):
    lines = host.file("/root/sha256sum.txt").content_string.splitlines()
    assert lines, "empty sha256sum.txt"
    for line in lines:
        digest, name = line.split("  ")
        assert len(digest) == 64 and int(digest, 16) >= 0
        assert name.startswith("./ollama-linux-")
