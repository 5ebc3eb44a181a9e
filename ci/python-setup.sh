#!/bin/sh
# Installs what the audit SQL tests (tests/it/audit_sql.rs) need when it is
# missing: the Python packages duckdb and pyspark (Spark runs in local mode
# on the machine's Java 17 or later; Debian's default JRE when there is none).
set -eu
python3 -c 'import duckdb' 2>/dev/null || python3 -m pip install --quiet duckdb
python3 -c 'import pyspark' 2>/dev/null || python3 -m pip install --quiet pyspark
if ! command -v java >/dev/null 2>&1; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends default-jre-headless
fi
