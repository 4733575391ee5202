"""The project's Jinja filters live in one directory, roles/ollama_gate/filter_plugins (the role every
other role depends on), one file per concern. Each file stands alone: Ansible loads every file of
the directory by its path, so none may load a sibling (by import, by path, or through sys.path),
and a filter name defined twice would leave which definition wins to the order of loading."""
import ast
import collections
import re
import sys
from pathlib import Path

import pytest

from ollama_gate_filters import FILTER_PLUGINS, load

PROJECT = Path(__file__).resolve().parents[2]
PLUGINS = sorted(FILTER_PLUGINS.glob("*.py"))
# what a plugin may import: the standard library (but not the machinery that loads files by path),
# Ansible, and passlib (libpass, from requirements.txt)
LOADERS = {"importlib", "imp", "runpy", "pkgutil", "sys"}
ALLOWED = (set(sys.stdlib_module_names) - LOADERS) | {"__future__", "ansible", "passlib"}
# where filters are called: after "|" (also at the start of a continued line), or by name in map()/select()
CALLED = re.compile(r"\|[ \t]*((?:gateway|firewall|ollama_gate)_[a-z0-9_]+)\b"
                    r"|\b(?:map|select|reject)\(\s*'((?:gateway|firewall|ollama_gate)_[a-z0-9_]+)'")
CALL_SITES = [*PROJECT.glob("playbooks/**/*.yml"), *PROJECT.glob("roles/*/*/*.yml"),
              *PROJECT.glob("roles/*/templates/*")]


def test_there_are_plugins():
    assert [p.name for p in PLUGINS] and all(p.stem.isidentifier() for p in PLUGINS)


def test_every_filter_plugin_lives_in_the_ollama_gate_role():
    dirs = [*PROJECT.glob("roles/**/filter_plugins"), *PROJECT.glob("playbooks/**/filter_plugins")]
    assert dirs == [FILTER_PLUGINS]
    python = [*PROJECT.glob("roles/**/*.py"), *PROJECT.glob("playbooks/**/*.py")]
    elsewhere = [str(p.relative_to(PROJECT)) for p in python
                 if p.parent != FILTER_PLUGINS and "FilterModule" in p.read_text()]
    assert not elsewhere, elsewhere
    assert "filter_plugins" not in (PROJECT / "ansible.cfg").read_text(), "ansible.cfg names another filter path"


@pytest.mark.parametrize("plugin", PLUGINS, ids=lambda p: p.name)
def test_plugin_stands_alone(plugin):
    tree = ast.parse(plugin.read_text(), str(plugin))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"line {node.lineno}: relative import"
            imported.add(node.module.split(".")[0])
        elif isinstance(node, ast.Name):
            assert node.id not in ("__file__", "__import__", "__path__"), f"line {node.lineno}: {node.id}"
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            assert not node.value.endswith(".py"), f"line {node.lineno}: names a file {node.value!r}"
    assert imported <= ALLOWED, f"imports {sorted(imported - ALLOWED)}"
    assert not imported & {p.stem for p in PLUGINS}, "imports a sibling plugin"


def test_each_filter_name_is_defined_once():
    defined = collections.defaultdict(list)
    for plugin in PLUGINS:
        module = load(plugin.stem)
        for name, function in module.FilterModule().filters().items():
            defined[name].append(plugin.name)
            # the filter's code is the file's own, not a sibling's
            assert function.__module__ == module.__name__, f"{plugin.name}: {name}"
    twice = {name: files for name, files in defined.items() if len(files) > 1}
    assert not twice, twice


def test_every_filter_the_project_calls_is_defined():
    defined = set()
    for plugin in PLUGINS:
        defined |= set(load(plugin.stem).FilterModule().filters())
    called = {}
    for path in CALL_SITES:
        for match in CALLED.finditer(path.read_text()):
            called.setdefault(match.group(1) or match.group(2), str(path.relative_to(PROJECT)))
    assert called, "no call sites found"
    missing = {name: where for name, where in called.items() if name not in defined}
    assert not missing, missing
