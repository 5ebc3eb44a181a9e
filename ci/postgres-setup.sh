#!/bin/sh
# Installs PostgreSQL on a fresh Debian machine when it is missing: the
# tests of SQL sources (tests/it/sql.rs) start their own throwaway server
# with its initdb and pg_ctl. Run as root (apt-get).
set -eu
if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    exit 0
fi
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql
