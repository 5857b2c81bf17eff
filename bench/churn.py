#!/usr/bin/env python3
"""Code-execution benchmarks T9-T12 (docs/benchmarks.md) against a running proxy.

  bench/churn.py BASE_URL [--seconds 20] [--clients 16] [--proxy-pid PID --idle 1000]

T9   sessions/s of create (POST /v1/code-interpreter) -> execute `true` -> delete, N clients
T9b  the SDK's pattern: create -> upload print(6*7) as a file -> run python3 on it -> delete,
     next to the physical limit: `bwrap ... python3 file.py` run back to back, same clients
T10  first execute of a new session vs a bare `bwrap ... true` spawn (p50/p99)
T12  executes/s of `true` in one session, 8 clients, next to bare bwrap spawns/s
T11  (with --proxy-pid) memory per idle session: after --idle warm-up sessions (opened, `true`, closed),
     --idle sessions opened (each ran `true`), then
     the proxy's and the sandbox host's RSS and live heap (after a full GC, `jcmd`) compared with
     before; workspace files are on disk, not counted
Prints one JSON object. Only the Python standard library.
"""
import argparse, base64, http.client, json, os, statistics, subprocess, sys, tempfile, threading, time
from urllib.parse import urlsplit

CI = "/v1/namespaces/default/code-interpreters/python/invocations"
HDR = "x-agentcube-session-id"


class Client:
    def __init__(self, base):
        u = urlsplit(base)
        self.host, self.port = u.hostname, u.port
        self.c = http.client.HTTPConnection(self.host, self.port, timeout=60)

    def call(self, method, path, body=None, sid=None):
        h = {"Content-Type": "application/json"}
        if sid:
            h[HDR] = sid
        data = None if body is None else json.dumps(body).encode()
        for attempt in (0, 1):
            try:
                self.c.request(method, path, body=data, headers=h)
                r = self.c.getresponse()
                payload = r.read()
                return r.status, r.getheader(HDR), payload
            except (http.client.HTTPException, OSError):
                self.c.close()
                self.c = http.client.HTTPConnection(self.host, self.port, timeout=60)
                if attempt:
                    raise


def execute(c, sid, cmd):
    return c.call("POST", CI + "/api/execute", {"command": cmd, "timeout": "30s"}, sid)


def session(c):
    st, sid, body = c.call("POST", "/v1/code-interpreter", {"namespace": "default", "name": "python"})
    if st != 200:
        raise RuntimeError("create %d %s" % (st, body[:200]))
    return json.loads(body)["sessionId"]


def delete(c, sid):
    st, _, body = c.call("DELETE", "/v1/code-interpreter/sessions/" + sid)
    if st != 200:
        raise RuntimeError("delete %d %s" % (st, body[:200]))


def run_clients(n, seconds, work):
    """Runs work(client_state) in n threads for `seconds`; returns (count, errors, latencies)."""
    stop = time.monotonic() + seconds
    counts, errors, lat = [0] * n, [0] * n, [[] for _ in range(n)]
    first_error = []

    def loop(i):
        state = {}
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            try:
                work(state)
                counts[i] += 1
                lat[i].append(time.perf_counter() - t0)
            except Exception as e:  # counted, reported
                errors[i] += 1
                if not first_error:
                    first_error.append(repr(e))
    t0 = time.monotonic()
    ts = [threading.Thread(target=loop, args=(i,)) for i in range(n)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    elapsed = time.monotonic() - t0
    all_lat = sorted(x for l in lat for x in l)
    return sum(counts) / elapsed, sum(errors), all_lat, first_error[:1]


def pct(xs, p):
    return round(xs[min(len(xs) - 1, int(len(xs) * p))] * 1000, 2) if xs else None


def bwrap_argv(ws, cmd):
    return ["bwrap", "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent",
            "--new-session", "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin",
            "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--ro-bind", "/etc",
            "/etc", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--bind", ws,
            "/workspace", "--chdir", "/workspace", "--"] + cmd


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--proxy-pid", type=int, help="measure T11 on this proxy process")
    ap.add_argument("--idle", type=int, default=1000, help="T11: idle sessions to open")
    ap.add_argument("--only", help="comma-separated subset of T9,T9b,T10,T11,T12 (default: all)")
    a = ap.parse_args()
    out = {"clients": a.clients, "seconds": a.seconds}

    want = set(a.only.split(",")) if a.only else {"T9", "T9b", "T10", "T11", "T12"}
    ws = tempfile.mkdtemp()
    with open(os.path.join(ws, "main.py"), "w") as f:
        f.write("print(6*7)\n")

    if a.proxy_pid and "T11" in want:  # first, on a fresh proxy: what idle sessions add to its memory
        out["T11"] = idle_memory(a.base, a.proxy_pid, a.idle)

    if "T9" in want:
        # T9: churn
        def churn(state):
            c = state.setdefault("c", Client(a.base))
            sid = session(c)
            st, _, body = execute(c, sid, ["true"])
            if st != 200 or json.loads(body).get("exit_code") != 0:
                raise RuntimeError("execute %d %s" % (st, body[:200]))
            delete(c, sid)
        rate, err, lat, first = run_clients(a.clients, a.seconds, churn)
        out["T9"] = {"sessions_per_s": round(rate, 1), "errors": err, "p50_ms": pct(lat, .5),
                     "p90_ms": pct(lat, .9), "p99_ms": pct(lat, .99), "max_ms": pct(lat, 1),
                     "first_error": first}

    if "T9b" in want:
        # T9b: SDK pattern (upload a file with JSON base64, run it) vs bare bwrap python3 file.py
        code = base64.b64encode(b"print(6*7)\n").decode()

        def sdk(state):
            c = state.setdefault("c", Client(a.base))
            sid = session(c)
            st, _, body = c.call("POST", CI + "/api/files", {"path": "main.py", "content": code}, sid)
            if st not in (200, 201):
                raise RuntimeError("upload %d %s" % (st, body[:200]))
            st, _, body = execute(c, sid, ["python3", "main.py"])
            if st != 200 or json.loads(body).get("stdout") != "42\n":
                raise RuntimeError("run %d %s" % (st, body[:200]))
            delete(c, sid)
        rate, err, lat, first = run_clients(a.clients, a.seconds, sdk)

        def bare_py(state):
            subprocess.run(bwrap_argv(ws, ["python3", "main.py"]), check=True, capture_output=True)
        limit, _, _, _ = run_clients(a.clients, a.seconds / 2, bare_py)
        out["T9b"] = {"sessions_per_s": round(rate, 1), "errors": err, "bwrap_python_per_s": round(limit, 1),
                      "ratio": round(rate / limit, 2) if limit else None, "first_error": first}

    if "T10" in want:
        # T10: first execute of a new session (sessions made beforehand, one at a time) vs bare spawn
        c = Client(a.base)
        firsts = []
        for _ in range(60):
            sid = session(c)
            t0 = time.perf_counter()
            st, _, body = execute(c, sid, ["true"])
            firsts.append(time.perf_counter() - t0)
            delete(c, sid)
        spawns = []
        for _ in range(60):
            t0 = time.perf_counter()
            subprocess.run(bwrap_argv(ws, ["true"]), check=True)
            spawns.append(time.perf_counter() - t0)
        firsts.sort(); spawns.sort()
        out["T10"] = {"first_execute_p50_ms": pct(firsts, .5), "first_execute_p99_ms": pct(firsts, .99),
                      "bwrap_true_p50_ms": pct(spawns, .5), "bwrap_true_p99_ms": pct(spawns, .99)}

    if "T12" in want:
        # T12: executes/s in one session, 8 clients, vs bare bwrap true spawns/s with 8 threads
        sid = session(Client(a.base))

        def one(state):
            c = state.setdefault("c", Client(a.base))
            st, _, body = execute(c, sid, ["true"])
            if st != 200:
                raise RuntimeError("execute %d %s" % (st, body[:200]))
        rate, err, lat, first = run_clients(8, a.seconds, one)

        def bare(state):
            subprocess.run(bwrap_argv(ws, ["true"]), check=True)
        spawn_rate, _, _, _ = run_clients(8, a.seconds / 2, bare)
        out["T12"] = {"executes_per_s": round(rate, 1), "errors": err, "p50_ms": pct(lat, .5),
                      "bwrap_true_per_s": round(spawn_rate, 1), "first_error": first}
    print(json.dumps(out, indent=1))


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))


def heap_used_kb(pid):
    """Live heap: `jcmd PID GC.class_histogram` runs a full GC and counts what stays reachable."""
    hist = subprocess.run(["jcmd", str(pid), "GC.class_histogram"], check=True, capture_output=True,
                          text=True).stdout
    total = next(l for l in hist.splitlines() if l.startswith("Total"))
    return int(total.split()[2]) / 1024


def host_pid(proxy_pid):
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    argv = f.read().split(b"\0")
                with open("/proc/%s/stat" % d) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            if ppid == proxy_pid and b"--mode" in argv and b"host" in argv:
                return int(d)
    raise RuntimeError("no sandbox host below pid %d" % proxy_pid)


def idle_memory(base, proxy_pid, n):
    c = Client(base)
    for _ in range(n):  # warm-up: the JIT, the heap's young regions and the pools reach steady state
        sid = session(c)
        execute(c, sid, ["true"])
        delete(c, sid)
    host = host_pid(proxy_pid)
    pids = {"proxy": proxy_pid, "host": host}
    before = {k: (rss_kb(p), heap_used_kb(p)) for k, p in pids.items()}
    sids = []
    for _ in range(n):
        sid = session(c)
        st, _, body = execute(c, sid, ["true"])
        if st != 200:
            raise RuntimeError("execute %d %s" % (st, body[:200]))
        sids.append(sid)
    after = {k: (rss_kb(p), heap_used_kb(p)) for k, p in pids.items()}
    res = {"sessions": n}
    for k in pids:
        res[k + "_rss_kb_per_session"] = round((after[k][0] - before[k][0]) / n, 2)
        res[k + "_heap_kb_per_session"] = round((after[k][1] - before[k][1]) / n, 2)
    res["total_rss_kb_per_session"] = round(sum(res[k + "_rss_kb_per_session"] for k in pids), 2)
    res["total_heap_kb_per_session"] = round(sum(res[k + "_heap_kb_per_session"] for k in pids), 2)
    for sid in sids:
        delete(c, sid)
    return res


if __name__ == "__main__":
    main()
