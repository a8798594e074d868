#!/usr/bin/env bash
# Starts a MinIO server for the tests (the S3-compatible server of the s3
# connector's tests) on 127.0.0.1, on a free port, with a fresh temp data dir
# and fixed root credentials. It installs MinIO with `go install` when the
# pinned version is missing (a few minutes the first time, cached after).
#
# Progress goes to stderr; stdout is only the variables to export, so use it
# as
#
#   eval "$(.ci/minio.sh)"
#
# and stop the server with
#
#   kill "$SQLFLOW_TEST_MINIO_PID"; rm -rf "$SQLFLOW_TEST_MINIO_DIR"
#
# Options (one at most):
#
#   --install      install the pinned version when missing, start nothing
#   --no-install   start the pinned version only if it is installed; when it
#                  is not, exit with status 3 and start nothing
set -euo pipefail

mode="${1:-}"
case "$mode" in
  ""|--install|--no-install) ;;
  *) echo "usage: $0 [--install|--no-install]" >&2; exit 2 ;;
esac

# The one place the MinIO version is pinned.
MINIO_MODULE=github.com/minio/minio
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c

ACCESS_KEY=sqlflowtest
SECRET_KEY=sqlflowtest-secret

log() { echo "minio.sh: $*" >&2; }

gobin="$(go env GOBIN)"
[ -n "$gobin" ] || gobin="$(go env GOPATH)/bin"
minio="$gobin/minio"

# `go version -m` names the module version the binary was built from.
installed_version() {
  [ -x "$minio" ] || return 0
  go version -m "$minio" 2>/dev/null | awk '$1 == "mod" && $2 == "'"$MINIO_MODULE"'" { print $3 }'
}

if [ "$(installed_version)" != "$MINIO_VERSION" ]; then
  if [ "$mode" = --no-install ]; then
    log "MinIO $MINIO_VERSION is not installed in $gobin"
    exit 3
  fi
  log "installing $MINIO_MODULE@$MINIO_VERSION (a few minutes the first time)"
  GOBIN="$gobin" go install "$MINIO_MODULE@$MINIO_VERSION" >&2
fi
if [ "$mode" = --install ]; then
  log "MinIO $MINIO_VERSION is installed: $minio"
  exit 0
fi

# health answers 0 when MinIO's liveness endpoint says 200 OK.
health() {
  local status
  status=$( (exec 3<>"/dev/tcp/127.0.0.1/$1" &&
    printf 'GET /minio/health/live HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3 &&
    read -r -t 2 _ code _ <&3 && echo "$code") 2>/dev/null || true)
  [ "$status" = "200" ]
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

dir="$(mktemp -d "${TMPDIR:-/tmp}/sqlflow-minio.XXXXXX")"
for attempt in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 30000))
  port_free "$port" || continue
  console=$((port + 1))
  port_free "$console" || continue
  MINIO_ROOT_USER="$ACCESS_KEY" MINIO_ROOT_PASSWORD="$SECRET_KEY" \
    MINIO_BROWSER=off MINIO_UPDATE=off \
    "$minio" server --quiet --address "127.0.0.1:$port" --console-address "127.0.0.1:$console" \
    "$dir/data" >"$dir/minio.log" 2>&1 </dev/null &
  pid=$!
  for i in $(seq 1 60); do
    if health "$port"; then
      log "MinIO $MINIO_VERSION is up on 127.0.0.1:$port (pid $pid, data and log in $dir)"
      echo "export SQLFLOW_TEST_S3_ENDPOINT=http://127.0.0.1:$port"
      echo "export SQLFLOW_TEST_S3_ACCESS_KEY=$ACCESS_KEY"
      echo "export SQLFLOW_TEST_S3_SECRET_KEY=$SECRET_KEY"
      echo "export SQLFLOW_TEST_MINIO_PID=$pid"
      echo "export SQLFLOW_TEST_MINIO_DIR=$dir"
      exit 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  log "MinIO did not start on port $port (attempt $attempt):"
  tail -n 20 "$dir/minio.log" >&2 || true
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$dir/data"
done
rm -rf "$dir"
log "could not start MinIO"
exit 1
