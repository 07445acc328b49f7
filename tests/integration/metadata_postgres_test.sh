#!/usr/bin/env bash
# The metadata stores' unit tests against a real PostgreSQL server of their own.
set -euo pipefail
unit_tests=$1
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/lib/postgres.sh"
dir=$(mktemp -d /tmp/cifs-pg-test.XXXXXX)
chmod 0711 "$dir"
trap 'pg_stop "$dir/pg" immediate; rm -rf "$dir"' EXIT
pg_start "$dir/pg"
out=$(CIFS_TEST_POSTGRES=$(pg_uri "$dir/pg") "$unit_tests" --gtest_filter='*/postgresql' 2>&1) || { echo "$out"; exit 1; }
echo "$out" | tail -n 3
# A filter that matched nothing would pass silently.
grep -q '^\[  PASSED  \] 8 tests' <<<"$out" || { echo "FAIL: the PostgreSQL cases did not all run"; exit 1; }
