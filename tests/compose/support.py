"""What the compose tests share: the files checked, and reading docker-compose.yaml the way Compose
would (YAML merge keys resolved by ``yaml.safe_load``; ``${VAR:-default}`` interpolated by
:func:`interpolate`). There is no Docker engine where the tests run."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
REQUIREMENTS = ROOT / "requirements.txt"
INIT_DIR = ROOT / "docker" / "postgres-init"
INIT_SCRIPT = INIT_DIR / "01-databases.sh"

AIRFLOW_SERVICES = (
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
)
LONG_RUNNING_AIRFLOW = tuple(s for s in AIRFLOW_SERVICES if s != "airflow-init")
REQUIRED_SERVICES = ("postgres", *AIRFLOW_SERVICES)

# Repository folder -> where the containers see it.
CODE_MOUNTS = {
    "dags": "/opt/airflow/dags",
    "include": "/opt/airflow/include",
    "dbt_project": "/opt/airflow/dbt_project",
    "expectations": "/opt/airflow/expectations",
    "ml": "/opt/airflow/ml",
}
# Bind-mount sources that may legitimately be missing from a fresh clone (created at run time).
CREATED_AT_RUN_TIME = {"logs"}

# Database role -> the variable holding its password (postgres service environment / init script).
ROLE_PASSWORD_VARS = {
    "postgres": "POSTGRES_PASSWORD",
    "airflow": "AIRFLOW_DB_PASSWORD",
    "supervision": "SUPERVISION_DB_PASSWORD",
}

_INTERPOLATION = re.compile(r"\$\$|\$\{(?P<name>\w+)(?::-(?P<default>[^}]*))?\}")
_WHOLE_INTERPOLATION = re.compile(r"\$\{(?P<name>\w+):-(?P<default>[^}]*)\}")
_SECRET_KEY = re.compile(r"PASSWORD|PASSWD|SECRET|FERNET|TOKEN|(^|_)KEY$")
_POINTS_TO_A_SECRET = re.compile(r"_(FILE|PATH|CMD)$")  # where a secret is, not the secret itself
_URL_WITH_PASSWORD = re.compile(r"^[a-z0-9+]+://(?P<user>[^:/@\s]+):(?P<password>[^@\s]*)@")


def interpolate(value: str, env: dict[str, str] | None = None) -> str:
    """Compose's interpolation for the forms this file uses: ``${VAR}``, ``${VAR:-default}``, ``$$``."""
    env = env or {}

    def repl(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group("name")) or (m.group("default") or "")

    return _INTERPOLATION.sub(repl, value)


def env_of(service: dict) -> dict[str, str]:
    """A service's environment as a dict, whichever of Compose's two syntaxes it uses."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def split_volume(spec: str) -> tuple[str, str]:
    """(source, target) of a short-syntax volume ``source:target[:mode]``."""
    parts = spec.split(":")
    assert len(parts) in (2, 3), f"unexpected volume syntax {spec!r}"
    return parts[0], parts[1]


def is_bind(source: str) -> bool:
    return source.startswith((".", "/", "~", "$"))


def repo_path(source: str) -> Path:
    return (ROOT / interpolate(source)).resolve()
