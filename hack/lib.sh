# Shared helpers for the hack/ scripts: where the cache lives, and step timing output.
# shellcheck shell=bash

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The cache lives outside the work tree so that a fresh clone on the same machine reuses it.
CACHE_DIR=${SIMPLISMART_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/simplismart}
# Where the local control plane keeps its state, certificates, logs and kubeconfig.
STATE_DIR=${SIMPLISMART_STATE_DIR:-$REPO_ROOT/.state}

# The binaries are keyed by the pins: changing a go.mod/go.sum makes a new directory.
tools_bin_dir() {
  local key
  key=$(cat "$REPO_ROOT"/hack/tools/*/go.mod "$REPO_ROOT"/hack/tools/*/go.sum "$REPO_ROOT/hack/build-tools.sh" |
    sha256sum | cut -c1-16)
  echo "$CACHE_DIR/tools/$key"
}

_step_started=0
step() {
  _step_started=$(date +%s.%N)
  printf '==> %s\n' "$*" >&2
}
done_step() {
  local now
  now=$(date +%s.%N)
  awk -v a="$_step_started" -v b="$now" 'BEGIN { printf "    done in %.1fs\n", b - a }' >&2
}

die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# A free TCP port on loopback (the kernel picks; the tiny race until use is acceptable here).
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# require_free_port PORT WHAT VARIABLE: stops with a clear error when something already listens
# on 127.0.0.1:PORT; otherwise WHAT's readiness check would be answered by that other process
# while WHAT itself exits on "Address already in use".
require_free_port() {
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    die "port $1 is taken by another process, so $2 cannot listen there: stop it, or choose another port with $3"
  fi
}

# start DIR NAME COMMAND...: runs COMMAND in the background, logging to DIR/logs/NAME.log, and
# records "NAME PID" in DIR/pids so that the matching -down script can stop it.
start() {
  local dir=$1 name=$2
  shift 2
  mkdir -p "$dir/logs"
  setsid "$@" >"$dir/logs/$name.log" 2>&1 </dev/null &
  echo "$name $!" >>"$dir/pids"
}

# wait_for DIR NAME SECONDS CHECK...: polls CHECK until it succeeds. If NAME's process dies or
# the time runs out, prints the tail of its log and fails, so a broken component never hangs.
wait_for() {
  local dir=$1 name=$2 seconds=$3
  shift 3
  local pid deadline=$((SECONDS + seconds))
  pid=$(awk -v n="$name" '$1 == n {print $2}' "$dir/pids" | tail -n 1)
  until "$@" >/dev/null 2>&1; do
    if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
      printf 'error: %s exited; last lines of %s:\n' "$name" "$dir/logs/$name.log" >&2
      tail -n 30 "$dir/logs/$name.log" >&2
      return 1
    fi
    if ((SECONDS >= deadline)); then
      printf 'error: %s not ready after %ss; last lines of %s:\n' "$name" "$seconds" "$dir/logs/$name.log" >&2
      tail -n 30 "$dir/logs/$name.log" >&2
      return 1
    fi
    sleep 0.5
  done
}

all_alive() {
  local name pid
  [[ -s "$1" ]] || return 1
  while read -r name pid; do
    kill -0 "$pid" 2>/dev/null || return 1
  done <"$1"
}

# stop_all PIDFILE: TERM every recorded process group, then KILL what is left after a grace period.
stop_all() {
  local pidfile=$1 name pid
  [[ -f "$pidfile" ]] || return 0
  while read -r name pid; do
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done <"$pidfile"
  for _ in $(seq 50); do
    local alive=0
    while read -r name pid; do
      kill -0 "$pid" 2>/dev/null && alive=1
    done <"$pidfile"
    ((alive)) || break
    sleep 0.2
  done
  while read -r name pid; do
    kill -KILL -- "-$pid" 2>/dev/null || true
  done <"$pidfile"
  rm -f "$pidfile"
}

write_kubeconfig() { # FILE SERVER CA CERT KEY
  cat >"$1" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
  - name: local
    cluster:
      server: $2
      certificate-authority: $3
users:
  - name: admin
    user:
      client-certificate: $4
      client-key: $5
contexts:
  - name: local
    context: {cluster: local, user: admin}
current-context: local
KUBECONFIG
}
