#!/usr/bin/env bash
# `make down`: stops everything `make up` started and removes the state it made (in .state/).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=hack/lib.sh
source "$here/lib.sh"
step "stopping the operator, the API, Redis and the local control plane"
stop_all "$STATE_DIR/apps/pids"
"$here/redis-down.sh" "$STATE_DIR/redis"
"$here/cluster-down.sh" "$STATE_DIR/cluster"
# Only what `make up` made: the directory may be one the user named, holding other things.
rm -rf "${STATE_DIR:?}"/{apps,redis,cluster} "$STATE_DIR"/simplismart.db{,-journal,-wal,-shm}
rmdir "$STATE_DIR" 2>/dev/null || true
done_step
