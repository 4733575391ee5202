#!/usr/bin/env python3
"""Run the test suite (`make test`): lint, unit tests, then Molecule scenarios side by side, and end
with a table of what each step cost.

    python tests/run_suite.py [--jobs N] [--steps lint,unit,molecule] [scenario ...]

Lint (yamllint, ansible-lint) and the unit tests run first; a failure there stops the run before
anything is installed or started. Then the test hosts' prerequisites (tests/testhost/setup.sh:
Docker engine, base image) and the Molecule scenarios (all when none is named): no two share a
host name or a fixed-address network, so `--jobs` (default 2, or $OG_JOBS) of them run at once;
what they do share (the test network, the networks with fixed addresses, release archives and
server) is set up once before they start (molecule/shared/testbed.yml). The longest scenarios
start first, so the lanes end close together.

Each step's output goes to <log dir>/<step>.log ($OG_LOGS, default $OG_STATE/logs) and is
printed whole when the step ends, so two scenarios' lines never interleave. A scenario fails
when Molecule fails, when its test sequence lacks create, converge, idempotence or verify, or
when its verifier ran no tests (Molecule itself only logs "no tests found" and passes). The run ends with one row per step: result, seconds, tests passed, and for
scenarios the seconds of each Molecule phase (create, check, converge, idempotence, verify, ...),
then the total wall time.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
STATE = Path(os.environ.get("OG_STATE", "/var/tmp/ollama-gate"))
PHASES = ["destroy", "syntax", "create", "prepare", "check", "converge", "idempotence", "verify"]
# Every scenario starts fresh hosts, converges, proves idempotence and runs its verifier.
REQUIRED_PHASES = ["create", "converge", "idempotence", "verify"]
# Seconds each scenario took in the last measured run (2 jobs): only the start order depends on
# them (longest first). A scenario not listed starts first.
EXPECTED = {
    "nginx": 819,
    "caddy": 759,
    "pool": 650,
    "firewall": 634,
    "https": 634,
    "caddy_current": 448,
    "scheduled_rotation": 267,
    "ollama_lifecycle": 140,
    "ollama": 89,
    "default": 42,
    "pool_ten": 585,
}
# Molecule's phase lines: "INFO     [nginx > converge] Executing" (or, coloured, "nginx ➜ converge:")
EVENT = re.compile(r"^INFO\s+\[?(?P<scenario>[\w-]+) (?:>|➜) (?P<phase>\w+)(?:\]|:) (?P<event>Executing|Executed)")
# logs without colour codes (as in CI)
PLAIN = dict(os.environ, PY_COLORS="0", ANSIBLE_FORCE_COLOR="0")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
PASSED = re.compile(r"=+ (?:.*?)(\d+) passed")
# Steps before the scenarios: (name, commands). They run one after the other; the first failure
# ends the run.
CHECKS = {
    "lint": [["yamllint", "--strict", "."], ["ansible-lint"]],
    "unit": [["python", "-m", "pytest", "tests/unit"]],
}
TESTHOSTS = [["bash", "tests/testhost/setup.sh"], ["ansible-playbook", "molecule/shared/testbed.yml"]]


@dataclass
class Result:
    name: str
    log: Path
    returncode: int = -1
    seconds: float = 0.0
    passed: int = 0
    phases: dict = field(default_factory=dict)
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.problem

    def summary(self) -> str:
        state = "passed" if self.ok else f"FAILED ({self.problem or f'exit code {self.returncode}'})"
        tests = f", {self.passed} tests passed" if self.passed else ""
        return f"=== {self.name} {state} in {self.seconds:.0f} s{tests}\n"


# Scenarios that run only when named (`make molecule SCENARIOS=pool_ten`): they
# prove something once, at a cost the suite's time budget does not allow on every run.
OPT_IN = {"pool_ten"}


def all_scenarios(include_opt_in: bool = False) -> list[str]:
    names = sorted(p.parent.name for p in (PROJECT / "molecule").glob("*/molecule.yml") if p.parent.name != "shared")
    return names if include_opt_in else [name for name in names if name not in OPT_IN]


def run_logged(result: Result, commands: list[list[str]]) -> Result:
    """Run commands one after the other (until one fails) into the result's log; count the tests
    pytest reports passed and time each Molecule phase from its Executing/Executed lines."""
    started = time.monotonic()
    open_phases: dict[str, float] = {}
    result.returncode = 0
    with result.log.open("w") as log:
        for command in commands:
            log.write(f"$ {' '.join(command)}\n")
            log.flush()
            try:
                proc = subprocess.Popen(command, cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, errors="replace", bufsize=1, env=PLAIN)
            except OSError as exc:
                log.write(f"{exc}\n")
                result.returncode, result.problem = 127, f"cannot run {command[0]}: {exc.strerror}"
                break
            assert proc.stdout is not None
            for line in proc.stdout:
                log.write(line)
                line = ANSI.sub("", line)
                match = EVENT.match(line)
                if match and match["phase"] in PHASES:
                    now = time.monotonic()
                    if match["event"] == "Executing":
                        open_phases.setdefault(match["phase"], now)
                    elif match["phase"] in open_phases:
                        result.phases[match["phase"]] = (result.phases.get(match["phase"], 0.0)
                                                         + now - open_phases.pop(match["phase"]))
                passed = PASSED.search(line)
                if passed:
                    result.passed += int(passed.group(1))
                if re.search(r"no tests found|no tests ran", line, re.I):
                    result.problem = "no tests ran"
            result.returncode = proc.wait()
            if result.returncode != 0:
                break
    result.seconds = time.monotonic() - started
    return result


def run_scenario(scenario: str, logs: Path) -> Result:
    """`molecule test -s <scenario>`; passed only with the steps every scenario must have and at
    least one passed test."""
    result = run_logged(Result(scenario, logs / f"{scenario}.log"), [["molecule", "test", "-s", scenario]])
    if result.returncode == 0 and not result.problem:
        missing = [p for p in REQUIRED_PHASES if p not in result.phases]
        if missing:
            result.problem = f"no {', '.join(missing)} step in its test sequence"
        elif not result.passed:
            result.problem = "its verifier reported no passed tests"
    return result


def failure_reasons(text: str, limit: int = 8) -> list[str]:
    """What a failed step's log says went wrong, in a few lines for the end of the run (CI shows
    only the output's tail): pytest's FAILED/ERROR summary lines, Ansible's fatal lines and
    Molecule's failed action."""
    found = []
    for line in ANSI.sub("", text).splitlines():
        if re.match(r"(FAILED|ERROR) \S+::", line) or line.startswith(("fatal: ", "CRITICAL ")) \
                or re.search(r"\] Executed: Failed", line):
            found.append(line if len(line) <= 300 else line[:297] + "...")
    return found[:limit]


def table(results: list[Result], wall: float, jobs: int) -> str:
    used = [p for p in PHASES if any(p in r.phases for r in results)]
    head = f"{'step':18}{'result':>8}{'seconds':>9}{'tests':>7}" + "".join(f"{p:>12}" for p in used)
    rows = [head, "-" * len(head)]
    for r in results:
        rows.append(f"{r.name:18}{'ok' if r.ok else 'FAILED':>8}{r.seconds:9.0f}{r.passed:7d}"
                    + "".join(f"{r.phases[p]:12.0f}" if p in r.phases else f"{'':12}" for p in used))
    rows.append("-" * len(head))
    rows.append(f"{'sum':18}{'':8}{sum(r.seconds for r in results):9.0f}{sum(r.passed for r in results):7d}"
                + "".join(f"{sum(r.phases.get(p, 0) for r in results):12.0f}" for p in used))
    rows.append(f"total wall time {wall:.0f} s ({wall / 60:.1f} min), scenarios {jobs} at a time")
    return "\n".join(rows) + "\n"


def run_scenarios(scenarios: list[str], jobs: int, logs: Path) -> list[Result]:
    """The scenarios in `jobs` lanes, longest first; each one's log printed whole when it ends.
    A scenario that did not get to report (the runner itself failed) is a failed one."""
    queue = sorted(scenarios, key=lambda s: -EXPECTED.get(s, 10**6))
    results: list[Result] = []
    lock = threading.Lock()

    def lane() -> None:
        while True:
            with lock:
                if not queue:
                    return
                scenario = queue.pop(0)
                print(f"=== started {scenario} (log: {logs / scenario}.log)", flush=True)
            try:
                result = run_scenario(scenario, logs)
            except BaseException as exc:  # whatever broke, it is this scenario's failure
                result = Result(scenario, logs / f"{scenario}.log", returncode=1, problem=f"runner error: {exc!r}")
                if not result.log.exists():
                    result.log.write_text("")
            with lock:
                results.append(result)
                print(f"\n=== molecule test -s {scenario}\n{result.log.read_text()}{result.summary()}", end="", flush=True)

    threads = [threading.Thread(target=lane) for _ in range(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for scenario in sorted(set(scenarios) - {r.name for r in results}):
        results.append(Result(scenario, logs / f"{scenario}.log", returncode=1, problem="did not run"))
    return sorted(results, key=lambda r: r.name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", help=f"scenario names (default: all but {', '.join(sorted(OPT_IN))})")
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("OG_JOBS", "2")),
                        help="scenarios at a time (default 2, or $OG_JOBS)")
    parser.add_argument("--steps", default="lint,unit,molecule",
                        help="comma-separated, of lint, unit, molecule (default: all three)")
    args = parser.parse_args(argv)
    steps = [s for s in args.steps.split(",") if s]
    if set(steps) - {"lint", "unit", "molecule"}:
        parser.error(f"--steps takes lint, unit, molecule, not {args.steps}")
    known = all_scenarios(include_opt_in=True)
    scenarios = list(dict.fromkeys(args.scenarios)) or all_scenarios()
    unknown = [s for s in scenarios if s not in known]
    if unknown:
        parser.error(f"no such scenario: {', '.join(unknown)} (known: {', '.join(known)})")
    jobs = max(1, min(args.jobs, len(scenarios)))
    logs = Path(os.environ.get("OG_LOGS", STATE / "logs"))
    logs.mkdir(parents=True, exist_ok=True)

    started = time.monotonic()
    results: list[Result] = []
    for step in [s for s in CHECKS if s in steps]:
        print(f"=== {step}", flush=True)
        result = run_logged(Result(step, logs / f"{step}.log"), CHECKS[step])
        results.append(result)
        print(result.log.read_text() + result.summary(), end="", flush=True)
        if not result.ok:
            break
    else:
        if "molecule" in steps:
            # the Docker engine and base image (installed, started, built when missing), then the testbed
            print("=== testhosts", flush=True)
            result = run_logged(Result("testhosts", logs / "testhosts.log"), TESTHOSTS)
            results.append(result)
            print(result.log.read_text() + result.summary(), end="", flush=True)
            if result.ok:
                results += run_scenarios(scenarios, jobs, logs)

    print("\n" + table(results, time.monotonic() - started, jobs), end="")
    failed = [r.name for r in results if not r.ok]
    if failed:
        for r in results:
            if not r.ok and r.log.exists():
                print("\n".join(f"{r.name}: {line}" for line in failure_reasons(r.log.read_text())))
        print(f"=== FAILED: {' '.join(failed)}")
        return 1
    print(f"=== passed: {' '.join(r.name for r in results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
