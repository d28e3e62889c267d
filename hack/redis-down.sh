#!/usr/bin/env bash
# Stops the redis-server started by hack/redis-up.sh and removes its state.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=hack/lib.sh
source "$here/lib.sh"
dir=${1:-$STATE_DIR/redis}
stop_all "$dir/pids"
rm -rf "$dir"
