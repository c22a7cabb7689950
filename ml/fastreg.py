"""Fast reads (and alias/tag writes) of the project's MLflow registry without importing MLflow.

``compare``, ``report`` and ``promote`` must answer in well under 3 s; importing MLflow alone takes
2-3 s on a busy machine. The registry is MLflow's SQLite store under ``$SUPERVISION_HOME/mlflow``
(``ml.registry.tracking_uri``), whose tables (``model_versions``, ``model_version_tags``,
``registered_model_aliases``) are read with ``sqlite3``; artifacts are local files. With
``SUPERVISION_MLFLOW_TRACKING_URI`` pointing elsewhere (a team's MLflow server) these fall back to the
MLflow client.
"""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import closing
from pathlib import Path
from urllib.parse import unquote, urlparse

from ml.errors import MLError


def _db() -> Path | None:
    from ml.registry import wait_for_warm_up  # light: MLflow is imported inside registry's functions

    wait_for_warm_up()  # never read the database while MLflow creates it (ml.registry.warm_up)
    if os.environ.get("SUPERVISION_MLFLOW_TRACKING_URI"):
        return None
    from include.config import paths

    return paths().home / "mlflow" / "mlflow.db"


def _connect(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db}?mode=rw", uri=True, timeout=30)


def versions(model_name: str) -> list[dict]:
    """[{version, aliases, run_id, source, **tags}] in version order; [] if the model is unknown."""
    db = _db()
    if db is None:
        from ml import registry

        return registry.versions(model_name)
    if not db.exists():
        return []
    with closing(_connect(db)) as conn:
        try:
            rows = conn.execute("select version, run_id, source from model_versions where name = ? "
                                "order by version", (model_name,)).fetchall()
        except sqlite3.OperationalError:
            return []
        tags: dict[int, dict] = {}
        for v, k, val in conn.execute("select version, key, value from model_version_tags where name = ?",
                                      (model_name,)):
            tags.setdefault(int(v), {})[k] = val
        aliases: dict[int, list] = {}
        for a, v in conn.execute("select alias, version from registered_model_aliases where name = ? order by alias",
                                 (model_name,)):
            aliases.setdefault(int(v), []).append(a)
    return [{"version": str(v), "aliases": aliases.get(int(v), []), **tags.get(int(v), {}), "run_id": run_id,
             "source": source} for v, run_id, source in rows]


def alias_version(model_name: str, alias: str) -> str | None:
    return next((v["version"] for v in versions(model_name) if alias in v["aliases"]), None)


def find(model_name: str, ref: str) -> dict:
    from ml.registry import pick

    return pick(model_name, versions(model_name), ref)


def local_dir(uri: str) -> Path:
    p = urlparse(uri)
    if p.scheme not in ("file", ""):
        raise MLError(f"artifact {uri}: not a local file (use the MLflow client for remote artifacts)")
    return Path(unquote(p.path))


def meta(model_name: str, ref: str) -> tuple[dict, dict]:
    """(version row, the model's meta.json) without unpickling the model."""
    v = find(model_name, ref)
    path = local_dir(v["source"]) / "meta.json"
    if not path.exists():
        raise MLError(f"{model_name} v{v['version']}: {path} is missing")
    return v, json.loads(path.read_text())


def set_alias(model_name: str, alias: str, version: str) -> None:
    db = _db()
    if db is None:
        from ml import registry

        return registry.set_alias(model_name, alias, version)
    with closing(_connect(db)) as conn, conn:
        conn.execute("delete from registered_model_aliases where name = ? and alias = ?", (model_name, alias))
        conn.execute("insert into registered_model_aliases (alias, version, name) values (?, ?, ?)",
                     (alias, int(version), model_name))
    return None


def set_tag(model_name: str, version: str, key: str, value: str) -> None:
    db = _db()
    if db is None:
        from ml import registry

        return registry.client().set_model_version_tag(model_name, version, key, value)
    with closing(_connect(db)) as conn, conn:
        conn.execute("delete from model_version_tags where name = ? and version = ? and key = ?",
                     (model_name, int(version), key))
        conn.execute("insert into model_version_tags (key, value, name, version) values (?, ?, ?, ?)",
                     (key, value[:5000], model_name, int(version)))
    return None
