#!/usr/bin/env bash
# `make up`: the whole system on this machine with embedded defaults. Expects hack/setup.sh done.
#   - the local control plane (or the cluster in $KUBECONFIG when set), CRDs applied
#   - redis-server on 127.0.0.1:${SIMPLISMART_REDIS_PORT:-6379} with keyspace notifications
#   - the operator, and the API on http://localhost:${SIMPLISMART_API_PORT:-5002} (SQLite, dev mode)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=hack/lib.sh
source "$here/lib.sh"

mkdir -p "$STATE_DIR"
export PATH="$(tools_bin_dir):$PATH"
# Two glibc heaps rather than one per allocating thread, as the image runs them (see Dockerfile).
export PYTHONSAFEPATH=1 MALLOC_ARENA_MAX=2
python=$REPO_ROOT/.venv/bin/python
api_port=${SIMPLISMART_API_PORT:-5002}

# The kubeconfig of the control plane this script starts is its own, even when exported (as the
# summary below suggests): after `make down` or a reboot it is started again, not just used.
own_kubeconfig=$STATE_DIR/cluster/kubeconfig
if [[ -n "${KUBECONFIG:-}" && "$(realpath -m "$KUBECONFIG")" != "$(realpath -m "$own_kubeconfig")" ]]; then
  echo "==> using the cluster in KUBECONFIG=$KUBECONFIG" >&2
else
  KUBECONFIG=$("$here/cluster-up.sh" "$STATE_DIR/cluster")
  export KUBECONFIG
fi
"$here/apply-crds.sh" "$KUBECONFIG" >/dev/null
SIMPLISMART_REDIS_URL=$("$here/redis-up.sh" "$STATE_DIR/redis" "${SIMPLISMART_REDIS_PORT:-6379}")
export SIMPLISMART_REDIS_URL SIMPLISMART_STATE_DIR=$STATE_DIR

apps=$STATE_DIR/apps
mkdir -p "$apps"
# Running ones are restarted, never kept: after a `git pull` they would run the old code against
# the CRDs just applied, which it may not read.
if [[ -f "$apps/pids" ]] && all_alive "$apps/pids"; then
  echo "==> restarting the operator and the API with this checkout's code" >&2
fi
stop_all "$apps/pids"
: >"$apps/pids"
health_port=${SIMPLISMART_HEALTH_PORT:-8080}
require_free_port "$health_port" "the operator's health check" SIMPLISMART_HEALTH_PORT
require_free_port "${SIMPLISMART_METRICS_PORT:-9090}" "the operator's metrics" SIMPLISMART_METRICS_PORT
require_free_port "$api_port" "the API" SIMPLISMART_API_PORT
require_free_port "${SIMPLISMART_API_METRICS_PORT:-9091}" "the API's metrics" SIMPLISMART_API_METRICS_PORT
step "starting the operator (log: $apps/logs/operator.log)"
start "$apps" operator "$python" -m simplismart.operator
wait_for "$apps" operator 60 curl -fsS "http://127.0.0.1:$health_port/healthz"
done_step
step "starting the API on http://localhost:$api_port (log: $apps/logs/api.log)"
# Dev mode makes the first user to register an ADMIN: only this machine may reach it, unless
# SIMPLISMART_API_HOST says otherwise.
SIMPLISMART_DEV_MODE=1 SIMPLISMART_API_HOST=${SIMPLISMART_API_HOST:-127.0.0.1} \
  SIMPLISMART_API_PORT=$api_port start "$apps" api "$python" -m simplismart.api
wait_for "$apps" api 60 curl -fsS "http://127.0.0.1:$api_port/healthz"
done_step

cat >&2 <<SUMMARY

Simplismart is up.
  API         http://localhost:$api_port   (OpenAPI: http://localhost:$api_port/docs)
  kubectl     export KUBECONFIG=$KUBECONFIG PATH=$(tools_bin_dir):\$PATH
  Redis       $SIMPLISMART_REDIS_URL
  logs        $STATE_DIR/*/logs/
Stop it all with: make down
SUMMARY
