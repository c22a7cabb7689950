"""`make test`'s two pytest processes (tests/halves.py): every collected test runs in exactly one half, the
built-warehouse modules in one (one build), the Airflow modules in the other, a new file is never dropped,
and the runner's total comes from both halves' closing lines."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from tests.halves import AIRFLOW, BUILT, TO_A, half_of, split, summary_counts

ROOT = Path(__file__).resolve().parent.parent


def _item(nodeid: str, *fixtures: str):
    return SimpleNamespace(nodeid=nodeid, fixturenames=["request", *fixtures])


def test_a_module_goes_by_the_session_fixtures_its_tests_use():
    halves = split([
        _item("tests/test_new_mart.py::test_one"),
        _item("tests/test_new_mart.py::test_two", "built_copy"),  # one test using it takes the whole module
        _item("tests/test_new_dag.py::test_x", "airflow_dagbag", "warehouse"),
        _item("tests/test_both.py::test_y", "airflow_dagbag", "built_warehouse"),
        _item("tests/test_new_unit.py::test_z", "tmp_path"),
        _item("tests/test_new_unit.py::test_w[1]"),
    ])
    assert halves == {"tests/test_new_mart.py": "a", "tests/test_new_dag.py": "b", "tests/test_both.py": "a",
                      "tests/test_new_unit.py": "b"}
    assert {half_of(m, set()) for m in TO_A} == {"a"}
    assert half_of("tests/test_warehouse_build.py", set(BUILT)) == "a"
    assert half_of(next(iter(TO_A)), set(AIRFLOW)) == "b"  # the Airflow session fixture wins over the table


def test_the_runner_adds_up_both_closing_lines():
    assert summary_counts("....\n=== 2 failed, 398 passed, 3 skipped, 410 deselected, 5 warnings in 512.30s ===\n"
                          "sqlfluff\n") == {"failed": 2, "passed": 398, "skipped": 3, "deselected": 410}
    assert summary_counts("1 error, 1 passed, 2 errors in 1.0s") == {"error": 3, "passed": 1}
    assert summary_counts("1 deselected in 0.07s") == {"deselected": 1}  # a half that selected nothing
    assert summary_counts("collected 0 items\n") == {}


def test_the_progress_line_reads_the_last_percentage_and_counts_failures():
    from tests.halves import progress_of
    log = ("============ test session starts ============\n"
           "........................................ [  9%]\n"
           "....F...........E.........s............. [ 18%]\n"
           "....F..\n")
    assert progress_of(log) == (18, 87, 3)  # the unfinished line counts, its percentage is not printed yet
    assert progress_of("") == (None, 0, 0)
    assert progress_of("....") == (None, 4, 0)  # the first line, before its percentage
    assert progress_of("ImportError while loading conftest\nE   ModuleNotFoundError\n") == (None, 0, 0)


def _collect(*halves: str) -> list[tuple[set[str], int]]:
    """``pytest --collect-only --half H`` for each half, side by side: (its test ids, the whole count)."""
    procs = [subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--collect-only",
                               "--half", h], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for h in halves]
    out = []
    for proc in procs:
        stdout = proc.communicate(timeout=600)[0]
        assert proc.returncode == 0, stdout[-3000:]
        ids = {line for line in stdout.splitlines() if "::" in line}
        m = re.search(r"(\d+)/(\d+) tests collected", stdout)
        assert m, stdout[-2000:]
        assert int(m.group(1)) == len(ids)
        out.append((ids, int(m.group(2))))
    return out


def test_every_test_file_runs_in_exactly_one_half():
    (a, total_a), (b, total_b) = _collect("a", "b")
    assert total_a == total_b == len(a) + len(b) and not a & b  # every collected test once
    modules = {i.split("::")[0] for i in a | b}
    on_disk = {p.relative_to(ROOT).as_posix() for p in (ROOT / "tests").rglob("test_*.py")
               if re.search(r"^\s*(async )?def test_", p.read_text(), re.M)}  # test_ml_panel_data.py is data, no tests
    assert on_disk == modules  # no test file left out of both
    in_a = {i.split("::")[0] for i in a}
    assert not in_a & {i.split("::")[0] for i in b}  # a module is never split between the halves
    # the build's users together; the Airflow modules (which do not use the build) on the other side
    assert {"tests/test_warehouse_build.py", "tests/test_ml_firm.py", "tests/test_bi_browser.py",
            "tests/test_warehouse_incremental.py"} <= in_a
    assert not {"tests/test_pipeline_e2e.py", "tests/test_dags.py", "tests/test_import_dag.py",
                "tests/test_external_dag.py"} & in_a
    assert TO_A <= on_disk  # the balancing table names real files
