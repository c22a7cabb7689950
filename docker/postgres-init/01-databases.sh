#!/usr/bin/env bash
# Creates the two databases that share the one PostgreSQL 16 service:
#
#   airflow      Airflow's metadata database, owned by role "airflow"
#   supervision  the supervision warehouse (dbt, GX results, ML scores), owned by role "supervision"
#
# The pipeline's own least-privilege roles inside the warehouse (loader, transformer, scorer, ...) are
# not created here: include/warehouse/bootstrap.py creates them, with generated passwords.
#
# The official postgres image runs every *.sh in /docker-entrypoint-initdb.d once, on the first start
# with an empty data volume, as the superuser ($POSTGRES_USER) over the local socket.
#
# Passwords come from the environment (docker-compose.yaml passes them with development defaults).
# Production must set AIRFLOW_DB_PASSWORD and SUPERVISION_DB_PASSWORD (for example from a git-ignored .env
# file or a secret store); nothing real is kept in the repository. Changing them later needs an
# ALTER ROLE ... PASSWORD, because this script does not run again on an initialised volume.
set -euo pipefail

: "${POSTGRES_USER:=postgres}"
: "${AIRFLOW_DB_PASSWORD:?AIRFLOW_DB_PASSWORD must be set}"
: "${SUPERVISION_DB_PASSWORD:?SUPERVISION_DB_PASSWORD must be set}"

# psql variables (:"name" quotes an identifier, :'name' a literal), so a password with quotes
# or backslashes cannot break out of the statement.
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname postgres \
    -v airflow_password="$AIRFLOW_DB_PASSWORD" \
    -v supervision_password="$SUPERVISION_DB_PASSWORD" <<'EOSQL'
CREATE ROLE airflow LOGIN PASSWORD :'airflow_password';
CREATE DATABASE airflow OWNER airflow TEMPLATE template0 ENCODING 'UTF8';

CREATE ROLE supervision LOGIN PASSWORD :'supervision_password';
CREATE DATABASE supervision OWNER supervision TEMPLATE template0 ENCODING 'UTF8';

-- Only the owners (and the superuser) may connect.
REVOKE CONNECT, TEMPORARY ON DATABASE airflow FROM PUBLIC;
REVOKE CONNECT, TEMPORARY ON DATABASE supervision FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE airflow TO airflow;
GRANT CONNECT, TEMPORARY ON DATABASE supervision TO supervision;
EOSQL
