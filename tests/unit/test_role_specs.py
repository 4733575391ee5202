"""Every role's meta/argument_specs.yml declares exactly its defaults, with equal values."""
from pathlib import Path

import pytest
import yaml

ROLES = sorted(p for p in (Path(__file__).resolve().parents[2] / "roles").iterdir() if (p / "defaults").is_dir())


def load(path):
    return yaml.safe_load(path.read_text()) or {}


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_specs_match_defaults(role):
    defaults = load(role / "defaults" / "main.yml")
    options = load(role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert set(options) == set(defaults), "declared in one file only"
    for name, spec in options.items():
        assert spec.get("default") == defaults[name], name


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_inputs_are_prefixed_with_role_name(role):
    defaults = load(role / "defaults" / "main.yml")
    assert all(name.startswith(role.name + "_") for name in defaults)


def test_there_are_roles():
    assert ROLES
