#!/bin/sh
# Installs what the tests of SQL sources (tests/it/sql.rs) need on a fresh
# Debian machine when it is missing: PostgreSQL (the tests start their own
# throwaway server with its initdb and pg_ctl), and unixODBC with the
# PostgreSQL ODBC driver (for the tests of `--features odbc`).
# Run as root (apt-get).
set -eu
if { command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } \
    && [ -e /usr/include/sql.h ] && grep -q 'PostgreSQL Unicode' /etc/odbcinst.ini 2>/dev/null; then
    exit 0
fi
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    postgresql unixodbc-dev odbc-postgresql
