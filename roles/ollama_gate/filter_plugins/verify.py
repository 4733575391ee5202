"""The report of playbooks/verify.yml: one PASS/FAIL line per request a client made to a gateway
(without credentials, then with each user's and each API key's)."""
from __future__ import annotations


def _json(result) -> dict:
    data = result.get("json")
    return data if isinstance(data, dict) else {}


def _failure(result) -> str:
    """Why a request got no usable answer (no connection, TLS verification) or no realm."""
    if result.get("status") == -1:
        return " ".join(str(result.get("msg", "no connection")).split())[:300]
    return "no WWW-Authenticate: Basic realm"


def ollama_gate_verify_report(anonymous, versions, tags, names) -> list[str]:
    """Lines like 'PASS  user alice -> HTTP 200, version 0.32.15, models: llama3.2:latest'
    ('key alice~laptop (Bearer)' for an API key's account).

    anonymous: uri result without credentials; versions/tags: uri loop results, one per name.
    """
    lines = []
    realm = anonymous.get("www_authenticate", "")
    ok = anonymous.get("status") == 401 and realm.startswith("Basic realm=")
    lines.append(
        f"{'PASS' if ok else 'FAIL'}  no credentials -> HTTP {anonymous.get('status')}"
        + (f" ({realm})" if realm else f" ({_failure(anonymous)})")
    )
    names = list(names)
    if not names:
        lines.append("FAIL  no credentials to check (ollama_gate_users is empty)")
    for name, version, tag in zip(names, versions, tags):
        models = _json(tag).get("models")
        ok = version.get("status") == 200 and tag.get("status") == 200 and isinstance(models, list)
        listed = ", ".join(m.get("name", "?") for m in models or []) or "none"
        what = f"key {name} (Bearer)" if "~" in name else f"user {name}"
        lines.append(
            f"{'PASS' if ok else 'FAIL'}  {what} -> HTTP {version.get('status')}/{tag.get('status')}, "
            f"version {_json(version).get('version', '?')}, models: {listed}"
        )
    return lines


class FilterModule:
    def filters(self):
        return {"ollama_gate_verify_report": ollama_gate_verify_report}
