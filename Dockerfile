# Airflow image for the smart-supervision platform.
#
# Built from requirements.txt (every direct dependency pinned), not from _PIP_ADDITIONAL_REQUIREMENTS:
# the dependencies are installed once at build time, not on every container start.
# The tag below must match the apache-airflow pin in requirements.txt (tests/test_compose.py checks it).
FROM apache/airflow:3.3.0-python3.11

# Install as the image's "airflow" user, as the official image expects
# (https://airflow.apache.org/docs/docker-stack/build.html).
USER airflow

COPY --chown=airflow:0 requirements.txt /opt/airflow/requirements.txt
RUN pip install --no-cache-dir -r /opt/airflow/requirements.txt

# The project code is baked into the image so it runs without the repository next to it;
# docker-compose.yaml bind-mounts the same folders over these for local development.
COPY --chown=airflow:0 dags/ /opt/airflow/dags/
COPY --chown=airflow:0 include/ /opt/airflow/include/
COPY --chown=airflow:0 dbt_project/ /opt/airflow/dbt_project/
COPY --chown=airflow:0 expectations/ /opt/airflow/expectations/
COPY --chown=airflow:0 ml/ /opt/airflow/ml/

# Run-time state (landing zone, archive, outbox, GX results, dbt target...). Created here so a named
# volume mounted on it starts out owned by airflow:0 with group write, like the rest of /opt/airflow.
RUN mkdir -p /opt/airflow/state && chmod 0775 /opt/airflow/state

# `include` and `ml` are imported as top-level packages.
ENV PYTHONPATH=/opt/airflow \
    SUPERVISION_HOME=/opt/airflow/state
