"""The bad-input matrix (tests/unit/bad_input.yml): each class of bad setting is refused by
playbooks/preflight.yml - the first play of site.yml - with a message naming the variable, and
the baseline the cases start from passes. All cases run as hosts of one ansible-playbook run in
check mode with a local connection (the checks read no host). The README's table is rendered
from the same file: `python tests/unit/test_bad_input.py` rewrites it."""
import json
from pathlib import Path

import pytest
import yaml

from conftest import LOCAL, PROJECT, run_preflight

MATRIX = yaml.safe_load((Path(__file__).parent / "bad_input.yml").read_text())
CASES = MATRIX["cases"]
UFW = MATRIX["foreign_ufw_rules"]
START, END = "<!-- bad-input-matrix: start (tests/unit/bad_input.yml) -->", "<!-- bad-input-matrix: end -->"


def host_name(index):
    return f"case{index + 1:02d}"


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    """Per host: the message of the task that failed it, or None when every check passed."""
    tmp = tmp_path_factory.mktemp("matrix")
    hosts = {"baseline": dict(MATRIX["baseline"])}
    for index, case in enumerate(CASES):
        hosts[host_name(index)] = {**MATRIX["baseline"], **case["vars"]}
    failed, _, proc = run_preflight(tmp, {"all": {"vars": LOCAL, "children": {"ollama_servers": {"hosts": hosts}}}})
    # nothing was written next to the inventory (the controller-side credential store)
    assert sorted(p.name for p in tmp.iterdir()) == ["hosts.yml"]
    return {host: failed.get(host) for host in hosts}, proc


def test_the_baseline_passes(outcome):
    results, proc = outcome
    assert results["baseline"] is None, results["baseline"]


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c["class"] for c in CASES])
def test_bad_input_is_refused_naming_the_variable(outcome, index):
    results, _ = outcome
    message = results[host_name(index)]
    assert message is not None, f"{CASES[index]['class']}: not refused"
    assert CASES[index]["says"] in message, message
    assert message.endswith("Nothing was changed."), message


@pytest.fixture(scope="module")
def networks():
    """The firewall filters, imported here: `python tests/unit/test_bad_input.py` runs without
    tests/unit/conftest.py, which puts the shared loader on the path."""
    from ollama_gate_filters import load

    return load("networks")


@pytest.mark.parametrize("case", UFW, ids=[c["class"] for c in UFW])
def test_foreign_ufw_rule_opening_ollamas_port_is_refused(networks, case):
    show_added = "Added user rules (see 'ufw status' for running firewall):\n" + case["rule"] + "\n"
    [problem] = networks.firewall_foreign_problems(show_added, [11434])
    assert case["says"] in problem and f'"{case["rule"]}"' in problem and "firewall_protected_ports" in problem
    # a protected port the rule does not open is not refused (only an all-ports rule opens port 9)
    assert (networks.firewall_foreign_problems(show_added, [9]) == []) == (case["class"] != "all ports from one address")


def test_rules_that_do_not_open_the_port_are_not_refused(networks):
    show_added = "\n".join(["ufw allow out 11434/tcp", "ufw deny 11434/tcp", "ufw allow OpenSSH",
                            "ufw allow 11000:11433/tcp", "ufw allow from 192.0.2.50 to any port 22 proto tcp",
                            "ufw allow 11434/tcp comment 'ollama-gate gateway'"])
    assert networks.firewall_foreign_problems(show_added, [11434]) == []


def test_at_least_thirty_classes_each_different():
    assert len(CASES) + len(UFW) >= 30
    assert len({c["class"] for c in CASES}) == len(CASES)


def test_site_runs_the_preflight_first():
    site = yaml.safe_load((PROJECT / "playbooks/site.yml").read_text())
    assert site[0]["ansible.builtin.import_playbook"] == "preflight.yml"


def render_table():
    def cell(text):
        return str(text).replace("|", "\\|").replace("\n", "\\n")

    rows = ["| # | bad input | example | the run stops with (part of the message) |", "|---|---|---|---|"]
    for index, case in enumerate(CASES):
        example = ", ".join(f"`{k}: {json.dumps(v, default=str)}`" for k, v in case["vars"].items())
        rows.append(f"| {index + 1} | {cell(case['class'])} | {cell(example)} | {cell(case['says'])} |")
    for index, case in enumerate(UFW, start=len(CASES) + 1):
        rows.append(f"| {index} | ufw rule of someone else opening Ollama's port: {cell(case['class'])} "
                    f"| `{cell(case['rule'])}` | {cell(case['says'])} (firewall_protected_ports) |")
    return "\n".join([START, *rows, END])


def readme_with_table(text):
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    return before + render_table() + after


def test_readme_table_is_rendered_from_the_matrix():
    text = (PROJECT / "README.md").read_text()
    assert START in text and END in text
    assert text == readme_with_table(text), "README's bad-input table is stale: python tests/unit/test_bad_input.py"


if __name__ == "__main__":
    readme = PROJECT / "README.md"
    readme.write_text(readme_with_table(readme.read_text()))
