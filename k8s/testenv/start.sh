#!/usr/bin/env bash
# Starts etcd and kube-apiserver on 127.0.0.1 for tests, with all state in STATE_DIR.
#
#   AGENTCUBE_KUBE_TESTENV_BIN=$(k8s/testenv/build.sh | tail -1) k8s/testenv/start.sh STATE_DIR
#   k8s/testenv/stop.sh STATE_DIR
#
# Writes into STATE_DIR (created if missing; refused if it already holds a running cluster):
#   admin.kubeconfig   token of user "admin", group system:masters (everything allowed)
#   proxy.kubeconfig   token of user "system:serviceaccount:agentcube-system:agentcube-proxy",
#                      groups system:serviceaccounts and system:serviceaccounts:agentcube-system:
#                      what a ServiceAccount token carries, so a binding to the ServiceAccount
#                      agentcube-system/agentcube-proxy decides what it may do (RBAC's defaults
#                      give such a user discovery and self-reviews only)
#   env                shell-sourceable: KUBE_TESTENV_URL, *_PID, paths
#   etcd.log, kube-apiserver.log, pki/, etcd/ (data)
#
# Ports are chosen free at run time (a start that loses a port race is retried). No scheduler,
# no controller-manager: see README.md for what that leaves out.
#
# Environment:
#   AGENTCUBE_KUBE_TESTENV_BIN       required: directory with kube-apiserver and etcd (build.sh)
#   AGENTCUBE_TESTENV_START_TIMEOUT  seconds to wait for each server to become ready (default 60)
#   AGENTCUBE_TESTENV_OWNER_PID      if set, a watchdog stops the cluster when this process ends
#                                    (the JVM of a test, so a killed test run leaves nothing behind)
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 STATE_DIR" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$1"
state="$(cd "$1" && pwd)"
bin="${AGENTCUBE_KUBE_TESTENV_BIN:-}"
timeout="${AGENTCUBE_TESTENV_START_TIMEOUT:-60}"

if [ -z "$bin" ] || [ ! -x "$bin/kube-apiserver" ] || [ ! -x "$bin/etcd" ]; then
  echo "start.sh: AGENTCUBE_KUBE_TESTENV_BIN must name a directory with kube-apiserver and etcd;" \
       "build them with: export AGENTCUBE_KUBE_TESTENV_BIN=\$($here/build.sh | tail -1)" >&2
  exit 1
fi
for tool in openssl curl python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "start.sh: $tool is required" >&2; exit 1; }
done
if [ -f "$state/env" ]; then
  # shellcheck disable=SC1091
  . "$state/env"
  if kill -0 "${KUBE_TESTENV_APISERVER_PID:-0}" 2>/dev/null || kill -0 "${KUBE_TESTENV_ETCD_PID:-0}" 2>/dev/null; then
    echo "start.sh: $state holds a running cluster; stop it first: $here/stop.sh $state" >&2
    exit 1
  fi
fi
rm -f "$state/env"

# Stops whatever this script started if it fails half-way.
started=()
cleanup_on_error() {
  local pid
  for pid in "${started[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
}
trap cleanup_on_error ERR

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_ready NAME PID LOG URL [curl args...]: polls URL until it answers 200 "ok"; fails when the
# process dies or the timeout passes. Returns 3 when the process died of a port already in use.
wait_ready() {
  local name="$1" pid="$2" log="$3" url="$4"
  shift 4
  local deadline=$(( $(date +%s) + timeout ))
  while :; do
    if [ "$(curl -s --max-time 2 "$@" "$url" || true)" = ok ]; then
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      if grep -qi 'address already in use' "$log"; then
        return 3
      fi
      echo "start.sh: $name exited during start-up; last lines of $log:" >&2
      tail -n 20 "$log" >&2
      return 1
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "start.sh: $name not ready at $url after ${timeout}s; last lines of $log:" >&2
      tail -n 20 "$log" >&2
      return 1
    fi
    sleep 0.1
  done
}

# --- certificates -------------------------------------------------------------------------------
pki="$state/pki"
mkdir -p "$pki"
if [ ! -f "$pki/serving.crt" ]; then
  (
    cd "$pki"
    ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
    # shellcheck disable=SC2086
    openssl req -x509 $ec -keyout ca.key -out ca.crt -days 3650 \
      -subj "/CN=agentcube-testenv-ca" 2>/dev/null
    # shellcheck disable=SC2086
    openssl req $ec -keyout serving.key -out serving.csr -subj "/CN=kube-apiserver" 2>/dev/null
    printf '%s\n' \
      "subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc" \
      "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth" > serving.ext
    openssl x509 -req -in serving.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
      -out serving.crt -days 3650 -extfile serving.ext 2>/dev/null
    # The service-account token signing pair.
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out sa.key 2>/dev/null
    openssl pkey -in sa.key -pubout -out sa.pub 2>/dev/null
    rm -f serving.csr serving.ext ca.srl
    chmod 600 ./*.key
  )
fi

admin_token="$(openssl rand -hex 24)"
proxy_token="$(openssl rand -hex 24)"
proxy_user="system:serviceaccount:agentcube-system:agentcube-proxy"
# token,user,uid,"group1,group2"
umask 077
printf '%s\n' \
  "$admin_token,admin,testenv-admin,\"system:masters\"" \
  "$proxy_token,$proxy_user,testenv-agentcube-proxy,\"system:serviceaccounts,system:serviceaccounts:agentcube-system\"" \
  > "$pki/tokens.csv"
umask 022

# --- etcd ---------------------------------------------------------------------------------------
for attempt in 1 2 3; do
  etcd_port="$(free_port)"
  peer_port="$(free_port)"
  etcd_url="http://127.0.0.1:$etcd_port"
  : > "$state/etcd.log"
  # --unsafe-no-fsync: test data need not survive a power cut, and fsync dominates write latency.
  t_etcd=$(date +%s%N)
  setsid "$bin/etcd" \
    --name=testenv \
    --data-dir="$state/etcd" \
    --listen-client-urls="$etcd_url" \
    --advertise-client-urls="$etcd_url" \
    --listen-peer-urls="http://127.0.0.1:$peer_port" \
    --initial-advertise-peer-urls="http://127.0.0.1:$peer_port" \
    --initial-cluster="testenv=http://127.0.0.1:$peer_port" \
    --unsafe-no-fsync \
    --log-level=warn \
    >> "$state/etcd.log" 2>&1 < /dev/null &
  etcd_pid=$!
  started+=("$etcd_pid")
  rc=0
  # etcd's /health answers {"health":"true",...}; /readyz (3.6) answers "ok".
  wait_ready etcd "$etcd_pid" "$state/etcd.log" "$etcd_url/readyz" || rc=$?
  [ "$rc" -eq 0 ] && break
  if [ "$rc" -ne 3 ] || [ "$attempt" -eq 3 ]; then
    cleanup_on_error
    exit 1
  fi
done

# --- kube-apiserver -----------------------------------------------------------------------------
for attempt in 1 2 3; do
  port="$(free_port)"
  url="https://127.0.0.1:$port"
  : > "$state/kube-apiserver.log"
  # ServiceAccount admission is off: without a controller-manager no "default" ServiceAccount
  # exists, and the plugin would refuse every pod. The endpoint reconciler is off: it would try to
  # publish 127.0.0.1 as the kubernetes Service's endpoint, which validation refuses (loopback).
  t_apiserver=$(date +%s%N)
  setsid "$bin/kube-apiserver" \
    --etcd-servers="$etcd_url" \
    --bind-address=127.0.0.1 \
    --advertise-address=127.0.0.1 \
    --secure-port="$port" \
    --cert-dir="$pki" \
    --tls-cert-file="$pki/serving.crt" \
    --tls-private-key-file="$pki/serving.key" \
    --client-ca-file="$pki/ca.crt" \
    --token-auth-file="$pki/tokens.csv" \
    --authorization-mode=RBAC \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$pki/sa.pub" \
    --service-account-signing-key-file="$pki/sa.key" \
    --service-cluster-ip-range=10.0.0.0/24 \
    --disable-admission-plugins=ServiceAccount \
    --endpoint-reconciler-type=none \
    --enable-priority-and-fairness=false \
    --profiling=false \
    --v=1 \
    >> "$state/kube-apiserver.log" 2>&1 < /dev/null &
  apiserver_pid=$!
  started+=("$apiserver_pid")
  rc=0
  wait_ready kube-apiserver "$apiserver_pid" "$state/kube-apiserver.log" "$url/readyz" \
    --cacert "$pki/ca.crt" -H "Authorization: Bearer $admin_token" || rc=$?
  [ "$rc" -eq 0 ] && break
  if [ "$rc" -ne 3 ] || [ "$attempt" -eq 3 ]; then
    cleanup_on_error
    exit 1
  fi
done

# /readyz does not wait for the bootstrap controller's namespaces; tests apply into "default".
deadline=$(( $(date +%s) + timeout ))
until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 --cacert "$pki/ca.crt" \
          -H "Authorization: Bearer $admin_token" "$url/api/v1/namespaces/default" || true)" = 200 ]; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "start.sh: namespace default not created after ${timeout}s" >&2
    cleanup_on_error
    exit 1
  fi
  sleep 0.1
done

# --- client configuration -----------------------------------------------------------------------
kubeconfig() { # user token
  cat <<EOF
apiVersion: v1
kind: Config
clusters:
- name: testenv
  cluster:
    server: $url
    certificate-authority-data: $(base64 -w0 < "$pki/ca.crt")
users:
- name: $1
  user:
    token: $2
contexts:
- name: testenv
  context:
    cluster: testenv
    user: $1
    namespace: default
current-context: testenv
EOF
}
umask 077
kubeconfig admin "$admin_token" > "$state/admin.kubeconfig"
kubeconfig agentcube-proxy "$proxy_token" > "$state/proxy.kubeconfig"
umask 022

watchdog_pid=
if [ -n "${AGENTCUBE_TESTENV_OWNER_PID:-}" ]; then
  owner="$AGENTCUBE_TESTENV_OWNER_PID"
  setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec "$2/stop.sh" "$3"' \
    testenv-watchdog "$owner" "$here" "$state" > "$state/watchdog.log" 2>&1 < /dev/null &
  watchdog_pid=$!
fi

cat > "$state/env.tmp" <<EOF
KUBE_TESTENV_URL=$url
KUBE_TESTENV_ETCD_URL=$etcd_url
KUBE_TESTENV_APISERVER_PID=$apiserver_pid
KUBE_TESTENV_ETCD_PID=$etcd_pid
KUBE_TESTENV_WATCHDOG_PID=$watchdog_pid
KUBE_TESTENV_ADMIN_KUBECONFIG=$state/admin.kubeconfig
KUBE_TESTENV_PROXY_KUBECONFIG=$state/proxy.kubeconfig
KUBE_TESTENV_PROXY_USER=$proxy_user
KUBE_TESTENV_CA=$pki/ca.crt
EOF
mv "$state/env.tmp" "$state/env"
trap - ERR
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
echo "start.sh: kube-apiserver ready at $url (state in $state);" \
     "etcd started $(( (t_apiserver - t_etcd) / 1000000 )) ms, kube-apiserver $(ms "$t_apiserver") ms" >&2
