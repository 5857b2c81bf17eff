#!/usr/bin/env python3
"""Helpers of bench/run.sh: talk to the proxy, parse tool output into JSON, summarise a JFR
recording, and write the Markdown report. Standard library only.

    tools.py session-create BASE NAME            -> "SESSION_ID HOST:PORT"
    tools.py wait-pools BASE TIMEOUT_S           -> waits until every warm pool is full
    tools.py wait-pool BASE NAME MIN TIMEOUT_S   -> waits until runtime NAME has MIN warm sandboxes
    tools.py metric BASE NAME [LABEL=VALUE ...]  -> the value of one Prometheus sample (0 if absent)
    tools.py heap BASE                           -> "HEAP_USED TENURED_USED" from /metrics
    tools.py wrk-json WRK_OUT CPU_BEFORE CPU_AFTER EXTRA_JSON -> one JSON record
    tools.py histo-diff BEFORE AFTER N           -> per-session bytes and the classes that grew
    tools.py heap-info FILE                      -> used heap bytes from `jcmd GC.heap_info`
    tools.py jfr-summary FILE.jfr REQUESTS OUT_TXT -> JSON with top frames, categories, bytes/request
    tools.py report RESULTS_DIR                  -> writes results.md and summary.json there
"""

import json
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.request

# ----------------------------------------------------------------------------- proxy API


def http(method, url, body=None, timeout=30):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("content-type", "application/json")
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.status, resp.read().decode()


def session_create(base, name):
    status, text = http("POST", base + "/v1/agent-runtime", {"namespace": "default", "name": name}, timeout=90)
    sid = json.loads(text)["sessionId"]
    # The sandbox address as a user finds it: GET /v1/sessions/{id}.
    _, text = http("GET", base + "/v1/sessions/" + sid)
    endpoint = json.loads(text)["entryPoints"][0]["endpoint"]
    print(sid, endpoint)


def _wait_warm(base, timeout_s, done, what):
    """Polls the runtimes API until done({runtime name: status.warmPool}) holds, else exits."""
    deadline = time.time() + float(timeout_s)
    last = None
    while time.time() < deadline:
        try:
            _, text = http("GET", base + "/v1/namespaces/default/runtimes")
            last = {i["name"]: i.get("status", {}).get("warmPool", {}) for i in json.loads(text).get("items", [])}
            if done(last):
                return
        except Exception as e:  # the proxy may still be starting
            last = str(e)
        time.sleep(0.2)
    sys.exit("%s within %ss: %s" % (what, timeout_s, last))


def wait_pools(base, timeout_s):
    _wait_warm(base, timeout_s,
               lambda pools: pools and all(p.get("ready", 0) >= p.get("desired", 0) for p in pools.values()),
               "warm pools not full")


def wait_pool(base, name, minimum, timeout_s):
    _wait_warm(base, timeout_s, lambda pools: pools.get(name, {}).get("ready", 0) >= int(minimum),
               "pool %s not at %s" % (name, minimum))


def scrape(base):
    _, text = http("GET", base + "/metrics")
    return text


def metric(base, name, *labels):
    want = [l.split("=", 1) for l in labels]
    total = 0.0
    for line in scrape(base).splitlines():
        if not line.startswith(name):
            continue
        m = re.match(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)', line)
        if not m or m.group(1) != name:
            continue
        tags = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        if all(tags.get(k) == v for k, v in want):
            total += float(m.group(3))
    print(repr(total) if total != int(total) else int(total))


def heap(base):
    used = tenured = 0.0
    for line in scrape(base).splitlines():
        if line.startswith("jvm_memory_used_bytes{") and 'area="heap"' in line:
            value = float(line.rsplit(" ", 1)[1])
            used += value
            if "Tenured" in line or "Old" in line:
                tenured += value
    print(int(used), int(tenured))


# ----------------------------------------------------------------------------- machine load


def _procs():
    """pid -> (ppid, utime + stime ticks) of every process now."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                rest = f.read().rsplit(")", 1)[1].split()
            out[int(d)] = (int(rest[1]), int(rest[11]) + int(rest[12]))
        except (OSError, IndexError, ValueError):
            pass
    return out


def proc_snap(path):
    """Saves every process's CPU ticks, to compare with a later snapshot (foreign-cpu)."""
    with open(path, "w") as f:
        json.dump({"t": time.time(), "procs": _procs()}, f)


def foreign_cpu(path, root_pid):
    """Percent of the machine's CPU used since the snapshot by processes that are not ours
    (not descendants of ROOT_PID) and not kernel threads: other people's builds and tests."""
    before = json.load(open(path))
    now = _procs()
    secs = max(0.001, time.time() - before["t"])
    root = int(root_pid)

    def ours(pid):
        seen = 0
        while pid > 2 and seen < 64:
            if pid == root:
                return True
            pid = now.get(pid, (0, 0))[0]
            seen += 1
        return False

    ticks = 0
    for pid, (ppid, t) in now.items():
        if pid == 2 or ppid == 2 or ours(pid):
            continue
        t0 = before["procs"].get(str(pid), (ppid, 0))[1]
        ticks += max(0, t - t0)
    pct = 100.0 * ticks / os.sysconf("SC_CLK_TCK") / secs / os.cpu_count()
    print("%.1f" % pct)


# ----------------------------------------------------------------------------- parsers


def _ms(text):
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    if not m:
        return None
    v = float(m.group(1))
    return {"us": v / 1000, "ms": v, "s": v * 1000}[m.group(2)]


def wrk_json(path, cpu_before, cpu_after, extra):
    text = open(path).read()
    rec = json.loads(extra)
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    rec["rps"] = float(m.group(1)) if m else 0.0
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+)", text)
    rec["requests"] = int(m.group(1)) if m else 0
    for pct in ("50", "90", "99"):
        m = re.search(r"^\s+%s(?:\.000)?%%\s+(\S+)" % pct, text, re.M)
        rec["wrk_p%s_ms" % pct] = _ms(m.group(1)) if m else None
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    rec["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    rec["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    if cpu_before and cpu_after and rec["requests"]:
        hz = os.sysconf("SC_CLK_TCK")
        ub, sb = (int(x) for x in cpu_before.split())
        ua, sa = (int(x) for x in cpu_after.split())
        rec["cpu_user_us_per_req"] = round((ua - ub) / hz * 1e6 / rec["requests"], 2)
        rec["cpu_sys_us_per_req"] = round((sa - sb) / hz * 1e6 / rec["requests"], 2)
    print(json.dumps(rec))


def _histo(path):
    classes, total = {}, 0
    for line in open(path):
        m = re.match(r"\s*\d+:\s+(\d+)\s+(\d+)\s+(\S+)", line)
        if m:
            classes[m.group(3)] = (int(m.group(1)), int(m.group(2)))
        m = re.match(r"Total\s+(\d+)\s+(\d+)", line)
        if m:
            total = int(m.group(2))
    return classes, total


def histo_diff(before, after, n):
    n = int(n)
    cb, tb = _histo(before)
    ca, ta = _histo(after)
    grown = []
    for name, (inst, size) in ca.items():
        i0, s0 = cb.get(name, (0, 0))
        if size - s0 > 0:
            grown.append({"class": name, "instances_per_session": round((inst - i0) / n, 2),
                          "bytes_per_session": round((size - s0) / n, 1)})
    grown.sort(key=lambda g: -g["bytes_per_session"])
    # What grew, ignoring classes that shrank (soft-referenced reflection caches and the like are
    # released between histograms): the fairer figure when attributing growth to one cause.
    grown_bytes = sum(g["bytes_per_session"] for g in grown)
    print(json.dumps({"heap_before": tb, "heap_after": ta, "sessions": n,
                      "bytes_per_session": round((ta - tb) / n, 1),
                      "grown_bytes_per_session": round(grown_bytes, 1), "top_classes": grown[:15]}))


def heap_info(path):
    used = 0
    for line in open(path):
        if re.search(r"generation|space|heap", line) and "total" in line:
            m = re.search(r"used (\d+)K", line)
            if m and not line.strip().startswith(("eden", "from", "to", "the space", "Metaspace", "class space")):
                used += int(m.group(1)) * 1024
    print(used)


# ----------------------------------------------------------------------------- JFR

CATEGORIES = [
    ("vertx-http-proxy", ("io.vertx.httpproxy.",)),
    ("agentcube (our code)", ("io.agentcube.",)),
    ("micrometer (metrics)", ("io.micrometer.",)),
    ("caffeine (session store)", ("com.github.benmanes.caffeine.",)),
    ("vertx-web router", ("io.vertx.ext.web.",)),
    ("netty http codec", ("io.netty.handler.codec.",)),
    ("vertx core http", ("io.vertx.core.http.", "io.vertx.core.net.")),
    # Only the read/write/wait calls themselves: the event loop's own frames sit at the bottom of
    # every stack and would make this row ~100 %.
    ("socket calls (read/write/wait)", ("sun.nio.ch.SocketChannelImpl.read", "sun.nio.ch.SocketChannelImpl.write",
                                        "sun.nio.ch.IOUtil.", "sun.nio.ch.EPoll", "io.netty.channel.epoll.Native.",
                                        "io.netty.channel.epoll.LinuxSocket.", "io.netty.channel.unix.FileDescriptor.",
                                        "io.netty.channel.unix.Socket.")),
]


def _frame_name(frame):
    m = frame.get("method", {})
    t = m.get("type", {}).get("name", "?")
    return t.replace("/", ".") + "." + m.get("name", "?")


def jfr_summary(path, requests, out_txt):
    requests = max(1, int(requests))
    raw = subprocess.run(["jfr", "print", "--json", "--stack-depth", "48", "--events",
                          "jdk.ExecutionSample,jdk.ObjectAllocationSample,jdk.ThreadAllocationStatistics", path],
                         capture_output=True, text=True, check=True).stdout
    events = json.loads(raw)["recording"]["events"]
    self_count, incl, total = {}, {c: 0 for c, _ in CATEGORIES}, 0
    alloc_site, alloc_class, alloc_total = {}, {}, 0
    loop_alloc = {}
    seen_threads = set()
    events.sort(key=lambda e: e["values"].get("startTime") or "")
    for e in events:
        if e["type"] == "jdk.ThreadAllocationStatistics":
            name = (e["values"].get("thread") or {}).get("javaName") or ""
            if "eventloop" in name:
                loop_alloc.setdefault(name, []).append(int(e["values"].get("allocated") or 0))
            continue
        frames = (e["values"].get("stackTrace") or {}).get("frames") or []
        names = [_frame_name(f) for f in frames]
        if e["type"] == "jdk.ExecutionSample":
            thread = (e["values"].get("sampledThread") or {}).get("javaName") or ""
            if "eventloop" not in thread:
                continue
            total += 1
            if names:
                self_count[names[0]] = self_count.get(names[0], 0) + 1
            for cat, prefixes in CATEGORIES:
                if any(n.startswith(prefixes) for n in names):
                    incl[cat] += 1
        else:
            tname = (e["values"].get("eventThread") or {}).get("javaName") or "?"
            if tname not in seen_threads:
                seen_threads.add(tname)  # first sample's weight covers all of the thread's past
                continue
            w = int(e["values"].get("weight") or 0)
            alloc_total += w
            cls = ((e["values"].get("objectClass") or {}).get("name") or "?").replace("/", ".")
            alloc_class[cls] = alloc_class.get(cls, 0) + w
            site = next((n for n in names if not n.startswith(("java.", "jdk.", "sun."))), names[0] if names else "?")
            alloc_site[site] = alloc_site.get(site, 0) + w
    top = sorted(self_count.items(), key=lambda kv: -kv[1])[:25]
    res = {
        "event_loop_samples": total,
        "top_self_frames": [{"frame": f, "pct": round(100.0 * c / max(1, total), 1)} for f, c in top],
        "inclusive_pct": {c: round(100.0 * v / max(1, total), 1) for c, v in incl.items()},
        "allocated_bytes_per_request": round(alloc_total / requests),
        # Exact: bytes the event-loop thread allocated between the first and last statistics event.
        "event_loop_allocated_bytes_per_request": round(sum(max(v) - min(v) for v in loop_alloc.values()) / requests),
        "top_alloc_classes": [{"class": c, "pct": round(100.0 * w / max(1, alloc_total), 1)}
                              for c, w in sorted(alloc_class.items(), key=lambda kv: -kv[1])[:12]],
        "top_alloc_sites": [{"site": s, "pct": round(100.0 * w / max(1, alloc_total), 1)}
                            for s, w in sorted(alloc_site.items(), key=lambda kv: -kv[1])[:12]],
    }
    with open(out_txt, "w") as f:
        f.write("event-loop CPU samples: %d\n\ninclusive share by component:\n" % total)
        for c, v in res["inclusive_pct"].items():
            f.write("  %5.1f%%  %s\n" % (v, c))
        f.write("\ntop frames (self time, event-loop thread):\n")
        for t in res["top_self_frames"]:
            f.write("  %5.1f%%  %s\n" % (t["pct"], t["frame"]))
        f.write("\nallocation: %d bytes per request on the event loop (jdk.ThreadAllocationStatistics delta / requests);"
                " sampled estimate %d (ObjectAllocationSample weights)\n"
                % (res["event_loop_allocated_bytes_per_request"], res["allocated_bytes_per_request"]))
        f.write("top allocating sites (first non-JDK frame):\n")
        for t in res["top_alloc_sites"]:
            f.write("  %5.1f%%  %s\n" % (t["pct"], t["site"]))
        f.write("top allocated classes:\n")
        for t in res["top_alloc_classes"]:
            f.write("  %5.1f%%  %s\n" % (t["pct"], t["class"]))
    print(json.dumps(res))


def old_objects(path, out_txt):
    """Where the live objects sampled by JFR's OldObjectSample were allocated, by class."""
    raw = subprocess.run(["jfr", "print", "--json", "--stack-depth", "24", "--events", "jdk.OldObjectSample", path],
                         capture_output=True, text=True, check=True).stdout
    events = json.loads(raw)["recording"]["events"]
    by_class = {}
    for e in events:
        obj = e["values"].get("object") or {}
        cls = ((obj.get("type") or {}).get("name") or "?").replace("/", ".")
        frames = [_frame_name(f) for f in ((e["values"].get("stackTrace") or {}).get("frames") or [])]
        key = " <- ".join(frames[:6]) or "?"
        by_class.setdefault(cls, {}).setdefault(key, 0)
        by_class[cls][key] += 1
    with open(out_txt, "w") as f:
        f.write("JFR old-object samples still live after the sessions were created (%d samples)\n" % len(events))
        for cls, sites in sorted(by_class.items(), key=lambda kv: -sum(kv[1].values()))[:8]:
            f.write("\n%s: %d samples\n" % (cls, sum(sites.values())))
            for site, n in sorted(sites.items(), key=lambda kv: -kv[1])[:4]:
                f.write("  %4d  %s\n" % (n, site))
    print(out_txt)


# ----------------------------------------------------------------------------- report


def _load(d):
    recs = []
    with open(os.path.join(d, "raw.jsonl")) as f:
        for line in f:
            line = line.strip()
            if line:
                recs.append(json.loads(line))
    return recs


def _med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def _spread(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "-"
    m = statistics.median(xs)
    if not m:
        return "-"
    return "%.0f–%.0f (±%.1f%%)" % (min(xs), max(xs), 100.0 * (max(xs) - min(xs)) / 2 / m)


def _f(x, fmt="%.0f"):
    return "-" if x is None else fmt % x


def _foreign(rs):
    xs = [r.get("foreign_cpu_pct") for r in rs if r.get("foreign_cpu_pct") is not None]
    return "%.1f" % max(xs) if xs else "-"


def report(d):
    recs = _load(d)
    meta = json.load(open(os.path.join(d, "machine.json")))
    by = lambda s: [r for r in recs if r.get("scenario") == s]
    out, summary = [], {}
    out.append("# Benchmark results %s\n" % meta.get("timestamp", ""))
    out.append("Command: `%s`  \nMachine: %s cores, %s; %s; kernel %s  \nMeasured: proxy jar from %s\n"
               % (meta.get("command"), meta.get("nproc"), meta.get("cpu"), meta.get("java"),
                  meta.get("kernel"), meta.get("measured")))
    out.append("Tools: %s\n" % meta.get("tools"))

    # T1
    t1 = by("T1")
    contenders = []
    for r in t1:
        if r["contender"] not in contenders:
            contenders.append(r["contender"])
    med = {c: _med([r["rps"] for r in t1 if r["contender"] == c]) for c in contenders}
    out.append("\n## T1 — throughput (wrk, closed loop, %s connections, %s s × %d interleaved runs)\n"
               % (t1[0].get("connections") if t1 else "?", t1[0].get("duration_s") if t1 else "?",
                  max([r["rep"] for r in t1] or [0])))
    out.append("| contender | req/s median | runs (spread) | vs nginx | vs HAProxy | proxy CPU µs/req user+sys | wrk p50 / p99 ms | errors | foreign CPU % (max) |")
    out.append("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    for c in contenders:
        rs = [r for r in t1 if r["contender"] == c]
        u = _med([r.get("cpu_user_us_per_req") for r in rs])
        s = _med([r.get("cpu_sys_us_per_req") for r in rs])
        cpu = "-" if u is None else "%.1f + %.1f = %.1f" % (u, s, u + s)
        err = sum(r.get("non2xx", 0) + r.get("socket_errors", 0) for r in rs)
        vs_n = med[c] / med["nginx"] if med.get("nginx") else None
        vs_h = med[c] / med["haproxy"] if med.get("haproxy") else None
        out.append("| %s | %s | %s | %s | %s | %s | %s / %s | %d | %s |" % (
            c, _f(med[c]), _spread([r["rps"] for r in rs]), _f(vs_n, "%.2f×"), _f(vs_h, "%.2f×"), cpu,
            _f(_med([r.get("wrk_p50_ms") for r in rs]), "%.2f"), _f(_med([r.get("wrk_p99_ms") for r in rs]), "%.2f"), err,
            _foreign(rs)))
    summary["T1"] = {"rps_median": med}

    # T2
    t2 = by("T2")
    rates = []
    for r in t2:
        if r["rate_per_stream"] not in rates:
            rates.append(r["rate_per_stream"])
    summary["T2"] = []
    for rate in rates:
        rr = [r for r in t2 if r["rate_per_stream"] == rate]
        nmax = rr[0].get("nginx_max")
        out.append("\n## T2 — latency at %.0f req/s%s (open loop, corrected for coordinated omission; medians of %d interleaved runs)\n"
                   % (rate, " = %.0f%% of nginx's T1 median" % (100.0 * rate / nmax) if nmax else "", max(r["rep"] for r in rr)))
        out.append("| contender | achieved req/s | p50 µs | p99 µs | p99.9 µs | max µs | added p50 / p99 / p99.9 over direct (µs) | errors | generator lag p99 µs | foreign CPU % (max) |")
        out.append("|---|---:|---:|---:|---:|---:|---|---:|---:|---:|")
        lat = {}
        for c in [x for x in ("direct", "nginx", "haproxy", "ours") if any(r["contender"] == x for r in rr)]:
            rs = [r for r in rr if r["contender"] == c]
            ls = [r["streams"]["requests"]["latency_us"] for r in rs]
            lat[c] = {k: _med([l.get(k) for l in ls]) for k in ("p50", "p99", "p999", "max")}
            errs = sum(r["streams"]["requests"]["errors"] + r["streams"]["requests"]["dropped"] + r.get("unfinished", 0) for r in rs)
            lag = _med([r["send_lag_us"].get("p99") for r in rs])
            added = "-"
            if "direct" in lat and c != "direct" and lat[c]["p50"] is not None and lat["direct"]["p50"] is not None:
                added = "%+.0f / %+.0f / %+.0f" % tuple(lat[c][k] - lat["direct"][k] for k in ("p50", "p99", "p999"))
            out.append("| %s | %s | %s | %s | %s | %s | %s | %d | %s | %s |" % (
                c, _f(_med([r.get("achieved_ok_rate") for r in rs])), _f(lat[c]["p50"]), _f(lat[c]["p99"]),
                _f(lat[c]["p999"]), _f(lat[c]["max"]), added, errs, _f(lag), _foreign(rs)))
        summary["T2"].append({"rate": rate, "latency_us": lat})

    # T3
    t3 = by("T3")
    if t3:
        out.append("\n## T3 — warm-pool hit: first request of a new session vs a request of an existing session\n")
        out.append("| run | rate each | new: p50 / p99 / max µs | existing: p50 / p99 / max µs | added p99 µs | cold starts during run | errors |")
        out.append("|---|---:|---|---|---:|---:|---:|")
        for r in t3:
            n, e = r["streams"]["new"]["latency_us"], r["streams"]["existing"]["latency_us"]
            errs = r["streams"]["new"]["errors"] + r["streams"]["existing"]["errors"]
            out.append("| %s | %s/s | %s / %s / %s | %s / %s / %s | +%s | %s | %d |" % (
                r["rep"], _f(r["rate_per_stream"]), _f(n.get("p50")), _f(n.get("p99")), _f(n.get("max")),
                _f(e.get("p50")), _f(e.get("p99")), _f(e.get("max")),
                _f((n.get("p99") or 0) - (e.get("p99") or 0)), r.get("cold_starts_during", "?"), errs))
        summary["T3"] = [{"new": r["streams"]["new"]["latency_us"], "existing": r["streams"]["existing"]["latency_us"]} for r in t3]

    # T4
    t4 = by("T4")
    if t4:
        out.append("\n## T4 — cold start: first request on an empty pool vs the raw start-to-ready of the same command\n")
        out.append("| run | pairs | raw start p50 / p99 ms | proxy first request p50 / p99 ms | added p50 / p99 ms | errors |")
        out.append("|---|---:|---|---|---|---:|")
        for r in t4:
            a, b = r["raw_start_us"], r["proxy_first_request_us"]
            out.append("| %s | %s | %.1f / %.1f | %s / %s | +%s / +%s | %d |" % (
                r["rep"], r["count"], a["p50"] / 1000, a["p99"] / 1000,
                _f(b.get("p50", 0) / 1000, "%.1f"), _f(b.get("p99", 0) / 1000, "%.1f"),
                _f((b.get("p50", 0) - a["p50"]) / 1000, "%.1f"), _f((b.get("p99", 0) - a["p99"]) / 1000, "%.1f"),
                r["errors"]))
        summary["T4"] = [{"raw": r["raw_start_us"], "proxy": r["proxy_first_request_us"]} for r in t4]

    # T5
    t5 = by("T5")
    if t5:
        out.append("\n## T5 — burst: 200 concurrent new sessions against a warm pool of 20\n")
        out.append("| run | ok | errors (by status) | total time ms | p50 ms | p99 ms | max ms |")
        out.append("|---|---:|---|---:|---:|---:|---:|")
        for r in t5:
            l = r["latency_us"]
            bad = {k: v for k, v in r["statuses"].items() if not k.startswith("2")}
            out.append("| %s | %s | %d %s | %.0f | %s | %s | %s |" % (
                r["rep"], r["ok"], r["errors"], json.dumps(bad) if bad else "", r["total_ms"],
                _f(l.get("p50", 0) / 1000, "%.1f"), _f(l.get("p99", 0) / 1000, "%.1f"), _f(l.get("max", 0) / 1000, "%.1f")))
        summary["T5"] = [{"errors": r["errors"], "total_ms": r["total_ms"], "p99_us": r["latency_us"].get("p99")} for r in t5]

    # T6
    t6 = by("T6")
    for r in t6:
        out.append("\n## T6 — proxy memory per idle session (%d sessions; live heap after full GC)\n" % r["sessions"])
        out.append("| heap before | heap after | **per session** | proxy RSS per session | proxy threads before → after |")
        out.append("|---:|---:|---:|---:|---|")
        rss = r.get("rss_kb_per_session")
        out.append("| %.1f MB | %.1f MB | **%.0f B** | %s | %s → %s |" % (
            r["heap_before"] / 1e6, r["heap_after"] / 1e6, r["bytes_per_session"],
            "-" if rss is None else "%.0f KB" % rss,
            r.get("threads_before") or "-", r.get("threads_after") or "-"))
        if r.get("note"):
            out.append("\n" + r["note"] + ".")
        out.append("\nClasses that grew, per session:\n")
        out.append("| class | instances | bytes |")
        out.append("|---|---:|---:|")
        for c in r["top_classes"][:12]:
            out.append("| `%s` | %s | %s |" % (c["class"], c["instances_per_session"], c["bytes_per_session"]))
        so = r.get("sandbox_only")
        if so:
            out.append("\nThe sandbox side alone: %d more sandboxes, warm in a pool, no session: **%.0f B per sandbox** "
                       "(classes that grew; the heap total moved by %.0f B, as caches were released in between), "
                       "so the session side is **%.0f B per session**. Classes that grew per warm sandbox:\n"
                       % (so["sandboxes"], so["bytes_per_sandbox"], so.get("total_bytes_per_sandbox", so["bytes_per_sandbox"]),
                          r["session_side_bytes"]))
            out.append("| class | instances | bytes |")
            out.append("|---|---:|---:|")
            for c in so["top_classes"][:8]:
                out.append("| `%s` | %s | %s |" % (c["class"], c["instances_per_session"], c["bytes_per_session"]))
        summary["T6"] = {"bytes_per_session": r["bytes_per_session"],
                         "session_side_bytes": r.get("session_side_bytes"),
                         "bytes_per_sandbox_alone": so and so["bytes_per_sandbox"]}

    # T7
    t7 = by("T7")
    for r in t7:
        out.append("\n## T7 — metrics on vs off\n")
        if r.get("available"):
            out.append("| metrics on req/s | metrics off req/s | cost |")
            out.append("|---:|---:|---:|")
            out.append("| %.0f | %.0f | %.1f%% |" % (r["on_rps"], r["off_rps"], r["cost_pct"]))
        else:
            out.append("No switch to turn metrics off in the measured build (%s). Estimate from the T1 profile: "
                       "%.1f%% of event-loop CPU samples have a Micrometer frame on the stack."
                       % (r.get("reason"), r.get("micrometer_sample_pct", 0)))
        summary["T7"] = r

    # T8
    t8 = by("T8")
    if t8:
        out.append("\n## T8 — large bodies through the proxy (echo agent, curl)\n")
        out.append("Medians of the measured repetitions, after two unmeasured transfers each way per proxy. "
                   "nginx streams (no request or response buffering); HAProxy has `option splice-auto`.\n")
        out.append("| direction | bytes | direct MB/s | ours MB/s | ours / direct | nginx MB/s | nginx / direct | HAProxy MB/s | HAProxy / direct | ours / HAProxy | heap after GC growth | peak tenured growth | peak heap used | peak RSS growth |")
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for direction in ("upload", "download"):
            rs = [r for r in t8 if r["direction"] == direction]
            if not rs:
                continue
            dm = _med([r["mb_s"] for r in rs if r["contender"] == "direct"])
            o = _med([r["mb_s"] for r in rs if r["contender"] == "ours"])
            ng = _med([r["mb_s"] for r in rs if r["contender"] == "nginx"])
            hp = _med([r["mb_s"] for r in rs if r["contender"] == "haproxy"])
            ratio = lambda a, b: _f(a / b if a and b else None, "%.2f×")
            ours = [r for r in rs if r["contender"] == "ours"]
            out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s MB | %s MB | %s MB | %s MB |" % (
                direction, rs[0]["bytes"], _f(dm), _f(o), ratio(o, dm), _f(ng), ratio(ng, dm), _f(hp), ratio(hp, dm),
                ratio(o, hp),
                _f(max(r.get("heap_after_gc_growth", 0) for r in ours) / 1e6, "%.1f"),
                _f(max(r.get("peak_tenured_growth", 0) for r in ours) / 1e6, "%.1f"),
                _f(max(r.get("peak_heap_used", 0) for r in ours) / 1e6, "%.0f"),
                _f(max(r.get("peak_rss_growth_kb", 0) for r in ours) / 1e3, "%.0f")))
            summary.setdefault("T8", {})[direction] = {"direct_mb_s": dm, "ours_mb_s": o, "nginx_mb_s": ng, "haproxy_mb_s": hp}

    prof = by("profile")
    for r in prof:
        out.append("\n## Profile of the proxy under T1 load (JFR, %d event-loop samples)\n" % r["event_loop_samples"])
        out.append("Allocation on the event loop: %s bytes per request. Top frames and allocation sites: `profile.txt`.\n"
                   % r.get("event_loop_allocated_bytes_per_request"))
        out.append("| component (inclusive) | share of event-loop samples |")
        out.append("|---|---:|")
        for c, v in r["inclusive_pct"].items():
            out.append("| %s | %.1f%% |" % (c, v))

    jmh = by("JMH")
    if jmh:
        out.append("\n## JMH (hot-path pieces, average time per operation)\n")
        out.append("| benchmark | params | ns/op | error |")
        out.append("|---|---|---:|---:|")
        for r in jmh:
            out.append("| %s | %s | %.1f | ±%.1f |" % (r["benchmark"], r.get("params") or "", r["score"], _num(r["error"])))

    flagged = [r for r in recs if (r.get("foreign_cpu_pct") or 0) >= 5]
    out.append("\n## Machine load\n")
    out.append("Foreign CPU = CPU used during a run by processes that were not started by the harness "
               "(other builds and tests on the machine), in %% of both cores. %d of %d measured runs saw 5%% or more%s."
               % (len(flagged), len([r for r in recs if "foreign_cpu_pct" in r]),
                  ": " + ", ".join("%s %s rep %s (%.0f%%)" % (r["scenario"], " ".join(x for x in (r.get("contender"), r.get("direction")) if x), r.get("rep"), r["foreign_cpu_pct"]) for r in flagged[:20]) if flagged else ""))
    with open(os.path.join(d, "results.md"), "w") as f:
        f.write("\n".join(out) + "\n")
    with open(os.path.join(d, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(os.path.join(d, "results.md"))


def _num(x):
    """JMH writes "NaN" (a string) for the error of fewer than 3 iterations."""
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def jmh_records(path):
    for b in json.load(open(path)):
        params = b.get("params")
        print(json.dumps({"scenario": "JMH", "benchmark": b["benchmark"].rsplit(".", 2)[-2] + "." + b["benchmark"].rsplit(".", 1)[-1],
                          "params": ",".join("%s=%s" % kv for kv in params.items()) if params else "",
                          "score": b["primaryMetric"]["score"], "error": _num(b["primaryMetric"].get("scoreError")),
                          "unit": b["primaryMetric"]["scoreUnit"]}))


def main(argv):
    cmd, args = argv[1], argv[2:]
    fn = {
        "session-create": session_create, "wait-pools": wait_pools, "wait-pool": wait_pool, "metric": metric, "heap": heap,
        "wrk-json": wrk_json, "histo-diff": histo_diff, "heap-info": heap_info,
        "jfr-summary": jfr_summary, "proc-snap": proc_snap, "old-objects": old_objects, "foreign-cpu": foreign_cpu, "report": report, "jmh-records": jmh_records,
    }[cmd]
    fn(*args)


if __name__ == "__main__":
    main(sys.argv)
