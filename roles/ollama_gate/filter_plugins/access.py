"""Filters of the access policy both proxies enforce: the endpoint allowlist of role user, the
browser origins allowed to call the gateway, and the regular expressions and CORS answer the
nginx and Caddy configurations are written from."""
from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

# Regular expressions below are used by both proxies: nginx (PCRE) and Caddy (Go's RE2), so
# they keep to what both read the same way (no look-arounds, no backreferences).
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_SEGMENT_RE = re.compile(r"^[A-Za-z0-9._~-]+$")
# Matches nothing, in PCRE and RE2 alike (an empty allowlist).
NOTHING = r"[^\s\S]"
# Request targets (the raw path, before "?") that are not in canonical form: empty segments,
# dot segments, a character outside RFC 3986's path characters (a raw "#", "{", space, "\\",
# non-ASCII), or an encoded slash, backslash, dot, "#", brace or control character. Both proxies
# answer them 400 before anything else, so a path is checked exactly as Ollama, which decodes
# percent-encoding but cleans nothing, will route it, and a decoded path never holds a line break
# ("$" would match before it) or a Caddy placeholder. An absolute-form target
# ("http://host/path") is checked from its path on.
BAD_PATH_ERROR = ("bad request: the path has empty or dot segments, encoded slashes, dots or control"
                  " characters, or characters outside a URL path")
_PATH_CHARS = r"-A-Za-z0-9._~!$&'()*+,;=:@%"
_BAD_ESCAPES = r"%(?:[01][0-9A-Fa-f]|2[3EeFf]|5[Cc]|7[BbDdFf])"
BAD_PATH_REGEX = (r"^(?:[A-Za-z][A-Za-z0-9+.-]*://[^/?]*)?(?:/[^/?]*)*?/(?:/|\.\.?(?:/|\?|$)|[^/?]*?(?:"
                  + _BAD_ESCAPES + r"|[^" + _PATH_CHARS + r"/?]))")


def _endpoint(entry) -> tuple[list[str], str] | None:
    """("GET HEAD /api/tags") -> (["GET", "HEAD"], "/api/tags"); None when malformed."""
    if not isinstance(entry, str):
        return None
    words = entry.split()
    if len(words) < 2 or not all(m in HTTP_METHODS for m in words[:-1]) or len(set(words[:-1])) != len(words) - 1:
        return None
    path = words[-1]
    if path == "/":
        return words[:-1], path
    segments = path.split("/")
    if segments[0] != "" or not all(_SEGMENT_RE.fullmatch(seg) or seg == "*" for seg in segments[1:]):
        return None
    if any(seg in (".", "..") for seg in segments) or "*" in segments[1:-1]:
        return None
    return words[:-1], path


def gateway_endpoints_problems(entries, variable: str) -> list[str]:
    """What is wrong with an endpoint allowlist ("METHOD [METHOD ...] /path"), naming each entry."""
    if not isinstance(entries, list):
        return [f"{variable} must be a list of \"METHOD [METHOD ...] /path\" entries, not {entries!r}"]
    problems = []
    seen: dict[str, str] = {}
    for entry in entries:
        parsed = _endpoint(entry)
        if parsed is None:
            problems.append(
                f"{variable}: {entry!r} is not \"METHOD [METHOD ...] /path\" (methods of {', '.join(HTTP_METHODS)};"
                " path segments of letters, digits and . _ ~ -, or * as the last segment: any one segment)")
            continue
        for method in parsed[0]:
            key = f"{method} {parsed[1]}"
            if key in seen:
                problems.append(f"{variable}: {key} is listed twice ({seen[key]!r}, {entry!r})")
            seen.setdefault(key, entry)
    return problems


def gateway_endpoints_regex(entries) -> str:
    """One regular expression matching "METHOD /decoded/path" for every allowed endpoint (anchor it
    with ^(?:...)$). Case-sensitive and exact, like Ollama's router: a trailing slash or another
    case is another endpoint."""
    problems = gateway_endpoints_problems(entries, "endpoints")
    if problems:
        raise AnsibleFilterError("; ".join(problems))
    alternatives = []
    for methods, path in (_endpoint(e) for e in entries):
        pattern = "/".join("[^/]+" if seg == "*" else seg.replace(".", "\\.") for seg in path.split("/"))
        method = methods[0] if len(methods) == 1 else "(?:" + "|".join(methods) + ")"
        alternatives.append(f"{method} {pattern or '/'}")
    return "|".join(alternatives) or NOTHING


# What Ollama itself allows by default (envconfig.AllowedOrigins): loopback and app origins.
_ORIGIN_RE = re.compile(r"^(?P<scheme>[a-z][a-z0-9+.-]*)://(?P<host>\*|\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)"
                        r"(?::(?P<port>\*|[0-9]{1,5}))?$")


def gateway_origins_problems(entries, variable: str) -> list[str]:
    """What is wrong with a list of browser origins allowed to use the gateway, naming each entry."""
    if not isinstance(entries, list):
        return [f"{variable} must be a list of origins like https://chat.example.com, not {entries!r}"]
    problems = []
    for entry in entries:
        found = _ORIGIN_RE.fullmatch(entry) if isinstance(entry, str) else None
        if entry == "*":
            problems.append(f"{variable}: '*' would let every web page use the gateway with its visitors'"
                            " credentials; list the origins of your browser clients")
        elif found is None:
            problems.append(f"{variable}: {entry!r} is not an origin: scheme://host[:port] (port may be *),"
                            " no path, no trailing slash")
        elif found["host"] == "*" and found["scheme"] in ("http", "https"):
            problems.append(f"{variable}: {entry!r} would allow every web site; name the host")
        elif found["port"] not in (None, "*") and not 0 < int(found["port"]) < 65536:
            problems.append(f"{variable}: {entry!r}: port {found['port']} is out of range")
    return problems


def gateway_origins_regex(entries) -> str:
    """One regular expression matching the allowed Origin header values (anchor it with ^(?:...)$)."""
    problems = gateway_origins_problems(entries, "origins")
    if problems:
        raise AnsibleFilterError("; ".join(problems))
    alternatives = []
    for entry in entries:
        found = _ORIGIN_RE.fullmatch(entry)
        host = "[^/]+" if found["host"] == "*" else re.sub(r"([.\[\]])", r"\\\1", found["host"].lower())
        port = "" if found["port"] is None else (":[0-9]+" if found["port"] == "*" else ":" + found["port"])
        scheme = re.sub(r"([.+])", r"\\\1", found["scheme"])
        alternatives.append(f"{scheme}://{host}{port}")
    return "|".join(dict.fromkeys(alternatives)) or NOTHING


# What a preflight may ask for: the methods of Ollama's API, and the request headers its own CORS
# setup allows (OpenAI SDK headers included), plus the Anthropic SDK's and x-api-key.
CORS_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE"
CORS_HEADERS = ", ".join([
    "Authorization", "Content-Type", "User-Agent", "Accept", "X-Requested-With", "X-Api-Key",
    "Anthropic-Version", "Anthropic-Beta", "Anthropic-Dangerous-Direct-Browser-Access", "OpenAI-Beta",
    "X-Stainless-Arch", "X-Stainless-Async", "X-Stainless-Custom-Poll-Interval", "X-Stainless-Helper-Method",
    "X-Stainless-Lang", "X-Stainless-OS", "X-Stainless-Package-Version", "X-Stainless-Poll-Helper",
    "X-Stainless-Retry-Count", "X-Stainless-Runtime", "X-Stainless-Runtime-Version", "X-Stainless-Timeout",
])
CORS_MAX_AGE = 7200  # seconds; browsers cap it (Chromium at 2 h)


def gateway_access_policy(endpoints, origins) -> dict:
    """Everything both proxies' configurations derive from the policy inputs, computed once:
    the user endpoints' and the origins' regular expressions, the bad-path expression and the
    CORS answer's headers."""
    return {
        "endpoints_regex": gateway_endpoints_regex(endpoints),
        "origins_regex": gateway_origins_regex(origins),
        "bad_path_regex": BAD_PATH_REGEX,
        "bad_path_error": BAD_PATH_ERROR,
        "cors_methods": CORS_METHODS,
        "cors_headers": CORS_HEADERS,
        "cors_max_age": CORS_MAX_AGE,
    }


class FilterModule:
    def filters(self):
        return {
            "gateway_access_policy": gateway_access_policy,
            "gateway_endpoints_problems": gateway_endpoints_problems,
            "gateway_endpoints_regex": gateway_endpoints_regex,
            "gateway_origins_problems": gateway_origins_problems,
            "gateway_origins_regex": gateway_origins_regex,
            "ollama_gate_endpoints_problems": gateway_endpoints_problems,
            "ollama_gate_origins_problems": gateway_origins_problems,
        }
