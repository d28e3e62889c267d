#!/usr/bin/env bash
# Starts a local Kubernetes control plane on loopback: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler and kwok (fake nodes, so ordinary Pods become Ready),
# with generated certificates and an admin kubeconfig. No Docker, no root-only features.
#
#   hack/cluster-up.sh [STATE_DIR]     default: $SIMPLISMART_STATE_DIR/cluster (./.state/cluster)
#
# Prints the kubeconfig path on stdout when the API server is ready. A component that fails to
# start is reported with the tail of its log. hack/cluster-down.sh stops it all.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=hack/lib.sh
source "$here/lib.sh"

dir=${1:-$STATE_DIR/cluster}
bin=$(tools_bin_dir)
for tool in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok; do
  [[ -x "$bin/$tool" ]] || die "$bin/$tool is missing: run hack/build-tools.sh first"
done
if [[ -f "$dir/pids" ]] && all_alive "$dir/pids"; then
  echo "$dir/kubeconfig"
  exit 0
fi
"$here/cluster-down.sh" "$dir" >/dev/null 2>&1 || true
mkdir -p "$dir/pki" "$dir/logs"
: >"$dir/pids"
pki=$dir/pki

step "generating certificates in $pki"
openssl_quiet() { openssl "$@" >/dev/null 2>>"$pki/openssl.log" || die "openssl failed: see $pki/openssl.log"; }
openssl_quiet req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=simplismart-local-ca" \
  -keyout "$pki/ca.key" -out "$pki/ca.crt"
sign() { # sign NAME SUBJECT [SAN]
  local name=$1 subject=$2 san=${3:-}
  openssl_quiet req -newkey rsa:2048 -nodes -subj "$subject" -keyout "$pki/$name.key" -out "$pki/$name.csr"
  if [[ -n "$san" ]]; then
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$san" >"$pki/$name.ext"
  else
    printf 'extendedKeyUsage=clientAuth\n' >"$pki/$name.ext"
  fi
  openssl_quiet x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
    -CAcreateserial -days 365 -extfile "$pki/$name.ext" -out "$pki/$name.crt"
}
sign apiserver "/CN=kube-apiserver" "IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
sign admin "/O=system:masters/CN=admin"
openssl_quiet genrsa -out "$pki/sa.key" 2048
openssl_quiet rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub"
done_step

etcd_port=$(free_port)
etcd_peer_port=$(free_port)
api_port=$(free_port)

step "starting etcd on 127.0.0.1:$etcd_port"
start "$dir" etcd "$bin/etcd" --name=local --data-dir="$dir/etcd" \
  --listen-client-urls="http://127.0.0.1:$etcd_port" --advertise-client-urls="http://127.0.0.1:$etcd_port" \
  --listen-peer-urls="http://127.0.0.1:$etcd_peer_port" \
  --initial-advertise-peer-urls="http://127.0.0.1:$etcd_peer_port" \
  --initial-cluster="local=http://127.0.0.1:$etcd_peer_port" \
  --unsafe-no-fsync --quota-backend-bytes=4294967296 --log-level=warn
wait_for "$dir" etcd 60 curl -fsS "http://127.0.0.1:$etcd_port/health"
done_step

step "starting kube-apiserver on https://127.0.0.1:$api_port"
start "$dir" kube-apiserver "$bin/kube-apiserver" \
  --etcd-servers="http://127.0.0.1:$etcd_port" \
  --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$api_port" \
  --cert-dir="$pki" --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
  --client-ca-file="$pki/ca.crt" \
  --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-cluster-ip-range=10.96.0.0/16 --endpoint-reconciler-type=none \
  --authorization-mode=RBAC --allow-privileged=true --enable-priority-and-fairness=false \
  --storage-media-type=application/json --v=1
kubeconfig=$dir/kubeconfig
write_kubeconfig "$kubeconfig" "https://127.0.0.1:$api_port" "$pki/ca.crt" "$pki/admin.crt" "$pki/admin.key"
wait_for "$dir" kube-apiserver 90 "$bin/kubectl" --kubeconfig="$kubeconfig" get --raw=/readyz
done_step

step "starting kube-controller-manager and kube-scheduler"
start "$dir" kube-controller-manager "$bin/kube-controller-manager" \
  --kubeconfig="$kubeconfig" --authentication-kubeconfig="$kubeconfig" \
  --authorization-kubeconfig="$kubeconfig" --leader-elect=false \
  --bind-address=127.0.0.1 --secure-port="$(free_port)" \
  --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
  --use-service-account-credentials=true --controllers='*,-nodeipam' --v=1
start "$dir" kube-scheduler "$bin/kube-scheduler" \
  --kubeconfig="$kubeconfig" --authentication-kubeconfig="$kubeconfig" \
  --authorization-kubeconfig="$kubeconfig" --leader-elect=false \
  --bind-address=127.0.0.1 --secure-port="$(free_port)" --v=1
done_step

step "starting kwok and registering a fake node"
start "$dir" kwok "$bin/kwok" --kubeconfig="$kubeconfig" \
  --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
  --config="$here/manifests/kwok-stages.yaml" \
  --cidr=10.244.0.0/16 --node-ip=10.244.0.1 --node-port="$(free_port)" --server-address="127.0.0.1:$(free_port)"
"$bin/kubectl" --kubeconfig="$kubeconfig" apply -f "$here/manifests/kwok-node.yaml" >/dev/null
wait_for "$dir" kwok 60 "$bin/kubectl" --kubeconfig="$kubeconfig" wait --for=condition=Ready node/kwok-node-0 --timeout=2s
wait_for "$dir" kube-controller-manager 60 "$bin/kubectl" --kubeconfig="$kubeconfig" get serviceaccount default -n default
done_step

echo "$kubeconfig"
