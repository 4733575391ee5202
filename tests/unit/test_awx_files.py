"""What AWX / Automation Platform builds from: collections/requirements.yml (installed at project
sync, and into the execution environment) and execution-environment.yml (ansible-builder). Their
versions are the ones this project runs and tests with (requirements.txt, the collections the
PyPI ansible package installed), and ansible-builder accepts the file and generates its build
context (the image itself needs a registry and is not built here)."""
import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[2]
EE = yaml.safe_load((PROJECT / "execution-environment.yml").read_text())
COLLECTIONS = yaml.safe_load((PROJECT / "collections/requirements.yml").read_text())["collections"]
PINS = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", (PROJECT / "requirements.txt").read_text(), re.M))
BIN = Path(sys.executable).parent


def installed_collections():
    import ansible_collections

    root = Path(ansible_collections.__path__[0])
    return {f"{m.parent.parent.name}.{m.parent.name}": json.loads(m.read_text())["collection_info"]["version"]
            for m in root.glob("*/*/MANIFEST.json")}


def test_collections_are_the_versions_this_project_runs_with():
    installed = installed_collections()
    for entry in COLLECTIONS:
        assert installed[entry["name"]] == entry["version"], entry


def test_every_collection_the_content_uses_is_listed():
    used = set()
    for path in [*PROJECT.glob("playbooks/**/*.yml"), *PROJECT.glob("roles/*/*/*.yml")]:
        used |= set(re.findall(r"^\s*-?\s*((?!ansible\.builtin)[a-z_]+\.[a-z_]+)\.[a-z_]+:\s*$", path.read_text(), re.M))
    assert used, "no module found: the pattern is wrong"
    assert used <= {c["name"] for c in COLLECTIONS}, used


def test_execution_environment_pins_what_requirements_txt_pins():
    deps = EE["dependencies"]
    assert deps["ansible_core"]["package_pip"] == f"ansible-core=={PINS['ansible-core']}"
    for requirement in deps["python"]:
        name, version = requirement.split("==")
        assert PINS[name] == version, requirement
    # what the filters import on the controller
    assert {r.split("==")[0] for r in deps["python"]} == {"libpass", "bcrypt"}
    assert deps["galaxy"] == "collections/requirements.yml"


def test_ansible_builder_generates_the_build_context(tmp_path):
    proc = subprocess.run([str(BIN / "ansible-builder"), "create", "-f", "execution-environment.yml",
                           "--context", str(tmp_path / "context")], cwd=PROJECT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    build = tmp_path / "context" / "_build"
    assert yaml.safe_load((build / "requirements.yml").read_text())["collections"] == COLLECTIONS
    assert {"libpass==1.9.4", "bcrypt==5.0.0"} <= set((build / "requirements.txt").read_text().split())
    containerfile = next((tmp_path / "context").glob("*file")).read_text()
    assert f"ansible-core=={PINS['ansible-core']}" in containerfile
    assert "openssh-clients" in (build / "bindep.txt").read_text()
