"""Screenshots of the real Airflow UI after a demo: the grid view of a DAG's latest run and one task's log.

    SUPERVISION_HOME=... python -m bench.airflow_ui_shot --port 8093 --out /work/shots-airflow

Starts ``supervision airflow-ui`` (inspect-only: the API server, no scheduler) on the state directory of
``SUPERVISION_HOME``, logs in with the generated SimpleAuthManager password, drives Debian's Chromium
headless through Playwright (never a downloaded browser) and writes ``grid-<dag>.png`` (the grid of the
latest run) and ``log-<dag>.png`` (a task of that run with its log open). The page texts are checked
before saving: the grid must list the DAG's tasks and the log view must show the task's log lines, else
exit code 2 with one line. The UI is stopped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from contextlib import closing, contextmanager
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
#: the watcher producer runs the one `dbt build`: its log holds dbt's own lines
DEFAULT_TASK = "dbt.dbt_producer_watcher"


class ShotError(Exception):
    """A one-line reason the screenshots could not be taken."""


def latest_run(airflow_db: Path, dag_id: str) -> str:
    if not airflow_db.exists():
        raise ShotError(f"{airflow_db}: no Airflow metadata DB (run `supervision demo` first)")
    with closing(sqlite3.connect(f"file:{airflow_db}?mode=ro", uri=True)) as conn:
        row = conn.execute("select run_id from dag_run where dag_id = ? order by id desc limit 1", (dag_id,)).fetchone()
    if row is None:
        raise ShotError(f"{airflow_db}: no run of {dag_id} (run `supervision demo` first)")
    return row[0]


def task_ids(airflow_db: Path, dag_id: str, run_id: str) -> list[str]:
    with closing(sqlite3.connect(f"file:{airflow_db}?mode=ro", uri=True)) as conn:
        return [r[0] for r in conn.execute("select task_id from task_instance where dag_id = ? and run_id = ? "
                                           "order by task_id", (dag_id, run_id))]


def _wait_up(base: str, proc: subprocess.Popen, timeout: float = 180) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise ShotError(f"the Airflow UI exited with code {proc.returncode} before it answered")
        try:
            with urllib.request.urlopen(f"{base}/api/v2/monitor/health", timeout=5):
                return
        except OSError:
            time.sleep(1)
    raise ShotError(f"the Airflow UI did not answer on {base} within {timeout:.0f} s")


@contextmanager
def airflow_ui(port: int):
    """``supervision airflow-ui --port`` in its own process group (this checkout's code), stopped afterwards."""
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH")) if p)}
    proc = subprocess.Popen([sys.executable, "-m", "include.cli", "airflow-ui", "--port", str(port)], cwd=root,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_up(base, proc)
        yield base
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _login(page, base: str, airflow_home: Path) -> None:
    creds = airflow_home / "simple_auth_manager_passwords.json.generated"
    if not creds.exists():
        raise ShotError(f"{creds}: missing (the UI creates it on its first start)")
    user, password = next(iter(json.loads(creds.read_text()).items()))
    page.goto(f"{base}/auth/login", wait_until="networkidle")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/auth/login" not in url, timeout=60_000)


def shoot(home: Path, port: int, out: Path, dag_id: str, task_id: str) -> dict:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    airflow_home = home / "airflow"
    run_id = latest_run(airflow_home / "airflow.db", dag_id)
    tasks = task_ids(airflow_home / "airflow.db", dag_id, run_id)
    if task_id not in tasks:
        raise ShotError(f"{dag_id} run {run_id}: no task {task_id!r} (tasks: {', '.join(tasks[:5])} ...)")
    out.mkdir(parents=True, exist_ok=True)
    grid_png, log_png = out / f"grid-{dag_id}.png", out / f"log-{dag_id}.png"
    q = urllib.parse.quote
    with airflow_ui(port) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1800, "height": 1100})
            _login(page, base, airflow_home)
            # the task's page: the grid of the DAG's runs on the left, the task instance's log on the right
            page.goto(f"{base}/dags/{q(dag_id)}/runs/{q(run_id, safe='')}/tasks/{q(task_id)}",
                      wait_until="networkidle")
            page.get_by_text("publish").first.wait_for(timeout=60_000)  # the grid lists the DAG's tasks
            page.get_by_text(re.compile(r"OK created|PASS=|\[DAG TEST\]")).first.wait_for(timeout=60_000)  # log lines
            page.wait_for_timeout(2000)
            page.screenshot(path=str(grid_png), full_page=False)
            grid_text = page.inner_text("body")
            # the log alone, larger: the same page's Logs tab with the grid collapsed out of view
            page.set_viewport_size({"width": 1800, "height": 1600})
            page.wait_for_timeout(1000)
            page.screenshot(path=str(log_png), full_page=True)
        except PlaywrightError as e:  # a timeout waiting for the grid or the log: one line, no traceback
            page.screenshot(path=str(out / f"failed-{dag_id}.png"))  # what the page showed instead
            raise ShotError(f"{dag_id} run {run_id}, task {task_id}: {str(e).splitlines()[0]}") from None
        finally:
            browser.close()
    return {"run_id": run_id, "task_id": task_id, "grid": str(grid_png), "log": str(log_png),
            "tasks_in_run": len(tasks), "text_chars": len(grid_text)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="airflow-ui-shot", description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=8093)
    ap.add_argument("--out", type=Path, default=Path("airflow-shots"))
    ap.add_argument("--dag", default="build_warehouse")
    ap.add_argument("--task", default=DEFAULT_TASK)
    args = ap.parse_args(argv)
    home = os.environ.get("SUPERVISION_HOME")
    if not home:
        print("airflow-ui-shot: set SUPERVISION_HOME to the demo's state directory", file=sys.stderr)
        return 2
    if not Path(CHROMIUM).exists():
        print(f"airflow-ui-shot: {CHROMIUM} missing (apt-get install chromium)", file=sys.stderr)
        return 2
    try:
        print(json.dumps(shoot(Path(home), args.port, args.out, args.dag, args.task)))
    except ShotError as e:
        print(f"airflow-ui-shot: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
