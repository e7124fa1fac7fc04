#!/bin/sh
# Runs once, on the first start of an empty data volume (docker-entrypoint-initdb.d):
# one database per server, all owned by the one application role from infra/.env.
set -eu
for db in mlflow mlflow_auth prefect; do
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -c "CREATE DATABASE $db OWNER \"$POSTGRES_USER\""
done
