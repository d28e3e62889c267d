#!/usr/bin/env bash
# `make bench`: the scheduler, simulation, preemption, operator and API benchmarks, each printing a
# table and writing it under docs/benchmarks/. The operator and API benchmarks get their own
# control plane and Redis (or the cluster in $KUBECONFIG), stopped at the end; as root, the image
# benchmark too.   BENCH_QUICK=1 shortens the scheduler, simulation and preemption runs.
# BENCH_SOAK_MINUTES (default 30) sets the length of the bounded-history soak, which runs last;
# BENCH_SOAK_MINUTES=0 skips it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=hack/lib.sh
source "$here/lib.sh"

python=$REPO_ROOT/.venv/bin/python
export PYTHONSAFEPATH=1 PYTHONPATH=$REPO_ROOT/tests/support
export PATH="$(tools_bin_dir):$PATH"
state=$(mktemp -d)
cleanup() {
  "$here/redis-down.sh" "$state/redis" >/dev/null 2>&1 || true
  [[ -n "${own_cluster:-}" ]] && "$here/cluster-down.sh" "$state/cluster" >/dev/null 2>&1
  rm -rf "$state"
}
trap cleanup EXIT

step "scheduler benchmark"
"$python" "$REPO_ROOT/bench/scheduler_bench.py" ${BENCH_QUICK:+--quick}
done_step

step "simulation benchmark"
"$python" "$REPO_ROOT/bench/simulation_bench.py" ${BENCH_QUICK:+--quick}
done_step

step "preemption benchmark"
"$python" "$REPO_ROOT/bench/preemption_bench.py" ${BENCH_QUICK:+--quick}
done_step

if [[ -z "${KUBECONFIG:-}" ]]; then
  own_cluster=1
  KUBECONFIG=$("$here/cluster-up.sh" "$state/cluster")
  export KUBECONFIG
fi
"$here/apply-crds.sh" "$KUBECONFIG" >/dev/null
SIMPLISMART_REDIS_URL=$("$here/redis-up.sh" "$state/redis")
export SIMPLISMART_REDIS_URL

step "operator benchmark"
"$python" "$REPO_ROOT/bench/operator_bench.py"
done_step

step "preemption end-to-end benchmark"
"$python" "$REPO_ROOT/bench/preemption_operator_bench.py"
done_step

if [[ -f "$REPO_ROOT/bench/api_bench.py" ]]; then
  step "API benchmark"
  "$python" "$REPO_ROOT/bench/api_bench.py"
  done_step
fi

# The image benchmark builds with buildah's chroot isolation and debootstrap: root only.
if ((EUID == 0)); then
  step "image benchmark (make image, cold and warm)"
  "$python" "$REPO_ROOT/bench/image_bench.py"
  done_step
else
  echo "==> image benchmark skipped: it needs root (buildah, debootstrap)" >&2
fi

if [[ "${BENCH_SOAK_MINUTES:-30}" != 0 ]]; then
  step "soak benchmark (${BENCH_SOAK_MINUTES:-30} minutes)"
  "$python" "$REPO_ROOT/bench/soak_bench.py" --minutes "${BENCH_SOAK_MINUTES:-30}"
  done_step
fi
