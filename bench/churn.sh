#!/usr/bin/env bash
# Code-execution benchmarks T9-T12 (docs/benchmarks.md): builds the jars, starts a fresh proxy on
# the default conf/ (bin/run's JVM flags, the sandbox host, isolation required) on a free port with
# a state dir under /tmp, runs bench/churn.py against it (T11 first, on the fresh proxy), stops it.
#
#   bench/churn.sh [--seconds 20] [--clients 16] [--idle 1000]     # extra args go to churn.py
#
# Run it with nothing else on the cores (no build, no helper): the figures are ratios to bare
# bubblewrap spawns measured in the same run, on the same cores.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${SKIP_BUILD:-}" ] || mvn -B -q -DskipTests package >&2
state="$(mktemp -d /tmp/agentcube-churn.XXXXXX)"; chmod 711 "$state"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
java -Xms64m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=50 -XX:+ExitOnOutOfMemoryError \
  -jar proxy/target/agentcube-proxy.jar --config conf/agentcube.yaml --server.port="$port" \
  --process.stateDir="$state/state" --isolation.mode=required > "$state/proxy.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true; rm -rf "$state"' EXIT
for _ in $(seq 120); do
  curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null && break
  kill -0 $pid 2>/dev/null || { cat "$state/proxy.log" >&2; exit 1; }
  sleep 0.5
done
curl -s "http://127.0.0.1:$port/health/ready" >&2; echo >&2
echo "machine: $(nproc) cores, $(uname -r), $(bwrap --version), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
python3 bench/churn.py "http://127.0.0.1:$port" --proxy-pid "$pid" "$@"
