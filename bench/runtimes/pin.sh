#!/bin/sh
# Runs a sandbox program on the load-generator core (BENCH_BACKEND_CPUS, set by bench/run.sh),
# so that sandboxes never share the core of the proxy under test.
# Pinned only to a CPU list: the spec's "@LOAD_CPU@", unfilled outside bench/run.sh, runs unpinned.
case "${BENCH_BACKEND_CPUS:-}" in
  ""|*[!0-9,-]*) ;;
  *) command -v taskset >/dev/null 2>&1 && exec taskset -c "$BENCH_BACKEND_CPUS" "$@" ;;
esac
exec "$@"
