#!/usr/bin/env bash
# Stops the kube-apiserver and etcd that start.sh started in STATE_DIR. Idempotent: a state dir
# without a cluster, or one already stopped, is fine. Leaves the logs and data in STATE_DIR.
#
#   k8s/testenv/stop.sh STATE_DIR
#
# A process is signalled only while its command line still names STATE_DIR, so a pid reused by an
# unrelated process after a crash is left alone.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 STATE_DIR" >&2
  exit 2
fi
[ -d "$1" ] || exit 0
state="$(cd "$1" && pwd)"
[ -f "$state/env" ] || exit 0
# shellcheck disable=SC1091
. "$state/env"

ours() { # pid: alive and started for this state dir
  [ -n "$1" ] && [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' < "/proc/$1/cmdline" | grep -qF -- "$state"
}

stop() { # name pid
  local name="$1" pid="$2" i
  ours "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 100); do            # up to 10 s for a clean shutdown
    ours "$pid" || return 0
    sleep 0.1
  done
  echo "stop.sh: $name (pid $pid) ignored SIGTERM for 10 s; killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
}

# The watchdog first (unless this script is the watchdog: it execs stop.sh when its owner ends).
if [ "${KUBE_TESTENV_WATCHDOG_PID:-}" != "$$" ]; then
  stop watchdog "${KUBE_TESTENV_WATCHDOG_PID:-}"
fi
stop kube-apiserver "${KUBE_TESTENV_APISERVER_PID:-}"
stop etcd "${KUBE_TESTENV_ETCD_PID:-}"
rm -f "$state/env"
