#!/usr/bin/env python3
"""Run Molecule scenarios, several side by side, and end with a table of what each cost.

    python tests/run_molecule.py [--jobs N] [scenario ...]     (all scenarios when none is named)

Scenarios do not share host names or networks (each names its own test hosts), so `--jobs`
(default 2, or $OG_JOBS) of them run at once; what they do share (test network, networks with
fixed addresses, release archives and server) is set up once before they start
(molecule/shared/testbed.yml). The longest scenarios start first, so the lanes end close together.

Each scenario's output goes to <log dir>/<scenario>.log ($OG_LOGS, default $OG_STATE/logs) and is
printed whole when the scenario ends, so two scenarios' lines never interleave. A scenario fails
when Molecule fails or when its verifier ran no tests (Molecule itself only logs "no tests
found" and passes). The run ends with one row per scenario: seconds, tests passed, and the
seconds of each Molecule phase (create, check, converge, idempotence, verify, ...).
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
# Seconds each scenario took in the last measured run (2 jobs): only the start order depends on
# them (longest first). A scenario not listed starts first.
EXPECTED = {
    "https": 420,
    "firewall": 420,
    "nginx": 320,
    "caddy": 320,
    "caddy_current": 250,
    "ollama_lifecycle": 100,
    "ollama": 70,
    "default": 35,
}
EVENT = re.compile(r"^INFO\s+\[(?P<scenario>[\w-]+) > (?P<phase>\w+)\] (?P<event>Executing|Executed)")
PASSED = re.compile(r"=+ (?:.*?)(\d+) passed")


@dataclass
class Result:
    scenario: str
    log: Path
    returncode: int = -1
    seconds: float = 0.0
    passed: int = 0
    phases: dict = field(default_factory=dict)
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.problem


def all_scenarios() -> list[str]:
    return sorted(p.parent.name for p in (PROJECT / "molecule").glob("*/molecule.yml") if p.parent.name != "shared")


def run_scenario(scenario: str, logs: Path) -> Result:
    """`molecule test -s <scenario>`, its output time-stamped per phase into its log file."""
    result = Result(scenario, logs / f"{scenario}.log")
    started = time.monotonic()
    open_phases: dict[str, float] = {}
    with result.log.open("w") as log:
        proc = subprocess.Popen(["molecule", "test", "-s", scenario], cwd=PROJECT, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, bufsize=1)
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            match = EVENT.match(line)
            if match and match["phase"] in PHASES:
                now = time.monotonic()
                if match["event"] == "Executing":
                    open_phases.setdefault(match["phase"], now)
                elif match["phase"] in open_phases:
                    result.phases[match["phase"]] = result.phases.get(match["phase"], 0.0) + now - open_phases.pop(match["phase"])
            passed = PASSED.search(line)
            if passed:
                result.passed += int(passed.group(1))
            if re.search(r"no tests found|no tests ran", line, re.I):
                result.problem = "its verifier ran no tests"
        result.returncode = proc.wait()
    result.seconds = time.monotonic() - started
    if result.returncode == 0 and not result.passed and not result.problem:
        result.problem = "its verifier reported no passed tests"
    return result


def table(results: list[Result], wall: float, jobs: int) -> str:
    used = [p for p in PHASES if any(p in r.phases for r in results)]
    head = f"{'scenario':18}{'result':>8}{'seconds':>9}{'tests':>7}" + "".join(f"{p:>13}" for p in used)
    rows = [head, "-" * len(head)]
    for r in sorted(results, key=lambda r: r.scenario):
        rows.append(f"{r.scenario:18}{'ok' if r.ok else 'FAILED':>8}{r.seconds:9.0f}{r.passed:7d}"
                    + "".join(f"{r.phases.get(p, 0):13.0f}" for p in used))
    rows.append("-" * len(head))
    rows.append(f"{'sum':18}{'':8}{sum(r.seconds for r in results):9.0f}{sum(r.passed for r in results):7d}"
                + "".join(f"{sum(r.phases.get(p, 0) for r in results):13.0f}" for p in used))
    rows.append(f"wall time {wall:.0f} s ({wall / 60:.1f} min) with {jobs} scenario(s) at a time")
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", help="scenario names (default: all)")
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("OG_JOBS", "2")),
                        help="scenarios at a time (default 2, or $OG_JOBS)")
    args = parser.parse_args(argv)
    known = all_scenarios()
    scenarios = args.scenarios or known
    unknown = [s for s in scenarios if s not in known]
    if unknown:
        parser.error(f"no such scenario: {', '.join(unknown)} (known: {', '.join(known)})")
    jobs = max(1, min(args.jobs, len(scenarios)))
    logs = Path(os.environ.get("OG_LOGS", STATE / "logs"))
    logs.mkdir(parents=True, exist_ok=True)

    started = time.monotonic()
    print("=== shared testbed (network, release archives and server)", flush=True)
    subprocess.run(["ansible-playbook", str(PROJECT / "molecule/shared/testbed.yml")], cwd=PROJECT, check=True,
                   env=dict(os.environ, MOLECULE_PROJECT_DIRECTORY=str(PROJECT)))

    queue = sorted(scenarios, key=lambda s: -EXPECTED.get(s, 10**6))
    results: list[Result] = []
    lock = threading.Lock()

    def lane() -> None:
        while True:
            with lock:
                if not queue:
                    return
                scenario = queue.pop(0)
                sys.stdout.write(f"=== started {scenario} (log: {logs / scenario}.log)\n")
                sys.stdout.flush()
            result = run_scenario(scenario, logs)
            with lock:
                results.append(result)
                sys.stdout.write(f"\n=== molecule test -s {scenario}\n{result.log.read_text()}")
                state = "passed" if result.ok else f"FAILED ({result.problem or f'molecule exit {result.returncode}'})"
                sys.stdout.write(f"=== scenario {scenario} {state} in {result.seconds:.0f} s, {result.passed} tests passed\n")
                sys.stdout.flush()

    threads = [threading.Thread(target=lane) for _ in range(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    print("\n" + table(results, time.monotonic() - started, jobs), end="")
    failed = [r.scenario for r in results if not r.ok]
    if failed:
        print(f"=== FAILED: {' '.join(sorted(failed))}")
        return 1
    print(f"=== {len(results)} scenarios passed: {' '.join(sorted(r.scenario for r in results))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
