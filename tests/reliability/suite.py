#!/usr/bin/env python3
"""The reliability suite's driver; tests/reliability/run.sh calls it (see there for the options).

Builds the fixture database once, runs the parts in an order where none depends on what an earlier one wrote (the
fuzzer, which may commit anything, runs last), records every check, and prints `reliability: N passed, M failed` last.
Checks named in known-failures.txt are reported as known failures: printed, listed, not counted as failed.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import traceback

import common

PARTS = ["inject", "jwt", "slow", "faults", "soak", "fuzz"]


class Context:
    def __init__(self, args, results, cluster, logdir):
        self.args = args
        self.results = results
        self.cluster = cluster
        self.logdir = logdir
        self.conf = args.conf
        self.servers = []

    def start_server(self, name, overrides=None, extra_env=None):
        s = common.Server(self.args.bin, self.cluster, self.logdir, name, overrides, extra_env)
        s.start()
        self.servers.append(s)
        return s

    def stop_server(self, server):
        code = server.stop()
        if server in self.servers:
            self.servers.remove(server)
            common.check_internal_errors(self.results, server.name, server.logpath)
        return code

    def stop_all(self):
        for s in list(self.servers):
            self.stop_server(s)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["quick", "full"], default="quick")
    ap.add_argument("--only", action="append", default=[], choices=PARTS)
    ap.add_argument("--skip", action="append", default=[], choices=PARTS)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--fuzz-requests", type=int, default=None)
    ap.add_argument("--fuzz-workers", type=int, default=4)
    ap.add_argument("--fuzz-max-seconds", type=float, default=None)
    ap.add_argument("--fuzz-replay", type=int, default=None)
    ap.add_argument("--soak-minutes", type=float, default=None)
    ap.add_argument("--conf", required=True)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--results", required=True)
    args = ap.parse_args()
    if args.seed is None:
        # Quick runs (./test.sh) use a fixed seed so that CI is reproducible; full runs a new one each time (printed).
        args.seed = 1 if args.mode == "quick" else int(time.time()) % 100000

    parts = [p for p in PARTS if (not args.only or p in args.only) and p not in args.skip]
    if args.mode == "quick" and not args.only:
        parts = [p for p in parts if p != "soak"]   # the soak is the full run's
    os.makedirs(args.results, exist_ok=True)
    logdir = os.path.join(args.results, "logs")
    shutil.rmtree(logdir, ignore_errors=True)
    os.makedirs(logdir)
    results = common.Results(os.path.join(common.HERE, "known-failures.txt"))
    work = tempfile.mkdtemp(prefix="restgres-reliability.")
    cluster = common.Cluster(args.conf, work)
    ctx = Context(args, results, cluster, logdir)
    started = time.time()
    timings = {}
    try:
        secs = cluster.build(os.path.join(logdir, "setup-db.log"))
        print("fixture database built on port %d in %.1fs" % (cluster.port, secs), flush=True)
        for part in parts:
            t0 = time.time()
            print("== %s (t+%ds)" % (part, t0 - started), flush=True)
            module = __import__({"inject": "injection", "jwt": "jwt_attacks", "slow": "slow_clients",
                                 "faults": "faults", "soak": "soak", "fuzz": "fuzz"}[part])
            try:
                module.run(ctx)
                results.check(part + ".completed", True)
            except Exception:
                results.check(part + ".completed", False, traceback.format_exc().strip().replace("\n", "\n    "))
                try:
                    cluster.set_log_statement("none")   # a part that stopped half-way may have left it on
                except Exception:
                    pass
            finally:
                ctx.stop_all()
            timings[part] = round(time.time() - t0, 1)
    finally:
        ctx.stop_all()
        cluster.stop()
        if os.path.exists(cluster.logfile):
            shutil.copy(cluster.logfile, os.path.join(logdir, "postgresql.log"))
        shutil.rmtree(work, ignore_errors=True)

    passed, failed, known, fixed = results.counts()
    with open(os.path.join(args.results, "results.json"), "w") as fh:
        json.dump({"mode": args.mode, "seed": args.seed, "parts": parts, "seconds": timings,
                   "passed": passed, "failed": failed, "known_failures": known, "checks": results.checks,
                   "figures": results.figures, "findings": results.findings}, fh, indent=1, default=str)
    print()
    print("took %ds (%s)" % (time.time() - started, ", ".join("%s %ss" % kv for kv in timings.items())))
    if known:
        print("known failures (tests/reliability/known-failures.txt; open bugs, see docs/reliability.md):")
        for c in results.checks:
            if not c["ok"] and c["known"] is not None:
                print("  KNOWN %s -- %s" % (c["name"], c["known"]))
    unseen = results.unmatched_known()
    if unseen:
        print("known-failures.txt entries no check of this run matched (fixed, or their part did not run): "
              + ", ".join(unseen))
    if fixed:
        print("listed as known failures but passed this time (fixed? remove them from known-failures.txt): "
              + ", ".join(fixed))
    if failed:
        print("FAILED: " + ", ".join(c["name"] for c in results.checks if not c["ok"] and c["known"] is None))
    print("reliability: %d passed, %d failed, %d known failures" % (passed, failed, known))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
