"""The quiet console of `supervision run|demo` (include/cli/console.py): every log event lands in a file
(the running task's, where the Airflow UI reads it, else the run's), the console gets warnings cut to one
short line, errors in full, and nothing of the known library chatter."""

from __future__ import annotations

import json

from include.cli.console import MAX_LINE, LogRouter, slowest_models, task_log_path


def _ev(level: str, event: str, logger: str = "lib", **kw) -> bytes:
    return json.dumps({"timestamp": "2026-12-06T10:00:00Z", "level": level, "event": event,
                       "logger": logger, **kw}).encode() + b"\n"


def _router(tmp_path, verbose=False):
    shown: list[str] = []
    return LogRouter(tmp_path / "run.log", verbose=verbose, echo=shown.append), shown


def test_task_log_path_is_airflows_default_template(tmp_path):
    assert task_log_path(tmp_path, "d", "manual__1", "t", -1, 1) == \
        tmp_path / "dag_id=d" / "run_id=manual__1" / "task_id=t" / "attempt=1.log"
    assert task_log_path(tmp_path, "d", "r", "t", 3, 2).parts[-2:] == ("map_index=3", "attempt=2.log")


def test_info_goes_to_files_only_and_each_task_gets_its_own(tmp_path):
    router, shown = _router(tmp_path)
    router.write(_ev("info", "parsing the DAGs"))
    task_file = task_log_path(tmp_path / "logs", "d", "r", "t", -1, 1)
    with router.task(task_file):
        router.write(_ev("info", "inside the task") + _ev("debug", "more"))
    router.write(_ev("info", "after"))
    router.close_files()
    assert shown == []
    assert [json.loads(x)["event"] for x in task_file.read_text().splitlines()] == ["inside the task", "more"]
    assert [json.loads(x)["event"] for x in (tmp_path / "run.log").read_text().splitlines()] == \
        ["parsing the DAGs", "after"]
    assert oct(task_file.stat().st_mode & 0o777) == "0o600"
    assert oct(task_file.parent.stat().st_mode & 0o777) == "0o700"


def test_warnings_are_one_short_line_errors_are_in_full(tmp_path):
    router, shown = _router(tmp_path)
    router.write(_ev("warning", "w" * 5000))
    frames = [{"filename": "/x/a.py", "lineno": 3, "name": "f"}]
    router.write(_ev("error", "boom " + "e" * 1000, exception=[{"exc_type": "ValueError", "exc_value": "bad",
                                                              "frames": frames}]))
    assert len(shown[0]) <= MAX_LINE and "\n" not in shown[0]
    assert shown[1].endswith("e" * 1000)  # not cut
    assert shown[2:] == ["Traceback (most recent call last):", '  File "/x/a.py", line 3, in f', "ValueError: bad"]
    assert router.errors == 1


def test_known_chatter_stays_in_the_files_and_outcomes_are_counted(tmp_path):
    router, shown = _router(tmp_path)
    router.write(_ev("error", "XCom not found", logger="airflow.sdk"))
    router.write(_ev("warning", "Unavailable conversion function for <DbtResourceType.EXPOSURE> (node x)"))
    router.write(_ev("info", "_get_default_value called with key", logger="great_expectations"))
    for _ in range(3):
        router.write(_ev("error", "rejected submission S1: bad manifest", logger="include.ingest.loader"))
    router.write(_ev("warning", "news: HTTP 503 (attempt 1), retrying", logger="include.external.client"))
    assert shown == []
    assert router.outcomes == {"submissions rejected by the loader": 3, "HTTP retries of the external feeds": 1}
    router.close_files()
    assert len((tmp_path / "run.log").read_text().splitlines()) == 7


def test_verbose_shows_everything(tmp_path):
    router, shown = _router(tmp_path, verbose=True)
    router.write(_ev("info", "detail"))
    router.write(_ev("error", "XCom not found"))
    assert len(shown) == 2


def test_partial_writes_and_plain_text_lines(tmp_path):
    router, shown = _router(tmp_path)
    line = _ev("warning", "split across writes")
    router.write(line[:10])
    assert shown == []
    router.write(line[10:] + b"not json at all\n")
    assert shown == ["warning lib: split across writes"]
    router.close_files()
    assert (tmp_path / "run.log").read_text().splitlines()[1] == "not json at all"


def test_slowest_models_from_the_producer_log(tmp_path):
    f = tmp_path / "producer.log"
    lines = [_ev("info", f"10:00:0{i}  {i} of 9 OK created sql {kind} model {name} ..... "
                         f"[\x1b[32m{what}\x1b[0m in {secs}s]") for i, (kind, name, what, secs) in enumerate([
                             ("view", "staging.a", "CREATE VIEW", "0.40"),
                             ("table", "marts.b", "SELECT 10", "12.50"),
                             ("incremental", "intermediate.c", "INSERT 0 5", "3.25"),
                             ("table", "marts.d", "SELECT 1", "7.00")])]
    f.write_bytes(b"".join(lines) + _ev("info", "1 of 9 PASS not_null_x"))
    assert slowest_models(f) == [("marts.b", 12.5), ("marts.d", 7.0), ("intermediate.c", 3.25)]
    assert slowest_models(tmp_path / "missing.log") == []


def test_a_repeated_warning_is_shown_once_and_counted(tmp_path):
    router, shown = _router(tmp_path)
    for _ in range(4):
        router.write(_ev("warning", "X does not have valid feature names", logger="py.warnings"))
    router.write(_ev("warning", "another warning", logger="py.warnings"))
    assert len(shown) == 2
    assert router.outcomes == {"repeated warnings": 3}


def test_expected_training_outcomes_are_counted_and_dag_modules_named(tmp_path):
    """A feature dropped from a training panel is the model card's business (counted, not shown); a DAG
    file's generated module name (``unusual_prefix_<sha1>_score_risk``) reads as ``dags.score_risk``."""
    router, shown = _router(tmp_path)
    router.write(_ev("warning", "marts_features.firm_month_training: feature x dropped: constant (0) in the "
                                "training periods (rule: feature_dropped_constant)", logger="ml.handling"))
    router.write(_ev("warning", "The least populated class in y has only 2 members", logger="py.warnings"))
    router.write(_ev("warning", "/x/numpy/lib/_nanfunctions_impl.py:1215: RuntimeWarning: All-NaN slice "
                                "encountered\n  return fnb._ureduce(a, func=_nanmedian)", logger="py.warnings"))
    router.write(_ev("warning", "firm: not scored", logger="unusual_prefix_" + "ab" * 20 + "_score_risk"))
    assert shown == ["warning dags.score_risk: firm: not scored"]
    assert router.outcomes == {
        "features dropped from a training panel (constant or empty; the model card lists them)": 1}
    router.close_files()
    assert b"feature x dropped" in (tmp_path / "run.log").read_bytes()  # kept in the log file


def test_a_command_needing_the_stopped_server_says_so_in_one_line(tmp_path, capsys, monkeypatch):
    from include.cli import main

    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("SUPERVISION_HOME", str(home))
    assert main(["dbt", "--", "ls"]) == 2
    err = capsys.readouterr().err
    assert err == "supervision: the embedded warehouse is not running; start it with `supervision up`\n"
