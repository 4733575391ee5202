"""One declared config surface: roles/ollama_gate/meta/argument_specs.yml declares every
ollama_gate_* setting (type, default, description). defaults/main.yml and the README's variable
table are generated from it (`python tests/unit/test_surface.py` rewrites both); these tests fail
when either is stale, when a role or playbook uses an ollama_gate_* variable the declaration
lacks, or when one still supplies its own default() for a declared setting."""
import re
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[2]
ROLE = PROJECT / "roles/ollama_gate"
SPEC = yaml.safe_load((ROLE / "meta/argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
START, END = "<!-- settings: start (roles/ollama_gate/meta/argument_specs.yml) -->", "<!-- settings: end -->"
HEADER = """---
# GENERATED from meta/argument_specs.yml (the declaration: types and descriptions) by
# `python tests/unit/test_surface.py`; edit the declaration, not this file.
"""
USED = re.compile(r"\b(ollama_gate_[a-z0-9_]+)\b(?!\s*\()")
# files whose ollama_gate_* words are settings (filters are called with "(" or after "|")
SOURCES = [*PROJECT.glob("playbooks/**/*.yml"), *PROJECT.glob("roles/*/*/*.yml"), *PROJECT.glob("roles/*/templates/*"),
           *PROJECT.glob("inventories/**/*.yml")]


class _Dumper(yaml.SafeDumper):
    """Block lists indented under their key (yamllint's indent-sequences)."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


def render_defaults() -> str:
    body = {name: spec.get("default") for name, spec in SPEC.items()}
    return HEADER + yaml.dump(body, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1000)


def cell(text) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def render_table() -> str:
    rows = ["| setting | type | default | what it does |", "|---|---|---|---|"]
    for name, spec in SPEC.items():
        kind = spec["type"] + (f" of {spec['elements']}" if "elements" in spec else "")
        if "choices" in spec:
            kind += ": " + ", ".join(spec["choices"])
        default = spec.get("default")
        shown = yaml.safe_dump(default, default_flow_style=True, width=10000).strip().removesuffix("...").strip()
        rows.append(f"| `{name}` | {cell(kind)} | `{cell(shown)}` | {cell(spec['description'])} |")
    return "\n".join([START, *rows, END])


def readme_with_table(text: str) -> str:
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    return before + render_table() + after


def test_role_readme_tables_list_exactly_the_declared_inputs():
    """Every role's README table has one row per input its meta/argument_specs.yml declares."""
    for role in sorted(p for p in (PROJECT / "roles").iterdir() if p.is_dir()):
        declared = set(yaml.safe_load((role / "meta/argument_specs.yml").read_text())["argument_specs"]["main"]["options"])
        listed = set(re.findall(r"^\| `([a-z0-9_]+)` \|", (role / "README.md").read_text(), re.M))
        assert listed == declared, f"{role.name}/README.md: missing {sorted(declared - listed)}, extra {sorted(listed - declared)}"


def test_role_readme_of_the_settings_is_generated():
    text = (ROLE / "README.md").read_text()
    assert text == readme_with_table(text), "roles/ollama_gate/README.md is stale: python tests/unit/test_surface.py"


def filters() -> set[str]:
    names = set()
    for path in ROLE.glob("filter_plugins/*.py"):
        names |= set(re.findall(r"[\"'](ollama_gate_[a-z0-9_]+)[\"']\s*:", path.read_text()))
    return names


def test_every_setting_has_type_default_and_description():
    for name, spec in SPEC.items():
        assert name.startswith("ollama_gate_"), name
        assert {"type", "default", "description"} <= set(spec), name


def test_defaults_are_generated_from_the_declaration():
    assert (ROLE / "defaults/main.yml").read_text() == render_defaults(), \
        "roles/ollama_gate/defaults/main.yml is stale: python tests/unit/test_surface.py"


def test_readme_table_is_generated_from_the_declaration():
    text = (PROJECT / "README.md").read_text()
    assert START in text and END in text
    assert text == readme_with_table(text), "README's settings table is stale: python tests/unit/test_surface.py"


def test_every_ollama_gate_variable_used_is_declared():
    # settings, filter names, and the role's own modules (library/ollama_gate_lock.py)
    known = set(SPEC) | filters() | {module.stem for module in (ROLE / "library").glob("*.py")}
    unknown = {}
    for path in SOURCES:
        for name in USED.findall(path.read_text()):
            if name not in known:
                unknown.setdefault(name, []).append(str(path.relative_to(PROJECT)))
    assert not unknown, f"used but not declared in roles/ollama_gate/meta/argument_specs.yml: {unknown}"


def test_no_second_default_for_a_declared_setting():
    pattern = re.compile(r"\b(" + "|".join(SPEC) + r")\s*\|\s*default\(")
    found = [f"{p.relative_to(PROJECT)}: {m.group(0)}" for p in SOURCES for m in pattern.finditer(p.read_text())]
    assert not found, found


if __name__ == "__main__":
    (ROLE / "defaults/main.yml").write_text(render_defaults())
    for readme in (PROJECT / "README.md", ROLE / "README.md"):
        readme.write_text(readme_with_table(readme.read_text()))
