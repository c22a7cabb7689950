"""docker-compose.yaml: bind mounts and named volumes; secrets only from variables, with dev-only
defaults, and every client URL using the password its database role was given."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from tests.compose.support import (
    _POINTS_TO_A_SECRET,
    _SECRET_KEY,
    _URL_WITH_PASSWORD,
    _WHOLE_INTERPOLATION,
    CODE_MOUNTS,
    CREATED_AT_RUN_TIME,
    INIT_DIR,
    INIT_SCRIPT,
    ROLE_PASSWORD_VARS,
    ROOT,
    env_of,
    interpolate,
    is_bind,
    repo_path,
    split_volume,
)

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
