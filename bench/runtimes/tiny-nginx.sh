#!/bin/sh
# The bench backend: one single-process nginx that answers every request with 200 "ok".
# Started by the proxy's process backend (env PORT and AGENTCUBE_SANDBOX_DIR) or by the T4 raw
# start measurement with the same env. BENCH_BACKEND_CPUS (set by bench/run.sh) pins it to the
# load-generator core, so sandboxes never share the core of the proxy under test.
set -eu
: "${PORT:?PORT is required}"
dir="${AGENTCUBE_SANDBOX_DIR:-$(pwd)}"
mkdir -p "$dir/nginx-tmp"
cat > "$dir/nginx.conf" <<CONF
worker_processes 1;
daemon off;
master_process off;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $dir/nginx-tmp/body;
  proxy_temp_path $dir/nginx-tmp/proxy;
  fastcgi_temp_path $dir/nginx-tmp/fastcgi;
  uwsgi_temp_path $dir/nginx-tmp/uwsgi;
  scgi_temp_path $dir/nginx-tmp/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  server {
    listen 127.0.0.1:$PORT reuseport backlog=4096;
    location / { default_type text/plain; return 200 "ok"; }
  }
}
CONF
# Debian installs nginx in /usr/sbin, which a jailed sandbox's PATH (/usr/local/bin:/usr/bin:/bin,
# as for any unprivileged user) does not search.
PATH="$PATH:/usr/sbin:/sbin"
# Pinned only to a CPU list: the spec's "@LOAD_CPU@", unfilled outside bench/run.sh, runs unpinned.
case "${BENCH_BACKEND_CPUS:-}" in
  ""|*[!0-9,-]*) ;;
  *) command -v taskset >/dev/null 2>&1 && exec taskset -c "$BENCH_BACKEND_CPUS" nginx -p "$dir" -c "$dir/nginx.conf" ;;
esac
exec nginx -p "$dir" -c "$dir/nginx.conf"
