"""Turn the requests of playbooks/verify.yml into one PASS/FAIL line per check."""
from __future__ import annotations


def _json(result) -> dict:
    data = result.get("json")
    return data if isinstance(data, dict) else {}


def ollama_gate_verify_report(anonymous, versions, tags, names) -> list[str]:
    """Lines like 'PASS  user alice -> HTTP 200, version 0.32.15, models: llama3.2:latest'.

    anonymous: uri result without credentials; versions/tags: uri loop results, one per name.
    """
    lines = []
    realm = anonymous.get("www_authenticate", "")
    ok = anonymous.get("status") == 401 and realm.startswith("Basic realm=")
    lines.append(
        f"{'PASS' if ok else 'FAIL'}  no credentials -> HTTP {anonymous.get('status')}"
        + (f" ({realm})" if realm else " (no WWW-Authenticate: Basic realm)")
    )
    names = list(names)
    if not names:
        lines.append("FAIL  no credentials to check (ollama_gate_users is empty)")
    for name, version, tag in zip(names, versions, tags):
        models = _json(tag).get("models")
        ok = version.get("status") == 200 and tag.get("status") == 200 and isinstance(models, list)
        listed = ", ".join(m.get("name", "?") for m in models or []) or "none"
        lines.append(
            f"{'PASS' if ok else 'FAIL'}  user {name} -> HTTP {version.get('status')}/{tag.get('status')}, "
            f"version {_json(version).get('version', '?')}, models: {listed}"
        )
    return lines


def ollama_gate_active_users(users) -> list[dict]:
    """The users of the list who may log in (state present, the default)."""
    return [u for u in users or [] if u.get("state", "present") == "present"]


class FilterModule:
    def filters(self):
        return {
            "ollama_gate_verify_report": ollama_gate_verify_report,
            "ollama_gate_active_users": ollama_gate_active_users,
        }
