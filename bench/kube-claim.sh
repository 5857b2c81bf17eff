#!/usr/bin/env bash
# Warm-claim latency of the Kubernetes backend against a real kube-apiserver (k8s/testenv):
# N session creations one after another, each a warm claim (one resourceVersion-guarded pod
# patch), timed by the client. Prints p50/p90/p99/max. Run when nothing else uses the cores.
#
#   bench/kube-claim.sh [N]      (default 100)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
export AGENTCUBE_KUBE_TESTENV_BIN="${AGENTCUBE_KUBE_TESTENV_BIN:-$(k8s/testenv/build.sh)}"
mvn -B -q install -DskipTests
mvn -B -q -pl proxy test-compile dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile=target/bench-classpath.txt
cd proxy
exec java -cp "target/test-classes:target/classes:$(cat target/bench-classpath.txt)" \
  -Dagentcube.repo.root="$ROOT" io.agentcube.proxy.bench.WarmClaimBench "${1:-100}"
