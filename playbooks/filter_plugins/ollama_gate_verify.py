"""Filters of the project's playbooks: verify.yml's report, and the user-list check of the
preflight (the same code the gateway roles use, loaded from roles/gateway_users)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "ollama_gate_gateway_users", Path(__file__).resolve().parents[2] / "roles/gateway_users/filter_plugins/gateway_users.py"
)
_gateway_users = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_gateway_users)


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
            "ollama_gate_users_problems": _gateway_users.gateway_users_problems,
        }
