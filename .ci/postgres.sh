#!/usr/bin/env bash
# Runs wawp-store's tests against PostgreSQL: a private, throwaway cluster on a free loopback port with
# its data in a temp dir, stopped and removed on exit. Meant for a fresh Debian machine, as root:
# installs PostgreSQL when it is missing (apt), and does nothing to any other cluster on the machine.
# Safe to run again. Extra arguments go to `cargo test -p wawp-store` (e.g. `-- --nocapture`).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "== postgres: $*"; }

# 1. PostgreSQL binaries (skip apt when they are already there, so reruns need no network).
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' > /dev/null; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "FAIL: PostgreSQL is not installed and installing it needs root"; exit 1
    fi
    log "installing PostgreSQL (apt)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q postgresql
fi
bin=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
for tool in initdb pg_ctl psql; do
    [ -x "$bin/$tool" ] || { echo "FAIL: $bin/$tool not found"; exit 1; }
done
log "using $("$bin/postgres" --version)"

# 2. A private cluster. initdb refuses to run as root, so as root it runs as the `postgres` user
#    (created by the package); as any other user it runs as that user.
work=$(mktemp -d "${TMPDIR:-/tmp}/wawp-pg.XXXXXX")
trap 'rm -rf "$work"' EXIT
if [ "$(id -u)" -eq 0 ]; then
    id postgres > /dev/null 2>&1 || { echo "FAIL: no postgres user"; exit 1; }
    chown postgres: "$work"
    as_pg() { (cd / && runuser -u postgres -- "$@"); }
else
    as_pg() { (cd / && "$@"); }
fi
chmod 700 "$work"
data="$work/data"
started=0
cleanup() {
    local rc=$?
    if [ "$started" = 1 ]; then
        log "stopping the cluster"
        as_pg "$bin/pg_ctl" -D "$data" stop -m fast -w -t 30 > /dev/null 2>&1 || true
    fi
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

password=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s\n' "$password" > "$work/pwfile"
if [ "$(id -u)" -eq 0 ]; then chown postgres: "$work/pwfile"; fi
chmod 600 "$work/pwfile"
# Password (SCRAM) over TCP; peer on the private socket; UTF-8 without a locale (nothing to generate).
as_pg "$bin/initdb" -D "$data" -U postgres --pwfile="$work/pwfile" --auth-host=scram-sha-256 \
    --auth-local=peer -E UTF8 --no-locale --no-instructions > "$work/initdb.log" 2>&1 \
    || { echo "FAIL: initdb"; cat "$work/initdb.log"; exit 1; }
rm -f "$work/pwfile"

# A free port: one that nothing answers on; pg_ctl fails if another process takes it first, so retry.
port_in_use() { (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }
for attempt in 1 2 3 4 5; do
    port=$(( 20000 + RANDOM % 30000 ))
    port_in_use "$port" && continue
    # Throwaway data: durability off for speed.
    if as_pg "$bin/pg_ctl" -D "$data" -l "$work/postgres.log" -w -t 60 start -o \
        "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$work -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        > /dev/null; then
        started=1
        break
    fi
    log "start on port $port failed (attempt $attempt)"
done
if [ "$started" != 1 ]; then
    echo "FAIL: the cluster did not start"; tail -n 40 "$work/postgres.log" 2>/dev/null || true; exit 1
fi
log "cluster up on 127.0.0.1:$port (data in $data)"

PGPASSWORD="$password" "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -qAt -c "CREATE DATABASE wawp_test" > /dev/null

# 3. The tests.
export WAWP_TEST_DATABASE_URL="postgres://postgres:$password@127.0.0.1:$port/wawp_test"
log "cargo test -p wawp-store with WAWP_TEST_DATABASE_URL=postgres://postgres:***@127.0.0.1:$port/wawp_test"
cargo test -p wawp-store "$@"
