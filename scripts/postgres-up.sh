#!/usr/bin/env bash
# Start the local PostgreSQL (Debian's cluster) on 127.0.0.1 and create the test role and
# databases. Idempotent. The password is a development default: tests only.
set -euo pipefail

ver=$(ls /usr/lib/postgresql | sort -n | tail -1)
cluster=main
if ! pg_lsclusters -h | awk '{print $1"/"$2}' | grep -qx "$ver/$cluster"; then
  pg_createcluster "$ver" "$cluster" >/dev/null
fi
conf=/etc/postgresql/$ver/$cluster/postgresql.conf
grep -q "^listen_addresses = '127.0.0.1'" "$conf" || echo "listen_addresses = '127.0.0.1'" >>"$conf"
if ! pg_lsclusters -h | awk -v v="$ver" -v c="$cluster" '$1==v && $2==c {print $4}' | grep -q online; then
  pg_ctlcluster "$ver" "$cluster" start </dev/null >/dev/null 2>&1
fi
for _ in $(seq 1 50); do
  pg_isready -q -h 127.0.0.1 -p 5432 && break
  sleep 0.2
done
psql_q() { su postgres -c "psql -qAt -h /var/run/postgresql -c \"$1\"" </dev/null; }
[ "$(psql_q "SELECT 1 FROM pg_roles WHERE rolname='hotline'")" = 1 ] ||
  psql_q "CREATE ROLE hotline LOGIN PASSWORD 'hotline-dev' CREATEDB"
for db in hotline_test hotline_ioc_test; do
  [ "$(psql_q "SELECT 1 FROM pg_database WHERE datname='$db'")" = 1 ] ||
    psql_q "CREATE DATABASE $db OWNER hotline"
done
echo "postgres-up: PostgreSQL $ver/$cluster online on 127.0.0.1:5432 (role hotline, databases hotline_test, hotline_ioc_test)"
