"""The project's filter plugins (roles/ollama_gate/filter_plugins/<concern>.py) as Python modules,
for the tests and the benches. They are no package: Ansible loads each file by its path, and so
does load()."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

FILTER_PLUGINS = Path(__file__).resolve().parents[1] / "roles" / "ollama_gate" / "filter_plugins"


def load(concern: str) -> ModuleType:
    """roles/ollama_gate/filter_plugins/<concern>.py, loaded once per process."""
    key = f"ollama_gate_filter_plugins_{concern}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, FILTER_PLUGINS / f"{concern}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[key] = module
    return sys.modules[key]


def credentials(users, directory: str, **options) -> list[dict]:
    """ollama_gate_credentials over a user list, chained as the playbooks chain it:
    users | ollama_gate_accounts | ollama_gate_credentials(directory, active=<the same accounts> | gateway_users_present, ...)."""
    users_filters = load("users")
    accounts = users_filters.ollama_gate_accounts(users)
    return load("credentials").ollama_gate_credentials(
        accounts, directory, active=users_filters.gateway_users_present(accounts), **options)
