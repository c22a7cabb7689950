"""Where things live. Every path the pipeline uses comes from here.

The state directory holds everything generated at run time (embedded PostgreSQL data, Airflow home,
landing zone, archive, outbox, GX results, dbt target). It is outside the repository by default:
``$SUPERVISION_HOME`` or ``~/.local/share/supervision``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DAGS_DIR = PROJECT_ROOT / "dags"
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
GX_ROOT = PROJECT_ROOT / "expectations"


@dataclass(frozen=True)
class StatePaths:
    home: Path

    @property
    def pgdata(self) -> Path:
        return self.home / "pgdata"

    @property
    def airflow_home(self) -> Path:
        return self.home / "airflow"

    @property
    def landing(self) -> Path:
        """Where institutions deliver: landing/<institution>/<period>/<submission_id>/."""
        return self.home / "landing"

    @property
    def imports(self) -> Path:
        """Files an investigator brings for the import_transactions DAG (`supervision import` reads any path)."""
        return self.home / "imports"

    @property
    def ground_truth(self) -> Path:
        """The simulator's answers. Next to, never inside, the landing zone; the pipeline never reads it."""
        return self.home / "ground_truth"

    @property
    def archive(self) -> Path:
        """Every received file, as received, named by its sha256."""
        return self.home / "archive"

    @property
    def outbox(self) -> Path:
        """Feedback reports to institutions: outbox/<institution>/<submission_id>/."""
        return self.home / "outbox"

    @property
    def gx_results(self) -> Path:
        return self.home / "gx"

    @property
    def dbt_target(self) -> Path:
        return self.home / "dbt_target"

    @property
    def dbt_logs(self) -> Path:
        return self.home / "dbt_logs"

    @property
    def secrets(self) -> Path:
        return self.home / "secrets"


def state_home() -> Path:
    env = os.environ.get("SUPERVISION_HOME")
    if env:
        return Path(env).expanduser().resolve()
    return Path.home() / ".local" / "share" / "supervision"


def paths() -> StatePaths:
    return StatePaths(state_home())


@contextmanager
def private_files() -> Iterator[None]:
    """Files and folders written meanwhile are private to this user (umask 0077): everything under the
    state directory holds data (issue #14). Restores the previous umask."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)
