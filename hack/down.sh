#!/usr/bin/env bash
# `make down`: stops everything `make up` started and removes its state (.state/).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=hack/lib.sh
source "$here/lib.sh"
step "stopping the operator, the API, Redis and the local control plane"
stop_all "$STATE_DIR/apps/pids"
"$here/redis-down.sh" "$STATE_DIR/redis"
"$here/cluster-down.sh" "$STATE_DIR/cluster"
rm -rf "$STATE_DIR"
done_step
