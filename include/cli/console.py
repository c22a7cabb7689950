"""A quiet, honest console for the in-process DAG runs (``supervision run|demo``), and task logs where
the Airflow UI reads them.

Airflow, Cosmos, dbt and Great Expectations log a great deal at INFO. Here every log event of the
process is rendered as JSON (Airflow's own task-log format) and routed:

* into the log file of the task that is running (``$AIRFLOW_HOME/logs/dag_id=…/run_id=…/task_id=…/
  [map_index=…/]attempt=N.log``, Airflow's default ``log_filename_template``), so the UI shows the
  demo's task logs; between tasks (DAG parsing, run creation) into ``logs/supervision/run-<time>.log``;
* to the console only from WARNING up (everything with ``-v``), one line each, cut at 300
  characters; errors are printed in full, with their traceback. A short list of known, harmless
  library messages (:data:`BENIGN`) stays in the files only.

:class:`TaskProgress` prints one line per task as ``dag.test()`` finishes it (state, seconds);
Cosmos's per-model watcher tasks are counted, shown as a transient ``rich`` bar on a terminal, and
reported as one line per DAG together with the slowest dbt models.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

MAX_LINE = 300
LEVELS = {"debug": 10, "info": 20, "warning": 30, "warn": 30, "error": 40, "critical": 50, "exception": 40}

#: Library messages that are expected in a healthy run: kept in the log files, not on the console.
BENIGN = re.compile("|".join((
    r"XCom not found",                                   # watcher tasks probing for a node's result
    r"Unavailable conversion function for <DbtResourceType\.(EXPOSURE|OPERATION)>",
    r"apache-airflow-providers-openlineage",
    r"section/key \[openlineage/",
    r"Compiled sql path .* does not exist",
    r"No tasks to run\. unrunnable tasks",               # dag.test() polling while a sensor waits
    r"Using lossy conversion for decimal",               # GX serialising a numeric bound in its results
    r"The least populated class in y has only",          # scikit-learn's CV on a panel with few cases
    r"RuntimeWarning: All-NaN slice encountered",        # a median of a feature empty in one validation fold
)))

#: What the pipeline logs when it does its job on bad input (a defective submission rejected, a flaky
#: feed retried, a bad external record quarantined): counted per DAG on the console, each in its task log.
OUTCOMES = {
    "submissions rejected by the loader": re.compile(r"^rejected submission "),
    "HTTP retries of the external feeds": re.compile(r"retrying$|rate limited, waiting"),
    "external records quarantined": re.compile(r"^quarantined: "),
    "features dropped from a training panel (constant or empty; the model card lists them)":
        re.compile(r"^marts_features\.\S+: feature \S+ dropped: "),
}

#: Airflow imports a DAG file under a generated module name (``unusual_prefix_<sha1>_<file>``): the
#: console names the DAG file instead.
_DAG_MODULE = re.compile(r"^unusual_prefix_[0-9a-f]{40}_")

#: Watcher operators that only report a node's result from the producer's one ``dbt build`` (and their
#: subclasses, include/cosmos_watcher.py).
WATCHER_TYPES = ("DbtRunWatcherOperator", "DbtTestWatcherOperator", "DbtSeedWatcherOperator",
                 "DbtSnapshotWatcherOperator", "DbtSourceWatcherOperator", "DbtBuildWatcherOperator")


def clip(line: str, limit: int = MAX_LINE) -> str:
    line = line.replace("\n", " ")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def task_log_path(base: Path, dag_id: str, run_id: str, task_id: str, map_index: int, try_number: int) -> Path:
    """Airflow's default ``[logging] log_filename_template``, under ``base`` (the base log folder)."""
    p = base / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
    if map_index >= 0:
        p = p / f"map_index={map_index}"
    return p / f"attempt={max(try_number, 1)}.log"


def _format_exception(exc) -> list[str]:
    out: list[str] = []
    for e in exc if isinstance(exc, list) else [exc]:
        if not isinstance(e, dict):
            out.append(str(e))
            continue
        out.append("Traceback (most recent call last):")
        for f in e.get("frames", []):
            out.append(f'  File "{f.get("filename")}", line {f.get("lineno")}, in {f.get("name")}')
        out.append(f"{e.get('exc_type')}: {e.get('exc_value')}")
    return out


class LogRouter:
    """A binary stream for Airflow's ``configure_logging(json_output=True, output=…)``."""

    def __init__(self, run_log: Path, verbose: bool = False, echo=None):
        self.verbose = verbose
        self.echo = echo or (lambda s: print(s, file=sys.stderr, flush=True))
        self.lock = threading.RLock()
        self._buf = b""
        self.run_log = run_log
        self.current: Path | None = None
        self._files: dict[Path, object] = {}
        self.errors = 0
        self.outcomes: dict[str, int] = {}
        self._seen: set[tuple[str, str]] = set()

    # --- the stream protocol logging/structlog use
    def write(self, data) -> int:
        if isinstance(data, str):
            data = data.encode()
        with self.lock:
            self._buf += data
            while b"\n" in self._buf:
                line, self._buf = self._buf.split(b"\n", 1)
                if line.strip():
                    self._route(line)
        return len(data)

    def flush(self) -> None:
        with self.lock:
            for f in self._files.values():
                f.flush()

    def writable(self) -> bool:
        return True

    def close_files(self) -> None:
        with self.lock:
            for f in self._files.values():
                f.close()
            self._files.clear()

    # --- routing
    def _file(self, path: Path):
        f = self._files.get(path)
        if f is None:
            for d in reversed([path.parent, *path.parent.parents]):
                if not d.exists():
                    d.mkdir(mode=0o700, exist_ok=True)
            f = open(path, "ab")  # noqa: SIM115 - kept open for the task's duration
            path.chmod(0o600)
            self._files[path] = f
        return f

    @contextmanager
    def task(self, path: Path):
        with self.lock:
            self.current = path
        try:
            yield
        finally:
            with self.lock:
                f = self._files.pop(path, None)
                if f is not None:
                    f.close()
                self.current = None

    def _route(self, line: bytes) -> None:
        self._file(self.current or self.run_log).write(line + b"\n")
        try:
            ev = json.loads(line)
        except ValueError:
            ev = {"level": "info", "event": line.decode(errors="replace")}
        if not isinstance(ev, dict):
            return
        level = str(ev.get("level", "info")).lower()
        n = LEVELS.get(level, 20)
        event = str(ev.get("event", ""))
        if not self.verbose and (n < 30 or BENIGN.search(event)):
            return
        logger = _DAG_MODULE.sub("dags.", str(ev.get("logger", "")))
        ev["logger"] = logger
        if not self.verbose and logger.startswith(("include.", "ml.")):
            label = next((k for k, rx in OUTCOMES.items() if rx.search(event)), None)
            if label:
                self.outcomes[label] = self.outcomes.get(label, 0) + 1
                return
        if n < 40 and not self.verbose:
            # the same warning again (a library warning per fold, per batch): shown once, counted after
            key = (str(ev.get("logger", "")), event[:120])
            if key in self._seen:
                self.outcomes["repeated warnings"] = self.outcomes.get("repeated warnings", 0) + 1
                return
            self._seen.add(key)
        if n >= 40:
            self.errors += 1
            self.echo(f"{level.upper()} {ev.get('logger', '')}: {event}")
            for text in _format_exception(ev.get("exception") or []):
                self.echo(text)
        else:
            self.echo(clip(f"{level} {ev.get('logger', '')}: {event}"))


@contextmanager
def routed(airflow_home: Path, verbose: bool = False):
    """:func:`install` for the duration of a block; the logging set-up before it is restored after."""
    import logging

    import structlog

    saved = structlog.get_config()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    router = install(airflow_home, verbose)
    try:
        yield router
    finally:
        structlog.configure(**saved)
        root.handlers[:] = handlers
        root.setLevel(level)
        router.close_files()


def install(airflow_home: Path, verbose: bool = False) -> LogRouter:
    """Route every log event of this process through a :class:`LogRouter` (call after importing airflow)."""
    from airflow.sdk._shared.logging.structlog import configure_logging

    stamp = time.strftime("%Y%m%dT%H%M%S")
    router = LogRouter(airflow_home / "logs" / "supervision" / f"run-{stamp}.log", verbose=verbose)
    configure_logging(json_output=True, log_level="DEBUG" if verbose else "INFO", output=router,
                      namespace_log_levels={"great_expectations": "WARNING", "httpx": "WARNING",
                                            "sqlalchemy": "WARNING", "urllib3": "WARNING"}
                      if not verbose else None)
    import logging

    # GX logs its config lookups at INFO on the root of its own hierarchy; dbt adapters are chatty too
    # MLflow's own handler prints its INFO lines and a progress bar per artifact download
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "true" if verbose else "false")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "DEBUG" if verbose else "WARNING")  # read when mlflow is imported
    for name in ("great_expectations", "dbt", "urllib3", "sqlalchemy.engine", "mlflow", "alembic",
                 "simulator"):
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.WARNING)
    return router


_DBT_DONE = re.compile(r"OK created \S+ (?:\S+ )?model (\S+) .*? in ([0-9.]+)s\]")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def slowest_models(log_file: Path, n: int = 3) -> list[tuple[str, float]]:
    """The ``n`` slowest models of a dbt build, from dbt's own lines in the producer task's log."""
    found: dict[str, float] = {}
    try:
        text = log_file.read_text(errors="replace")
    except OSError:
        return []
    for line in text.splitlines():
        if "OK created" not in line:
            continue
        try:
            event = str(json.loads(line).get("event", ""))
        except (ValueError, AttributeError):
            event = line
        m = _DBT_DONE.search(_ANSI.sub("", event))
        if m:
            found[m.group(1)] = float(m.group(2))
    return sorted(found.items(), key=lambda kv: -kv[1])[:n]


class TaskProgress:
    """One console line per task ``dag.test()`` runs; the per-model watcher tasks summed up per DAG."""

    def __init__(self, router: LogRouter, base_log_folder: Path):
        from rich.console import Console

        self.router = router
        self.base = base_log_folder
        self.console = Console(highlight=False, soft_wrap=True)
        self.watched: dict[str, list[float]] = {}
        self.bar = None

    def line(self, text: str) -> None:
        self.console.print(clip(text), markup=False)

    @contextmanager
    def dag(self, dag_id: str, n_tasks: int):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.watched = {}
        self.bar = None
        self.router.outcomes.clear()
        if self.console.is_terminal:
            self.bar = Progress(TextColumn(f"{dag_id}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                console=self.console, transient=True)
            self.bar_task = self.bar.add_task(dag_id, total=n_tasks)
            self.bar.start()
        try:
            yield
        finally:
            if self.bar is not None:
                self.bar.stop()
            if self.router.outcomes:
                self.line(f"  {dag_id}: " + ", ".join(f"{n} {k}" for k, n in self.router.outcomes.items())
                          + " (each in its task's log)")
            if self.watched:
                states = ", ".join(f"{len(v)} {k}" for k, v in sorted(self.watched.items()))
                self.line(f"  {dag_id}: dbt nodes reported by the watcher tasks: {states}")

    def wrap(self, run_task):
        """A replacement for ``airflow.sdk.definitions.dag._run_task``."""

        def _run_task(*, ti, task, run_triggerer=False):
            path = task_log_path(self.base, ti.dag_id, ti.run_id, ti.task_id, ti.map_index, ti.try_number)
            t = time.perf_counter()
            with self.router.task(path):
                result = run_task(ti=ti, task=task, run_triggerer=run_triggerer)
            secs = time.perf_counter() - t
            state = str(getattr(ti.state, "value", ti.state))
            if self.bar is not None:
                self.bar.advance(self.bar_task)
            if state == "success" and any(c.__name__ in WATCHER_TYPES for c in type(task).__mro__):
                self.watched.setdefault(state, []).append(secs)
            else:
                label = ti.task_id + (f"[{ti.map_index}]" if ti.map_index >= 0 else "")
                mark = "ok " if state == "success" else ("-- " if state == "skipped" else "!! ")
                self.line(f"  {mark}{ti.dag_id}.{label:<44} {state:<8} {secs:7.1f}s")
                if state not in ("success", "skipped"):
                    self.line(f"     log: {path}")
                if ti.task_id.endswith("dbt_producer_watcher"):
                    slow = slowest_models(path)
                    if slow:
                        self.line("     slowest dbt models: " + ", ".join(f"{m} {t:.1f}s" for m, t in slow))
            return result

        return _run_task
