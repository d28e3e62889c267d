#!/usr/bin/env bash
# Starts a throwaway redis-server on loopback with keyspace notifications for expired keys on
# ("Ex"), no persistence. Prints its URL.   hack/redis-up.sh [STATE_DIR] [PORT]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=hack/lib.sh
source "$here/lib.sh"
dir=${1:-$STATE_DIR/redis}
port=${2:-$(free_port)}
command -v redis-server >/dev/null || die "redis-server is not installed: run hack/setup.sh"
if [[ -f "$dir/pids" ]] && all_alive "$dir/pids"; then
  cat "$dir/url"
  exit 0
fi
require_free_port "$port" redis-server SIMPLISMART_REDIS_PORT
mkdir -p "$dir"
: >"$dir/pids"
step "starting redis-server on 127.0.0.1:$port"
start "$dir" redis-server redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
  --notify-keyspace-events Ex --dir "$dir"
wait_for "$dir" redis-server 20 redis-cli -p "$port" ping
echo "redis://127.0.0.1:$port/0" | tee "$dir/url"
done_step
