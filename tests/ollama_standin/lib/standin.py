"""Stand-in for the Ollama server and CLI, standard library only.

Reproduces what Ollama shows to the outside: the HTTP API (routes, JSON shapes, status codes,
gin's 404/405 texts), the loopback Host check and CORS rule, chunked NDJSON streaming, the
model store on disk (OCI-style manifests and sha256-named blobs under OLLAMA_MODELS), the
environment it reads and the CLI's commands and messages. It runs no model: replies are
deterministic words derived from the prompt, streamed with a configurable delay, and "pulls"
come from a small built-in catalogue.

Entry point: ``main(argv)``, called by the ``bin/ollama`` launcher of a release archive.
"""

from __future__ import annotations

import base64
import errno
import glob
import hashlib
import ipaddress
import json
import math
import os
import platform
import random
import re
import secrets
import signal
import socket
import socketserver
import struct
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterator


def _read_version() -> str:
    """The release's version: OLLAMA_STANDIN_VERSION, else the VERSION file beside this module."""
    override = os.environ.get("OLLAMA_STANDIN_VERSION", "").strip()
    if override:
        return override
    try:
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "VERSION"), encoding="utf-8") as f:
            return f.read().strip() or "0.0.0"
    except FileNotFoundError:
        return "0.0.0"


VERSION = _read_version()

DEFAULT_PORT = 11434
REGISTRY_HOST = "registry.ollama.ai"
DEFAULT_NAMESPACE = "library"
DEFAULT_TAG = "latest"
FOREVER = math.inf
MAX_DURATION_NS = 2**63 - 1  # Go's time.Duration(math.MaxInt64): what "keep loaded forever" means

MEDIA_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MEDIA_CONFIG = "application/vnd.docker.container.image.v1+json"
MEDIA_MODEL = "application/vnd.ollama.image.model"
MEDIA_TEMPLATE = "application/vnd.ollama.image.template"
MEDIA_SYSTEM = "application/vnd.ollama.image.system"
MEDIA_PARAMS = "application/vnd.ollama.image.params"
MEDIA_LICENSE = "application/vnd.ollama.image.license"

JSON_UTF8 = "application/json; charset=utf-8"
TEXT_UTF8 = "text/plain; charset=utf-8"


class ApiError(Exception):
    """An error answered as ``{"error": message}`` (or OpenAI's error shape on /v1 routes).

    ``openai_type`` is set for errors raised by the OpenAI-compatibility layer itself; errors
    from the native handlers behind it are reported there as "api_error", like Ollama does.
    """

    def __init__(self, status: int, message: str, openai_type: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.openai_type = openai_type


class CLIError(Exception):
    """A CLI failure, printed as ``Error: <message>`` with exit status 1."""


# --------------------------------------------------------------------------- Go compatibility


def env(key: str) -> str:
    """An environment variable as Ollama's envconfig.Var reads it: trimmed, quotes removed."""
    return os.environ.get(key, "").strip().strip("\"'")


def go_bool(key: str) -> bool:
    """envconfig.Bool: unset is false, anything strconv.ParseBool rejects counts as true."""
    value = env(key)
    if not value:
        return False
    return value not in ("0", "f", "F", "false", "FALSE", "False")


def go_uint(key: str, default: int) -> int:
    """envconfig.Uint: a non-negative integer, the default when unset or invalid."""
    value = env(key)
    if value.isdigit():
        return int(value)
    if value:
        slog("WARN", "invalid environment variable, using default", key=key, value=value, default=default)
    return default


_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_GO_ESCAPE_RE = re.compile("[<>&\u2028\u2029]")


def go_json(value) -> bytes:
    """Compact JSON escaped like Go's encoding/json (which HTML-escapes <, > and &)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return _GO_ESCAPE_RE.sub(lambda m: _GO_ESCAPES[m.group()], text).encode()


def go_quote(text: str) -> str:
    """Go's %q for the plain strings used in error messages."""
    return json.dumps(text, ensure_ascii=False)


def _zone(moment: datetime) -> str:
    offset = moment.utcoffset() or timedelta(0)
    if not offset:
        return "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def go_time(epoch_ns: int, utc: bool = False) -> str:
    """A timestamp as Go's time.Time marshals to JSON (RFC 3339, trimmed nanoseconds)."""
    seconds, nanos = divmod(epoch_ns, 10**9)
    moment = datetime.fromtimestamp(seconds, timezone.utc)
    if not utc:
        moment = moment.astimezone()
    fraction = f".{nanos:09d}".rstrip("0").rstrip(".")
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + fraction + _zone(moment)


def go_duration(ns: int) -> str:
    """Go's time.Duration.String(): 0s, 850µs, 1.5s, 5m0s, 2h3m4.5s."""
    if ns == 0:
        return "0s"
    sign, ns = ("-" if ns < 0 else ""), abs(ns)

    def trimmed(value: str) -> str:
        return value.rstrip("0").rstrip(".")

    if ns < 1_000:
        return f"{sign}{ns}ns"
    if ns < 1_000_000:
        return f"{sign}{trimmed(f'{ns / 1e3:.3f}')}µs"
    if ns < 1_000_000_000:
        return f"{sign}{trimmed(f'{ns / 1e6:.6f}')}ms"
    hours, rest = divmod(ns, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    whole, frac = divmod(rest, 1_000_000_000)
    seconds = f"{whole}.{frac:09d}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}"
    if minutes:
        return f"{sign}{minutes}m{seconds}"
    return sign + seconds


_DURATION_RE = re.compile(r"(?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+")
_DURATION_PART_RE = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_go_duration(text: str) -> float:
    """Go's time.ParseDuration, in seconds; ValueError carries Go's message."""
    body = text[1:] if text[:1] in "+-" else text
    if body == "0":
        return 0.0
    if not _DURATION_RE.fullmatch(body):
        if re.fullmatch(r"[\d.]+", body):
            raise ValueError(f"time: missing unit in duration {go_quote(text)}")
        raise ValueError(f"time: invalid duration {go_quote(text)}")
    seconds = sum(float(n) * _DURATION_UNITS[unit] for n, unit in _DURATION_PART_RE.findall(body))
    return -seconds if text.startswith("-") else seconds


def keep_alive_from_env() -> float:
    """envconfig.KeepAlive: OLLAMA_KEEP_ALIVE as a duration or seconds, default 5m, <0 forever."""
    value, seconds = env("OLLAMA_KEEP_ALIVE"), 300.0
    if value:
        try:
            seconds = parse_go_duration(value)
        except ValueError:
            if re.fullmatch(r"[+-]?\d+", value):
                seconds = float(int(value))
    return FOREVER if seconds < 0 else seconds


def keep_alive_from_request(value) -> float | None:
    """api.Duration's JSON decoding: seconds as a number or a Go duration string; <0 forever."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            seconds = parse_go_duration(value)
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
    else:
        raise ApiError(400, f"Unsupported type: '{_go_value_type(value)}'")
    return FOREVER if seconds < 0 else seconds


def _go_value_type(value) -> str:
    return {bool: "bool", list: "[]interface {}", dict: "map[string]interface {}"}.get(type(value), "string")


def json_kind(value) -> str:
    """How Go's decoder names a JSON value's kind in its type errors."""
    return {str: "string", bool: "bool", list: "array", dict: "object"}.get(type(value), "number")


def split_host_port(hostport: str) -> tuple[str, str] | None:
    """Go's net.SplitHostPort; None where Go returns an error (e.g. a missing port)."""
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0 or hostport[end + 1 : end + 2] != ":":
            return None
        return hostport[1:end], hostport[end + 2 :]
    host, sep, port = hostport.rpartition(":")
    if not sep or ":" in host:
        return None
    return host, port


def join_host_port(host: str, port: int | str) -> str:
    """Go's net.JoinHostPort."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True)
class HostSetting:
    """OLLAMA_HOST as envconfig.Host() parses it."""

    scheme: str
    host: str
    port: int

    @classmethod
    def parse(cls, value: str) -> HostSetting:
        default_port = str(DEFAULT_PORT)
        scheme, sep, hostport = value.partition("://")
        if not sep:
            scheme, hostport = "http", value
        elif scheme == "http":
            default_port = "80"
        elif scheme == "https":
            default_port = "443"
        hostport = hostport.split("/", 1)[0]
        split = split_host_port(hostport)
        if split is None:
            host, port = "127.0.0.1", default_port
            try:
                host = str(ipaddress.ip_address(hostport.strip("[]")))
            except ValueError:
                if hostport:
                    host = hostport
        else:
            host, port = split
        if not port.isdigit() or int(port) > 65535:
            slog("WARN", "invalid port, using default", port=port, default=default_port)
            port = default_port
        return cls(scheme, host, int(port))

    @property
    def hostport(self) -> str:
        return join_host_port(self.host, self.port)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.hostport}"


def slog(level: str, msg: str, **attrs) -> None:
    """A log line in the shape of Ollama's slog text handler, on stderr."""
    now = datetime.now().astimezone()
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}" + _zone(now)

    def value(v) -> str:
        text = str(v)
        return go_quote(text) if not text or re.search(r'[\s="]', text) else text

    fields = " ".join(f"{k}={value(v)}" for k, v in attrs.items())
    sys.stderr.write(f"time={stamp} level={level} msg={value(msg)}{' ' + fields if fields else ''}\n")
    sys.stderr.flush()


# --------------------------------------------------------------------------- model names


_NAME_PARTS = {
    "host": re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,349}"),
    "namespace": re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,79}"),
    "model": re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}"),
    "tag": re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}"),
}


@dataclass(frozen=True)
class ModelName:
    """A model name ``[host/][namespace/]model[:tag]`` with Ollama's defaults filled in."""

    host: str
    namespace: str
    model: str
    tag: str

    @classmethod
    def parse(cls, text: str) -> ModelName | None:
        """Go's model.ParseName; None when the name is invalid."""
        parts = {"host": REGISTRY_HOST, "namespace": DEFAULT_NAMESPACE, "tag": DEFAULT_TAG}
        rest = text
        if rest.rfind(":") > rest.rfind("/"):
            rest, _, parts["tag"] = rest.rpartition(":")
            if not rest:
                return None
        rest, sep, parts["model"] = rest.rpartition("/")
        if sep:
            if not rest:
                return None
            rest, sep, parts["namespace"] = rest.rpartition("/")
            if sep:
                if not rest:
                    return None
                parts["host"] = rest.split("://", 1)[-1]
        if not all(_NAME_PARTS[k].fullmatch(v) for k, v in parts.items()):
            return None
        return cls(**parts)

    def display(self) -> str:
        """DisplayShortest: default registry and namespace left out, tag always shown."""
        if self.host.lower() == REGISTRY_HOST:
            if self.namespace.lower() == DEFAULT_NAMESPACE:
                return f"{self.model}:{self.tag}"
            return f"{self.namespace}/{self.model}:{self.tag}"
        return f"{self.host}/{self.namespace}/{self.model}:{self.tag}"

    def key(self) -> tuple[str, ...]:
        """Names compare case-insensitively."""
        return tuple(p.lower() for p in (self.host, self.namespace, self.model, self.tag))

    def parts(self) -> tuple[str, str, str, str]:
        return self.host, self.namespace, self.model, self.tag


# --------------------------------------------------------------------------- catalogue

_LLAMA32_TEMPLATE = """<|start_header_id|>system<|end_header_id|>

{{ if .System }}{{ .System }}{{ end }}{{ if .Tools }}When you receive a tool call response, use the output
to format an answer to the original user question.

You are a helpful assistant with tool calling capabilities.{{ end }}<|eot_id|>
{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>

{{ .Content }}<|eot_id|>
{{- end }}<|start_header_id|>assistant<|end_header_id|>

"""
_QWEN25_TEMPLATE = """{{- if .Messages }}
{{- if or .System .Tools }}<|im_start|>system
{{- if .System }}
{{ .System }}
{{- end }}
{{- if .Tools }}

# Tools

You may call one or more functions to assist with the user query.
{{- end }}<|im_end|>
{{ end }}
{{- range .Messages }}<|im_start|>{{ .Role }}
{{ .Content }}<|im_end|>
{{ end }}<|im_start|>assistant
{{ else }}
{{- if .System }}<|im_start|>system
{{ .System }}<|im_end|>
{{ end }}{{ if .Prompt }}<|im_start|>user
{{ .Prompt }}<|im_end|>
{{ end }}<|im_start|>assistant
{{ end }}{{ .Response }}{{ if .Response }}<|im_end|>{{ end }}"""
_TINYLLAMA_TEMPLATE = """<|system|>
{{ .System }}</s>
<|user|>
{{ .Prompt }}</s>
<|assistant|>
"""
_LLAMA32_LICENSE = """LLAMA 3.2 COMMUNITY LICENSE AGREEMENT
Llama 3.2 Version Release Date: September 25, 2024

(Excerpt kept by the ollama-gate test stand-in; no model weights are included.)
"""
_APACHE_LICENSE = """Apache License
Version 2.0, January 2004
http://www.apache.org/licenses/

(Excerpt kept by the ollama-gate test stand-in; no model weights are included.)
"""


@dataclass(frozen=True)
class Variant:
    """One model build of the catalogue; every tag naming it gets the same blobs."""

    key: str
    arch: str
    parameter_size: str
    parameter_count: int
    quantization: str
    context_length: int
    embedding_length: int
    template: str
    license: str
    params: dict | None = None
    embedding: bool = False


_VARIANTS = [
    Variant("llama3.2:3b", "llama", "3.2B", 3212749888, "Q4_K_M", 131072, 3072, _LLAMA32_TEMPLATE, _LLAMA32_LICENSE,
            {"stop": ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]}),
    Variant("llama3.2:1b", "llama", "1.2B", 1235814432, "Q8_0", 131072, 2048, _LLAMA32_TEMPLATE, _LLAMA32_LICENSE,
            {"stop": ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]}),
    Variant("qwen2.5:0.5b", "qwen2", "494.03M", 494032768, "Q4_K_M", 32768, 896, _QWEN25_TEMPLATE, _APACHE_LICENSE),
    Variant("qwen2.5:1.5b", "qwen2", "1.5B", 1543714304, "Q4_K_M", 32768, 1536, _QWEN25_TEMPLATE, _APACHE_LICENSE),
    Variant("qwen2.5:7b", "qwen2", "7.6B", 7615616512, "Q4_K_M", 32768, 3584, _QWEN25_TEMPLATE, _APACHE_LICENSE),
    Variant("tinyllama:1.1b", "llama", "1B", 1100048384, "Q4_0", 2048, 2048, _TINYLLAMA_TEMPLATE, _APACHE_LICENSE,
            {"stop": ["<|system|>", "<|user|>", "<|assistant|>", "</s>"]}),
    Variant("all-minilm:22m", "bert", "23M", 22565376, "F16", 512, 384, "{{ .Prompt }}", _APACHE_LICENSE,
            embedding=True),
    Variant("all-minilm:33m", "bert", "33M", 33212160, "F16", 512, 384, "{{ .Prompt }}", _APACHE_LICENSE,
            embedding=True),
    Variant("nomic-embed-text:v1.5", "nomic-bert", "137M", 136727040, "F16", 2048, 768, "{{ .Prompt }}",
            _APACHE_LICENSE, {"num_ctx": 8192}, embedding=True),
]
VARIANTS = {v.key: v for v in _VARIANTS}

# Library model -> tag -> variant key. Aliases (e.g. "latest") share the variant's blobs.
CATALOGUE = {
    "llama3.2": {"latest": "llama3.2:3b", "3b": "llama3.2:3b", "1b": "llama3.2:1b"},
    "qwen2.5": {"latest": "qwen2.5:7b", "7b": "qwen2.5:7b", "1.5b": "qwen2.5:1.5b", "0.5b": "qwen2.5:0.5b"},
    "tinyllama": {"latest": "tinyllama:1.1b", "1.1b": "tinyllama:1.1b"},
    "all-minilm": {"latest": "all-minilm:22m", "22m": "all-minilm:22m", "33m": "all-minilm:33m"},
    "nomic-embed-text": {"latest": "nomic-embed-text:v1.5", "v1.5": "nomic-embed-text:v1.5"},
}

GGUF_HEADER = b"GGUF ollama-gate stand-in\n"
_FILE_TYPES = {"F16": 1, "Q4_0": 2, "Q8_0": 7, "Q4_K_M": 15}


def catalogue_variant(name: ModelName) -> Variant | None:
    """The variant a registry name refers to, or None when the registry "does not have it"."""
    if name.host.lower() != REGISTRY_HOST or name.namespace.lower() != DEFAULT_NAMESPACE:
        return None
    key = CATALOGUE.get(name.model.lower(), {}).get(name.tag.lower())
    return VARIANTS.get(key) if key else None


def variant_layers(variant: Variant) -> list[tuple[str, bytes]]:
    """The layer contents of a variant: a tiny GGUF-headed model file, template, license, params.

    The model file carries the metadata `ollama show` reports (as a JSON line after the header)
    and filler bytes scaled to the parameter count, so models have different, small sizes.
    """
    arch = variant.arch
    metadata = {
        "general.architecture": arch,
        "general.name": variant.key,
        "general.parameter_count": variant.parameter_count,
        "general.file_type": _FILE_TYPES[variant.quantization],
        "general.quantization_version": 2,
        f"{arch}.context_length": variant.context_length,
        f"{arch}.embedding_length": variant.embedding_length,
    }
    if variant.embedding:
        metadata[f"{arch}.pooling_type"] = 1
    filler = hashlib.shake_256(variant.key.encode()).digest(variant.parameter_count // 100_000)
    layers = [
        (MEDIA_MODEL, GGUF_HEADER + go_json(metadata) + b"\n" + filler),
        (MEDIA_TEMPLATE, variant.template.encode()),
        (MEDIA_LICENSE, variant.license.encode()),
    ]
    if variant.params:
        layers.append((MEDIA_PARAMS, go_json(variant.params)))
    return layers


# --------------------------------------------------------------------------- model store


_DIGEST_RE = re.compile(r"sha256[:-][0-9a-fA-F]{64}")


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Model:
    """A locally stored model, read from its manifest and blobs."""

    name: ModelName
    manifest_path: str
    digest: str
    size: int
    modified_ns: int
    config: dict
    layers: list[dict]
    info: dict
    template: str
    system: str
    params: dict
    licenses: list[str]
    model_path: str
    blobs: list[str]

    @property
    def capabilities(self) -> list[str]:
        """Derived like Ollama: embedding models have a pooling type; tools/insert from the template."""
        arch = self.info.get("general.architecture", "")
        caps = ["embedding" if f"{arch}.pooling_type" in self.info else "completion"]
        if ".Tools" in self.template:
            caps.append("tools")
        if ".Suffix" in self.template:
            caps.append("insert")
        return caps

    @property
    def embedding_length(self) -> int:
        return int(self.info.get(f"{self.info.get('general.architecture', '')}.embedding_length", 768))

    def details(self) -> dict:
        return {
            "parent_model": "",
            "format": self.config.get("model_format", ""),
            "family": self.config.get("model_family", ""),
            "families": self.config.get("model_families"),
            "parameter_size": self.config.get("model_type", ""),
            "quantization_level": self.config.get("file_type", ""),
        }


class ModelStore:
    """Models on disk in Ollama's layout: ``manifests/<host>/<namespace>/<model>/<tag>`` and
    ``blobs/sha256-<hex>``, where each blob's name is the sha256 of its content."""

    def __init__(self, root: str):
        self.root = root
        self.manifests_dir = os.path.join(root, "manifests")
        self.blobs_dir = os.path.join(root, "blobs")
        self.lock = threading.RLock()

    # -- blobs

    def blob_path(self, digest: str) -> str:
        """Path of a blob; ValueError("invalid digest format") like Ollama's GetBlobsPath."""
        if not _DIGEST_RE.fullmatch(digest):
            raise ValueError("invalid digest format")
        return os.path.join(self.blobs_dir, "sha256-" + digest[7:].lower())

    def _partial_path(self, digest_hex: str) -> str:
        return os.path.join(self.blobs_dir, f"sha256-{digest_hex}-partial-{secrets.token_hex(4)}")

    def add_blob(self, data: bytes) -> dict:
        """Stores ``data`` as a blob (atomically, once); returns its manifest layer entry."""
        digest = sha256_digest(data)
        path = self.blob_path(digest)
        if not os.path.exists(path):
            partial = self._partial_path(digest[7:])
            with open(partial, "wb") as f:
                f.write(data)
            os.replace(partial, path)
        return {"digest": digest, "size": len(data)}

    def receive_blob(self, chunks: Iterator[bytes]) -> tuple[str, str]:
        """Writes streamed data to a partial file while hashing it; returns (digest, partial path)."""
        partial = self._partial_path("upload")
        hasher = hashlib.sha256()
        with open(partial, "wb") as f:
            for chunk in chunks:
                hasher.update(chunk)
                f.write(chunk)
        return "sha256:" + hasher.hexdigest(), partial

    # -- manifests

    def names(self) -> dict[ModelName, str]:
        """Every valid model name with a manifest on disk, mapped to the manifest's path."""
        found = {}
        for path in glob.glob(os.path.join(glob.escape(self.manifests_dir), "*", "*", "*", "*")):
            if not os.path.isfile(path):
                continue
            name = ModelName.parse("/".join(os.path.relpath(path, self.manifests_dir).split(os.sep)[:3]) + ":"
                                   + os.path.basename(path))
            if name is not None:
                found[name] = path
        return found

    def find(self, name: ModelName) -> tuple[ModelName, str] | None:
        """The stored name matching ``name`` case-insensitively, with its manifest path."""
        for stored, path in self.names().items():
            if stored.key() == name.key():
                return stored, path
        return None

    def load(self, name: ModelName) -> Model | None:
        found = self.find(name)
        return self._read(*found) if found else None

    def models(self) -> list[Model]:
        models = []
        for name, path in self.names().items():
            try:
                models.append(self._read(name, path))
            except (OSError, ValueError, KeyError) as exc:
                slog("WARN", "bad manifest", name=name.display(), error=exc)
        return models

    def _read(self, name: ModelName, path: str) -> Model:
        with open(path, "rb") as f:
            raw = f.read()
        modified_ns = os.stat(path).st_mtime_ns
        manifest = json.loads(raw)
        config_layer, layers = manifest.get("config") or {}, manifest.get("layers") or []
        config = {}
        if config_layer.get("digest"):
            with open(self.blob_path(config_layer["digest"]), "rb") as f:
                config = json.load(f)
        texts: dict[str, list[str]] = {}
        info, model_path = {}, ""
        for layer in layers:
            blob = self.blob_path(layer["digest"])
            if layer["mediaType"] == MEDIA_MODEL:
                model_path, info = blob, _read_model_info(blob)
            elif layer["mediaType"] in (MEDIA_TEMPLATE, MEDIA_SYSTEM, MEDIA_PARAMS, MEDIA_LICENSE):
                with open(blob, encoding="utf-8") as f:
                    texts.setdefault(layer["mediaType"], []).append(f.read())
        params = json.loads(texts[MEDIA_PARAMS][-1]) if MEDIA_PARAMS in texts else {}
        return Model(
            name=name,
            manifest_path=path,
            digest=hashlib.sha256(raw).hexdigest(),
            size=config_layer.get("size", 0) + sum(layer.get("size", 0) for layer in layers),
            modified_ns=modified_ns,
            config=config,
            layers=layers,
            info=info,
            template=texts.get(MEDIA_TEMPLATE, [""])[-1],
            system=texts.get(MEDIA_SYSTEM, [""])[-1],
            params=params,
            licenses=texts.get(MEDIA_LICENSE, []),
            model_path=model_path,
            blobs=[entry["digest"] for entry in (config_layer, *layers) if entry.get("digest")],
        )

    @staticmethod
    def config_blob(layers: list[tuple[str, dict]], family: dict) -> bytes:
        """The image config of a model: format, family details and the layers' digests."""
        return go_json({
            "model_format": "gguf",
            **family,
            "architecture": _goarch(),
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [entry["digest"] for _, entry in layers]},
        })

    def write_manifest(self, name: ModelName, layers: list[tuple[str, dict]], config_layer: dict) -> None:
        """Writes the manifest of ``layers`` ((media type, layer entry) pairs) and a stored config."""
        manifest = {
            "schemaVersion": 2,
            "mediaType": MEDIA_MANIFEST,
            "config": {"mediaType": MEDIA_CONFIG, **config_layer},
            "layers": [{"mediaType": media, **entry} for media, entry in layers],
        }
        path = os.path.join(self.manifests_dir, *name.parts())
        os.makedirs(os.path.dirname(path), exist_ok=True)
        partial = os.path.join(os.path.dirname(path), f".{name.tag}.partial-{secrets.token_hex(4)}")
        with open(partial, "wb") as f:
            f.write(go_json(manifest))
        os.replace(partial, path)

    def copy(self, source: Model, destination: ModelName) -> None:
        path = os.path.join(self.manifests_dir, *destination.parts())
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(source.manifest_path, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(data)

    def remove(self, model: Model) -> None:
        """Deletes a model's manifest, then those of its blobs no other manifest uses."""
        with self.lock:
            os.remove(model.manifest_path)
            self._remove_empty_dirs(os.path.dirname(model.manifest_path))
            used = self._referenced_blobs()
            for digest in model.blobs if used is not None else []:
                path = self.blob_path(digest)
                if os.path.basename(path) not in used and os.path.exists(path):
                    os.remove(path)

    def _remove_empty_dirs(self, directory: str) -> None:
        while os.path.abspath(directory) != os.path.abspath(self.manifests_dir):
            try:
                os.rmdir(directory)
            except OSError:
                return
            directory = os.path.dirname(directory)

    def _referenced_blobs(self) -> set[str] | None:
        """File names of the blobs any manifest uses; None when a manifest cannot be read."""
        used = set()
        for path in self.names().values():
            try:
                with open(path, "rb") as f:
                    manifest = json.load(f)
                for layer in [manifest.get("config") or {}, *(manifest.get("layers") or [])]:
                    if layer.get("digest"):
                        used.add(os.path.basename(self.blob_path(layer["digest"])))
            except (OSError, ValueError, AttributeError):
                return None
        return used

    def prune_blobs(self) -> None:
        """At startup: removes blobs and leftover partial files that no manifest references.

        Like Ollama, nothing is pruned when a manifest is unreadable.
        """
        with self.lock:
            used = self._referenced_blobs()
            if used is None:
                slog("WARN", "corrupt manifests detected, skipping prune operation.  Re-pull or delete to clear")
                return
            for entry in os.listdir(self.blobs_dir):
                if entry.startswith("sha256-") and entry not in used:
                    os.remove(os.path.join(self.blobs_dir, entry))

    def pull(self, name: ModelName, emit: Callable[[dict], None]) -> None:
        """Installs a catalogue model, reporting progress like Ollama's registry pull."""
        emit({"status": "pulling manifest"})
        variant = catalogue_variant(name)
        if variant is None:
            raise ApiError(500, "pull model manifest: file does not exist")
        stored = self.find(name)
        target = stored[0] if stored else name
        contents = variant_layers(variant)
        family = {"model_family": variant.arch, "model_families": [variant.arch],
                  "model_type": variant.parameter_size, "file_type": variant.quantization}
        contents.append((MEDIA_CONFIG, self.config_blob([(m, {"digest": sha256_digest(d)}) for m, d in contents],
                                                        family)))
        layers = []
        for media, data in contents:  # the config is downloaded last, like a layer
            digest = sha256_digest(data)
            status = f"pulling {digest[7:19]}"
            emit({"status": status, "digest": digest, "total": len(data)})
            layers.append((media, self.add_blob(data)))
            emit({"status": status, "digest": digest, "total": len(data), "completed": len(data)})
        emit({"status": "verifying sha256 digest"})
        emit({"status": "writing manifest"})
        with self.lock:
            self.write_manifest(target, layers[:-1], layers[-1][1])
        emit({"status": "success"})


def _read_model_info(path: str) -> dict:
    """The metadata of a stand-in model file; {} for other files (e.g. uploaded blobs)."""
    with open(path, "rb") as f:
        if f.readline() != GGUF_HEADER:
            return {}
        try:
            return json.loads(f.readline())
        except ValueError:
            return {}


def _goarch() -> str:
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


# --------------------------------------------------------------------------- fake inference

_WORDS = (
    "the model answers every prompt with a short deterministic reply so that tests can watch "
    "tokens stream over http in small chunks while no real language model runs on this host "
    "llamas graze quietly near local servers and the gateway checks each request before it "
    "reaches ollama behind loopback"
).split()
REPLY_TOKENS = 20


@dataclass
class Reply:
    """A planned reply: its tokens, why it stops and the token counts Ollama reports."""

    tokens: list[str]
    done_reason: str
    prompt_tokens: int
    context: list[int]


def _token_id(word: str) -> int:
    return int.from_bytes(hashlib.sha256(word.encode()).digest()[:4], "big") % 128256


def plan_reply(model: str, prompt: str, options: dict) -> Reply:
    """Deterministic reply words derived from model and prompt; options.num_predict caps them."""
    count, reason = REPLY_TOKENS, "stop"
    limit = options.get("num_predict")
    if isinstance(limit, int) and not isinstance(limit, bool) and 0 <= limit < count:
        count, reason = limit, "length"
    digest = hashlib.shake_256(f"{model}\0{prompt}".encode()).digest(2 * REPLY_TOKENS)
    words = [_WORDS[int.from_bytes(digest[2 * i : 2 * i + 2], "big") % len(_WORDS)] for i in range(REPLY_TOKENS)]
    words[0] = words[0].capitalize()
    words[-1] += "."
    tokens = [w if i == 0 else " " + w for i, w in enumerate(words[:count])]
    prompt_words = prompt.split()
    return Reply(tokens, reason, len(prompt_words) + 1, [_token_id(w) for w in prompt_words + words[:count]])


def embed_text(model: str, text: str, dims: int) -> list[float]:
    """A deterministic unit vector for ``text``."""
    raw = hashlib.shake_256(f"{model}\0{text}".encode()).digest(2 * dims)
    values = [int.from_bytes(raw[2 * i : 2 * i + 2], "big") / 32767.5 - 1.0 for i in range(dims)]
    return normalize(values)


def normalize(values: list[float]) -> list[float]:
    norm = max(math.sqrt(sum(v * v for v in values)), 1e-12)
    return [round(v / norm, 8) for v in values]


# --------------------------------------------------------------------------- CORS and Host check


class CorsPolicy:
    """gin-contrib/cors as Ollama configures it: wildcards and browser-extension schemas allowed."""

    SCHEMAS = ("http://", "https://", "chrome-extension://", "safari-extension://", "moz-extension://",
               "ms-browser-extension://")
    METHODS = "GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS"
    HEADERS = ("Authorization,Content-Type,User-Agent,Accept,X-Requested-With,Openai-Beta,X-Stainless-Arch,"
               "X-Stainless-Async,X-Stainless-Custom-Poll-Interval,X-Stainless-Helper-Method,X-Stainless-Lang,"
               "X-Stainless-Os,X-Stainless-Package-Version,X-Stainless-Poll-Helper,X-Stainless-Retry-Count,"
               "X-Stainless-Runtime,X-Stainless-Runtime-Version,X-Stainless-Timeout")
    MAX_AGE = "43200"

    def __init__(self, origins: list[str]):
        """ValueError (Ollama panics) for an origin without '*' and without an allowed schema."""
        for origin in origins:
            if "*" not in origin and not origin.startswith(self.SCHEMAS):
                raise ValueError("bad origin: origins must contain '*' or include " + ",".join(self.SCHEMAS))
            if origin.count("*") > 1:
                raise ValueError("only one * is allowed")
        self.allow_all = "*" in origins
        self.exact = {o.strip().lower() for o in origins}
        self.wildcards = [tuple(o.split("*", 1)) for o in origins if "*" in o]

    @staticmethod
    def from_env() -> list[str]:
        """envconfig.AllowedOrigins: OLLAMA_ORIGINS entries, then the built-in local origins."""
        value = env("OLLAMA_ORIGINS")
        origins = value.split(",") if value else []
        for host in ("localhost", "127.0.0.1", "0.0.0.0"):
            origins += [f"http://{host}", f"https://{host}", f"http://{host}:*", f"https://{host}:*"]
        return origins + ["app://*", "file://*", "tauri://*", "vscode-webview://*", "vscode-file://*"]

    def allows(self, origin: str) -> bool:
        if self.allow_all or origin in self.exact:
            return True
        return any(origin.startswith(prefix) and origin.endswith(suffix) for prefix, suffix in self.wildcards)


def _unmapped(address: ipaddress.IPv4Address | ipaddress.IPv6Address):
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def _interface_addresses() -> set[str]:
    """Addresses of this machine's interfaces (Linux /proc), for Ollama's isLocalIP."""
    found = set()
    try:
        with open("/proc/net/if_inet6", encoding="ascii") as f:
            for line in f:
                found.add(str(ipaddress.IPv6Address(int(line.split()[0], 16))))
        with open("/proc/net/fib_trie", encoding="ascii") as f:
            previous = ""
            for line in f:
                if "/32 host LOCAL" in line:
                    found.add(previous)
                previous = line.strip().removeprefix("|-- ")
    except OSError:
        pass
    return found


def host_allowed_by_ip(host: str) -> bool:
    """The Host is a loopback, private, unspecified or own-interface IP address."""
    try:
        address = _unmapped(ipaddress.ip_address(host))
    except ValueError:
        return False
    if address.is_loopback or address.is_unspecified:
        return True
    private = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")  # Go's netip IsPrivate
    if any(address in ipaddress.ip_network(net) for net in private if ipaddress.ip_network(net).version ==
           address.version):
        return True
    return str(address) in _interface_addresses()


def host_allowed_by_name(host: str) -> bool:
    """Ollama's allowedHost: empty, localhost, this machine's hostname, *.localhost/.local/.internal."""
    host = host.lower()
    if host in ("", "localhost", socket.gethostname().lower()):
        return True
    return host.endswith((".localhost", ".local", ".internal"))


# --------------------------------------------------------------------------- HTTP server


@dataclass
class Settings:
    """What `ollama serve` reads from its environment."""

    host: HostSetting
    models_dir: str
    origins: list[str]
    keep_alive: float
    context_length: int
    num_parallel: int
    max_queue: int
    noprune: bool
    chunk_delay: float

    @classmethod
    def from_env(cls, home: str) -> Settings:
        try:
            delay = float(os.environ.get("OLLAMA_STANDIN_CHUNK_DELAY", "0.1"))
        except ValueError:
            delay = 0.1
        return cls(
            host=HostSetting.parse(env("OLLAMA_HOST")),
            models_dir=env("OLLAMA_MODELS") or os.path.join(home, ".ollama", "models"),
            origins=CorsPolicy.from_env(),
            keep_alive=keep_alive_from_env(),
            context_length=go_uint("OLLAMA_CONTEXT_LENGTH", 0),
            num_parallel=max(go_uint("OLLAMA_NUM_PARALLEL", 1), 1),
            max_queue=go_uint("OLLAMA_MAX_QUEUE", 512),
            noprune=go_bool("OLLAMA_NOPRUNE"),
            chunk_delay=max(delay, 0.0),
        )

    def log_values(self) -> str:
        """The ``server config`` log line's env map, like envconfig.Values()."""
        keep_alive = MAX_DURATION_NS if self.keep_alive == FOREVER else int(self.keep_alive * 1e9)
        values = {
            "OLLAMA_CONTEXT_LENGTH": self.context_length,
            "OLLAMA_DEBUG": "DEBUG" if go_bool("OLLAMA_DEBUG") else "INFO",
            "OLLAMA_FLASH_ATTENTION": str(go_bool("OLLAMA_FLASH_ATTENTION")).lower(),
            "OLLAMA_HOST": self.host.url,
            "OLLAMA_KEEP_ALIVE": go_duration(keep_alive),
            "OLLAMA_KV_CACHE_TYPE": env("OLLAMA_KV_CACHE_TYPE"),
            "OLLAMA_LOAD_TIMEOUT": env("OLLAMA_LOAD_TIMEOUT") or "5m0s",
            "OLLAMA_MAX_LOADED_MODELS": go_uint("OLLAMA_MAX_LOADED_MODELS", 0),
            "OLLAMA_MAX_QUEUE": self.max_queue,
            "OLLAMA_MODELS": self.models_dir,
            "OLLAMA_NOPRUNE": str(self.noprune).lower(),
            "OLLAMA_NO_CLOUD": str(go_bool("OLLAMA_NO_CLOUD")).lower(),
            "OLLAMA_NUM_PARALLEL": self.num_parallel,
            "OLLAMA_ORIGINS": "[" + " ".join(self.origins) + "]",
        }
        return "map[" + " ".join(f"{k}:{v}" for k, v in sorted(values.items())) + "]"


@dataclass
class Loaded:
    """A model the (pretend) scheduler holds in memory."""

    model: Model
    expires: float  # epoch seconds, FOREVER for a negative keep_alive
    context_length: int


class InferenceQueue:
    """At most OLLAMA_NUM_PARALLEL generations run at once; up to OLLAMA_MAX_QUEUE more wait for
    a slot, in order of arrival; beyond that a request gets 503 at once (Ollama's ErrMaxQueue)."""

    def __init__(self, parallel: int, max_queue: int):
        self._slots = threading.Semaphore(parallel)
        self._lock = threading.Lock()
        self._in_flight = 0
        self._limit = parallel + max_queue

    @contextmanager
    def slot(self):
        with self._lock:
            if self._in_flight >= self._limit:
                raise ApiError(503, "server busy, please try again.  maximum pending requests exceeded")
            self._in_flight += 1
        try:
            with self._slots:
                yield
        finally:
            with self._lock:
                self._in_flight -= 1


class OllamaServer(ThreadingHTTPServer):
    """The listening server and the state its handlers share."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    cors: CorsPolicy  # set once the routes are set up, before serving

    def __init__(self, address: tuple, family: int, settings: Settings, store: ModelStore):
        self.address_family = family
        self.settings = settings
        self.store = store
        self.queue = InferenceQueue(settings.num_parallel, settings.max_queue)
        self._loaded: dict[str, Loaded] = {}
        self._loaded_lock = threading.Lock()
        super().__init__(address, Handler)
        self.host_check = ipaddress.ip_address(self.server_address[0]).is_loopback

    def server_bind(self):
        """Binds without HTTPServer's reverse-DNS lookup; "::" also accepts IPv4, like Go."""
        if self.address_family == socket.AF_INET6 and self.server_address[0] == "::":
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def listen_address(self) -> str:
        return join_host_port(self.server_address[0], self.server_address[1])

    # -- loaded models, as reported by /api/ps

    def touch(self, model: Model, keep_alive: float | None, options: dict) -> None:
        """Marks a model loaded until now + keep_alive (request value, else OLLAMA_KEEP_ALIVE)."""
        seconds = self.settings.keep_alive if keep_alive is None else keep_alive
        num_ctx = options.get("num_ctx")
        if not isinstance(num_ctx, int) or isinstance(num_ctx, bool) or num_ctx <= 0:
            num_ctx = self.settings.context_length or 4096
        with self._loaded_lock:
            self._loaded[model.name.display()] = Loaded(model, time.time() + seconds, num_ctx)

    def unload(self, model: Model) -> None:
        with self._loaded_lock:
            self._loaded.pop(model.name.display(), None)

    def running(self) -> list[Loaded]:
        now = time.time()
        with self._loaded_lock:
            for name in [n for n, entry in self._loaded.items() if entry.expires <= now]:
                del self._loaded[name]
            return sorted(self._loaded.values(), key=lambda entry: -entry.expires)


class RequestBody:
    """A request body sent with Content-Length or chunked transfer encoding, read on demand."""

    def __init__(self, rfile, headers):
        self._rfile = rfile
        self.chunked = "chunked" in headers.get("Transfer-Encoding", "").lower()
        length = headers.get("Content-Length")
        if not self.chunked and length is not None and not length.strip().isdigit():
            raise ValueError("bad Content-Length")
        self._remaining = 0 if self.chunked else int(length or 0)
        self.done = not self.chunked and self._remaining == 0
        self.broken = False

    def chunks(self, size: int = 1 << 20) -> Iterator[bytes]:
        while not self.done:
            if self.chunked:
                line = self._rfile.readline(1024)
                try:
                    chunk_size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    self.done = self.broken = True
                    raise ApiError(400, "invalid byte in chunk length") from None
                if chunk_size == 0:
                    while self._rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailer fields
                    self.done = True
                    return
                data = self._rfile.read(chunk_size)
                self._rfile.readline(1024)
                if len(data) < chunk_size:
                    raise ConnectionResetError("request body truncated")
                yield data
            else:
                data = self._rfile.read(min(size, self._remaining))
                if not data:
                    raise ConnectionResetError("request body truncated")
                self._remaining -= len(data)
                self.done = self._remaining == 0
                yield data

    def read(self) -> bytes:
        return b"".join(self.chunks())

    def drain(self, limit: int = 256 * 1024) -> bool:
        """Discards what is left of a small body so the connection can be reused."""
        if self.done:
            return not self.broken
        if not self.chunked and self._remaining > limit:
            return False
        read = 0
        for chunk in self.chunks():
            read += len(chunk)
            if read > limit:
                return False
        return True


ROUTES = [
    ("GET", "/", "h_root"), ("HEAD", "/", "h_root"),
    ("GET", "/api/version", "h_version"), ("HEAD", "/api/version", "h_version"),
    ("POST", "/api/pull", "h_pull"), ("POST", "/api/push", "h_push"),
    ("GET", "/api/tags", "h_tags"), ("HEAD", "/api/tags", "h_tags"),
    ("POST", "/api/show", "h_show"), ("DELETE", "/api/delete", "h_delete"),
    ("POST", "/api/create", "h_create"), ("POST", "/api/copy", "h_copy"),
    ("POST", "/api/blobs/:digest", "h_create_blob"), ("HEAD", "/api/blobs/:digest", "h_head_blob"),
    ("GET", "/api/ps", "h_ps"), ("POST", "/api/generate", "h_generate"), ("POST", "/api/chat", "h_chat"),
    ("POST", "/api/embed", "h_embed"), ("POST", "/api/embeddings", "h_embeddings"),
    ("POST", "/v1/chat/completions", "h_openai_chat"), ("POST", "/v1/completions", "h_openai_completions"),
    ("POST", "/v1/embeddings", "h_openai_embeddings"),
    ("GET", "/v1/models", "h_openai_models"), ("GET", "/v1/models/:model", "h_openai_model"),
    ("POST", "/v1/responses", "h_openai_responses"),
    ("POST", "/v1/images/generations", "h_openai_images"), ("POST", "/v1/images/edits", "h_openai_images"),
    ("POST", "/v1/audio/transcriptions", "h_openai_transcriptions"),
    # Anthropic compatibility
    ("POST", "/v1/messages", "h_anthropic_messages"),
    # ollama.com account and cloud features (this server is never signed in)
    ("GET", "/api/status", "h_status"),
    ("POST", "/api/me", "h_me"), ("POST", "/api/signout", "h_signout"),
    ("DELETE", "/api/user/keys/:encodedKey", "h_signout"),
    ("POST", "/api/experimental/web_search", "h_cloud_only"), ("POST", "/api/experimental/web_fetch", "h_cloud_only"),
]
_ROUTE_PATTERNS = [(m, re.compile(re.sub(r":(\w+)", r"(?P<\1>[^/]+)", p)), h) for m, p, h in ROUTES]


def match_route(method: str, path: str) -> tuple[str, dict] | None:
    for route_method, pattern, handler in _ROUTE_PATTERNS:
        found = pattern.fullmatch(path)
        if found and route_method == method:
            return handler, found.groupdict()
    return None


def now_ns() -> int:
    return time.time_ns()


class Handler(BaseHTTPRequestHandler):
    """One connection; requests go through CORS, the Host check, then gin-like routing."""

    protocol_version = "HTTP/1.1"
    server: OllamaServer
    _extra_headers: list = ()  # per request; a default for errors BaseHTTPRequestHandler answers itself

    def do_GET(self):
        self._handle()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    # -- plumbing

    def _handle(self) -> None:
        started = time.monotonic()
        self._status = 0
        self._extra_headers: list[tuple[str, str]] = []
        self._stream_open = False
        self._openai = False
        self._struct = ""
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        try:
            self._body = RequestBody(self.rfile, self.headers)
            if self.request_version == "HTTP/1.1" and "Host" not in self.headers:
                raise ValueError("missing required Host header")
        except ValueError as exc:
            self.close_connection = True
            self._send(400, f"400 Bad Request: {exc}".encode(), TEXT_UTF8)
            return
        try:
            if self._cors_passes() and self._host_passes():
                self._route(path)
        except ApiError as exc:
            self._fail(exc)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:  # gin's Recovery middleware: log, answer 500
            traceback.print_exc()
            if not self._status:
                self._send(500)
            self.close_connection = True
        finally:
            if not self.close_connection and not self._body.drain():
                self.close_connection = True
            self._log_request(started, path)

    def send_response(self, code, message=None):
        """Like BaseHTTPRequestHandler's, without a Server header (Go sends none); logs later."""
        self._status = code
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def end_headers(self):
        for name, value in self._extra_headers:
            self.send_header(name, value)
        super().end_headers()

    def log_message(self, format, *args):  # noqa: A002 - BaseHTTPRequestHandler's signature
        sys.stderr.write(f"[GIN] {self.address_string()} {format % args}\n")

    def _log_request(self, started: float, path: str) -> None:
        """gin's request log line."""
        elapsed = go_duration(int((time.monotonic() - started) * 1e9))
        stamp = datetime.now().strftime("%Y/%m/%d - %H:%M:%S")
        sys.stderr.write(f'[GIN] {stamp} | {self._status:3d} | {elapsed:>13} | {self.client_address[0]:>15} | '
                         f'{self.command:<7} "{path}"\n')
        sys.stderr.flush()

    def _send(self, status: int, body: bytes = b"", content_type: str | None = None) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        if status not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _json(self, status: int, value, content_type: str = JSON_UTF8, newline: bool = False) -> None:
        self._send(status, go_json(value) + (b"\n" if newline else b""), content_type)

    def _fail(self, exc: ApiError) -> None:
        """Answers an error: a JSON line mid-stream, OpenAI's shape on /v1 routes, else {"error"}."""
        if self._stream_open:
            self._chunk(go_json({"error": exc.message}) + b"\n")
            self._end_stream()
        elif self._openai:
            error = {"message": exc.message, "type": exc.openai_type or "api_error", "param": None, "code": None}
            if exc.openai_type:
                self._json(exc.status, {"error": error})
            else:
                self._json(exc.status, {"error": error}, "application/json", newline=True)
        else:
            self._json(exc.status, {"error": exc.message})

    def _start_stream(self, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        if self.request_version == "HTTP/1.1":
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.close_connection = True
        self.end_headers()
        self._stream_open = True

    def _chunk(self, data: bytes) -> None:
        """Sends one chunk (one NDJSON line or SSE event) and flushes it at once."""
        if self.request_version == "HTTP/1.1":
            data = b"%x\r\n%s\r\n" % (len(data), data)
        self.wfile.write(data)
        self.wfile.flush()

    def _end_stream(self) -> None:
        if self.request_version == "HTTP/1.1":
            self.wfile.write(b"0\r\n\r\n")
        self._stream_open = False

    # -- middleware

    def _cors_passes(self) -> bool:
        """gin-contrib/cors; False when it has answered (403, or 204 to a preflight)."""
        origin = self.headers.get("Origin", "")
        host = self.headers.get("Host", "")
        if not origin or origin in (f"http://{host}", f"https://{host}"):
            return True
        cors = self.server.cors
        if not cors.allows(origin):
            self._send(403)
            return False
        if self.command == "OPTIONS":
            self._extra_headers += [("Access-Control-Allow-Methods", cors.METHODS),
                                    ("Access-Control-Allow-Headers", cors.HEADERS),
                                    ("Access-Control-Max-Age", cors.MAX_AGE)]
        if cors.allow_all:
            self._extra_headers.append(("Access-Control-Allow-Origin", "*"))
        else:
            self._extra_headers += [("Vary", "Origin"), ("Access-Control-Allow-Origin", origin)]
            if self.command == "OPTIONS":
                self._extra_headers += [("Vary", "Access-Control-Request-Method"),
                                        ("Vary", "Access-Control-Request-Headers")]
        if self.command == "OPTIONS":
            self._send(204)
            return False
        return True

    def _host_passes(self) -> bool:
        """Ollama's allowedHostsMiddleware, active only when listening on a loopback address."""
        if not self.server.host_check:
            return True
        raw = self.headers.get("Host", "")
        split = split_host_port(raw)
        host = split[0] if split else raw
        if host_allowed_by_ip(host):
            return True
        if host_allowed_by_name(host):
            if self.command == "OPTIONS":
                self._send(204)
                return False
            return True
        self._send(403)
        return False

    def _route(self, path: str) -> None:
        found = match_route(self.command, path)
        if found:
            handler, params = found
            getattr(self, handler)(**params)
            if not self._status:  # the handler wrote nothing: gin answers 200 with no body
                self._send(200)
            return
        alternative = path[:-1] if path.endswith("/") else path + "/"
        if path != "/" and match_route(self.command, alternative):  # gin's RedirectTrailingSlash
            code = 301 if self.command == "GET" else 307
            self._extra_headers.append(("Location", alternative))
            self._send(code, f'<a href="{alternative}">Moved Permanently</a>.\n\n'.encode() if code == 301 else b"",
                       "text/html; charset=utf-8" if code == 301 else None)
        elif any(pattern.fullmatch(path) for _, pattern, _ in _ROUTE_PATTERNS):
            self._send(405, b"405 method not allowed", "text/plain")
        else:
            self._send(404, b"404 page not found", "text/plain")

    # -- request parsing

    def _bad_request(self, message: str) -> ApiError:
        """A 400 for a body that does not decode (on /v1 routes, the OpenAI layer's own error)."""
        return ApiError(400, message, "invalid_request_error" if self._openai else None)

    def _json_body(self, struct: str) -> dict:
        """Decodes the first JSON value of the body, like gin's ShouldBindJSON into ``struct``."""
        self._struct = struct.rsplit(".", 1)[-1]
        text = self._body.read().decode("utf-8", errors="replace").lstrip()
        if not text:
            raise self._bad_request("missing request body")
        try:
            value, _ = json.JSONDecoder().raw_decode(text)
        except json.JSONDecodeError as exc:
            raise self._bad_request("unexpected EOF" if exc.pos >= len(text) else
                                    f"invalid character {text[exc.pos]!r} looking for beginning of value") from None
        if not isinstance(value, dict):
            raise self._bad_request(f"json: cannot unmarshal {json_kind(value)} into Go value of type {struct}")
        return value

    _GO_TYPES = {str: "string", bool: "bool", dict: "map[string]interface {}", list: "[]interface {}",
                 int: "int"}

    def _get(self, req: dict, key: str, kind: type, default=None):
        """A request field, checked like Go's decoder checks the struct field's type."""
        value = req.get(key)
        if value is None:
            return default
        wrong_bool = isinstance(value, bool) and kind is not bool
        if not isinstance(value, kind) or wrong_bool:
            raise self._bad_request(f"json: cannot unmarshal {json_kind(value)} into Go struct field "
                                    f"{self._struct}.{key} of type {self._GO_TYPES[kind]}")
        return value

    def _model_name(self, req: dict) -> str:
        return self._get(req, "model", str, "") or self._get(req, "name", str, "")

    def _check_images(self, images: list) -> None:
        """Images must be base64 strings (Go decodes them into []byte)."""
        for image in images:
            if not isinstance(image, str):
                raise ApiError(400, f"json: cannot unmarshal {json_kind(image)} into Go struct field "
                                    f"{self._struct}.images of type api.ImageData")
            try:
                base64.b64decode(image, validate=True)
            except ValueError:
                bad = re.search(r"[^A-Za-z0-9+/=]", image)
                raise ApiError(400, f"illegal base64 data at input byte {bad.start() if bad else len(image)}") \
                    from None

    def _local_model(self, raw: str, message: str | None = None) -> Model:
        """The stored model named ``raw``; 404 "model '<raw>' not found" (or ``message``)."""
        name = ModelName.parse(raw)
        model = self.server.store.load(name) if name else None
        if model is None:
            raise ApiError(404, message or f"model '{raw}' not found")
        return model

    # -- general

    def h_root(self):
        self._send(200, b"Ollama is running", TEXT_UTF8)

    def h_version(self):
        self._json(200, {"version": VERSION})

    # -- model management

    def _list_entry(self, model: Model) -> dict:
        return {
            "name": model.name.display(),
            "model": model.name.display(),
            "modified_at": go_time(model.modified_ns),
            "size": model.size,
            "digest": model.digest,
            "details": model.details(),
        }

    def h_tags(self):
        models = sorted(self.server.store.models(), key=lambda m: -(m.modified_ns // 10**9))
        self._json(200, {"models": [self._list_entry(m) for m in models]})

    def h_ps(self):
        running = []
        for entry in self.server.running():
            model = entry.model
            expires = MAX_DURATION_NS + now_ns() if entry.expires == FOREVER else int(entry.expires * 1e9)
            running.append({
                "name": model.name.display(),
                "model": model.name.display(),
                "size": model.size,
                "digest": model.digest,
                "details": model.details(),
                "expires_at": go_time(expires),
                "size_vram": 0,
                "context_length": entry.context_length,
            })
        self._json(200, {"models": running})

    def h_show(self):
        req = self._json_body("api.ShowRequest")
        raw = self._model_name(req)
        if not raw:
            raise ApiError(400, "model is required")
        name = ModelName.parse(raw)
        if name is None:
            raise ApiError(400, "invalid model name")
        model = self.server.store.load(name)
        if model is None:
            raise ApiError(404, f"model '{name.display()}' not found")
        self._json(200, self._show_response(model, self._get(req, "system", str, "")))

    def _show_response(self, model: Model, system: str = "") -> dict:
        system = system or model.system
        params = []
        for key in sorted(model.params):
            values = model.params[key] if isinstance(model.params[key], list) else [model.params[key]]
            params += [f"{key:<30} {go_quote(v) if isinstance(v, str) else json.dumps(v)}" for v in values]
        modelfile = [f"FROM {model.model_path}"]
        if model.template:
            modelfile.append(f'TEMPLATE """{model.template}"""')
        if system:
            modelfile.append(f'SYSTEM """{system}"""')
        for key in sorted(model.params):
            values = model.params[key] if isinstance(model.params[key], list) else [model.params[key]]
            modelfile += [f"PARAMETER {key} {v}" for v in values]
        modelfile += [f'LICENSE """{text}"""' for text in model.licenses]
        response = {
            "license": "\n".join(model.licenses),
            "modelfile": "# Modelfile generated by \"ollama show\"\n"
                         "# To build a new Modelfile based on this, replace FROM with:\n"
                         f"# FROM {model.name.display()}\n\n" + "\n".join(modelfile) + "\n",
            "parameters": "\n".join(params),
            "template": model.template,
            "system": system,
            "details": model.details(),
            "model_info": {k: v for k, v in model.info.items() if k != "general.name"},
            "capabilities": model.capabilities,
            "modified_at": go_time(model.modified_ns),
        }
        return {k: v for k, v in response.items() if v != ""}

    def _progress(self, stream: bool, produce: Callable[[Callable[[dict], None]], None]) -> None:
        """Runs ``produce(emit)`` and answers like Ollama's streamResponse / waitForStream."""
        latest: dict = {}

        def emit(update: dict) -> None:
            nonlocal latest
            if stream:
                if not self._stream_open:
                    self._start_stream("application/x-ndjson")
                self._chunk(go_json(update) + b"\n")
            latest = update

        try:
            produce(emit)
        except ApiError as exc:
            if self._stream_open:
                raise
            self._json(exc.status, {"error": exc.message}, "application/json")
            return
        if stream:
            if not self._stream_open:
                self._start_stream("application/x-ndjson")
            self._end_stream()
        else:
            self._json(200, latest, "application/json")

    def h_pull(self):
        req = self._json_body("api.PullRequest")
        name = ModelName.parse(self._model_name(req))
        if name is None:
            raise ApiError(400, "invalid model name")
        self._progress(self._get(req, "stream", bool, True), lambda emit: self.server.store.pull(name, emit))

    def h_push(self):
        req = self._json_body("api.PushRequest")
        raw = self._model_name(req)
        if not raw:
            raise ApiError(400, "model is required")
        name = ModelName.parse(raw)

        def produce(emit):
            found = self.server.store.find(name) if name else None
            if found is None:
                emit({"status": "couldn't retrieve manifest"})
                path = os.path.join(self.server.store.manifests_dir, *(name.parts() if name else (raw,)))
                raise ApiError(500, f"open {path}: no such file or directory")
            emit({"status": "retrieving manifest"})
            raise ApiError(500, f'Post "https://{name.host}/v2/{name.namespace}/{name.model}/blobs/uploads/": '
                                f"dial tcp: lookup {name.host}: no such host")

        self._progress(self._get(req, "stream", bool, True), produce)

    def h_delete(self):
        req = self._json_body("api.DeleteRequest")
        raw = self._model_name(req)
        name = ModelName.parse(raw)
        if name is None:
            raise ApiError(400, f"name {go_quote(raw)} is invalid")
        model = self.server.store.load(name)
        if model is None:
            raise ApiError(404, f"model '{raw}' not found")
        self.server.unload(model)
        self.server.store.remove(model)

    def h_copy(self):
        req = self._json_body("api.CopyRequest")
        source, destination = self._get(req, "source", str, ""), self._get(req, "destination", str, "")
        src = ModelName.parse(source)
        if src is None:
            raise ApiError(400, f"source {go_quote(source)} is invalid")
        dst = ModelName.parse(destination)
        if dst is None:
            raise ApiError(400, f"destination {go_quote(destination)} is invalid")
        model = self.server.store.load(src)
        if model is None:
            raise ApiError(404, f"model {go_quote(source)} not found")
        with self.server.store.lock:
            stored = self.server.store.find(dst)
            self.server.store.copy(model, stored[0] if stored else dst)

    def h_head_blob(self, digest: str):
        try:
            path = self.server.store.blob_path(digest)
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
        if not os.path.isfile(path):
            raise ApiError(404, f"blob {go_quote(digest)} not found")
        self._send(200)

    def h_create_blob(self, digest: str):
        store = self.server.store
        try:
            path = store.blob_path(digest)
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
        if os.path.isfile(path):
            self._send(200)
            return
        actual, partial = store.receive_blob(self._body.chunks())
        if actual != digest.replace("sha256-", "sha256:", 1).lower():
            os.remove(partial)
            raise ApiError(400, f"digest mismatch, expected {go_quote(digest)}, got {go_quote(actual)}")
        os.replace(partial, path)
        self._send(201)

    def h_create(self):
        req = self._json_body("api.CreateRequest")
        name = ModelName.parse(self._model_name(req))
        if name is None:
            raise ApiError(400, "invalid model name")
        source, files = self._get(req, "from", str, ""), self._get(req, "files", dict, {})
        if not source and not files:
            raise ApiError(400, "neither 'from' or 'files' was specified")
        store = self.server.store

        def produce(emit):
            def emit_pull(update: dict) -> None:
                if update["status"] != "success":  # the pull is one step of the create
                    emit(update)

            layers, family = [], {}
            if source:
                base_name = ModelName.parse(source)
                if base_name is None:
                    raise ApiError(400, "invalid model name")
                if store.find(base_name) is None:
                    store.pull(base_name, emit_pull)
                base = store.load(base_name)
                family = {k: base.config[k] for k in ("model_family", "model_families", "model_type", "file_type")
                          if k in base.config}
                layers = [(layer["mediaType"], {"digest": layer["digest"], "size": layer["size"]})
                          for layer in base.layers]
            for filename, digest in files.items():
                try:
                    if not os.path.isfile(store.blob_path(str(digest))):
                        raise ValueError
                except ValueError:
                    raise ApiError(400, f"file {filename} with digest {digest} not found") from None
                emit({"status": "parsing GGUF"})
                layers.append((MEDIA_MODEL, {"digest": str(digest).replace("sha256-", "sha256:", 1),
                                             "size": os.path.getsize(store.blob_path(str(digest)))}))
            for _, entry in layers:
                emit({"status": f"using existing layer {entry['digest']}"})
            overrides = {MEDIA_TEMPLATE: self._get(req, "template", str, ""),
                         MEDIA_SYSTEM: self._get(req, "system", str, ""),
                         MEDIA_LICENSE: self._license_text(req.get("license"))}
            parameters = self._get(req, "parameters", dict, {})
            if parameters:
                overrides[MEDIA_PARAMS] = go_json(parameters).decode()
            for media, text in overrides.items():
                if text:
                    layers = [layer for layer in layers if layer[0] != media]
                    entry = store.add_blob(text.encode())
                    emit({"status": f"creating new layer {entry['digest']}"})
                    layers.append((media, entry))
            config = store.add_blob(store.config_blob(layers, family))
            emit({"status": "writing manifest"})
            with store.lock:
                stored = store.find(name)
                store.write_manifest(stored[0] if stored else name, layers, config)
            emit({"status": "success"})

        self._progress(self._get(req, "stream", bool, True), produce)

    @staticmethod
    def _license_text(value) -> str:
        if isinstance(value, list):
            return "\n".join(str(v) for v in value)
        return value if isinstance(value, str) else ""

    # -- inference

    def _reply_events(self, model: Model, prompt: str, options: dict, started: float) -> Iterator[dict]:
        """Ollama's completion callbacks: one event per token, then the final metrics."""
        reply = plan_reply(model.name.display(), prompt, options)
        loaded = time.monotonic()
        for token in reply.tokens:
            time.sleep(self.server.settings.chunk_delay)
            yield {"content": token, "done": False}
        finished = time.monotonic()
        yield {
            "content": "",
            "done": True,
            "done_reason": reply.done_reason,
            "context": reply.context,
            "metrics": {
                "total_duration": int((finished - started) * 1e9),
                "load_duration": int((loaded - started) * 1e9),
                "prompt_eval_count": reply.prompt_tokens,
                "prompt_eval_duration": reply.prompt_tokens * 150_000,
                "eval_count": len(reply.tokens),
                "eval_duration": int((finished - loaded) * 1e9),
            },
        }

    def _generate_responses(self, raw: str, model: Model, prompt: str, options: dict,
                            started: float) -> Iterator[dict]:
        for event in self._reply_events(model, prompt, options, started):
            response = {"model": raw, "created_at": go_time(now_ns(), utc=True), "response": event["content"],
                        "done": event["done"]}
            if event["done"]:
                response.update(done_reason=event["done_reason"], context=event["context"], **event["metrics"])
            yield response

    def _chat_responses(self, raw: str, model: Model, prompt: str, options: dict, started: float) -> Iterator[dict]:
        for event in self._reply_events(model, prompt, options, started):
            response = {"model": raw, "created_at": go_time(now_ns(), utc=True),
                        "message": {"role": "assistant", "content": event["content"]}, "done": event["done"]}
            if event["done"]:
                response.update(done_reason=event["done_reason"], **event["metrics"])
            yield response

    def _stream_ndjson(self, responses: Iterator[dict]) -> None:
        self._start_stream("application/x-ndjson")
        for response in responses:
            self._chunk(go_json(response) + b"\n")
        self._end_stream()

    def _chat_messages(self, messages: list) -> str:
        """Validates api.Message entries; returns the conversation as the prompt text."""
        lines = []
        for message in messages:
            if not isinstance(message, dict):
                raise ApiError(400, f"json: cannot unmarshal {json_kind(message)} into Go struct field "
                                    f"{self._struct}.messages of type api.Message")
            role = self._get(message, "role", str, "")
            content = self._get(message, "content", str, "")
            self._check_images(self._get(message, "images", list, []))
            lines.append(f"{role}: {content}")
        return "\n".join(lines)

    def h_generate(self):
        started = time.monotonic()
        req = self._json_body("api.GenerateRequest")
        raw = self._get(req, "model", str, "")
        prompt = self._get(req, "prompt", str, "")
        system = self._get(req, "system", str, "")
        options = self._get(req, "options", dict, {})
        stream = self._get(req, "stream", bool, True)
        keep_alive = keep_alive_from_request(req.get("keep_alive"))
        self._check_images(self._get(req, "images", list, []))
        model = self._local_model(raw)
        if not prompt and keep_alive == 0:
            self.server.unload(model)
            self._json(200, {"model": raw, "created_at": go_time(now_ns(), utc=True), "response": "", "done": True,
                             "done_reason": "unload"})
            return
        if "completion" not in model.capabilities:
            raise ApiError(400, f"{go_quote(raw)} does not support generate")
        with self.server.queue.slot():
            self.server.touch(model, keep_alive, options)
            if not prompt:
                self._json(200, {"model": raw, "created_at": go_time(now_ns(), utc=True), "response": "",
                                 "done": True, "done_reason": "load"})
                return
            responses = self._generate_responses(raw, model, f"{system or model.system}\n{prompt}".strip(), options,
                                                 started)
            if stream:
                self._stream_ndjson(responses)
            else:
                collected = list(responses)
                final = collected[-1]
                final["response"] = "".join(r["response"] for r in collected)
                self._json(200, final)
            self.server.touch(model, keep_alive, options)

    def h_chat(self):
        started = time.monotonic()
        req = self._json_body("api.ChatRequest")
        raw = self._get(req, "model", str, "")
        messages = self._get(req, "messages", list, [])
        options = self._get(req, "options", dict, {})
        stream = self._get(req, "stream", bool, True)
        keep_alive = keep_alive_from_request(req.get("keep_alive"))
        prompt = self._chat_messages(messages)
        if not raw or ModelName.parse(raw) is None:
            raise ApiError(400, "model is required")
        model = self._local_model(raw)
        empty = {"model": raw, "created_at": go_time(now_ns(), utc=True),
                 "message": {"role": "assistant", "content": ""}, "done": True}
        if not messages and keep_alive == 0:
            self.server.unload(model)
            self._json(200, {**empty, "done_reason": "unload"})
            return
        if "completion" not in model.capabilities:
            raise ApiError(400, f"{go_quote(raw)} does not support chat")
        with self.server.queue.slot():
            self.server.touch(model, keep_alive, options)
            if not messages:
                self._json(200, {**empty, "done_reason": "load"})
                return
            responses = self._chat_responses(raw, model, prompt, options, started)
            if stream:
                self._stream_ndjson(responses)
            else:
                collected = list(responses)
                final = collected[-1]
                final["message"]["content"] = "".join(r["message"]["content"] for r in collected)
                self._json(200, final)
            self.server.touch(model, keep_alive, options)

    def _embed_inputs(self, value) -> list[str]:
        if value is None:
            return []
        if isinstance(value, str):
            return [value] if value else []
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        raise ApiError(400, "invalid input type")

    def _embed(self, req: dict, started: float) -> tuple[str, list[list[float]], int, int]:
        """/api/embed's work: (model as given, embeddings, load ns, prompt tokens)."""
        raw = self._get(req, "model", str, "")
        inputs = self._embed_inputs(req.get("input"))
        dimensions = self._get(req, "dimensions", int, 0)
        options = self._get(req, "options", dict, {})
        keep_alive = keep_alive_from_request(req.get("keep_alive"))
        model = self._local_model(raw)
        with self.server.queue.slot():
            self.server.touch(model, keep_alive, options)
            loaded = int((time.monotonic() - started) * 1e9)
            vectors = []
            for text in inputs:
                vector = embed_text(model.name.display(), text, model.embedding_length)
                if 0 < dimensions < len(vector):
                    vector = normalize(vector[:dimensions])
                vectors.append(vector)
        return raw, vectors, loaded, sum(len(text.split()) + 2 for text in inputs)

    def h_embed(self):
        started = time.monotonic()
        raw, vectors, loaded, tokens = self._embed(self._json_body("api.EmbedRequest"), started)
        if not vectors:
            self._json(200, {"model": raw, "embeddings": []})
            return
        self._json(200, {"model": raw, "embeddings": vectors, "total_duration": int((time.monotonic() - started) * 1e9),
                         "load_duration": loaded, "prompt_eval_count": tokens})

    def h_embeddings(self):
        req = self._json_body("api.EmbeddingRequest")
        raw = self._get(req, "model", str, "")
        prompt = self._get(req, "prompt", str, "")
        if ModelName.parse(raw) is None:
            raise ApiError(400, "model is required")
        model = self._local_model(raw, message=f"model {go_quote(raw)} not found, try pulling it first")
        self.server.touch(model, keep_alive_from_request(req.get("keep_alive")), self._get(req, "options", dict, {}))
        vector = embed_text(model.name.display(), prompt, model.embedding_length) if prompt else []
        self._json(200, {"embedding": vector})

    # -- OpenAI compatibility (/v1)

    def _openai_request(self, struct: str) -> dict:
        self._openai = True
        return self._json_body(struct)

    def _openai_options(self, req: dict) -> dict:
        options = {}
        for source, target in (("max_tokens", "num_predict"), ("seed", "seed"), ("temperature", "temperature"),
                               ("top_p", "top_p")):
            if req.get(source) is not None:
                options[target] = req[source]
        return options

    def _sse(self, events: Iterator[dict]) -> None:
        self._start_stream("text/event-stream")
        for event in events:
            self._chunk(b"data: " + go_json(event) + b"\n\n")
        self._chunk(b"data: [DONE]\n\n")
        self._end_stream()

    def _openai_messages(self, messages) -> str:
        if not isinstance(messages, list) or not messages:
            raise ApiError(400, "[] is too short - 'messages'", "invalid_request_error")
        lines = []
        for message in messages:
            content = message.get("content") if isinstance(message, dict) else None
            if isinstance(content, list):
                parts = [p.get("text") for p in content if isinstance(p, dict) and p.get("type") == "text"]
                if not all(isinstance(p, str) for p in parts):
                    raise ApiError(400, "invalid message format", "invalid_request_error")
                content = " ".join(parts)
            if not isinstance(content, str):
                raise ApiError(400, f"invalid message content type: {type(content).__name__}", "invalid_request_error")
            lines.append(f"{message.get('role', '')}: {content}")
        return "\n".join(lines)

    @staticmethod
    def _usage(final: dict) -> dict:
        prompt, completion = final.get("prompt_eval_count", 0), final.get("eval_count", 0)
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    def h_openai_chat(self):
        started = time.monotonic()
        req = self._openai_request("openai.ChatCompletionRequest")
        raw = self._get(req, "model", str, "")
        prompt = self._openai_messages(req.get("messages"))
        stream = self._get(req, "stream", bool, False)
        include_usage = bool((self._get(req, "stream_options", dict, {}) or {}).get("include_usage"))
        options = self._openai_options(req)
        model = self._local_model(raw)
        if "completion" not in model.capabilities:
            raise ApiError(400, f"{go_quote(raw)} does not support chat")
        completion_id = f"chatcmpl-{random.randrange(999)}"
        with self.server.queue.slot():
            self.server.touch(model, None, options)
            responses = self._chat_responses(raw, model, prompt, options, started)
            if stream:
                self._sse(self._openai_chat_chunks(completion_id, responses, include_usage))
                return
            collected = list(responses)
            final = collected[-1]
            self._json(200, {
                "id": completion_id, "object": "chat.completion", "created": int(time.time()), "model": raw,
                "system_fingerprint": "fp_ollama",
                "choices": [{"index": 0, "message": {"role": "assistant",
                                                     "content": "".join(r["message"]["content"] for r in collected)},
                             "finish_reason": final["done_reason"]}],
                "usage": self._usage(final),
            }, "application/json", newline=True)

    def _openai_chat_chunks(self, completion_id: str, responses: Iterator[dict], include_usage: bool):
        final = {}
        for response in responses:
            final = response
            yield {"id": completion_id, "object": "chat.completion.chunk", "created": int(time.time()),
                   "model": response["model"], "system_fingerprint": "fp_ollama",
                   "choices": [{"index": 0, "delta": {"role": "assistant", "content": response["message"]["content"]},
                                "finish_reason": response.get("done_reason")}]}
        if include_usage:
            yield {"id": completion_id, "object": "chat.completion.chunk", "created": int(time.time()),
                   "model": final.get("model", ""), "system_fingerprint": "fp_ollama", "choices": [],
                   "usage": self._usage(final)}

    def h_openai_completions(self):
        started = time.monotonic()
        req = self._openai_request("openai.CompletionRequest")
        raw = self._get(req, "model", str, "")
        prompt = self._get(req, "prompt", str, "")
        stream = self._get(req, "stream", bool, False)
        include_usage = bool((self._get(req, "stream_options", dict, {}) or {}).get("include_usage"))
        options = self._openai_options(req)
        model = self._local_model(raw)
        if "completion" not in model.capabilities:
            raise ApiError(400, f"{go_quote(raw)} does not support generate")
        completion_id = f"cmpl-{random.randrange(999)}"
        with self.server.queue.slot():
            self.server.touch(model, None, options)
            responses = self._generate_responses(raw, model, prompt, options, started)
            if stream:
                self._sse(self._openai_completion_chunks(completion_id, responses, include_usage))
                return
            collected = list(responses)
            final = collected[-1]
            self._json(200, {
                "id": completion_id, "object": "text_completion", "created": int(time.time()), "model": raw,
                "system_fingerprint": "fp_ollama",
                "choices": [{"text": "".join(r["response"] for r in collected), "index": 0,
                             "finish_reason": final["done_reason"]}],
                "usage": self._usage(final),
            }, "application/json", newline=True)

    def _openai_completion_chunks(self, completion_id: str, responses: Iterator[dict], include_usage: bool):
        final = {}
        for response in responses:
            final = response
            yield {"id": completion_id, "object": "text_completion", "created": int(time.time()),
                   "choices": [{"text": response["response"], "index": 0,
                                "finish_reason": response.get("done_reason")}],
                   "model": response["model"], "system_fingerprint": "fp_ollama"}
        if include_usage:
            yield {"id": completion_id, "object": "text_completion", "created": int(time.time()), "choices": [],
                   "model": final.get("model", ""), "system_fingerprint": "fp_ollama", "usage": self._usage(final)}

    def h_openai_embeddings(self):
        started = time.monotonic()
        req = self._openai_request("openai.EmbedRequest")
        value = req.get("input")
        if value in (None, "", []):
            raise ApiError(400, "invalid input", "invalid_request_error")
        raw, vectors, _, tokens = self._embed(req, started)
        as_base64 = str(req.get("encoding_format", "")).lower() == "base64"
        data = [{"object": "embedding",
                 "embedding": base64.b64encode(struct.pack(f"<{len(v)}f", *v)).decode() if as_base64 else v,
                 "index": i} for i, v in enumerate(vectors)]
        self._json(200, {"object": "list", "data": data, "model": raw,
                         "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}, "application/json", newline=True)

    def h_openai_models(self):
        self._openai = True
        models = sorted(self.server.store.models(), key=lambda m: -(m.modified_ns // 10**9))
        data = [{"id": m.name.display(), "object": "model", "created": m.modified_ns // 10**9,
                 "owned_by": m.name.namespace} for m in models]
        self._json(200, {"object": "list", "data": data or None}, "application/json", newline=True)

    def h_openai_model(self, model: str):
        self._openai = True
        name = ModelName.parse(model)
        found = self.server.store.load(name) if name else None
        if found is None:
            raise ApiError(404, f"model '{name.display() if name else model}' not found")
        self._json(200, {"id": model, "object": "model", "created": found.modified_ns // 10**9,
                         "owned_by": found.name.namespace}, "application/json", newline=True)

    def h_openai_responses(self):
        """OpenAI's Responses API (non-streaming and streaming), text in and out."""
        started = time.monotonic()
        req = self._openai_request("openai.ResponsesRequest")
        raw = self._get(req, "model", str, "")
        value = req.get("input")
        if isinstance(value, str):
            prompt = value
        elif isinstance(value, list) and value:
            prompt = self._openai_messages([{"role": m.get("role", "user") if isinstance(m, dict) else "",
                                             "content": self._responses_text(m)} for m in value])
        else:
            raise ApiError(400, "input is required", "invalid_request_error")
        options = self._openai_options({**req, "max_tokens": req.get("max_output_tokens")})
        model = self._local_model(raw)
        response_id, message_id = f"resp_{random.randrange(10**6)}", f"msg_{random.randrange(10**6)}"
        with self.server.queue.slot():
            self.server.touch(model, None, options)
            collected = list(self._chat_responses(raw, model, prompt, options, started))
        final = collected[-1]
        text = "".join(r["message"]["content"] for r in collected)
        body = {"id": response_id, "object": "response", "created_at": int(time.time()), "status": "completed",
                "model": raw, "output": [{"type": "message", "id": message_id, "status": "completed",
                                          "role": "assistant",
                                          "content": [{"type": "output_text", "text": text, "annotations": []}]}],
                "usage": {"input_tokens": final.get("prompt_eval_count", 0),
                          "output_tokens": final.get("eval_count", 0),
                          "total_tokens": final.get("prompt_eval_count", 0) + final.get("eval_count", 0)}}
        if self._get(req, "stream", bool, False):
            self._start_stream("text/event-stream")
            for kind, data in (("response.created", {"response": {**body, "status": "in_progress", "output": []}}),
                               ("response.output_text.delta", {"item_id": message_id, "delta": text}),
                               ("response.completed", {"response": body})):
                self._chunk(f"event: {kind}\n".encode() + b"data: " + go_json({"type": kind, **data}) + b"\n\n")
            self._end_stream()
            return
        self._json(200, body, "application/json", newline=True)

    @staticmethod
    def _responses_text(item) -> str:
        content = item.get("content") if isinstance(item, dict) else None
        if isinstance(content, list):
            return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        return content if isinstance(content, str) else ""

    def h_openai_images(self):
        """Image generation needs an image model; the catalogue's models are text models."""
        req = self._openai_request("openai.ImageGenerationRequest")
        raw = self._get(req, "model", str, "")
        model = self._local_model(raw)
        if "image" not in model.capabilities:
            raise ApiError(400, f"{go_quote(raw)} does not support image generation", "invalid_request_error")

    def h_openai_transcriptions(self):
        """Speech to text needs an audio model; the multipart form's model field names it."""
        self._openai = True
        body = self._body.read().decode("utf-8", errors="replace")
        found = re.search(r'name="model"\r?\n\r?\n([^\r\n]*)', body)
        if not found:
            raise ApiError(400, "model is required", "invalid_request_error")
        model = self._local_model(found.group(1))
        if "audio" not in model.capabilities:
            raise ApiError(400, f"{go_quote(found.group(1))} does not support audio transcription",
                           "invalid_request_error")

    # -- Anthropic compatibility (/v1/messages)

    def _anthropic_error(self, status: int, kind: str, message: str) -> None:
        self._json(status, {"type": "error", "error": {"type": kind, "message": message}}, "application/json")

    def h_anthropic_messages(self):
        started = time.monotonic()
        try:
            req = self._json_body("anthropic.MessagesRequest")
        except ApiError as exc:
            self._anthropic_error(400, "invalid_request_error", exc.message)
            return
        raw = req.get("model") if isinstance(req.get("model"), str) else ""
        messages = req.get("messages")
        if not raw or not isinstance(req.get("max_tokens"), int) or not isinstance(messages, list) or not messages:
            self._anthropic_error(400, "invalid_request_error", "model, max_tokens and messages are required")
            return
        name = ModelName.parse(raw)
        model = self.server.store.load(name) if name else None
        if model is None:
            self._anthropic_error(404, "not_found_error", f"model '{raw}' not found")
            return
        lines = []
        system = req.get("system")
        if isinstance(system, str) and system:
            lines.append(f"system: {system}")
        for message in messages:
            content = message.get("content") if isinstance(message, dict) else None
            if isinstance(content, list):
                content = " ".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
            lines.append(f"{message.get('role', '') if isinstance(message, dict) else ''}: {content or ''}")
        options = {"num_predict": req["max_tokens"]}
        message_id = f"msg_{secrets.token_hex(12)}"
        with self.server.queue.slot():
            self.server.touch(model, None, options)
            responses = self._chat_responses(raw, model, "\n".join(lines), options, started)
            if req.get("stream") is True:
                self._anthropic_stream(message_id, raw, responses)
                return
            collected = list(responses)
        final = collected[-1]
        self._json(200, {
            "id": message_id, "type": "message", "role": "assistant", "model": raw,
            "content": [{"type": "text", "text": "".join(r["message"]["content"] for r in collected)}],
            "stop_reason": "max_tokens" if final.get("done_reason") == "length" else "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": final.get("prompt_eval_count", 0), "output_tokens": final.get("eval_count", 0)},
        }, "application/json")

    def _anthropic_stream(self, message_id: str, raw: str, responses: Iterator[dict]) -> None:
        def event(kind: str, data: dict) -> None:
            self._chunk(f"event: {kind}\n".encode() + b"data: " + go_json({"type": kind, **data}) + b"\n\n")

        self._start_stream("text/event-stream")
        event("message_start", {"message": {"id": message_id, "type": "message", "role": "assistant", "model": raw,
                                            "content": [], "stop_reason": None, "stop_sequence": None,
                                            "usage": {"input_tokens": 0, "output_tokens": 0}}})
        event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})
        final = {}
        for response in responses:
            final = response
            if response["message"]["content"]:
                event("content_block_delta", {"index": 0, "delta": {"type": "text_delta",
                                                                    "text": response["message"]["content"]}})
        event("content_block_stop", {"index": 0})
        event("message_delta", {"delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                "usage": {"output_tokens": final.get("eval_count", 0)}})
        event("message_stop", {})
        self._end_stream()

    # -- ollama.com account and cloud features: this server is not signed in

    def _signin_url(self) -> str:
        key = base64.b64encode(f"ssh-ed25519 standin-{socket.gethostname()}".encode()).decode()
        return f"https://ollama.com/connect?name={urllib.parse.quote(socket.gethostname())}&key={key}"

    def h_status(self):
        self._json(200, {"cloud": {"disabled": go_bool("OLLAMA_NO_CLOUD"), "signed_in": False}})

    def h_me(self):
        self._json(401, {"error": "unauthorized", "signin_url": self._signin_url()})

    def h_signout(self, encodedKey: str = ""):  # noqa: N803 - gin's parameter name
        self._json(401, {"error": "not signed in"})

    def h_cloud_only(self):
        self._json(401, {"error": "unauthorized", "signin_url": self._signin_url()})


# --------------------------------------------------------------------------- ollama serve


def _home() -> str:
    home = os.environ.get("HOME", "")
    if not home:
        raise CLIError("$HOME is not defined")
    return home


def initialize_keypair(home: str) -> None:
    """Creates ~/.ollama/id_ed25519 (mode 0600) and .pub on first start, as Ollama does.

    The content is a dummy in the OpenSSH layout: nothing here signs registry requests.
    """
    private = os.path.join(home, ".ollama", "id_ed25519")
    if os.path.exists(private):
        return
    print(f"Couldn't find '{private}'. Generating new private key.", flush=True)
    try:
        os.makedirs(os.path.dirname(private), mode=0o755, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"could not create directory {_os_error(exc, 'mkdir')}") from None
    body = base64.encodebytes(b"openssh-key-v1\0" + secrets.token_bytes(200)).decode()
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(f"-----BEGIN OPENSSH PRIVATE KEY-----\n{body}-----END OPENSSH PRIVATE KEY-----\n")
    public = "ssh-ed25519 " + base64.b64encode(b"\0\0\0\x0bssh-ed25519\0\0\0 " + secrets.token_bytes(32)).decode()
    with open(private + ".pub", "w", encoding="ascii") as f:
        f.write(public + "\n")
    print(f"Your new public key is: \n\n{public}\n", flush=True)


def _listen(settings: Settings, store: ModelStore) -> OllamaServer:
    """net.Listen("tcp", host:port): an empty host means every address (IPv6 dual-stack)."""
    host, port = settings.host.host, settings.host.port
    try:
        if host == "":
            candidates = [(socket.AF_INET6, ("::", port)), (socket.AF_INET, ("0.0.0.0", port))]
        else:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            infos.sort(key=lambda info: info[0] != socket.AF_INET)  # Go prefers IPv4 for names
            candidates = [(infos[0][0], infos[0][4])]
    except socket.gaierror:
        raise CLIError(f"listen tcp: lookup {host}: no such host") from None
    for family, address in candidates:
        try:
            return OllamaServer(address, family, settings, store)
        except OSError as exc:
            if family == socket.AF_INET6 and host == "" and exc.errno in (errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL):
                continue
            message = (exc.strerror or str(exc)).lower()
            raise CLIError(f"listen tcp {settings.host.hostport}: bind: {message}") from None
    raise CLIError(f"listen tcp {settings.host.hostport}: no usable address")


def _os_error(exc: OSError, op: str) -> CLIError:
    """An OSError worded like Go's *PathError ("mkdir /x: permission denied")."""
    return CLIError(f"{op} {exc.filename}: {(exc.strerror or str(exc)).lower()}")


def serve() -> int:
    """`ollama serve`, in Ollama's order: key pair, listener, model store, routes (whose CORS
    setup panics on a bad OLLAMA_ORIGINS entry), then serving until SIGTERM/SIGINT."""
    home = _home()
    settings = Settings.from_env(home)
    try:
        initialize_keypair(home)
    except OSError as exc:
        raise _os_error(exc, "open") from None
    store = ModelStore(settings.models_dir)
    server = _listen(settings, store)
    slog("INFO", "server config", env=settings.log_values())
    try:
        os.makedirs(store.blobs_dir, exist_ok=True)
    except OSError as exc:
        raise _os_error(exc, "mkdir") from None
    if not settings.noprune:
        store.prune_blobs()
    try:
        server.cors = CorsPolicy(settings.origins)
    except ValueError as exc:
        server.server_close()
        sys.stderr.write(f"panic: {exc}\n\ngoroutine 1 [running]:\n")
        return 2
    slog("INFO", f"Listening on {server.listen_address()} (version {VERSION})")

    def stop(_signum, _frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0


# --------------------------------------------------------------------------- CLI client


NOT_RUNNING = "ollama server not responding - could not connect to ollama server, run 'ollama serve' to start it"
SOMETHING_WRONG = "something went wrong, please see the ollama server logs for details"


class Client:
    """The API client the CLI uses, addressed by OLLAMA_HOST like api.ClientFromEnvironment."""

    def __init__(self):
        setting = HostSetting.parse(env("OLLAMA_HOST"))
        host = setting.host or "127.0.0.1"
        self.base = f"{setting.scheme}://{join_host_port(host, setting.port)}"
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self._headers = {"Content-Type": "application/json", "Accept": "application/json",
                         "User-Agent": f"ollama/{VERSION} ({_goarch()} linux) Python/{platform.python_version()}"}

    def _open(self, method: str, path: str, body: dict | None):
        data = go_json(body) if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=self._headers)
        try:
            return self._opener.open(request)
        except urllib.error.HTTPError as exc:
            return exc
        except (urllib.error.URLError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ConnectionRefusedError(str(reason)) from None

    @staticmethod
    def _error_message(body: bytes) -> str:
        try:
            message = json.loads(body).get("error", "")
        except (ValueError, AttributeError):
            message = body.decode(errors="replace")
        return message or SOMETHING_WRONG

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        """One request; CLIError with the server's message for status >= 400."""
        with self._open(method, path, body) as response:
            data = response.read()
            if response.status >= 400:
                raise CLIError(self._error_message(data))
        return json.loads(data) if data.strip() else {}

    def stream(self, path: str, body: dict) -> Iterator[dict]:
        """NDJSON lines of a streamed answer; an ``error`` line becomes a CLIError."""
        with self._open("POST", path, body) as response:
            for line in response:
                if not line.strip():
                    continue
                update = json.loads(line)
                if update.get("error"):
                    raise CLIError(update["error"])
                if response.status >= 400:
                    raise CLIError(f"{response.status} {response.reason}")
                yield update

    def heartbeat(self) -> None:
        """HEAD /, as the CLI checks before most commands."""
        try:
            self.call("HEAD", "/")
        except ConnectionRefusedError:
            raise CLIError(NOT_RUNNING) from None


def human_bytes(size: int) -> str:
    """format.HumanBytes: decimal units, one decimal below 10."""
    for unit, factor in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if size >= factor:
            value = size / factor
            if value >= 10 or value == int(value):
                return f"{int(value)} {unit}"
            return f"{value:.1f} {unit}"
    return f"{size} B"


def _human_duration(seconds: float) -> str:
    if seconds < 1:
        return "Less than a second"
    if seconds < 2:
        return "1 second"
    if seconds < 60:
        return f"{int(seconds)} seconds"
    minutes = int(seconds // 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = round(seconds / 3600)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds // 3600) // 24 // 365} years"


def human_time(stamp: str) -> str:
    """format.HumanTime for an RFC 3339 timestamp from the API."""
    moment = datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", stamp).replace("Z", "+00:00"))
    delta = (datetime.now(timezone.utc) - moment).total_seconds()
    if delta / 3600 / 24 / 365 < -20:
        return "Forever"
    if delta < 0:
        return _human_duration(-delta) + " from now"
    return _human_duration(delta) + " ago"


def print_table(rows: list[list[str]]) -> None:
    """tablewriter without borders, left aligned, four spaces between columns."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("    ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


@dataclass
class Command:
    """A CLI subcommand: handler, argument count and flags (name -> takes a value)."""

    handler: Callable[[list[str], dict], int]
    usage: str
    short: str
    min_args: int = 0
    max_args: int | None = None
    flags: dict | None = None
    shorthands: dict | None = None


def cmd_version() -> int:
    """`ollama -v`: the server's version when it answers, plus a warning if the client differs."""
    server_version = ""
    try:
        server_version = Client().call("GET", "/api/version").get("version", "")
    except (ConnectionRefusedError, CLIError, ValueError):
        print("Warning: could not connect to a running Ollama instance")
    if server_version:
        print(f"ollama version is {server_version}")
    if server_version != VERSION:
        print(f"Warning: client version is {VERSION}")
    return 0


def cmd_serve(_args, _flags) -> int:
    return serve()


def cmd_list(args, _flags) -> int:
    rows = [["NAME", "ID", "SIZE", "MODIFIED"]]
    for m in Client().call("GET", "/api/tags").get("models", []):
        if not args or m["name"].startswith(args[0]):
            rows.append([m["name"], m["digest"][:12], human_bytes(m["size"]), human_time(m["modified_at"])])
    print_table(rows)
    return 0


def cmd_ps(args, _flags) -> int:
    rows = [["NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL"]]
    for m in Client().call("GET", "/api/ps").get("models", []):
        if not args or m["name"].startswith(args[0]):
            until = human_time(m["expires_at"])
            rows.append([m["name"], m["digest"][:12], human_bytes(m["size"]),
                         "100% CPU" if not m.get("size_vram") else "100% GPU", str(m.get("context_length", 0)),
                         "Stopping..." if until.endswith(" ago") else until])
    print_table(rows)
    return 0


def cmd_pull(args, _flags) -> int:
    shown = set()
    for update in Client().stream("/api/pull", {"name": args[0]}):
        status = update.get("status", "")
        if update.get("digest"):
            if update.get("completed") == update.get("total") and status not in shown:
                shown.add(status)
                print(f"{status}: 100% ▕{'█' * 18}▏ {human_bytes(update['total'])}", file=sys.stderr)
        elif status not in shown:
            shown.add(status)
            print(status, file=sys.stderr)
    return 0


def cmd_rm(args, _flags) -> int:
    client = Client()
    for name in args:
        client.call("DELETE", "/api/delete", {"name": name})
        print(f"deleted '{name}'")
    return 0


def cmd_cp(args, _flags) -> int:
    Client().call("POST", "/api/copy", {"source": args[0], "destination": args[1]})
    print(f"copied '{args[0]}' to '{args[1]}'")
    return 0


def cmd_stop(args, _flags) -> int:
    try:
        for _ in Client().stream("/api/generate", {"model": args[0], "keep_alive": 0}):
            pass
    except CLIError as exc:
        if "not found" in str(exc):
            raise CLIError(f"couldn't find model {go_quote(args[0])} to stop") from None
        raise
    return 0


def cmd_show(args, flags) -> int:
    selected = [f for f in ("license", "modelfile", "parameters", "system", "template") if flags.get(f)]
    if len(selected) > 1:
        raise CLIError("only one of '--license', '--modelfile', '--parameters', '--system', or '--template' "
                       "can be specified")
    info = Client().call("POST", "/api/show", {"name": args[0]})
    if selected:
        print(info.get(selected[0], ""), end="" if selected[0] in ("system", "template") else "\n")
        return 0
    details, model_info = info.get("details", {}), info.get("model_info", {})
    arch = model_info.get("general.architecture", details.get("family", ""))
    sections = {"Model": [["architecture", arch], ["parameters", details.get("parameter_size", "")]]}
    for key, label in (("context_length", "context length"), ("embedding_length", "embedding length")):
        if f"{arch}.{key}" in model_info:
            sections["Model"].append([label, str(model_info[f"{arch}.{key}"])])
    sections["Model"].append(["quantization", details.get("quantization_level", "")])
    sections["Capabilities"] = [[c] for c in info.get("capabilities", [])]
    sections["Parameters"] = [line.split() for line in info.get("parameters", "").splitlines() if line.strip()]
    for field, title in (("system", "System"), ("license", "License")):
        lines = [line.strip() for line in info.get(field, "").splitlines() if line.strip()]
        sections[title] = [[line] for line in lines[:2]] + ([["..."]] if len(lines) > 2 else [])
    for title, rows in sections.items():
        if rows:
            print(f"  {title}")
            widths = [max(len(r[i]) for r in rows if i < len(r)) for i in range(max(len(r) for r in rows))]
            for row in rows:
                print("    " + "    ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
            print()
    return 0


def _print_stats(final: dict) -> None:
    """The --verbose summary (api.Metrics.Summary)."""
    def rate(count, ns):
        return f"{count / (ns / 1e9):.2f} tokens/s" if ns else "0.00 tokens/s"

    lines = [("total duration", go_duration(final.get("total_duration", 0))),
             ("load duration", go_duration(final.get("load_duration", 0))),
             ("prompt eval count", f"{final.get('prompt_eval_count', 0)} token(s)"),
             ("prompt eval duration", go_duration(final.get("prompt_eval_duration", 0))),
             ("prompt eval rate", rate(final.get("prompt_eval_count", 0), final.get("prompt_eval_duration", 0))),
             ("eval count", f"{final.get('eval_count', 0)} token(s)"),
             ("eval duration", go_duration(final.get("eval_duration", 0))),
             ("eval rate", rate(final.get("eval_count", 0), final.get("eval_duration", 0)))]
    for label, value in lines:
        print(f"{label + ':':<22}{value}", file=sys.stderr)


def cmd_run(args, flags) -> int:
    """`ollama run MODEL [PROMPT]`: pulls a missing model, then generates (or chats interactively)."""
    client = Client()
    name = args[0]
    try:
        client.call("POST", "/api/show", {"name": name})
    except CLIError as exc:
        if "not found" not in str(exc):
            raise
        cmd_pull([name], {})
    request = {"model": name}
    if flags.get("keepalive"):
        try:
            parse_go_duration(flags["keepalive"])
        except ValueError as exc:
            raise CLIError(str(exc)) from None
        request["keep_alive"] = flags["keepalive"]
    if flags.get("format"):
        request["format"] = flags["format"]
    prompts = args[1:]
    if not sys.stdin.isatty():
        prompts = [sys.stdin.read(), *prompts]
    elif not prompts:
        return _interactive(client, request, flags)
    final = {}
    for final in client.stream("/api/generate", {**request, "prompt": " ".join(prompts)}):
        sys.stdout.write(final.get("response", ""))
        sys.stdout.flush()
    print("\n")
    if flags.get("verbose"):
        _print_stats(final)
    return 0


def _interactive(client: Client, request: dict, flags: dict) -> int:
    """A minimal chat prompt: one line per message, /bye or end of input to leave."""
    messages = []
    while True:
        try:
            line = input(">>> ")
        except EOFError:
            print()
            return 0
        if line.strip() == "/bye":
            return 0
        if not line.strip():
            continue
        messages.append({"role": "user", "content": line})
        content, final = "", {}
        for final in client.stream("/api/chat", {**request, "messages": messages}):
            piece = final.get("message", {}).get("content", "")
            content += piece
            sys.stdout.write(piece)
            sys.stdout.flush()
        print("\n")
        messages.append({"role": "assistant", "content": content})
        if flags.get("verbose"):
            _print_stats(final)


COMMANDS = {
    "serve": Command(cmd_serve, "serve", "Start ollama", 0, 0),
    "show": Command(cmd_show, "show MODEL", "Show information for a model", 1, 1,
                    {"license": False, "modelfile": False, "parameters": False, "system": False, "template": False,
                     "verbose": False}, {"v": "verbose"}),
    "run": Command(cmd_run, "run MODEL [PROMPT]", "Run a model", 1, None,
                   {"keepalive": True, "verbose": False, "insecure": False, "nowordwrap": False, "format": True}),
    "stop": Command(cmd_stop, "stop MODEL", "Stop a running model", 1, 1),
    "pull": Command(cmd_pull, "pull MODEL", "Pull a model from a registry", 1, 1, {"insecure": False}),
    "list": Command(cmd_list, "list", "List models"),
    "ps": Command(cmd_ps, "ps", "List running models"),
    "cp": Command(cmd_cp, "cp SOURCE DESTINATION", "Copy a model", 2, 2),
    "rm": Command(cmd_rm, "rm MODEL [MODEL...]", "Remove a model", 1, None),
}
ALIASES = {"start": "serve", "ls": "list"}


def usage() -> str:
    lines = ["Usage:", "  ollama [flags]", "  ollama [command]", "", "Available Commands:"]
    lines += [f"  {name:<11} {command.short}" for name, command in COMMANDS.items()]
    lines += [f"  {'help':<11} Help about any command", "", "Flags:", "  -h, --help      help for ollama",
              "  -v, --version   Show version information", "",
              'Use "ollama [command] --help" for more information about a command.']
    return "\n".join(lines) + "\n"


def command_help(command: Command) -> str:
    text = f"{command.short}\n\nUsage:\n  ollama {command.usage}\n\nFlags:\n  -h, --help   help\n"
    for flag, takes_value in (command.flags or {}).items():
        text += f"      --{flag}{' string' if takes_value else ''}\n"
    return text


def parse_flags(command: Command, argv: list[str]) -> tuple[list[str], dict] | None:
    """pflag-style parsing; None when help was asked for. CLIError for cobra's errors."""
    known, shorthands = command.flags or {}, command.shorthands or {}
    args, flags = [], {}
    rest = list(argv)
    while rest:
        item = rest.pop(0)
        if item == "--":
            args += rest
            break
        if item in ("-h", "--help"):
            return None
        if item.startswith("--"):
            name, has_value, value = item[2:].partition("=")
            if name not in known:
                raise CLIError(f"unknown flag: --{name}")
            if known[name] and not has_value:
                if not rest:
                    raise CLIError(f"flag needs an argument: --{name}")
                value = rest.pop(0)
            flags[name] = value if known[name] else value.lower() not in ("false", "0", "f")
        elif item.startswith("-") and len(item) > 1:
            letter = item[1]
            if letter not in shorthands:
                raise CLIError(f"unknown shorthand flag: {letter!r} in {item}")
            flags[shorthands[letter]] = True
        else:
            args.append(item)
    if len(args) < command.min_args:
        if command.min_args == command.max_args:
            raise CLIError(f"accepts {command.min_args} arg(s), received {len(args)}")
        raise CLIError(f"requires at least {command.min_args} arg(s), only received {len(args)}")
    if command.max_args is not None and len(args) > command.max_args:
        raise CLIError(f"accepts {command.max_args} arg(s), received {len(args)}")
    return args, flags


def run_cli(argv: list[str]) -> int:
    if not argv:
        sys.stderr.write(usage())
        return 0
    first = argv[0]
    if first in ("-v", "--version"):
        return cmd_version()
    if first in ("-h", "--help") or (first == "help" and len(argv) == 1):
        print("Large language model runner\n\n" + usage(), end="")
        return 0
    if first == "help":
        first, argv = argv[1], [argv[1], "--help"]
    if first.startswith("-"):
        raise CLIError(f"unknown flag: {first}" if first.startswith("--") else
                       f"unknown shorthand flag: {first[1]!r} in {first}")
    command = COMMANDS.get(ALIASES.get(first, first))
    if command is None:
        raise CLIError(f'unknown command "{first}" for "ollama"')
    parsed = parse_flags(command, argv[1:])
    if parsed is None:
        print(command_help(command), end="")
        return 0
    args, flags = parsed
    if command.handler is not cmd_serve:
        Client().heartbeat()
    return command.handler(args, flags)


def main(argv: list[str]) -> int:
    """The `ollama` executable: returns the exit status."""
    try:
        return run_cli(argv)
    except CLIError as exc:
        sys.stderr.write(f"Error: {exc}\n")
        return 1
    except ConnectionRefusedError:
        sys.stderr.write(f"Error: {NOT_RUNNING}\n")
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
