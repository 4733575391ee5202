"""The Ollama stand-in (tests/ollama_standin): HTTP API, Host check, CORS, streaming, model store,
CLI and release builder. Servers run as subprocesses of an installed release layout."""
import base64
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

STANDIN = Path(__file__).resolve().parents[1] / "ollama_standin"
INSTALLED_VERSION = "0.32.15"

sys.path.insert(0, str(STANDIN / "lib"))
import standin  # noqa: E402 - the module's helpers are tested directly too

# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def install(tmp_path_factory):
    """An install laid out like an unpacked release: bin/ollama, lib/ollama/{standin.py,VERSION}."""
    root = tmp_path_factory.mktemp("install")
    (root / "bin").mkdir()
    (root / "lib" / "ollama").mkdir(parents=True)
    shutil.copy2(STANDIN / "bin" / "ollama", root / "bin" / "ollama")
    shutil.copy2(STANDIN / "lib" / "standin.py", root / "lib" / "ollama" / "standin.py")
    (root / "lib" / "ollama" / "VERSION").write_text(INSTALLED_VERSION + "\n")
    return root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`ollama serve` in a subprocess, with its own HOME; the port is read from its log."""

    def __init__(self, install, home, env=None, wait=True):
        self.home = home
        self.log = home / "serve.log"
        home.mkdir(parents=True, exist_ok=True)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "OLLAMA_HOST": "127.0.0.1:0",
            "OLLAMA_STANDIN_CHUNK_DELAY": "0.05",
            **(env or {}),
        }
        with open(self.log, "wb") as log, open(home / "serve.out", "wb") as out:
            self.process = subprocess.Popen([str(install / "bin" / "ollama"), "serve"], env=self.env,
                                            stdout=out, stderr=log)
        self.port = None
        if wait:
            self._wait_listening()

    def _wait_listening(self):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            found = re.search(r"Listening on (\S+):(\d+) \(version", self.log.read_text())
            if found:
                self.host, self.port = found.group(1), int(found.group(2))
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"ollama serve exited {self.process.returncode}:\n{self.log.read_text()}")
            time.sleep(0.02)
        raise RuntimeError("ollama serve did not start:\n" + self.log.read_text())

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=10)


@pytest.fixture
def start_server(install, tmp_path):
    """Factory: start_server(env=..., name=...) -> Server; all stopped at the end of the test."""
    started = []

    def start(env=None, name="home", wait=True):
        server = Server(install, tmp_path / name, env, wait)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def server(install, tmp_path_factory):
    """A loopback server shared by a module's read-mostly tests, with llama3.2 and all-minilm pulled."""
    srv = Server(install, tmp_path_factory.mktemp("shared"), {"OLLAMA_ORIGINS": "https://chat.example.com"})
    for model in ("llama3.2", "all-minilm"):
        connection = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
        connection.request("POST", "/api/pull", json.dumps({"model": model, "stream": False}))
        assert json.loads(connection.getresponse().read()) == {"status": "success"}
        connection.close()
    yield srv
    srv.stop()


@pytest.fixture
def cli(install, tmp_path):
    """Runs the installed `ollama` command; cli(*args, host=...) -> CompletedProcess."""

    def run(*args, host=None, stdin=subprocess.DEVNULL):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
        if host:
            env["OLLAMA_HOST"] = host
        return subprocess.run([str(install / "bin" / "ollama"), *args], env=env, stdin=stdin, capture_output=True,
                              text=True, timeout=30)

    return run


# --------------------------------------------------------------------------- helpers


def call(server, method, path, body=None, headers=None):
    """One request on a fresh connection; returns (status, headers, body bytes)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    data = json.dumps(body) if isinstance(body, (dict, list)) else body
    connection.request(method, path, body=data, headers=headers or {})
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    return response.status, response.headers, payload


def call_json(server, method, path, body=None, headers=None):
    status, _, payload = call(server, method, path, body, headers)
    return status, json.loads(payload)


def raw_chunks(server, path, body):
    """POSTs over a raw socket and returns (headers text, [(arrival time, chunk data), ...])."""
    data = json.dumps(body).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(b"POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (path.encode(), len(data), data))
        stream = sock.makefile("rb")
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            head += stream.readline()
        chunks = []
        while True:
            size = int(stream.readline().split(b";")[0], 16)
            if size == 0:
                stream.readline()
                return head.decode(), chunks
            chunks.append((time.monotonic(), stream.read(size)))
            assert stream.read(2) == b"\r\n"


# --------------------------------------------------------------------------- helpers of the module


@pytest.mark.parametrize("value, expected", [
    ("", ("http", "127.0.0.1", 11434)),
    ("127.0.0.1:11434", ("http", "127.0.0.1", 11434)),
    ("0.0.0.0", ("http", "0.0.0.0", 11434)),
    (":11434", ("http", "", 11434)),
    ("example.com", ("http", "example.com", 11434)),
    ("http://example.com:8080", ("http", "example.com", 8080)),
    ("https://example.com", ("https", "example.com", 443)),
    ("[::1]:11434", ("http", "::1", 11434)),
    ("::1", ("http", "::1", 11434)),
])
def test_ollama_host_forms(value, expected):
    setting = standin.HostSetting.parse(value)
    assert (setting.scheme, setting.host, setting.port) == expected


@pytest.mark.parametrize("text, display", [
    ("llama3.2", "llama3.2:latest"),
    ("qwen2.5:0.5b", "qwen2.5:0.5b"),
    ("me/model:v1", "me/model:v1"),
    ("registry.ollama.ai/library/tinyllama:latest", "tinyllama:latest"),
    ("hf.co/org/model:Q4_K_M", "hf.co/org/model:Q4_K_M"),
    ("x:", None), ("/x", None), ("a/b/c/d", None), ("", None), ("bad name", None),
])
def test_model_names(text, display):
    name = standin.ModelName.parse(text)
    assert (name.display() if name else None) == display


def test_go_formats():
    assert standin.go_duration(300 * 10**9) == "5m0s"
    assert standin.go_duration(1_500_000_000) == "1.5s"
    assert standin.go_duration(2**63 - 1) == "2562047h47m16.854775807s"
    assert standin.parse_go_duration("1h30m") == 5400
    with pytest.raises(ValueError, match="missing unit"):
        standin.parse_go_duration("5")
    assert standin.go_time(1_700_000_000_120_000_000, utc=True) == "2023-11-14T22:13:20.12Z"
    assert standin.go_json({"t": "<b>&"}) == b'{"t":"\\u003cb\\u003e\\u0026"}'


def test_cors_wildcards_like_gin_contrib():
    policy = standin.CorsPolicy(standin.CorsPolicy.from_env())
    assert policy.allows("http://localhost:3000")
    assert policy.allows("app://obsidian.md")
    assert not policy.allows("http://localhost.evil.example")
    assert not policy.allows("https://evil.example")
    with pytest.raises(ValueError, match="bad origin"):
        standin.CorsPolicy(["chat.example.com"])


# --------------------------------------------------------------------------- basic routes


def test_root_get_and_head(server):
    status, headers, body = call(server, "GET", "/")
    assert (status, body) == (200, b"Ollama is running")
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    status, headers, body = call(server, "HEAD", "/")
    assert (status, body, headers["Content-Length"]) == (200, b"", "17")


def test_version(server):
    assert call_json(server, "GET", "/api/version") == (200, {"version": INSTALLED_VERSION})
    assert call(server, "HEAD", "/api/version")[0] == 200


def test_unknown_path_and_wrong_method_are_gin_texts(server):
    status, headers, body = call(server, "GET", "/api/nothing")
    assert (status, body, headers["Content-Type"]) == (404, b"404 page not found", "text/plain")
    status, _, body = call(server, "POST", "/api/tags")
    assert (status, body) == (405, b"405 method not allowed")
    status, headers, _ = call(server, "GET", "/api/tags/")
    assert (status, headers["Location"]) == (301, "/api/tags")


@pytest.mark.parametrize("body, message", [
    ("", "missing request body"),
    ("{nope", "invalid character 'n' looking for beginning of value"),
    ("[]", "json: cannot unmarshal array into Go value of type api.ShowRequest"),
    ('{"model": 1}', "json: cannot unmarshal number into Go struct field ShowRequest.model of type string"),
    ("{}", "model is required"),
])
def test_bad_requests_are_400_json(server, body, message):
    assert call_json(server, "POST", "/api/show", body) == (400, {"error": message})


# --------------------------------------------------------------------------- Host check


def test_public_host_name_is_refused_on_loopback(server):
    status, headers, body = call(server, "GET", "/api/tags", headers={"Host": "example.com"})
    assert (status, body, headers["Content-Length"]) == (403, b"", "0")


@pytest.mark.parametrize("host", ["ollama.example.com:443", "8.8.8.8", "[::1]", "localhost.evil.example"])
def test_other_refused_hosts(server, host):
    assert call(server, "GET", "/api/version", headers={"Host": host})[:3:2] == (403, b"")


@pytest.mark.parametrize("host", ["localhost:11434", "localhost", "foo.internal", "printer.local:80",
                                  "web.localhost", "10.1.2.3:11434", "192.168.0.7", "172.20.0.2", "[::1]:11434",
                                  "127.0.0.1", "0.0.0.0", socket.gethostname(), ""])
def test_local_hosts_are_allowed(server, host):
    assert call(server, "GET", "/api/version", headers={"Host": host})[0] == 200


def test_no_host_check_when_listening_on_all_addresses(start_server):
    srv = start_server({"OLLAMA_HOST": "0.0.0.0:0"})
    assert srv.host == "0.0.0.0"
    assert call(srv, "GET", "/api/tags", headers={"Host": "ollama.example.com"})[0] == 200


def test_ipv6_listen(start_server):
    if not socket.has_ipv6 or not os.path.exists("/proc/net/if_inet6"):
        pytest.skip("no IPv6 on this machine")
    srv = start_server({"OLLAMA_HOST": "[::1]:0"})
    assert srv.host == "[::1]"
    with socket.create_connection(("::1", srv.port), timeout=5) as sock:
        sock.sendall(b"GET /api/version HTTP/1.1\r\nHost: [::1]\r\nConnection: close\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 403")  # "[::1]" without a port is no IP to Ollama


# --------------------------------------------------------------------------- CORS


def test_disallowed_origin_is_refused(server):
    assert call(server, "GET", "/api/version", headers={"Origin": "https://evil.example"})[:3:2] == (403, b"")


@pytest.mark.parametrize("origin", ["http://localhost:3000", "https://chat.example.com", "app://obsidian.md",
                                    "http://127.0.0.1"])
def test_allowed_origins_are_echoed(server, origin):
    status, headers, _ = call(server, "GET", "/api/version", headers={"Origin": origin})
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == origin
    assert headers["Vary"] == "Origin"


def test_same_origin_requests_are_no_cors_requests(server):
    status, headers, _ = call(server, "GET", "/api/version",
                              headers={"Host": "box.internal:11434", "Origin": "http://box.internal:11434"})
    assert status == 200
    assert "Access-Control-Allow-Origin" not in headers


def test_preflight(server):
    status, headers, body = call(server, "OPTIONS", "/api/chat", headers={
        "Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST"})
    assert (status, body) == (204, b"")
    assert "POST" in headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in headers["Access-Control-Allow-Headers"]
    assert headers["Access-Control-Allow-Origin"] == "http://localhost:5173"


def test_invalid_origin_setting_makes_serve_panic(start_server):
    srv = start_server({"OLLAMA_ORIGINS": "chat.example.com"}, wait=False)
    assert srv.process.wait(timeout=10) == 2
    assert "panic: bad origin: origins must contain '*'" in srv.log.read_text()


# --------------------------------------------------------------------------- generate and chat


def test_streamed_generate_arrives_in_chunks_over_time(server):
    head, chunks = raw_chunks(server, "/api/generate", {"model": "llama3.2", "prompt": "Why is the sky blue?"})
    assert head.startswith("HTTP/1.1 200")
    assert "Transfer-Encoding: chunked" in head
    assert "Content-Type: application/x-ndjson" in head
    assert len(chunks) >= 5
    assert chunks[-1][0] - chunks[0][0] >= 0.5  # 20 tokens, 0.05 s apart
    lines = [json.loads(data) for _, data in chunks]  # each chunk is exactly one NDJSON line
    assert all(data.endswith(b"\n") and data.count(b"\n") == 1 for _, data in chunks)
    assert all(not line["done"] and line["model"] == "llama3.2" for line in lines[:-1])
    final = lines[-1]
    assert final["done"] is True and final["done_reason"] == "stop" and final["response"] == ""
    assert final["eval_count"] == len(lines) - 1
    for key in ("total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration", "eval_duration"):
        assert isinstance(final[key], int) and final[key] > 0


def test_generate_without_streaming_is_one_object(server):
    status, headers, body = call(server, "POST", "/api/generate",
                                 {"model": "llama3.2", "prompt": "hello", "stream": False})
    assert status == 200
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert int(headers["Content-Length"]) == len(body)
    reply = json.loads(body)
    assert reply["done"] is True and reply["done_reason"] == "stop"
    assert len(reply["response"].split()) == 20
    again = call_json(server, "POST", "/api/generate", {"model": "llama3.2", "prompt": "hello", "stream": False})[1]
    assert again["response"] == reply["response"]  # deterministic


def test_generations_run_num_parallel_at_a_time_queue_then_503(start_server):
    """Like Ollama under load: OLLAMA_NUM_PARALLEL generations at a time, OLLAMA_MAX_QUEUE more
    wait (in order), the next one gets 503 at once; every token costs the chunk delay."""
    import threading

    srv = start_server(env={"OLLAMA_NUM_PARALLEL": "2", "OLLAMA_MAX_QUEUE": "1", "OLLAMA_STANDIN_CHUNK_DELAY": "0.1"})
    call(srv, "POST", "/api/pull", {"model": "llama3.2", "stream": False})
    request = {"model": "llama3.2", "prompt": "hi", "stream": False, "options": {"num_predict": 5}}
    assert call_json(srv, "POST", "/api/generate", request)[0] == 200  # loaded: no load time below
    results, start = {}, time.monotonic()

    def generate(index):
        status, _, body = call(srv, "POST", "/api/generate", request)
        results[index] = (status, json.loads(body), time.monotonic() - start)

    threads = []
    for index in range(4):  # arriving 0.05 s apart: two run, one waits, one is refused
        threads.append(threading.Thread(target=generate, args=(index,)))
        threads[-1].start()
        time.sleep(0.05)
    for thread in threads:
        thread.join(timeout=10)
    assert [results[i][0] for i in range(4)] == [200, 200, 200, 503]
    assert results[3][1] == {"error": "server busy, please try again.  maximum pending requests exceeded"}
    assert results[3][2] < 0.4  # refused at once, not after waiting
    assert 0.45 < results[0][2] < 0.8 and 0.45 < results[1][2] < 0.8  # 5 tokens x 0.1 s, side by side
    assert results[2][2] > 0.95  # started only when a slot was free
    assert call_json(srv, "POST", "/api/generate", request)[0] == 200  # the queue drained


def test_generate_load_unload_and_ps(server):
    assert call_json(server, "POST", "/api/generate", {"model": "llama3.2"})[1]["done_reason"] == "load"
    running = call_json(server, "GET", "/api/ps")[1]["models"]
    assert [m["name"] for m in running] == ["llama3.2:latest"]
    assert {"expires_at", "size_vram", "context_length", "digest", "details"} <= set(running[0])
    unload = call_json(server, "POST", "/api/generate", {"model": "llama3.2", "keep_alive": 0})[1]
    assert unload["done_reason"] == "unload"
    assert call_json(server, "GET", "/api/ps") == (200, {"models": []})


def test_generate_unknown_model(server):
    assert call_json(server, "POST", "/api/generate", {"model": "nope", "prompt": "hi"}) == (
        404, {"error": "model 'nope' not found"})


def test_large_image_request_is_read_and_accepted(server):
    image = base64.b64encode(os.urandom(15 * 1024 * 1024)).decode()  # a ~20 MB JSON body
    request = {"model": "llama3.2", "prompt": "describe", "images": [image], "stream": False,
               "options": {"num_predict": 2}}
    status, reply = call_json(server, "POST", "/api/generate", request)
    assert status == 200 and reply["done_reason"] == "length"


def test_chat(server):
    request = {"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}]}
    _, chunks = raw_chunks(server, "/api/chat", request)
    lines = [json.loads(data) for _, data in chunks]
    assert all(line["message"]["role"] == "assistant" for line in lines)
    assert lines[-1]["done"] and lines[-1]["done_reason"] == "stop"
    status, reply = call_json(server, "POST", "/api/chat", {**request, "stream": False})
    assert status == 200
    assert reply["message"]["content"] == "".join(line["message"]["content"] for line in lines)


def test_embedding_models(server):
    status, reply = call_json(server, "POST", "/api/embed", {"model": "all-minilm", "input": ["a", "b"]})
    assert status == 200 and len(reply["embeddings"]) == 2 and len(reply["embeddings"][0]) == 384
    assert abs(sum(v * v for v in reply["embeddings"][0]) - 1) < 1e-6
    assert call_json(server, "POST", "/api/generate", {"model": "all-minilm", "prompt": "x"}) == (
        400, {"error": '"all-minilm" does not support generate'})


# --------------------------------------------------------------------------- model management


def test_pull_tags_delete_and_restart(start_server):
    srv = start_server()
    models = srv.home / ".ollama" / "models"
    assert call_json(srv, "GET", "/api/tags") == (200, {"models": []})
    assert call_json(srv, "POST", "/api/pull", {"model": "tinyllama", "stream": False}) == (200, {"status": "success"})

    tags = call_json(srv, "GET", "/api/tags")[1]["models"]
    assert [m["name"] for m in tags] == ["tinyllama:latest"]
    assert tags[0]["details"]["family"] == "llama"
    manifest_path = models / "manifests" / "registry.ollama.ai" / "library" / "tinyllama" / "latest"
    manifest = json.loads(manifest_path.read_bytes())
    assert tags[0]["digest"] == hashlib.sha256(manifest_path.read_bytes()).hexdigest()
    blobs = sorted((models / "blobs").iterdir())
    assert len(blobs) == len(manifest["layers"]) + 1
    for blob in blobs:
        assert blob.name == "sha256-" + hashlib.sha256(blob.read_bytes()).hexdigest()

    assert srv.stop() == 0  # models survive a restart
    srv = start_server(name="home")
    assert [m["name"] for m in call_json(srv, "GET", "/api/tags")[1]["models"]] == ["tinyllama:latest"]

    status, _, body = call(srv, "DELETE", "/api/delete", {"model": "tinyllama"})
    assert (status, body) == (200, b"")
    assert call_json(srv, "GET", "/api/tags") == (200, {"models": []})
    assert list((models / "blobs").iterdir()) == []
    assert call_json(srv, "DELETE", "/api/delete", {"model": "tinyllama"}) == (
        404, {"error": "model 'tinyllama' not found"})


def test_pull_streams_progress(start_server):
    srv = start_server()
    head, chunks = raw_chunks(srv, "/api/pull", {"model": "qwen2.5:0.5b"})
    statuses = [json.loads(data)["status"] for _, data in chunks]
    assert statuses[0] == "pulling manifest"
    assert statuses[-3:] == ["verifying sha256 digest", "writing manifest", "success"]
    layer = json.loads(chunks[2][1])
    assert layer["status"] == "pulling " + layer["digest"][7:19] and layer["completed"] == layer["total"]


def test_pull_unknown_model(server):
    _, chunks = raw_chunks(server, "/api/pull", {"model": "no-such-model"})
    assert [json.loads(data) for _, data in chunks] == [
        {"status": "pulling manifest"}, {"error": "pull model manifest: file does not exist"}]
    assert call_json(server, "POST", "/api/pull", {"model": "no-such-model", "stream": False}) == (
        500, {"error": "pull model manifest: file does not exist"})


def test_show(server):
    status, info = call_json(server, "POST", "/api/show", {"model": "llama3.2"})
    assert status == 200
    assert info["capabilities"] == ["completion", "tools"]
    assert info["model_info"]["llama.context_length"] == 131072
    assert info["modelfile"].startswith('# Modelfile generated by "ollama show"')
    assert call_json(server, "POST", "/api/show", {"model": "nope"}) == (
        404, {"error": "model 'nope:latest' not found"})


def test_blob_upload(server):
    data = b"GGUF uploaded bytes"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    assert call(server, "HEAD", f"/api/blobs/{digest}")[0] == 404
    assert call_json(server, "POST", f"/api/blobs/sha256:{'0' * 64}", data)[0] == 400
    assert call(server, "POST", f"/api/blobs/{digest}", data)[0] == 201
    assert call(server, "HEAD", f"/api/blobs/{digest}")[0] == 200
    assert call(server, "HEAD", "/api/blobs/nope")[0] == 400


def test_serve_creates_key_and_exits_cleanly_on_sigterm(start_server):
    srv = start_server()
    key = srv.home / ".ollama" / "id_ed25519"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert f"Listening on 127.0.0.1:{srv.port} (version {INSTALLED_VERSION})" in srv.log.read_text()
    assert srv.stop() == 0


# --------------------------------------------------------------------------- OpenAI compatibility


def test_v1_models(server):
    status, listing = call_json(server, "GET", "/v1/models")
    assert status == 200 and listing["object"] == "list"
    assert {m["id"] for m in listing["data"]} == {"llama3.2:latest", "all-minilm:latest"}
    assert all(m["object"] == "model" and m["owned_by"] == "library" and isinstance(m["created"], int)
               for m in listing["data"])


def test_v1_chat_completions_streams_server_sent_events(server):
    request = {"model": "llama3.2", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    head, chunks = raw_chunks(server, "/v1/chat/completions", request)
    assert "Content-Type: text/event-stream" in head
    events = [data for _, data in chunks]
    assert all(event.startswith(b"data: ") and event.endswith(b"\n\n") for event in events)
    assert events[-1] == b"data: [DONE]\n\n"
    first = json.loads(events[0][6:])
    assert first["object"] == "chat.completion.chunk" and first["choices"][0]["delta"]["role"] == "assistant"
    assert json.loads(events[-2][6:])["choices"][0]["finish_reason"] == "stop"


def test_v1_chat_completions_without_streaming(server):
    request = {"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}]}
    status, reply = call_json(server, "POST", "/v1/chat/completions", request)
    assert status == 200 and reply["object"] == "chat.completion"
    assert reply["choices"][0]["message"]["content"] and reply["usage"]["completion_tokens"] == 20
    status, error = call_json(server, "POST", "/v1/chat/completions", {"model": "llama3.2", "messages": []})
    assert (status, error["error"]["type"]) == (400, "invalid_request_error")



def test_v1_responses_with_the_openai_sdk(server):
    import openai

    client = openai.OpenAI(base_url=f"http://{server.address}/v1", api_key="unused")
    reply = client.responses.create(model="llama3.2", input="Why is the sky blue?")
    assert reply.status == "completed" and reply.output_text and reply.usage.output_tokens == 20
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model="no-such-model", input="hi")


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        ("/v1/images/generations", {"model": "llama3.2", "prompt": "a cat"}, 400, "does not support image generation"),
        ("/v1/images/edits", {"model": "no-such-model"}, 404, "model 'no-such-model' not found"),
        ("/v1/audio/transcriptions", b'--b\r\nContent-Disposition: form-data; name="model"\r\n\r\nllama3.2\r\n--b--\r\n',
         400, "does not support audio transcription"),
    ],
)
def test_v1_image_and_audio_routes_need_such_a_model(server, path, body, status, message):
    headers = {"Content-Type": "multipart/form-data; boundary=b"} if isinstance(body, bytes) else {}
    got, _, reply = call(server, "POST", path, body, headers)
    assert got == status and message in json.loads(reply)["error"]["message"]


# --------------------------------------------------------------------------- Anthropic compatibility


def test_v1_messages_with_the_anthropic_sdk(server):
    import anthropic

    client = anthropic.Anthropic(base_url=f"http://{server.address}", api_key="unused")
    message = client.messages.create(model="llama3.2", max_tokens=64, messages=[{"role": "user", "content": "hi"}])
    assert message.type == "message" and message.role == "assistant" and message.content[0].text
    assert message.stop_reason == "end_turn" and message.usage.output_tokens == 20
    with client.messages.stream(model="llama3.2", max_tokens=64, messages=[{"role": "user", "content": "hi"}]) as stream:
        assert stream.get_final_text() == message.content[0].text
    with pytest.raises(anthropic.NotFoundError):
        client.messages.create(model="no-such-model", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
    status, error = call_json(server, "POST", "/v1/messages", {"model": "llama3.2"})
    assert status == 400 and error["type"] == "error" and error["error"]["type"] == "invalid_request_error"


# --------------------------------------------------------------------------- account and cloud routes


@pytest.mark.parametrize(
    ("method", "path", "status", "error"),
    [
        ("POST", "/api/me", 401, "unauthorized"),
        ("POST", "/api/signout", 401, "not signed in"),
        ("DELETE", "/api/user/keys/c3NoLWVkMjU1MTk", 401, "not signed in"),
        ("POST", "/api/experimental/web_search", 401, "unauthorized"),
        ("POST", "/api/experimental/web_fetch", 401, "unauthorized"),
    ],
)
def test_account_routes_answer_as_a_server_that_is_not_signed_in(server, method, path, status, error):
    got, reply = call_json(server, method, path, {} if method == "POST" else None)
    assert (got, reply["error"]) == (status, error)


def test_api_status(server):
    assert call_json(server, "GET", "/api/status") == (200, {"cloud": {"disabled": False, "signed_in": False}})

# --------------------------------------------------------------------------- CLI


def test_cli_version_with_server(server, cli):
    result = cli("-v", host=server.address)
    assert (result.returncode, result.stdout) == (0, f"ollama version is {INSTALLED_VERSION}\n")


def test_cli_version_without_server(cli):
    result = cli("--version", host=f"127.0.0.1:{free_port()}")
    assert result.returncode == 0
    assert result.stdout == ("Warning: could not connect to a running Ollama instance\n"
                             f"Warning: client version is {INSTALLED_VERSION}\n")


def test_cli_pull_list_run_rm(start_server, cli):
    host = start_server().address
    pulled = cli("pull", "tinyllama", host=host)
    assert pulled.returncode == 0 and pulled.stderr.splitlines()[-1] == "success"
    listing = cli("list", host=host).stdout.splitlines()
    assert listing[0].split() == ["NAME", "ID", "SIZE", "MODIFIED"]
    assert listing[1].startswith("tinyllama:latest ")
    run = cli("run", "tinyllama", "Why is the sky blue?", host=host)
    assert run.returncode == 0 and len(run.stdout.split()) == 20
    assert cli("rm", "tinyllama", host=host).stdout == "deleted 'tinyllama'\n"
    assert cli("list", host=host).stdout.splitlines()[1:] == []


def test_cli_errors(server, cli):
    unknown = cli("pull", "no-such-model", host=server.address)
    assert unknown.returncode == 1
    assert unknown.stderr.splitlines()[-1] == "Error: pull model manifest: file does not exist"
    assert cli("rm", "no-such-model", host=server.address).stderr == "Error: model 'no-such-model' not found\n"
    bad = cli("frobnicate")
    assert (bad.returncode, bad.stderr) == (1, 'Error: unknown command "frobnicate" for "ollama"\n')
    down = cli("list", host=f"127.0.0.1:{free_port()}")
    assert down.returncode == 1 and "could not connect to ollama server" in down.stderr


def test_launcher_needs_its_lib_dir(tmp_path):
    (tmp_path / "bin").mkdir()
    launcher = tmp_path / "bin" / "ollama"
    launcher.write_bytes((STANDIN / "bin" / "ollama").read_bytes())
    launcher.chmod(0o755)
    result = subprocess.run([str(launcher), "-v"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert "ollama libraries not found" in result.stderr and str(tmp_path / "lib" / "ollama") in result.stderr


# --------------------------------------------------------------------------- release builder


def build(out, *args):
    return subprocess.run([sys.executable, str(STANDIN / "build_release.py"), "--out", str(out), *args],
                          capture_output=True, text=True, timeout=60)


def read_sums(directory: Path) -> dict:
    lines = (directory / "sha256sum.txt").read_text().splitlines()
    return {line.split("  ./")[1]: line.split("  ./")[0] for line in lines}


def test_release_assets_checksums_and_rebuild(tmp_path):
    result = build(tmp_path, "--version=0.32.15", "--version", "0.13.5", "--arch", "amd64")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "v0.32.15").iterdir()) == ["ollama-linux-amd64.tar.zst", "sha256sum.txt"]
    assert sorted(p.name for p in (tmp_path / "v0.13.5").iterdir()) == ["ollama-linux-amd64.tgz", "sha256sum.txt"]
    for directory in (tmp_path / "v0.32.15", tmp_path / "v0.13.5"):
        for asset, digest in read_sums(directory).items():
            assert hashlib.sha256((directory / asset).read_bytes()).hexdigest() == digest
    assert "  ./ollama-linux-amd64.tar.zst\n" in (tmp_path / "v0.32.15" / "sha256sum.txt").read_text()

    before = read_sums(tmp_path / "v0.32.15")
    again = build(tmp_path, "--version", "0.32.15", "--arch", "amd64")
    assert again.returncode == 0 and "wrote" not in again.stdout
    assert read_sums(tmp_path / "v0.32.15") == before


@pytest.mark.parametrize("version, asset", [("0.32.15", "ollama-linux-amd64.tar.zst"),
                                            ("0.13.5", "ollama-linux-amd64.tgz")])
def test_release_unpacks_and_runs(tmp_path, version, asset):
    assert build(tmp_path / "dist", "--version", version, "--arch", "amd64").returncode == 0
    archive = tmp_path / "dist" / f"v{version}" / asset
    listing = subprocess.run(["tar", "-tvf", str(archive), "--numeric-owner"], capture_output=True, text=True,
                             check=True).stdout.splitlines()
    assert listing and all(" 0/0 " in line for line in listing)
    unpacked = tmp_path / "opt"
    unpacked.mkdir()
    subprocess.run(["tar", "-xf", str(archive), "-C", str(unpacked)], check=True)  # GNU tar detects zstd
    assert sorted(str(p.relative_to(unpacked)) for p in unpacked.rglob("*") if p.is_file()) == [
        "bin/ollama", "lib/ollama/VERSION", f"lib/ollama/libggml-{version}.so", "lib/ollama/standin.py"]
    assert stat.S_IMODE((unpacked / "bin" / "ollama").stat().st_mode) == 0o755
    link = tmp_path / "ollama"
    link.symlink_to(unpacked / "bin" / "ollama")  # like /usr/local/bin/ollama -> /opt/ollama/<v>/bin/ollama
    result = subprocess.run([str(link), "-v"], capture_output=True, text=True, timeout=30,
                            env={"PATH": os.environ["PATH"], "HOME": str(tmp_path),
                                 "OLLAMA_HOST": f"127.0.0.1:{free_port()}"})
    assert result.stdout.splitlines()[-1] == f"Warning: client version is {version}"


def test_release_refuses_versions_without_archive(tmp_path):
    result = build(tmp_path, "--version", "0.3.6")
    assert result.returncode == 2 and "bare binary" in result.stderr
