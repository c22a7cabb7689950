"""docker-compose.yaml: the services and their common anchor, start-up order and health checks,
published ports, and the Airflow settings every service shares."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from tests.compose.support import (
    _WHOLE_INTERPOLATION,
    AIRFLOW_SERVICES,
    COMPOSE_FILE,
    DOCKERFILE,
    LONG_RUNNING_AIRFLOW,
    REQUIRED_SERVICES,
    ROOT,
    env_of,
    interpolate,
    split_volume,
)

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


def test_superset_serves_the_dashboards_in_bi_on_localhost(services, common_env):
    svc = services["superset"]
    assert "include.bi up --foreground" in "\n".join(svc["command"])
    assert [interpolate(p) for p in svc["ports"]] == ["127.0.0.1:8088:8088"]
    assert "./bi:/opt/airflow/bi:ro" in svc["volumes"] and "airflow-state:/opt/airflow/state" in svc["volumes"]
    assert env_of(svc)["SUPERVISION_DATABASE_URL"] == common_env["SUPERVISION_DATABASE_URL"]
    assert svc["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
    assert "/health" in " ".join(svc["healthcheck"]["test"])
