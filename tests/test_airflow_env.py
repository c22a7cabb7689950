"""The Airflow environment of an installation: a scheduled task's supervisor must reach the API server on
the port the UI was started with (`supervision airflow-ui --port`), not Airflow's default 8080."""

from __future__ import annotations


def test_execution_api_url_follows_the_api_port(tmp_path, monkeypatch):
    from include.airflow_env import airflow_env
    from include.config import paths

    monkeypatch.setenv("SUPERVISION_HOME", str(tmp_path))
    monkeypatch.setenv("AIRFLOW__API__PORT", "8097")
    env = airflow_env(paths(), with_connections=False)
    assert env["AIRFLOW__API__PORT"] == "8097"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:8097/execution/"
    monkeypatch.delenv("AIRFLOW__API__PORT")
    assert airflow_env(paths(), with_connections=False)["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == \
        "http://127.0.0.1:8080/execution/"


def test_an_explicit_port_wins(tmp_path, monkeypatch):
    """`supervision airflow-ui --port N` passes its port: the API server and the tasks agree on it."""
    from include.airflow_env import airflow_env
    from include.config import paths

    monkeypatch.setenv("SUPERVISION_HOME", str(tmp_path))
    monkeypatch.setenv("AIRFLOW__API__PORT", "8097")
    env = airflow_env(paths(), with_connections=False, port=8123)
    assert env["AIRFLOW__API__PORT"] == "8123"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:8123/execution/"
