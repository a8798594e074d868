#!/usr/bin/env bash
# The external services of the tests: a throwaway PostgreSQL cluster and a
# MinIO server (the S3-compatible server of the s3 connector's tests).
#
#   .ci/services.sh run CMD [ARG...]   (make test, make bench-postgres, ...)
#
#     For each service whose variable is unset and whose binaries are here,
#     start a private instance on a free 127.0.0.1 port with its data in a
#     fresh temp dir, export its variables, run CMD, then stop the
#     instances and remove their data: at CMD's end, on failure, on Ctrl-C
#     or SIGTERM (trap). A variable that is already set wins (its server is
#     used and nothing is started for it):
#
#       PostgreSQL  SQLFLOW_TEST_POSTGRES   initdb/pg_ctl of Debian's postgresql
#                                           (pg_config --bindir, PATH, or
#                                           /usr/lib/postgresql/*/bin); trust
#                                           auth, database sqlflow_test
#       MinIO       SQLFLOW_TEST_S3_ENDPOINT, _ACCESS_KEY, _SECRET_KEY
#                                           the version pinned in .ci/minio.sh
#
#     A service that cannot be started is one line on stderr saying how to
#     enable it; its tests are then skipped (under CI=true: this fails).
#     Exits with CMD's status.
#
#   .ci/services.sh install            (make services)
#
#     Install what is missing: Debian's postgresql and chromium (apt-get, as
#     root or via sudo; chromium for host/jobsui's headless-browser test of
#     River's web UI) and MinIO at the pinned version (go install, a few
#     minutes).
#
# Running as root, PostgreSQL (whose initdb and server refuse to run as
# root) runs as the postgres user, as plugins/postgres's restart test does.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
log() { echo "services: $*" >&2; }
ci() { [ "${CI:-}" = "true" ]; }

# pg_bindir prints the directory of PostgreSQL's server binaries (initdb,
# pg_ctl), or nothing.
pg_bindir() {
  local d cands=()
  if command -v pg_config >/dev/null 2>&1; then
    cands+=("$(pg_config --bindir 2>/dev/null || true)")
  fi
  if command -v initdb >/dev/null 2>&1; then
    cands+=("$(dirname "$(readlink -f "$(command -v initdb)")")")
  fi
  # The newest installed major version first.
  while IFS= read -r d; do cands+=("$d"); done < <(
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5 -rn || true)
  for d in ${cands[@]+"${cands[@]}"}; do
    if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
      echo "$d"
      return
    fi
  done
}

# ---------------------------------------------------------------- install

# apt_install NAME PACKAGE HINT installs Debian's PACKAGE with apt-get, as
# root or through sudo; without either, or without apt-get, it says what to
# install by hand (HINT: what NAME is needed for) and exits 1.
apt_install() {
  local name=$1 pkg=$2 hint=$3 sudo=()
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      log "$name: not installed, and not root and no sudo: install Debian's $pkg package (apt-get install $pkg)"
      exit 1
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    log "$name: not installed and no apt-get here: install $hint"
    exit 1
  fi
  log "$name: installing Debian's $pkg (${sudo[*]:+${sudo[*]} }apt-get install $pkg)"
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null
}

install() {
  if [ -n "$(pg_bindir)" ]; then
    log "PostgreSQL: server binaries in $(pg_bindir)"
  else
    apt_install PostgreSQL postgresql "PostgreSQL's server binaries (initdb, pg_ctl, postgres)"
    [ -n "$(pg_bindir)" ] || { log "PostgreSQL: installed, but initdb and pg_ctl are not found"; exit 1; }
    log "PostgreSQL: server binaries in $(pg_bindir)"
  fi
  install_chromium
  "$here/minio.sh" --install
}

# install_chromium installs Debian's chromium when no chromium is on PATH
# (host/jobsui's test drives it headless; it fails under CI=true without).
install_chromium() {
  if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
    log "chromium: $(command -v chromium || command -v chromium-browser)"
    return
  fi
  apt_install chromium chromium "chromium (the jobs UI test drives it headless)"
  command -v chromium >/dev/null 2>&1 || { log "chromium: installed, but not on PATH"; exit 1; }
}

# ---------------------------------------------------------------- run

pg_dir=""       # the throwaway cluster's temp dir (data, log)
pg_bin=""
pg_as=()        # prefix running a command as the postgres user under root
minio_pid=""
minio_dir=""

stop_services() {
  if [ -n "$pg_dir" ]; then
    "${pg_as[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate -w -t 60 stop >/dev/null 2>&1 || true
    rm -rf "$pg_dir"
    pg_dir=""
  fi
  if [ -n "$minio_pid" ]; then
    kill "$minio_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$minio_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$minio_pid" 2>/dev/null || true
    rm -rf "$minio_dir"
    minio_pid=""
  fi
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# unavailable reports a service that is not started: one line; under
# CI=true the run fails instead of skipping its tests.
unavailable() {
  if ci; then
    log "$1 (CI=true: failing rather than skipping its tests)"
    exit 1
  fi
  log "$1"
}

start_postgres() {
  if [ -n "${SQLFLOW_TEST_POSTGRES:-}" ]; then
    log "PostgreSQL: using SQLFLOW_TEST_POSTGRES as set"
    return
  fi
  pg_bin="$(pg_bindir)"
  if [ -z "$pg_bin" ]; then
    unavailable "PostgreSQL: initdb not found, its tests are skipped: run 'make services' (installs Debian's postgresql), or set SQLFLOW_TEST_POSTGRES to a server's URL"
    return
  fi
  local tmp="${TMPDIR:-/tmp}"
  if [ "$(id -u)" = 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
      unavailable "PostgreSQL: running as root and there is no postgres user to run a server as: set SQLFLOW_TEST_POSTGRES"
      return
    fi
    pg_as=(runuser -u postgres --)
    tmp=/tmp # the postgres user must reach it
  fi
  pg_dir="$(mktemp -d "$tmp/sqlflow-pg.XXXXXX")"
  [ ${#pg_as[@]} -eq 0 ] || chown postgres: "$pg_dir"
  if ! out=$("${pg_as[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -A trust -U postgres --no-sync \
      -E UTF8 --locale=C.UTF-8 2>&1); then
    # Older or minimal systems may lack the C.UTF-8 locale.
    rm -rf "$pg_dir/data"
    if ! out=$("${pg_as[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -A trust -U postgres --no-sync \
        -E UTF8 --locale=C 2>&1); then
      echo "$out" >&2
      unavailable "PostgreSQL: initdb failed (above)"
      return
    fi
  fi
  local port attempt
  for attempt in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 30000))
    port_free "$port" || continue
    # No Unix socket: clients come over TCP on loopback only.
    if "${pg_as[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 60 \
        -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c fsync=off -c full_page_writes=off -c synchronous_commit=off" \
        start >/dev/null 2>&1; then
      if "$pg_bin/createdb" -h 127.0.0.1 -p "$port" -U postgres sqlflow_test 2>"$pg_dir/createdb.err"; then
        export SQLFLOW_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port/sqlflow_test?sslmode=disable"
        log "PostgreSQL $("$pg_bin/postgres" -V | awk '{print $3}'): throwaway cluster on 127.0.0.1:$port ($pg_dir)"
        return
      fi
      cat "$pg_dir/createdb.err" >&2
      break
    fi
    log "PostgreSQL did not start on port $port (attempt $attempt)"
  done
  tail -n 20 "$pg_dir/server.log" >&2 2>/dev/null || true
  "${pg_as[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$pg_dir"
  pg_dir=""
  unavailable "PostgreSQL: the throwaway cluster did not start (above)"
}

start_minio() {
  if [ -n "${SQLFLOW_TEST_S3_ENDPOINT:-}" ]; then
    log "MinIO: using SQLFLOW_TEST_S3_ENDPOINT as set"
    return
  fi
  local out errf rc=0
  errf="$(mktemp)"
  out="$("$here/minio.sh" --no-install 2>"$errf")" || rc=$?
  [ $rc = 0 ] || [ $rc = 3 ] || cat "$errf" >&2
  rm -f "$errf"
  case $rc in
    0)
      eval "$out"
      minio_pid="$SQLFLOW_TEST_MINIO_PID"
      minio_dir="$SQLFLOW_TEST_MINIO_DIR"
      log "MinIO: on ${SQLFLOW_TEST_S3_ENDPOINT#http://} ($minio_dir)"
      ;;
    3) unavailable "MinIO: the pinned version is not installed, the s3 tests are skipped: run 'make services' (go install, a few minutes), or set SQLFLOW_TEST_S3_ENDPOINT, _ACCESS_KEY and _SECRET_KEY" ;;
    *) unavailable "MinIO: did not start (.ci/minio.sh failed)" ;;
  esac
}

run() {
  [ $# -gt 0 ] || { echo "usage: $0 run CMD [ARG...]" >&2; exit 2; }
  # Stop what was started at any exit; Ctrl-C and SIGTERM exit (the command
  # in the foreground gets Ctrl-C itself, from the terminal).
  trap 'rc=$?; trap - EXIT INT TERM; stop_services; exit $rc' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  start_postgres
  start_minio
  local rc=0
  "$@" || rc=$?
  exit $rc
}

case "${1:-}" in
  install) install ;;
  run) shift; run "$@" ;;
  *) echo "usage: $0 install | run CMD [ARG...]" >&2; exit 2 ;;
esac
