"""The compose file, parsed once per module (see :mod:`tests.compose.support`)."""

from __future__ import annotations

import pytest
import yaml

from tests.compose.support import COMPOSE_FILE, env_of


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
