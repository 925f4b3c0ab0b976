"""Part 6: soak. wrk at about 70 % of the measured capacity on a read endpoint, plus a paced stream of committed
inserts, for --soak-minutes (30 in the full run); RSS and open file descriptors sampled throughout.

Checks: no error response and no socket error; the process alive; RSS and descriptors grow less than 10 % from the
warmed-up level (the median of the samples from 20 % to 30 % of the run) to the end (the median of the last 10 %).
"""
import statistics
import time

import common

READ_PATH = "/projects?select=id,name,clients(id,name)&order=id"
GROWTH_BOUND = 0.10


def run(ctx):
    res, args = ctx.results, ctx.args
    minutes = args.soak_minutes if args.soak_minutes is not None else (30 if args.mode == "full" else 1)
    seconds = int(minutes * 60)
    server = ctx.start_server("soak")
    cap, target, delay_ms = common.pace(server.port, 0.7, READ_PATH, seconds=4)
    url = "http://127.0.0.1:%d" % server.port
    reads = common.Background(common.wrk, url, seconds, 16, "load.lua",
                              {"RELIABILITY_PATH": READ_PATH, "RELIABILITY_DELAY_MS": str(delay_ms)}, timeout_s=10)
    writes = common.Background(common.wrk, url, seconds, 1, "load.lua",
                               {"RELIABILITY_PATH": "/reliability_writes", "RELIABILITY_MODE": "write",
                                "RELIABILITY_DELAY_MS": "20"}, threads=1)
    reads.start()
    writes.start()
    interval = 5 if seconds <= 600 else 10
    samples = []   # (seconds since start, rss MB, fds)
    t0 = time.time()
    while reads.is_alive() and server.alive():
        samples.append((round(time.time() - t0), round(server.rss_mb(), 1), server.fds()))
        reads.join(interval)
    r, w = reads.get(), writes.get()
    alive = server.alive()

    def window(lo, hi, k):
        vals = [s[k] for s in samples if lo * seconds <= s[0] <= hi * seconds]
        return statistics.median(vals) if vals else None

    rss_warm, rss_end = window(0.2, 0.3, 1), window(0.9, 1.0, 1)
    fds_warm, fds_end = window(0.2, 0.3, 2), window(0.9, 1.0, 2)
    errors = {k: v for part in (r, w) for k, v in part.get("counts", {}).items() if not k.startswith("2")}
    sock = {k: v for part in (r, w) for k, v in (part.get("socket_errors") or {}).items() if v}
    res.figure("soak", "minutes", minutes)
    res.figure("soak", "capacity_rps", round(cap))
    res.figure("soak", "read_rps", "%d (%.0f %% of capacity)" % (r.get("rps", 0), 100 * r.get("rps", 0) / max(cap, 1)))
    res.figure("soak", "write_rps", round(w.get("rps", 0)))
    res.figure("soak", "read_latency_ms", "p50 %s, p99 %s, max %s" % (r.get("p50_ms"), r.get("p99_ms"), r.get("max_ms")))
    res.figure("soak", "rss_mb", "warm %s, end %s, min %s, max %s" % (rss_warm, rss_end, min(s[1] for s in samples),
                                                                      max(s[1] for s in samples)))
    res.figure("soak", "fds", "warm %s, end %s, max %s" % (fds_warm, fds_end, max(s[2] for s in samples)))
    res.figure("soak", "samples", samples if len(samples) <= 40 else samples[::max(1, len(samples) // 40)])
    res.check("soak.no-errors", not errors and not sock, "statuses %s, socket errors %s" % (errors, sock))
    res.check("soak.process-alive", alive)
    res.check("soak.rss-growth-below-10pct", rss_warm and rss_end is not None and rss_end <= rss_warm * (1 + GROWTH_BOUND),
              "RSS %s MB warmed up, %s MB at the end" % (rss_warm, rss_end))
    res.check("soak.fds-growth-below-10pct", fds_warm and fds_end is not None and fds_end <= fds_warm * (1 + GROWTH_BOUND),
              "fds %s warmed up, %s at the end" % (fds_warm, fds_end))
