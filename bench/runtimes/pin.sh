#!/bin/sh
# Runs a sandbox program on the load-generator core (BENCH_BACKEND_CPUS, set by bench/run.sh),
# so that sandboxes never share the core of the proxy under test.
if [ -n "${BENCH_BACKEND_CPUS:-}" ] && command -v taskset >/dev/null 2>&1; then
  exec taskset -c "$BENCH_BACKEND_CPUS" "$@"
fi
exec "$@"
