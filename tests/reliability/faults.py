"""Part 4: faults under load.

wrk drives about half the server's measured capacity on a read endpoint, plus a paced stream of committed inserts
(test.reliability_writes, Prefer: tx=commit, return=representation: the id of every acknowledged insert is kept),
while one fault is injected at a time. A probe client (a new connection every 50 ms) times the recovery.

Faults: NOTIFY pgrst / SIGUSR1 (schema cache reloads) and SIGUSR2 (config reloads) repeated; every server connection
killed with pg_terminate_backend; the pool exhausted by slow calls (test.sleep); PostgreSQL restarted with
pg_ctl -m fast and -m immediate; SIGTERM to restgres in the middle of slow requests.

Checks: never a 500; every 503 carries Retry-After; no error at all for reloads; service fully back within 5 s of the
database being back; SIGTERM cuts no request in flight and exits 0; no acknowledged insert is missing afterwards
(with synchronous_commit on for this part: the spec cluster turns it off, and then PostgreSQL itself loses
acknowledged commits in a crash).
"""
import signal
import threading
import time

import common

READ_PATH = "/items?id=eq.1"
RECOVERY_GOAL_S = 5.0


class Load:
    """Paced read load and a write stream (wrk, in the background), for one scenario."""

    def __init__(self, port, seconds, read_delay_ms, read_conns=16):
        url = "http://127.0.0.1:%d" % port
        self.reader = common.Background(common.wrk, url, seconds, read_conns, "load.lua",
                                        {"RELIABILITY_PATH": READ_PATH, "RELIABILITY_DELAY_MS": str(read_delay_ms)})
        self.writer = common.Background(common.wrk, url, seconds, 2, "load.lua",
                                        {"RELIABILITY_PATH": "/reliability_writes", "RELIABILITY_MODE": "write",
                                         "RELIABILITY_DELAY_MS": "10"}, threads=1)
        self.reader.start()
        self.writer.start()

    def results(self):
        return self.reader.get(), self.writer.get()


def recovery_seconds(samples, t_back):
    """Seconds from t_back (the database is back, or the fault is over) until the probe's first success after which
    every probe request succeeded; None if that never happened."""
    after = [s for s in samples if s[0] >= t_back]
    if not after or after[-1][1] != 200:
        return None
    i = len(after) - 1
    while i > 0 and after[i - 1][1] == 200:
        i -= 1
    return max(0.0, after[i][0] - t_back)


def statuses(summary):
    return {k: v for k, v in summary.get("counts", {}).items()}


def run_scenario(ctx, server, name, fault, seconds, delay_ms, expect_errors):
    """Runs load for `seconds`, calls fault() at t=2 s (it returns the time the service should be back), then judges."""
    res = ctx.results
    probe = common.Probe(server.port, READ_PATH, interval=0.05, timeout=10)
    probe.start()
    load = Load(server.port, seconds, delay_ms)
    time.sleep(2)
    t_fault = time.time()
    t_back = fault()
    reads, writes = load.results()
    if t_back is None:
        t_back = t_fault
    # The probe goes on, however short the load was, until it has seen a second of successes in a row after t_back,
    # or until the recovery goal has passed.
    while expect_errors and time.time() < t_back + RECOVERY_GOAL_S + 1:
        after = [s for s in list(probe.samples) if s[0] >= t_back]
        rec = recovery_seconds(after, t_back)
        if rec is not None and after[-1][0] - (t_back + rec) >= 1.0:
            break
        time.sleep(0.1)
    samples = probe.stop()
    rec = recovery_seconds(samples, t_back)
    read_st, write_st = statuses(reads), statuses(writes)
    probe_errors = {}
    for t, st, _lat, retry in samples:
        if st != 200:
            probe_errors[str(st)] = probe_errors.get(str(st), 0) + 1
    five_hundreds = sum(v for st in (read_st, write_st, probe_errors) for k, v in st.items() if k == "500")
    no_retry = reads.get("no_retry_after", 0) + writes.get("no_retry_after", 0) + sum(
        1 for s in samples if s[1] == 503 and not s[3])
    res.figure("faults", name, {
        "reads": read_st, "writes": write_st, "probe_errors": probe_errors,
        "read_rps": round(reads.get("rps", 0)), "socket_errors": reads.get("socket_errors"),
        "recovery_s": (None if rec is None else round(rec, 2)) if expect_errors else "n/a",
        "probe_p99_ms": round(1000 * common.percentile([s[2] for s in samples if s[1] == 200], 99), 1)})
    res.check("faults.%s.no-500" % name, five_hundreds == 0, "%d responses with status 500" % five_hundreds)
    res.check("faults.%s.503-has-retry-after" % name, no_retry == 0, "%d 503 responses without Retry-After" % no_retry)
    errors = sum(v for st in (read_st, write_st) for k, v in st.items() if not k.startswith("2")) + sum(
        probe_errors.values())
    if expect_errors:
        res.check("faults.%s.recovered-within-%ds" % (name, RECOVERY_GOAL_S), rec is not None and rec <= RECOVERY_GOAL_S,
                  "recovery %s s after the database was back" % (None if rec is None else round(rec, 2)))
    else:
        res.check("faults.%s.no-errors" % name, errors == 0,
                  "reads %s, writes %s, probe %s" % (read_st, write_st, probe_errors))
    unexpected = {k: v for st in (read_st, write_st, probe_errors) for k, v in st.items()
                  if not (k.startswith("2") or k in ("503", "504", "500-PGRSTX00")
                          or k in ("connect", "reset", "eof", "timeout"))}   # PGRSTX00: faults.no-internal-errors
    res.check("faults.%s.only-503-504-as-errors" % name, not unexpected, "other statuses: %s" % unexpected)
    return writes.get("ids", [])


def run(ctx):
    res, cluster, args = ctx.results, ctx.cluster, ctx.args
    quick = args.mode == "quick"
    server = ctx.start_server("faults")
    cap, target, delay_ms = common.pace(server.port, 0.5, READ_PATH, seconds=2 if quick else 4)
    res.figure("faults", "capacity_rps", round(cap))
    res.figure("faults", "target_read_rps", round(target))
    # The spec cluster runs with synchronous_commit = off (setup-db.sh): PostgreSQL itself then acknowledges commits
    # that a crash (pg_ctl -m immediate) loses. Lost writes are the server's only with durable commits.
    cluster.psql("ALTER SYSTEM SET synchronous_commit = on")
    cluster.psql("SELECT pg_reload_conf()")
    lost_total = acked_total = 0
    seconds = 5 if quick else 20

    def reloads():
        for i in range(4):
            cluster.psql("NOTIFY pgrst")
            server.signal(signal.SIGUSR2)
            server.signal(signal.SIGUSR1)
            cluster.psql("NOTIFY pgrst, 'reload config'")
            time.sleep(0.5)
        return None

    def terminate():
        cluster.psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                     "WHERE usename = 'Postgrest_Test_Authenticator'")
        return time.time()

    def restart(mode):
        def f():
            cluster.restart(mode)
            return time.time()
        return f

    def exhaust(sleep_s):
        def f():
            callers = [common.Background(common.request, server.port, "GET", "/rpc/sleep?seconds=%g" % sleep_s,
                                         timeout=sleep_s * 4 + 15) for _ in range(20)]
            for c in callers:
                c.start()
            for c in callers:
                c.join()
            return time.time()
        return f

    scenarios = [("reloads", reloads, False), ("terminate-backends", terminate, True),
                 ("pg-restart-fast", restart("fast"), True)]
    if not quick:
        scenarios += [("pool-exhausted-2s", exhaust(2), False), ("pool-exhausted-12s", exhaust(12), True),
                      ("pg-restart-immediate", restart("immediate"), True)]
    for name, fault, expect_errors in scenarios:
        ids = run_scenario(ctx, server, name, fault, seconds + (10 if "12s" in name else 0), delay_ms, expect_errors)
        lost_total += check_lost_writes(res, cluster, name, ids)
        acked_total += len(ids)

    ids = sigterm_in_flight(ctx, server, delay_ms, quick)
    lost_total += check_lost_writes(res, cluster, "sigterm", ids)
    acked_total += len(ids)
    res.figure("faults", "writes_acknowledged", acked_total)
    res.figure("faults", "writes_lost", lost_total)
    cluster.psql("ALTER SYSTEM RESET synchronous_commit")
    cluster.psql("SELECT pg_reload_conf()")


def sigterm_in_flight(ctx, server, delay_ms, quick):
    """SIGTERM while slow requests are in flight: each must be answered (graceful drain), the process exit 0."""
    res = ctx.results
    outcomes = []
    lock = threading.Lock()
    stop = threading.Event()

    def client():
        while not stop.is_set():
            t = time.time()
            try:
                r = common.request(server.port, "GET", "/rpc/sleep?seconds=0.7", timeout=40)
                out = r.status
            except common.HttpFailure as e:
                out = e.kind if e.sent else "refused"
            with lock:
                outcomes.append((t, time.time(), out))
            if out == "refused":
                return

    load = Load(server.port, 6, delay_ms)
    clients = [threading.Thread(target=client, daemon=True) for _ in range(6)]
    for c in clients:
        c.start()
    time.sleep(2.5)
    t_sig = time.time()
    server.signal(signal.SIGTERM)
    code = None
    try:
        code = server.proc.wait(45)
    except Exception:
        pass
    t_exit = time.time()
    stop.set()
    for c in clients:
        c.join(45)
    reads, writes = load.results()
    in_flight = [o for o in outcomes if o[0] < t_sig < o[1]]
    cut = [o for o in in_flight if o[2] != 204]
    res.figure("faults", "sigterm", {"in_flight": len(in_flight), "cut": len(cut), "exit_code": code,
                                     "seconds_to_exit": round(t_exit - t_sig, 2),
                                     "wrk_reads": statuses(reads), "wrk_socket_errors": reads.get("socket_errors")})
    res.check("faults.sigterm.in-flight-requests-answered", in_flight and not cut,
              "%d in flight at SIGTERM, %d cut: %s" % (len(in_flight), len(cut), [o[2] for o in cut][:5]))
    res.check("faults.sigterm.exit-code-0", code == 0, "exit code %s" % code)
    ctx.stop_server(server)
    return writes.get("ids", [])


def check_lost_writes(res, cluster, scenario, acked):
    """Every insert acknowledged (201 with its id) during the scenario must be in the table. Returns how many are not."""
    present = set(cluster.psql("SELECT coalesce(string_agg(id::text, ','), '') FROM test.reliability_writes").split(","))
    acked = [str(i) for i in acked]
    lost = [i for i in acked if i not in present]
    res.check("faults.%s.no-acknowledged-write-lost" % scenario, acked and not lost,
              "%d of %d acknowledged inserts missing, e.g. ids %s" % (len(lost), len(acked), lost[:5]))
    return len(lost)
