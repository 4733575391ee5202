"""tests/run_suite.py: what it reads from Molecule's and pytest's output, and when it fails a step."""
import importlib.util
import sys
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("run_suite", Path(__file__).resolve().parents[1] / "run_suite.py")
run_suite = importlib.util.module_from_spec(_spec)
sys.modules["run_suite"] = run_suite  # dataclasses look their module up there
_spec.loader.exec_module(run_suite)


def printing(*lines, exit_code=0):
    """A command that prints these lines (with a pause, so phases take time) and exits."""
    script = "import sys, time\n" + "".join(f"print({line!r}, flush=True); time.sleep(0.05)\n" for line in lines)
    return [sys.executable, "-c", script + f"sys.exit({exit_code})"]


def run(tmp_path, *commands):
    return run_suite.run_logged(run_suite.Result("s", tmp_path / "s.log"), list(commands))


@pytest.mark.parametrize(
    "executing, executed",
    [
        ("INFO     [nginx > converge] Executing", "INFO     [nginx > converge] Executed: Successful"),
        ("INFO     nginx ➜ converge: Executing", "INFO     nginx ➜ converge: Executed: Successful"),
        ("\x1b[36mINFO    \x1b[0m \x1b[32mnginx\x1b[0m ➜ \x1b[33mconverge\x1b[0m: \x1b[36mExecuting\x1b[0m",
         "\x1b[36mINFO    \x1b[0m \x1b[32mnginx\x1b[0m ➜ \x1b[33mconverge\x1b[0m: \x1b[32mExecuted: Successful\x1b[0m"),
    ],
    ids=["plain", "arrow", "coloured"],
)
def test_phase_times_and_passed_tests(tmp_path, executing, executed):
    result = run(tmp_path, printing(executing, "TASK [x]", executed, "===== 12 passed, 3 skipped in 1.0s ====="))
    assert result.ok
    assert list(result.phases) == ["converge"] and result.phases["converge"] >= 0.05
    assert result.passed == 12
    assert "TASK [x]" in result.log.read_text()


def test_passed_counted_over_several_pytest_runs(tmp_path):
    result = run(tmp_path, printing("=== 3 passed in 1s ==="), printing("=== 1 failed, 4 passed in 2s ==="))
    assert result.passed == 7


def test_a_failing_command_stops_the_step(tmp_path):
    result = run(tmp_path, printing("first", exit_code=2), printing("never printed"))
    assert not result.ok and result.returncode == 2
    assert "never printed" not in result.log.read_text()


@pytest.mark.parametrize("line", ["no tests ran in 0.01s", "WARNING  No tests found in /x"])
def test_a_verifier_without_tests_fails_even_when_molecule_passes(tmp_path, line):
    result = run(tmp_path, printing(line))
    assert result.returncode == 0 and not result.ok


def molecule_ran(phases, passed=0):
    def run_logged(result, commands):
        assert commands == [["molecule", "test", "-s", result.name]]
        result.returncode, result.phases, result.passed = 0, dict.fromkeys(phases, 1.0), passed
        return result
    return run_logged


ALL_PHASES = ["create", "converge", "idempotence", "verify"]


@pytest.mark.parametrize(
    "phases, passed, problem",
    [
        (ALL_PHASES, 3, ""),
        (ALL_PHASES, 0, "its verifier reported no passed tests"),
        (["create", "converge", "verify"], 3, "no idempotence step in its test sequence"),
        (["create", "verify"], 3, "no converge, idempotence step in its test sequence"),
    ],
)
def test_scenario_needs_every_step_and_passed_tests(tmp_path, monkeypatch, phases, passed, problem):
    monkeypatch.setattr(run_suite, "run_logged", molecule_ran(phases, passed))
    result = run_suite.run_scenario("x", tmp_path)
    assert result.ok == (not problem) and result.problem == problem


@pytest.fixture
def suite(tmp_path, monkeypatch):
    """main() with lint, unit, testhosts and each scenario replaced by a given outcome: an exit
    code, or an exception raised inside the runner. Returns (outcomes, calls)."""
    outcomes = {"lint": 0, "unit": 0, "testhosts": 0, "a": 0, "b": 0, "c": 0, "ten": 0}
    calls = []
    monkeypatch.setenv("OG_LOGS", str(tmp_path))
    monkeypatch.setattr(run_suite, "all_scenarios",
                        lambda include_opt_in=False: ["a", "b", "c"] + (["ten"] if include_opt_in else []))

    def run_logged(result, commands):
        calls.append(result.name)
        result.returncode = outcomes[result.name]
        result.log.write_text("")
        return result

    def run_scenario(name, logs):
        calls.append(name)
        if isinstance(outcomes[name], Exception):
            raise outcomes[name]
        result = run_suite.Result(name, logs / f"{name}.log", returncode=outcomes[name], passed=1)
        result.log.write_text("")
        return result

    monkeypatch.setattr(run_suite, "run_logged", run_logged)
    monkeypatch.setattr(run_suite, "run_scenario", run_scenario)
    return outcomes, calls


def test_all_passing_exits_0(suite, capsys):
    assert run_suite.main([]) == 0
    assert sorted(suite[1]) == ["a", "b", "c", "lint", "testhosts", "unit"]
    assert "=== passed: lint unit testhosts a b c" in capsys.readouterr().out


def test_a_failed_scenario_fails_the_run(suite, capsys):
    suite[0]["b"] = 1
    assert run_suite.main([]) == 1
    assert "=== FAILED: b" in capsys.readouterr().out


def test_a_runner_error_in_a_lane_fails_the_run_and_the_other_scenarios_still_run(suite, capsys):
    suite[0]["b"] = UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")
    assert run_suite.main([]) == 1
    out = capsys.readouterr().out
    assert "=== b FAILED (runner error: UnicodeDecodeError" in out and "=== FAILED: b" in out
    assert {"a", "c"} <= set(suite[1])


def test_lint_failure_stops_before_any_test_host(suite):
    suite[0]["lint"] = 1
    assert run_suite.main([]) == 1
    assert suite[1] == ["lint"]


def test_testhosts_failure_runs_no_scenario(suite):
    suite[0]["testhosts"] = 1
    assert run_suite.main(["--steps", "molecule"]) == 1
    assert suite[1] == ["testhosts"]


def test_an_opt_in_scenario_runs_only_when_named(suite):
    assert run_suite.main(["--steps", "molecule"]) == 0
    assert "ten" not in suite[1]
    assert run_suite.main(["--steps", "molecule", "ten"]) == 0
    assert suite[1][-2:] == ["testhosts", "ten"]


def test_the_opt_in_scenarios_exist_and_are_not_in_the_default_run():
    assert run_suite.OPT_IN <= set(run_suite.all_scenarios(include_opt_in=True))
    assert not run_suite.OPT_IN & set(run_suite.all_scenarios())


def test_a_scenario_named_twice_runs_once(suite):
    assert run_suite.main(["--steps", "molecule", "a", "a"]) == 0
    assert suite[1] == ["testhosts", "a"]


def test_a_missing_command_is_a_failure_not_a_crash(tmp_path):
    result = run(tmp_path, ["/nonexistent/molecule", "test"])
    assert not result.ok and result.returncode == 127 and "cannot run /nonexistent/molecule" in result.problem


def test_table_has_every_step_phase_columns_and_the_total(tmp_path):
    lint = run_suite.Result("lint", tmp_path / "lint.log", returncode=0, seconds=20)
    nginx = run_suite.Result("nginx", tmp_path / "n.log", returncode=0, seconds=300, passed=62,
                             phases={"converge": 40.0, "verify": 170.0})
    broken = run_suite.Result("caddy", tmp_path / "c.log", returncode=1, seconds=100, phases={"converge": 50.0})
    text = run_suite.table([lint, nginx, broken], wall=330, jobs=2)
    lines = text.splitlines()
    assert lines[0].split() == ["step", "result", "seconds", "tests", "converge", "verify"]
    assert lines[2].split() == ["lint", "ok", "20", "0"]
    assert lines[3].split() == ["nginx", "ok", "300", "62", "40", "170"]
    assert lines[4].split() == ["caddy", "FAILED", "100", "0", "50"]
    assert lines[6].split() == ["sum", "420", "62", "90", "170"]
    assert "total wall time 330 s (5.5 min), scenarios 2 at a time" in text


def test_unknown_scenario_refused(capsys):
    with pytest.raises(SystemExit):
        run_suite.main(["--steps", "molecule", "no-such-scenario"])
    assert "no such scenario: no-such-scenario" in capsys.readouterr().err


def test_failure_reasons_pick_what_went_wrong():
    log = "\n".join([
        "TASK [x] ***",
        'fatal: [og-fw]: FAILED! => {"changed": false, "msg": "boom"}',
        "ok: [og-fw]",
        "FAILED ../../tests/https/test_https.py::test_renewal - AssertionError: assert 1 == 0",
        "ERROR ../../tests/https/test_https.py::test_setup - RuntimeError",
        "CRITICAL Ansible return code was 2",
        "ERROR    [https > verify] Executed: Failed",
        "1 failed, 22 passed in 180.00s",
        "PASSED and fine",
    ])
    reasons = run_suite.failure_reasons(log)
    assert reasons == [
        'fatal: [og-fw]: FAILED! => {"changed": false, "msg": "boom"}',
        "FAILED ../../tests/https/test_https.py::test_renewal - AssertionError: assert 1 == 0",
        "ERROR ../../tests/https/test_https.py::test_setup - RuntimeError",
        "CRITICAL Ansible return code was 2",
        "ERROR    [https > verify] Executed: Failed",
    ]
    assert len(run_suite.failure_reasons("fatal: x\n" * 20)) == 8
    assert run_suite.failure_reasons("fatal: " + "y" * 400)[0].endswith("...")
