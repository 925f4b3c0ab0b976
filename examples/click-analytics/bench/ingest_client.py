#!/usr/bin/env python3
"""Durability load client of the click analytics app (examples/click-analytics/bench/durability.sh runs it).

  ingest_client.py load --port P --secret S --users FILE --acks FILE --summary FILE [--events N | --duration S]
                        [--connections C] [--mode mixed|track|batch] [--batch-size B] [--rate EVENTS_PER_S]
                        [--timeout T]
  ingest_client.py verify --acks FILE --table FILE --summary FILE

`load` sends clicks with client-generated event ids over keep-alive HTTP/1.1 connections: half of the connections
POST /track (one event per request), the other half POST /track/batch (B events per request) (--mode mixed; track or
batch: all of them). --rate paces the requests to that many events a second overall (bench/ingest.sh's sustained
run); a request whose time has passed is sent at once, and the summary says how far behind the schedule it fell. Every id of a 2xx
answer is appended to the acks file the moment it is acknowledged. A request that is not acknowledged (the connection
was refused, reset or closed: Restgres was killed; a 503 while PostgreSQL is down) is sent again with the SAME event
ids, so the table must hold every acknowledged id exactly once (the app inserts with on_conflict ignore-duplicates).
What the run must never see, counted as failures in the summary: an answer other than 2xx or 503, a 503 without
Retry-After, a request with no answer within its timeout.

`verify` compares the acks with the table's event ids (one per line, as psql \\copy writes them): every acknowledged
id present exactly once. It prints the verdict and exits non-zero on any failure of the load or of the check.

Python 3 stdlib only (asyncio streams, one coroutine per connection): wrk cannot log which request was acknowledged.
"""
import argparse
import asyncio
import base64
import collections
import hashlib
import hmac
import json
import sys
import time
import uuid

FEATURES = ["date_picker", "filter_age", "filter_gender", "chart_bar", "bar_chart_zoom", "line_chart_hover"]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(secret: str, user_id: int) -> str:
    """The token register/login would sign: HS256, role authenticated, the user in user_id."""
    claims = {"sub": str(user_id), "user_id": user_id, "email": f"user{user_id}@example.com", "role": "authenticated",
              "exp": int(time.time()) + 86400}
    signed = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(json.dumps(claims).encode())
    return signed + "." + b64(hmac.new(secret.encode(), signed.encode(), hashlib.sha256).digest())


class Unanswered(Exception):
    """The connection failed before a complete answer: the request may or may not have committed."""


class Connection:
    """One keep-alive HTTP/1.1 connection (reopened after any failure)."""

    def __init__(self, port: int):
        self.port = port
        self.reader = None
        self.writer = None

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, path: str, body: bytes, bearer: str):
        try:
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            self.writer.write(
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nAuthorization: Bearer {bearer}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
            await self.writer.drain()
            status_line = await self.reader.readline()
            if not status_line:
                raise Unanswered("connection closed before an answer")
            status = int(status_line.split()[1])
            headers = {}
            while True:
                line = await self.reader.readline()
                if line in (b"\r\n", b"\n"):
                    break
                if not line:
                    raise Unanswered("connection closed in the headers")
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            if "content-length" in headers:
                content = await self.reader.readexactly(int(headers["content-length"]))
            elif headers.get("transfer-encoding", "").lower() == "chunked":
                content = b""
                while True:
                    size = int((await self.reader.readline()).split(b";")[0], 16)
                    content += await self.reader.readexactly(size + 2)
                    if size == 0:
                        break
            else:
                content = b""
            if headers.get("connection", "").lower() == "close":
                self.close()
            return status, headers, content
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as e:
            self.close()
            raise Unanswered(f"{type(e).__name__}: {e}") from e


class Load:
    def __init__(self, args):
        self.args = args
        self.tokens = [token(args.secret, int(line)) for line in open(args.users) if line.strip()]
        self.acks = open(args.acks, "a", buffering=1)
        self.issued = 0
        self.deadline = time.monotonic() + args.duration if args.duration else None
        self.stats = collections.Counter()
        self.statuses = collections.Counter()
        self.failures = []
        self.latencies = []
        self.max_latency = 0.0
        self.next_slot = time.monotonic()
        self.max_lag = 0.0

    def next_events(self, count: int):
        """The next events to send, or None when the run has issued all it should."""
        if self.deadline is not None:
            if time.monotonic() >= self.deadline:
                return None
        else:
            count = min(count, self.args.events - self.issued)
            if count <= 0:
                return None
        self.issued += count
        return [(str(uuid.uuid4()), FEATURES[(self.issued + i) % len(FEATURES)]) for i in range(count)]

    def fail(self, what: str):
        self.stats["failures"] += 1
        if len(self.failures) < 20:
            self.failures.append(what)

    async def pace(self, size: int):
        """Waits for this request's slot in the --rate schedule (events a second, over all connections)."""
        if not self.args.rate:
            return
        slot = self.next_slot
        self.next_slot += size / self.args.rate
        delay = slot - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            self.max_lag = max(self.max_lag, -delay)

    async def worker(self, n: int):
        batch = self.args.mode == "batch" or (self.args.mode == "mixed" and n % 2 == 1)
        size = self.args.batch_size if batch else 1
        path = "/track/batch" if batch else "/track"
        bearer = self.tokens[n % len(self.tokens)]
        conn = Connection(self.args.port)
        while (events := self.next_events(size)) is not None:
            await self.pace(len(events))
            if batch:
                body = json.dumps([{"feature_name": f, "event_id": i} for i, f in events]).encode()
            else:
                body = json.dumps({"feature_name": events[0][1], "event_id": events[0][0]}).encode()
            attempt = 0
            while True:  # the same events until acknowledged
                attempt += 1
                if attempt > 1:
                    self.stats["retries"] += 1
                started = time.monotonic()
                try:
                    status, headers, content = await asyncio.wait_for(conn.request(path, body, bearer), self.args.timeout)
                except asyncio.TimeoutError:
                    conn.close()
                    self.fail(f"no answer within {self.args.timeout}s: {path}")
                    continue
                except Unanswered as e:
                    self.stats["unanswered"] += 1
                    if "Errno 111" in str(e):
                        self.stats["refused"] += 1
                    await asyncio.sleep(min(0.05 * attempt, 0.5))
                    continue
                elapsed = time.monotonic() - started
                self.max_latency = max(self.max_latency, elapsed)
                self.statuses[status] += 1
                if 200 <= status < 300:
                    self.latencies.append(elapsed)
                    self.acks.write("".join(i + "\n" for i, _ in events))
                    self.stats["acknowledged"] += len(events)
                    break
                if status == 503:
                    retry_after = headers.get("retry-after")
                    if retry_after is None or not retry_after.isdigit():
                        self.fail(f"503 without a Retry-After: {path} {content[:200]!r}")
                        retry_after = "1"
                    # Honour it, but at most a second: the database is usually back sooner than the backoff says.
                    await asyncio.sleep(min(int(retry_after), 1.0) or 0.1)
                    continue
                self.fail(f"{status} on {path}: {content[:300]!r}")
                break  # not retried: the failure is the finding

    async def run(self):
        started = self.next_slot = time.monotonic()
        await asyncio.gather(*(self.worker(n) for n in range(self.args.connections)))
        elapsed = time.monotonic() - started
        self.acks.close()
        lat = sorted(self.latencies)
        pct = lambda p: round(1000 * lat[min(len(lat) - 1, int(p * len(lat)))], 1) if lat else None
        summary = {"issued": self.issued, "seconds": round(elapsed, 1),
                   "acknowledged_per_s": round(self.stats["acknowledged"] / elapsed) if elapsed else 0,
                   **self.stats, "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
                   "p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": round(1000 * self.max_latency, 1),
                   **({"rate": self.args.rate, "max_behind_schedule_ms": round(1000 * self.max_lag, 1)} if self.args.rate else {}),
                   "failure_examples": self.failures}
        json.dump(summary, open(self.args.summary, "w"), indent=1)
        print("load: " + json.dumps({k: v for k, v in summary.items() if k != "failure_examples"}))


def verify(args) -> int:
    summary = json.load(open(args.summary))
    acked = [line.strip() for line in open(args.acks) if line.strip()]
    table = collections.Counter(line.strip() for line in open(args.table) if line.strip())
    acked_set = set(acked)
    missing = [i for i in acked if table[i] == 0]
    duplicated = [i for i in acked_set if table[i] > 1]
    twice_acked = len(acked) - len(acked_set)
    unacked_in_table = sum(1 for i in table if i not in acked_set)
    problems = []
    if summary.get("failures"):
        problems.append(f"{summary['failures']} failed requests (e.g. {summary['failure_examples'][:3]})")
    if missing:
        problems.append(f"{len(missing)} acknowledged ids missing from the table (e.g. {missing[:3]})")
    if duplicated:
        problems.append(f"{len(duplicated)} acknowledged ids in the table more than once (e.g. {duplicated[:3]})")
    if twice_acked:
        problems.append(f"{twice_acked} ids acknowledged twice (client bug)")
    if len(acked) == 0:
        problems.append("nothing was acknowledged")
    print(f"verify: {len(acked)} acknowledged ids, {len(acked_set) - len(missing) - len(duplicated)} in the table "
          f"exactly once, {len(missing)} missing, {len(duplicated)} duplicated; {unacked_in_table} rows of ids never "
          f"acknowledged (0 unless a request failed: every send is repeated until acknowledged); "
          f"503s: {summary['statuses'].get('503', 0)}, unanswered sends: {summary.get('unanswered', 0)} "
          f"(refused: {summary.get('refused', 0)}), retries: {summary.get('retries', 0)}")
    for p in problems:
        print("verify: FAILED: " + p, file=sys.stderr)
    return 1 if problems else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    load = sub.add_parser("load")
    load.add_argument("--port", type=int, required=True)
    load.add_argument("--secret", required=True)
    load.add_argument("--users", required=True, help="file of user ids, one a line")
    load.add_argument("--acks", required=True)
    load.add_argument("--summary", required=True)
    load.add_argument("--events", type=int, default=20000)
    load.add_argument("--duration", type=float, default=0, help="seconds (instead of --events)")
    load.add_argument("--connections", type=int, default=32)
    load.add_argument("--mode", choices=["mixed", "track", "batch"], default="mixed")
    load.add_argument("--batch-size", type=int, default=10)
    load.add_argument("--rate", type=float, default=0, help="events a second over all connections (0: as fast as it goes)")
    load.add_argument("--timeout", type=float, default=10)
    check = sub.add_parser("verify")
    check.add_argument("--acks", required=True)
    check.add_argument("--table", required=True)
    check.add_argument("--summary", required=True)
    args = parser.parse_args()
    if args.command == "load":
        asyncio.run(Load(args).run())
    else:
        sys.exit(verify(args))


if __name__ == "__main__":
    main()
