"""The full-stack docker-compose.yaml, its Dockerfile and the PostgreSQL init script.

There is no Docker engine where the tests run, so the compose file is checked by parsing it the way
Compose would (YAML merge keys resolved by ``yaml.safe_load``; ``${VAR:-default}`` interpolated by
``interpolate`` below) and the init script is run against a real PostgreSQL 16 (pgserver's binaries).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
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


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict) -> dict[str, dict]:
    return compose["services"]


@pytest.fixture(scope="module")
def common(compose: dict) -> dict:
    return compose["x-airflow-common"]


@pytest.fixture(scope="module")
def common_env(common: dict) -> dict[str, str]:
    return env_of(common)


COMPLETED = "service_completed_successfully"


def _one_shot(services: dict[str, dict]) -> set[str]:
    """Services others wait on to *finish* (service_completed_successfully)."""
    done = set()
    for svc in services.values():
        deps = svc.get("depends_on") or {}
        if isinstance(deps, dict):
            done |= {n for n, d in deps.items() if (d or {}).get("condition") == COMPLETED}
    return done


# --- services and the common anchor -------------------------------------------------------------


@pytest.mark.parametrize("name", REQUIRED_SERVICES)
def test_required_service_exists(services, name):
    assert name in services


def test_common_anchor_is_defined_once_and_merged_into_every_airflow_service():
    text = COMPOSE_FILE.read_text()
    assert len(re.findall(r"^x-airflow-common:\s*\n\s*&airflow-common\b", text, re.M)) == 1
    merged = re.findall(r"^  ([\w-]+):\n    <<: \*airflow-common$", text, re.M)
    # superset runs the platform's own command (`python -m include.bi up`) in the same image
    assert sorted(merged) == sorted((*AIRFLOW_SERVICES, "superset"))


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
def test_airflow_service_is_built_from_the_dockerfile(services, common, name):
    svc = services[name]
    assert svc["build"] == common["build"]
    assert (ROOT / common["build"]["context"] / common["build"].get("dockerfile", "Dockerfile")).resolve() == DOCKERFILE
    assert svc["image"] == common["image"]


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
def test_airflow_service_inherits_the_common_environment(services, common_env, name):
    env = env_of(services[name])
    missing = {k for k in common_env if k not in env}
    changed = {k for k in common_env if k in env and env[k] != common_env[k]}
    assert not missing, f"{name} lacks {sorted(missing)}"
    assert not changed, f"{name} overrides {sorted(changed)}"


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
def test_airflow_service_inherits_the_common_volumes(services, common, name):
    assert services[name]["volumes"] == common["volumes"]


@pytest.mark.parametrize("name", LONG_RUNNING_AIRFLOW)
def test_long_running_airflow_service_runs_as_the_airflow_uid_with_group_0(services, name):
    user = interpolate(services[name]["user"])
    assert re.fullmatch(r"\d+:0", user), user
    assert user != "0:0"


@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("airflow-apiserver", "api-server"),
        ("airflow-scheduler", "scheduler"),
        ("airflow-dag-processor", "dag-processor"),
        ("airflow-triggerer", "triggerer"),
    ],
)
def test_airflow_component_command(services, name, command):
    cmd = services[name]["command"]
    assert (cmd if isinstance(cmd, str) else " ".join(cmd)) == command


def test_airflow_init_migrates_the_metadata_db_and_fails_loudly(services):
    script = "\n".join(services["airflow-init"]["command"])
    assert re.search(r"^\s*(/entrypoint\s+)?airflow db migrate\s*$", script, re.M)
    assert "set -e" in script  # a failed migration must fail the one-shot, so nothing else starts
    assert "restart" not in services["airflow-init"]


def test_airflow_init_writes_the_admin_login_from_the_environment(services, common_env):
    svc = services["airflow-init"]
    script = "\n".join(svc["command"])
    passwords_file = common_env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]
    assert passwords_file.startswith(common_env["SUPERVISION_HOME"] + "/")  # in the persistent volume
    assert "$${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE}" in script
    admin_password = env_of(svc)["ADMIN_PASSWORD"]
    assert _WHOLE_INTERPOLATION.fullmatch(admin_password)
    # Only the one-shot sees the admin password.
    assert "ADMIN_PASSWORD" not in common_env


# --- start-up order and health ------------------------------------------------------------------


@pytest.mark.parametrize("name", LONG_RUNNING_AIRFLOW)
def test_airflow_component_waits_for_airflow_init_to_complete(services, name):
    deps = services[name]["depends_on"]
    assert deps["airflow-init"]["condition"] == COMPLETED


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
def test_airflow_service_waits_for_a_healthy_postgres(services, name):
    assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_only_airflow_init_is_one_shot(services):
    assert _one_shot(services) == {"airflow-init"}


def test_every_long_running_service_has_a_healthcheck(services):
    long_running = set(services) - _one_shot(services)
    assert set(REQUIRED_SERVICES) - {"airflow-init"} <= long_running
    for name in sorted(long_running):
        hc = services[name].get("healthcheck") or {}
        assert hc.get("test") and not hc.get("disable"), f"{name} has no healthcheck"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("postgres", "pg_isready"),
        ("airflow-apiserver", "http://localhost:8080/api/v2/version"),
        ("airflow-scheduler", "http://localhost:8974/health"),
        ("airflow-dag-processor", 'airflow jobs check --job-type DagProcessorJob --hostname "$${HOSTNAME}"'),
        ("airflow-triggerer", 'airflow jobs check --job-type TriggererJob --hostname "$${HOSTNAME}"'),
    ],
)
def test_healthcheck_probes_the_component(services, name, expected):
    test = services[name]["healthcheck"]["test"]
    assert expected in (test if isinstance(test, str) else " ".join(test))


def test_scheduler_health_check_server_is_enabled(common_env):
    assert common_env["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"].lower() == "true"


# --- network exposure ---------------------------------------------------------------------------


def test_every_published_port_is_bound_to_localhost(services):
    published = []
    for name, svc in services.items():
        for port in svc.get("ports") or []:
            published.append(name)
            if isinstance(port, dict):
                assert port.get("host_ip") == "127.0.0.1", f"{name}: {port}"
            else:
                assert str(port).startswith("127.0.0.1:"), f"{name}: {port}"
    assert "airflow-apiserver" in published


def test_apiserver_publishes_8080(services):
    assert [interpolate(p) for p in services["airflow-apiserver"]["ports"]] == ["127.0.0.1:8080:8080"]


def test_execution_api_url_points_at_the_apiserver_service(services, common_env):
    url = urlsplit(common_env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    assert url.hostname == "airflow-apiserver" and url.hostname in services
    container_ports = {interpolate(p).rsplit(":", 1)[1] for p in services["airflow-apiserver"]["ports"]}
    assert str(url.port) in container_ports
    assert url.path == "/execution/"


# --- Airflow settings ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("AIRFLOW__CORE__EXECUTOR", "LocalExecutor"),
        ("AIRFLOW__CORE__LOAD_EXAMPLES", "false"),
        ("AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION", "true"),
        ("AIRFLOW__COSMOS__ENABLE_TELEMETRY", "false"),
        ("DO_NOT_TRACK", "1"),
        ("PYTHONPATH", "/opt/airflow"),
        ("SUPERVISION_HOME", "/opt/airflow/state"),
    ],
)
def test_common_setting(common_env, key, value):
    assert common_env[key].lower() == value.lower()


def test_auth_manager_is_an_airflow_3_one(common_env):
    assert common_env["AIRFLOW__CORE__AUTH_MANAGER"] in {
        "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager",
    }


def test_one_jwt_secret_is_shared_by_every_airflow_service(services):
    secrets = {env_of(services[name]).get("AIRFLOW__API_AUTH__JWT_SECRET") for name in AIRFLOW_SERVICES}
    assert len(secrets) == 1
    (secret,) = secrets
    assert secret and interpolate(secret), "the JWT secret must never be empty"
    assert _WHOLE_INTERPOLATION.fullmatch(secret)


def test_metadata_db_is_the_airflow_database_on_the_postgres_service(services, common_env):
    url = urlsplit(interpolate(common_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]))
    assert url.scheme.startswith("postgresql")
    assert (url.hostname, url.port, url.path, url.username) == ("postgres", 5432, "/airflow", "airflow")


@pytest.mark.parametrize(
    ("key", "scheme"),
    [
        ("SUPERVISION_DATABASE_URL", "postgresql+psycopg"),
        ("AIRFLOW_CONN_SUPERVISION_LOADER", "postgresql"),
        ("AIRFLOW_CONN_SUPERVISION_TRANSFORMER", "postgresql"),
        ("AIRFLOW_CONN_SUPERVISION_SCORER", "postgresql"),
        ("AIRFLOW_CONN_SUPERVISION_BI_READER", "postgresql"),
        ("AIRFLOW_CONN_SUPERVISION_AUDITOR", "postgresql"),
    ],
)
def test_warehouse_url_is_the_supervision_database_on_the_postgres_service(common_env, key, scheme):
    url = urlsplit(interpolate(common_env[key]))
    assert (url.scheme, url.hostname, url.port, url.path) == (scheme, "postgres", 5432, "/supervision")


@pytest.mark.parametrize("role", ["loader", "transformer", "scorer", "bi_reader", "auditor"])
def test_each_role_connection_uses_that_roles_password_variable(common_env, role):
    url = urlsplit(interpolate(common_env[f"AIRFLOW_CONN_SUPERVISION_{role.upper()}"]))
    assert url.username == role
    assert url.password == interpolate(common_env[f"SUPERVISION_{role.upper()}_PASSWORD"])


def test_include_and_ml_are_importable_from_pythonpath(common, common_env):
    targets = {split_volume(v)[1] for v in common["volumes"]}
    for package in ("include", "ml"):
        assert f"{common_env['PYTHONPATH']}/{package}" in targets


def test_no_pip_requirements_installed_at_container_start(services, common_env):
    for name in AIRFLOW_SERVICES:
        assert not interpolate(env_of(services[name]).get("_PIP_ADDITIONAL_REQUIREMENTS", "")), name


# --- volumes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("folder", "target"), sorted(CODE_MOUNTS.items()))
def test_code_folder_is_bind_mounted(common, folder, target):
    mounts = {split_volume(v)[1]: split_volume(v)[0] for v in common["volumes"]}
    assert target in mounts, f"{target} is not mounted"
    assert repo_path(mounts[target]) == ROOT / folder
    assert (ROOT / folder).is_dir()


def test_every_bind_mount_source_exists_in_the_repository(services):
    for name, svc in services.items():
        for spec in svc.get("volumes") or []:
            source, _ = split_volume(spec)
            if not is_bind(source):
                continue
            path = repo_path(source)
            assert path.is_relative_to(ROOT), f"{name} mounts {source} from outside the repository"
            if path.relative_to(ROOT).as_posix() in CREATED_AT_RUN_TIME:
                continue
            assert path.exists(), f"{name} mounts {source}, which does not exist"


def test_named_volumes_are_declared(compose, services):
    declared = set(compose.get("volumes") or {})
    used = {
        split_volume(spec)[0]
        for svc in services.values()
        for spec in svc.get("volumes") or []
        if not is_bind(split_volume(spec)[0])
    }
    assert used and used <= declared


def test_state_directory_is_a_named_volume(common, common_env):
    mounts = {split_volume(v)[1]: split_volume(v)[0] for v in common["volumes"]}
    source = mounts.get(common_env["SUPERVISION_HOME"])
    assert source and not is_bind(source)


def test_postgres_data_is_a_named_volume_and_runs_the_init_scripts(services):
    mounts = {split_volume(v)[1]: split_volume(v)[0] for v in services["postgres"]["volumes"]}
    assert not is_bind(mounts["/var/lib/postgresql/data"])
    assert repo_path(mounts["/docker-entrypoint-initdb.d"]) == INIT_DIR
    assert services["postgres"]["image"] == "postgres:16"


# --- secrets ------------------------------------------------------------------------------------


def _all_environments(compose: dict) -> list[tuple[str, str, str]]:
    rows = [("x-airflow-common", k, v) for k, v in env_of(compose["x-airflow-common"]).items()]
    for name, svc in compose["services"].items():
        rows += [(name, k, v) for k, v in env_of(svc).items()]
    return rows


def test_secret_settings_come_from_variables_with_dev_only_defaults(compose):
    checked = 0
    for where, key, value in _all_environments(compose):
        if not _SECRET_KEY.search(key) or _POINTS_TO_A_SECRET.search(key):
            continue
        checked += 1
        m = _WHOLE_INTERPOLATION.fullmatch(value)
        assert m, f"{where}: {key} must be a ${{VAR:-default}} interpolation, not a literal"
        default = m.group("default")
        assert default == "" or "dev" in default, f"{where}: {key}'s default must say it is for development"
    assert checked >= 5


def test_passwords_in_urls_come_from_variables(compose):
    checked = 0
    for where, key, value in _all_environments(compose):
        m = _URL_WITH_PASSWORD.match(value)
        if not m:
            continue
        checked += 1
        assert _WHOLE_INTERPOLATION.fullmatch(m.group("password")), f"{where}: {key} has a literal password"
    assert checked >= 3


PIPELINE_ROLES = ("loader", "transformer", "scorer", "bi_reader", "auditor")


@pytest.mark.parametrize("overrides", [{}, {v: f"from-env-{v}" for v in ROLE_PASSWORD_VARS.values()}])
def test_client_urls_use_the_password_the_database_role_was_given(compose, services, overrides):
    """Each URL's password is the one the postgres service sets for that role, set or defaulted."""
    pg_env = env_of(services["postgres"])
    assert interpolate(pg_env["POSTGRES_USER"]) == "postgres"
    seen = set()
    for where, key, value in _all_environments(compose):
        if where == "postgres" or not _URL_WITH_PASSWORD.match(value):
            continue
        url = urlsplit(interpolate(value, overrides))
        if url.hostname != "postgres":
            continue
        if url.username in PIPELINE_ROLES:
            # Created by the warehouse bootstrap (airflow-init) from SUPERVISION_<ROLE>_PASSWORD.
            own_env = env_of(services[where] if where in services else compose["x-airflow-common"])
            var = f"SUPERVISION_{url.username.upper()}_PASSWORD"
            assert var in own_env, f"{where}: {key} needs {var} beside it for the bootstrap"
            assert url.password == interpolate(own_env[var], overrides), f"{where}: {key}"
        else:
            var = ROLE_PASSWORD_VARS[url.username]
            assert url.password == interpolate(pg_env[var], overrides), f"{where}: {key}"
        seen.add(url.username)
    assert {"airflow", "postgres", "loader", "transformer"} <= seen


def test_init_script_takes_passwords_from_the_environment():
    text = INIT_SCRIPT.read_text()
    for var in ("AIRFLOW_DB_PASSWORD", "SUPERVISION_DB_PASSWORD"):
        assert f'"${var}"' in text
    assert not re.search(r"PASSWORD\s+'", text), "literal password in the init script"


# --- Dockerfile ---------------------------------------------------------------------------------


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            op, _, rest = line.partition(" ")
            rows.append((op.upper(), rest.strip()))
    return rows


def _pinned(package: str) -> str:
    for line in REQUIREMENTS.read_text().splitlines():
        m = re.fullmatch(rf"{re.escape(package)}==([\w.]+)\s*(#.*)?", line.strip())
        if m:
            return m.group(1)
    raise AssertionError(f"{package} is not pinned in requirements.txt")


def test_dockerfile_base_image_matches_the_airflow_pin():
    froms = [rest for op, rest in _dockerfile_instructions() if op == "FROM"]
    assert len(froms) == 1
    m = re.fullmatch(r"apache/airflow:(?P<airflow>[\w.]+)-python(?P<python>[\d.]+)", froms[0])
    assert m, froms[0]
    assert m.group("airflow") == _pinned("apache-airflow")
    assert m.group("python") == "3.11"


def test_dockerfile_installs_requirements_txt():
    rows = _dockerfile_instructions()
    copy_at = next(i for i, (op, rest) in enumerate(rows) if op == "COPY" and "requirements.txt" in rest)
    dest = rows[copy_at][1].split()[-1]
    installs = [
        i
        for i, (op, rest) in enumerate(rows)
        if op == "RUN" and re.search(r"pip install\b.*\s-r\s+" + re.escape(dest), rest)
    ]
    assert installs and installs[0] > copy_at


@pytest.mark.parametrize("folder", sorted(CODE_MOUNTS))
def test_dockerfile_copies_project_folder(folder):
    copies = [rest.split() for op, rest in _dockerfile_instructions() if op == "COPY"]
    assert any(args[-2].rstrip("/") == folder and args[-1].rstrip("/") == CODE_MOUNTS[folder] for args in copies), (
        f"Dockerfile does not COPY {folder}/ to {CODE_MOUNTS[folder]}"
    )


# --- the init script against a real PostgreSQL 16 ------------------------------------------------


@pytest.fixture(scope="module")
def initialised_postgres():
    """An embedded PostgreSQL 16 on which the init script ran as the image's entrypoint would run it."""
    from include.config import StatePaths
    from include.warehouse.server import EmbeddedServer, _pg_bin_dir

    # Not pytest's tmp_path: as root, PostgreSQL runs as another user, who must traverse the parents.
    base = Path(tempfile.mkdtemp(prefix="sv-compose-pg-"))
    base.chmod(0o755)
    server = EmbeddedServer(StatePaths(base))
    POSTGRES_BIN_PATH = _pg_bin_dir()
    try:
        info = server.up(create_database=False)  # the init script creates the databases itself
        env = {
            **os.environ,
            "PATH": f"{POSTGRES_BIN_PATH}{os.pathsep}{os.environ.get('PATH', '')}",
            "PGHOST": str(info.socket_dir or info.host),
            "PGPORT": str(info.port or 5432),
            "POSTGRES_USER": "postgres",
            "AIRFLOW_DB_PASSWORD": "airflow 'quoted' pw",
            "SUPERVISION_DB_PASSWORD": "supervision\\pw",
        }
        run = subprocess.run(["bash", str(INIT_SCRIPT)], env=env, capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr

        def psql(query: str, user: str = "postgres", db: str = "postgres") -> subprocess.CompletedProcess:
            return subprocess.run(
                ["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-U", user, "-d", db, "-c", query],
                env=env,
                capture_output=True,
                text=True,
                timeout=30,
            )

        yield psql
    finally:
        server.down()
        shutil.rmtree(base, ignore_errors=True)


def test_init_script_creates_both_databases_with_their_owners(initialised_postgres):
    out = initialised_postgres(
        "select datname || ':' || pg_get_userbyid(datdba) || ':' || pg_encoding_to_char(encoding) "
        "from pg_database where datname in ('airflow', 'supervision') order by 1"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["airflow:airflow:UTF8", "supervision:supervision:UTF8"]


def test_init_script_gives_the_owners_login_passwords_but_no_superpowers(initialised_postgres):
    out = initialised_postgres(
        "select rolname || ':' || rolcanlogin || ':' || rolsuper || ':' || rolcreaterole || ':' "
        "|| (rolpassword like 'SCRAM-SHA-256$%') from pg_authid where rolname in ('airflow', 'supervision') "
        "order by 1"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["airflow:true:false:false:true", "supervision:true:false:false:true"]


def test_init_script_keeps_each_owner_out_of_the_other_database(initialised_postgres):
    assert initialised_postgres("select 1", user="airflow", db="airflow").returncode == 0
    assert initialised_postgres("select 1", user="supervision", db="supervision").returncode == 0
    denied = initialised_postgres("select 1", user="supervision", db="airflow")
    assert denied.returncode != 0 and "permission denied" in denied.stderr


def test_superset_serves_the_dashboards_in_bi_on_localhost(services, common_env):
    svc = services["superset"]
    assert "include.bi up --foreground" in "\n".join(svc["command"])
    assert [interpolate(p) for p in svc["ports"]] == ["127.0.0.1:8088:8088"]
    assert "./bi:/opt/airflow/bi:ro" in svc["volumes"] and "airflow-state:/opt/airflow/state" in svc["volumes"]
    assert env_of(svc)["SUPERVISION_DATABASE_URL"] == common_env["SUPERVISION_DATABASE_URL"]
    assert svc["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
    assert "/health" in " ".join(svc["healthcheck"]["test"])
