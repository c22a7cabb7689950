"""`make test` as two pytest processes side by side, each a whole session of its own (its own embedded
PostgreSQL in its own temporary ``SUPERVISION_HOME``, its own base temp), on a fixed split of test files.

* half ``a``: every module whose tests use ``built_warehouse`` (or ``built_copy``, which uses it), so the
  session's tiny world is simulated, ingested and built once; plus the modules named in ``TO_A``.
* half ``b``: every other module, among them every module that uses ``airflow_dagbag`` (one Airflow
  metadata migration and ``dbt parse``). A new test file lands here unless it uses the built warehouse:
  never dropped.

The split is by module and made from pytest's own collection (each item's fixture closure), so it needs no
list of files to keep current. ``pytest --half a`` (or ``b``) runs one half; without ``--half`` nothing is
deselected. ``python -m tests.halves --basetemp DIR`` runs both halves, prints both reports when both have
finished (each to its own log meanwhile: no interleaved dots, only one progress line a minute), then one total
line, and exits non-zero if either half failed.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

HALVES = ("a", "b")
ROOT = Path(__file__).resolve().parent.parent
BUILT = frozenset({"built_warehouse", "built_copy"})  # a session fixture: one build of tiny/11 per process
AIRFLOW = frozenset({"airflow_dagbag"})  # a session fixture: one Airflow migration and dbt parse per process

# Modules that use neither session fixture, run beside the build to even out the halves. Chosen from the
# per-file wall seconds (setup + call + teardown) of a two-process run on 7 Dec 2026 at load 12-15
# (bench/README.md, "Fourth pass"): half a 1,969 s, half b 2,363 s with only the ml and three simulate
# files here; the four simulate files below the line (~210 s there) moved since.
TO_A = frozenset({
    "tests/test_ml_splits_guardrails.py",  # 86 s
    "tests/test_ml_core.py",  # 50 s
    "tests/test_ml_scoring.py",  # 17 s
    "tests/test_ml_data_handling.py",  # 1 s
    "tests/test_ml_cli_errors.py",  # 17 s
    "tests/test_simulate_external.py",  # 25 s
    "tests/test_simulate_core.py",  # 111 s
    "tests/test_simulate_ids.py",  # 0.3 s
    "tests/test_simulate_datasets.py",  # 27 s
    # moved from half b after that run
    "tests/test_simulate_advance.py",  # 85 s
    "tests/test_simulate_ground_truth.py",  # 49 s
    "tests/test_simulate_consistency.py",  # 39 s
    "tests/test_simulate_patterns.py",  # 38 s
})


def module_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def half_of(module: str, fixtures: set[str] | frozenset[str]) -> str:
    """The half of a test module, from the fixtures its tests use (their closure) and its path."""
    if fixtures & BUILT:
        return "a"  # also when it uses airflow_dagbag: that half then pays a migration too, never a second build
    if fixtures & AIRFLOW:
        return "b"
    return "a" if module in TO_A else "b"


def split(items) -> dict[str, str]:
    """Module path -> half, for collected items (anything with ``nodeid`` and ``fixturenames``)."""
    fixtures: dict[str, set[str]] = defaultdict(set)
    for item in items:
        fixtures[module_of(item.nodeid)].update(getattr(item, "fixturenames", ()))
    return {module: half_of(module, names) for module, names in fixtures.items()}


def addoption(parser) -> None:
    parser.addoption("--half", choices=HALVES, default=None,
                     help="run one half of the suite (tests/halves.py): a = the built-warehouse modules, "
                          "b = the rest")


def deselect(config, items) -> None:
    """Keep only this half's modules (``--half``); the others are reported as deselected."""
    half = config.getoption("half", None)
    if not half:
        return
    halves = split(items)
    keep = [i for i in items if halves[module_of(i.nodeid)] == half]
    drop = [i for i in items if halves[module_of(i.nodeid)] != half]
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


# -- the runner ------------------------------------------------------------------------------------------

_COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|deselected)\b")


def summary_counts(log: str) -> dict[str, int]:
    """The counts of pytest's closing line (``== 3 failed, 400 passed, 12 deselected in 5.00s ==``)."""
    for line in reversed(log.splitlines()):
        if re.search(r"\b(passed|failed|errors?|skipped|deselected|no tests ran)\b.* in [\d.]+s", line):
            counts: dict[str, int] = defaultdict(int)
            for n, word in _COUNT.findall(line):
                counts["error" if word.startswith("error") else word] += int(n)
            return dict(counts)
    return {}


def _stop(procs: list[subprocess.Popen]) -> None:
    """Interrupt the halves (their session fixtures stop their servers), then kill what is left."""
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGINT)
    deadline = time.monotonic() + 60
    for p in procs:
        try:
            p.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _start(argv: list[str], log: Path, cwd: Path | None = None) -> subprocess.Popen:
    """A child in a session of its own (an interrupt is passed on by :func:`_stop`, once), output to ``log``."""
    with open(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
        # SIGINT restored to its default in the child: a shell ignores it in a background job, and so would a
        # Python started there (no KeyboardInterrupt, so no teardown stopping its server on an interrupt)
        return subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


_PERCENT = re.compile(r"\[\s*(\d+)%\]")
_PROGRESS_LINE = re.compile(r"^([.FEsxX]+)(\s+\[\s*\d+%\])?$")


def progress_of(log: str) -> tuple[int | None, int, int]:
    """A half's progress from its ``-q`` log: the last ``[ NN%]`` pytest printed, the tests done (one mark
    each, the unfinished line too) and how many of them failed (F/E marks)."""
    percents = _PERCENT.findall(log)
    marks = "".join(m.group(1) for line in log.splitlines() if (m := _PROGRESS_LINE.match(line.strip())))
    return (int(percents[-1]) if percents else None), len(marks), marks.count("F") + marks.count("E")


def _wait(jobs: list[tuple[str, subprocess.Popen, Path]], started: float, every: float) -> list[int]:
    """Wait for every job, printing one progress line per ``every`` seconds (0: none) while the halves run."""
    last = time.monotonic()
    while any(p.poll() is None for _, p, _ in jobs):
        time.sleep(1.0)
        if every and time.monotonic() - last >= every:
            last = time.monotonic()
            parts = []
            for name, p, log in jobs:
                if name == "sqlfluff":
                    continue
                percent, done, bad = progress_of(log.read_text(errors="replace"))
                state = "finished" if p.poll() is not None else f"{done} tests done" + (
                    f" ({percent}%)" if percent is not None else "")
                parts.append(f"half {name} {state}" + (f", {bad} failed so far" if bad else ""))
            print(f"  {(time.monotonic() - started) / 60:.0f} min: " + ", ".join(parts), flush=True)
    return [p.wait() for _, p, _ in jobs]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.halves", description=__doc__.split("\n\n")[0])
    ap.add_argument("--basetemp", required=True, type=Path,
                    help="a directory of this run's own: each half's base temp and log go under it")
    ap.add_argument("--sqlfluff", action="store_true",
                    help="also lint the dbt models with sqlfluff beside the halves (one process)")
    ap.add_argument("--progress", type=float, default=60.0, metavar="SECONDS",
                    help="print one progress line per this many seconds while the halves run (0: none)")
    ap.add_argument("pytest_args", nargs="*", help="more pytest arguments for both halves (after --)")
    args = ap.parse_args(argv)
    args.basetemp.mkdir(mode=0o700, parents=True, exist_ok=True)
    jobs: list[tuple[str, subprocess.Popen, Path]] = []
    started = time.monotonic()
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        for half in HALVES:
            log = args.basetemp / f"pytest-{half}.log"
            # cacheprovider off: two sessions writing .pytest_cache/ at once would lose each other's entries
            jobs.append((half, _start([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--half",
                                       half, f"--basetemp={args.basetemp / ('pytest-' + half)}",
                                       *args.pytest_args], log), log))
        if args.sqlfluff:
            log = args.basetemp / "sqlfluff.log"
            jobs.append(("sqlfluff", _start([str(Path(sys.executable).parent / "sqlfluff"), "lint", "models",
                                             "--processes", "1"], log, cwd=ROOT / "dbt_project"), log))
        codes = _wait(jobs, started, args.progress)
    except KeyboardInterrupt:
        _stop([p for _, p, _ in jobs])
        for name, _, log in jobs:
            print(f"---- {name} (interrupted) ----\n{log.read_text()[-4000:]}")
        return 130
    total: dict[str, int] = defaultdict(int)
    for (name, _, log), code in zip(jobs, codes, strict=True):
        text = log.read_text()
        if name == "sqlfluff":
            print(f"sqlfluff lint models: {'passed' if code == 0 else 'failed'}")
            if code:
                print(text, end="" if text.endswith("\n") else "\n")
            continue
        print(f"---- pytest, half {name} ({'built-warehouse modules' if name == 'a' else 'the rest'}), "
              f"exit {code} ----")
        print(text, end="" if text.endswith("\n") else "\n")
        counts = summary_counts(text)
        for k, v in counts.items():
            total[k] += v
        if code and not (counts.get("failed") or counts.get("error")):
            print(f"half {name}: pytest exit {code} (no test failed: interrupted, a usage error or no test "
                  "selected), a failure of this run")
    failed = total["failed"] + total["error"]
    extra = "".join(f", {total[k]} {k}" for k in ("skipped", "xfailed", "xpassed") if total[k])
    print(f"pytest halves and lint finished in {time.monotonic() - started:.0f} s")
    print(f"total: {total['passed']} passed, {failed} failed{extra}")
    # pytest's 5 (no tests collected) in a half is a failure here too: each half must run something
    return 0 if all(c == 0 for c in codes) else 1


if __name__ == "__main__":
    sys.exit(main())
