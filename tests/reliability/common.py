"""Shared pieces of the reliability suite (Python 3 standard library only).

- Results: named checks (pass/fail), measured figures, and the known-failure list (known-failures.txt).
- Cluster: PostgREST's spec fixture database on a private PostgreSQL cluster (../shared/conformance/setup-db.sh) plus
  the suite's own objects (setup.sql), psql, restarts, the PostgreSQL log.
- Server: artifacts/restgres/restgres started with the spec's PGRST_* environment (tests/conformance/harness.py),
  its RSS and open file descriptors.
- A raw HTTP/1.1 client (the fuzzer sends bytes that http.client refuses to send), a latency probe, wrk.
- JWTs: HS256 signing and a small pure-Python RSA key for RS256.

Everything binds and connects to 127.0.0.1 only.
"""
import base64
import hashlib
import hmac
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "conformance"))
import harness  # noqa: E402  (the conformance harness: the spec's base config and its env var names)

PGBIN = os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin")
LOCAL = "127.0.0.1"


def log(msg):
    print("reliability: " + msg, file=sys.stderr, flush=True)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOCAL, 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------------------------------------

class Results:
    """Checks by name. A check listed in known-failures.txt that fails is reported as a known failure (it does not fail
    the run, but it is printed with the reason from the list); one that passes is reported as 'fixed?'."""

    def __init__(self, known_file):
        self.checks = []       # dicts: name, ok, detail, known
        self.figures = {}      # part -> {name: value}
        self.findings = []     # free-text details of failures (minimal requests etc.)
        self.known = {}
        if os.path.exists(known_file):
            with open(known_file, encoding="utf-8") as fh:
                for line in fh:
                    line = line.strip()
                    if not line or line.startswith("#"):
                        continue
                    name, _, why = line.partition(" ")
                    self.known[name] = why.strip()

    @staticmethod
    def matches(pattern, name):
        # '*' matches any text (e.g. *.no-internal-errors[...] for every part's server).
        return re.fullmatch(".*".join(re.escape(p) for p in pattern.split("*")), name) is not None

    def known_for(self, name):
        for pattern, why in self.known.items():
            if self.matches(pattern, name):
                return why
        return None

    def unmatched_known(self):
        """known-failures.txt entries that no check of this run matched."""
        return [p for p in self.known if not any(self.matches(p, c["name"]) for c in self.checks)]

    def check(self, name, ok, detail=""):
        known = self.known_for(name)
        self.checks.append({"name": name, "ok": bool(ok), "detail": detail, "known": known})
        tag = "ok  " if ok else ("KNOWN" if known is not None else "FAIL")
        if ok and known is not None:
            tag = "FIXED?"
        line = "  %-5s %s" % (tag, name)
        if detail and (not ok or os.environ.get("RELIABILITY_VERBOSE")):
            line += " -- " + detail
        print(line, flush=True)
        return ok

    def figure(self, part, name, value):
        self.figures.setdefault(part, {})[name] = value
        print("  .     %s.%s = %s" % (part, name, value), flush=True)

    def finding(self, text):
        self.findings.append(text)
        print(text, flush=True)

    def counts(self):
        passed = sum(1 for c in self.checks if c["ok"])
        failed = sum(1 for c in self.checks if not c["ok"] and c["known"] is None)
        known = sum(1 for c in self.checks if not c["ok"] and c["known"] is not None)
        fixed = [c["name"] for c in self.checks if c["ok"] and c["known"] is not None]
        return passed, failed, known, fixed


# ---------------------------------------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------------------------------------

class Cluster:
    """The spec fixture database on a private cluster in a temporary directory (as tests/conformance/run.sh does)."""

    def __init__(self, conf_dir, work):
        self.conf = conf_dir
        self.work = work
        self.port = free_port()
        self.datadir = os.path.join(work, "pg", "db")
        self.logfile = os.path.join(self.datadir, "server.log")
        self.runas = None
        self.setup_script = os.path.join(conf_dir, "setup-db.sh")
        os.makedirs(os.path.join(work, "pg"), exist_ok=True)
        if os.getuid() == 0:
            # PostgreSQL refuses root: setup-db.sh re-executes itself as this user, who must reach the data dir.
            self.runas = os.environ.get("PGRST_CONF_RUNAS", "postgres")
            if subprocess.call(["id", self.runas], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) != 0:
                subprocess.check_call(["useradd", "-m", self.runas])
            os.chmod(work, 0o711)
            shutil.chown(os.path.join(work, "pg"), self.runas)
            if subprocess.call(["runuser", "-u", self.runas, "--", "test", "-r", self.setup_script]) != 0:
                corpus = os.path.join(work, "corpus")
                os.makedirs(corpus)
                for f in ("setup-db.sh", "fixtures", "tools"):
                    src = os.path.join(conf_dir, f)
                    (shutil.copytree if os.path.isdir(src) else shutil.copy)(src, os.path.join(corpus, f))
                subprocess.check_call(["chmod", "-R", "a+rX", corpus])
                self.setup_script = os.path.join(corpus, "setup-db.sh")
        self.started = False

    def _as_pg(self, argv):
        return (["runuser", "-u", self.runas, "--"] + argv) if self.runas else argv

    def build(self, logpath):
        """(Re)builds the fixture database, then loads setup.sql (the suite's own tables and grants)."""
        t0 = time.time()
        self.started = True
        with open(logpath, "w") as out:
            rc = subprocess.call(["bash", self.setup_script, "--port", str(self.port), "--datadir", self.datadir],
                                 stdout=out, stderr=subprocess.STDOUT)
        if rc != 0:
            with open(logpath) as fh:
                sys.stderr.write(fh.read()[-4000:])
            raise SystemExit("reliability: setup-db.sh failed (log: %s)" % logpath)
        # A recognisable prefix, so that the log can be split into entries (statements span several lines).
        self.psql("ALTER SYSTEM SET log_line_prefix = '@@ %m [%p] %u %e @@ ';"
                  "ALTER SYSTEM SET log_parameter_max_length = -1;")
        self.psql("SELECT pg_reload_conf()")
        with open(os.path.join(HERE, "setup.sql")) as fh:
            self.psql(fh.read())
        return time.time() - t0

    def psql(self, sql, user="postgres", timeout=60):
        """Runs SQL as the superuser (trust auth on 127.0.0.1); returns the unaligned output."""
        p = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", LOCAL, "-p", str(self.port),
                            "-U", user, "-d", "postgres"], input=sql, capture_output=True, text=True, timeout=timeout)
        if p.returncode != 0:
            raise RuntimeError("psql failed: %s\n%s" % (p.stderr.strip(), sql[:500]))
        return p.stdout.strip()

    def set_log_statement(self, value):
        self.psql("ALTER SYSTEM SET log_statement = '%s'" % value)
        self.psql("SELECT pg_reload_conf()")
        time.sleep(0.3)  # the postmaster signals the backends; give them a moment

    def log_size(self):
        try:
            return os.path.getsize(self.logfile)
        except OSError:
            return 0

    def log_since(self, offset):
        with open(self.logfile, "rb") as fh:
            fh.seek(offset)
            return fh.read().decode("utf-8", "replace")

    def pg_ctl(self, *args):
        argv = self._as_pg([os.path.join(PGBIN, "pg_ctl"), "-D", self.datadir, "-l", self.logfile] + list(args))
        return subprocess.run(argv, capture_output=True, text=True, timeout=120)

    def restart(self, mode):
        p = self.pg_ctl("-m", mode, "-w", "-t", "60", "restart")
        if p.returncode != 0:
            raise RuntimeError("pg_ctl restart failed: " + p.stderr + p.stdout)

    def stop(self):
        if self.started:
            subprocess.call(["bash", self.setup_script, "--stop", "--datadir", self.datadir],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.started = False


def split_pg_log(text):
    """PostgreSQL log entries as (severity, sqlstate, message text) from log_line_prefix '@@ ... @@ '."""
    entries = []
    # Entries start at a line beginning with '@@ '; continuation lines (multi-line statements) follow.
    cur = None
    for line in text.split("\n"):
        m = re.match(r"^@@ (\S+ \S+ \S+) \[(\d+)\] (\S*) (\S+) @@ (\w+):  (.*)$", line)
        if m:
            if cur:
                entries.append(cur)
            cur = [m.group(5), m.group(4), m.group(6)]
        elif cur is not None:
            cur[2] += "\n" + line
    if cur:
        entries.append(cur)
    return [tuple(e) for e in entries]


# ---------------------------------------------------------------------------------------------------------------------
# the server
# ---------------------------------------------------------------------------------------------------------------------

class Server:
    """One restgres process with the spec's base config plus overrides (harness.py names the env vars)."""

    def __init__(self, binary, cluster, logdir, name, overrides=None, extra_env=None):
        self.binary = binary
        self.cluster = cluster
        self.name = name
        self.overrides = dict(overrides or {})
        self.extra_env = dict(extra_env or {})
        self.logpath = os.path.join(logdir, "server-%s.log" % name)
        self.proc = None
        self.port = None
        self.admin_port = None
        self.exit_code = None

    def env(self):
        cfg = harness.config_for("default")
        cfg["log-level"] = "error"   # 5xx requests are logged, with their error
        cfg.update(self.overrides)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PGRST_")}
        for k, v in cfg.items():
            if v is None or v == "unset":
                continue
            env[harness.env_name(k)] = harness.env_value(v)
        env.update({
            "PGRST_DB_URI": "postgres://Postgrest_Test_Authenticator@%s:%d/postgres" % (LOCAL, self.cluster.port),
            "PGRST_SERVER_HOST": LOCAL, "PGRST_SERVER_PORT": str(self.port),
            "PGRST_ADMIN_SERVER_HOST": LOCAL, "PGRST_ADMIN_SERVER_PORT": str(self.admin_port),
        })
        env.update(self.extra_env)
        return env

    def start(self, timeout=60):
        self.port = free_port()
        self.admin_port = free_port()
        self.exit_code = None
        out = open(self.logpath, "ab")
        out.write(("---- start %s\n" % time.strftime("%H:%M:%S")).encode())
        out.flush()
        self.proc = subprocess.Popen([self.binary], env=self.env(), stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        out.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server %s exited with %s at startup; log: %s\n%s"
                                   % (self.name, self.proc.returncode, self.logpath, self.log_tail()))
            if self.ready():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("server %s did not become ready in %ds; log: %s" % (self.name, timeout, self.logpath))

    def ready(self):
        try:
            r = request(self.admin_port, "GET", "/ready", timeout=2)
            return r.status == 200
        except HttpFailure:
            return False

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def rss_mb(self):
        return proc_rss_mb(self.pid)

    def fds(self):
        return proc_fds(self.pid)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=40):
        """SIGTERM, then SIGKILL after the timeout. Returns the exit code."""
        if self.proc is None:
            return self.exit_code
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.exit_code = self.proc.returncode
        self.proc = None
        return self.exit_code

    def log_tail(self, n=30):
        try:
            with open(self.logpath, errors="replace") as fh:
                return "".join(fh.readlines()[-n:])
        except OSError:
            return ""


def proc_rss_mb(pid):
    with open("/proc/%d/status" % pid) as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def proc_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


# ---------------------------------------------------------------------------------------------------------------------
# a raw HTTP/1.1 client
# ---------------------------------------------------------------------------------------------------------------------

class HttpFailure(Exception):
    """No (complete) HTTP response: kind is connect, reset, eof, timeout or malformed."""

    def __init__(self, kind, detail="", sent=False, partial=True):
        super().__init__("%s: %s" % (kind, detail))
        self.kind = kind
        self.sent = sent
        self.partial = partial   # False: not one byte of a response arrived


class Response:
    __slots__ = ("status", "headers", "body", "elapsed", "close")

    def __init__(self, status, headers, body, elapsed, close):
        self.status = status
        self.headers = headers      # list of (lower-case name, value)
        self.body = body
        self.elapsed = elapsed
        self.close = close

    def header(self, name):
        for k, v in self.headers:
            if k == name:
                return v
        return None


def encode_request(method, target, headers=(), body=None):
    """The request bytes. target and header values may be str or bytes (bytes are sent as they are)."""
    def b(x):
        return x if isinstance(x, bytes) else x.encode("utf-8")
    out = [b(method), b" ", b(target), b" HTTP/1.1\r\n"]
    names = {k.lower() for k, _ in headers}
    if "host" not in names:
        out.append(b"Host: 127.0.0.1\r\n")
    for k, v in headers:
        out += [b(k), b": ", b(v), b"\r\n"]
    if "content-length" not in names and "transfer-encoding" not in names:
        if body is not None:
            out.append(b"Content-Length: %d\r\n" % len(body))
        elif method in ("POST", "PUT", "PATCH"):
            out.append(b"Content-Length: 0\r\n")
    out.append(b"\r\n")
    if body:
        out.append(body)
    return b"".join(out)


class Conn:
    """One keep-alive connection, reopened when the server closes it."""

    def __init__(self, port, timeout=10.0):
        self.port = port
        self.timeout = timeout
        self.sock = None
        self.rfile = None
        self.used = False
        self.retries = 0      # requests resent because a reused connection had been closed

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = self.rfile = None
        self.used = False

    def _open(self):
        try:
            self.sock = socket.create_connection((LOCAL, self.port), timeout=self.timeout)
        except OSError as e:
            self.sock = None
            raise HttpFailure("connect", str(e))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rfile = self.sock.makefile("rb")
        self.used = False

    def request(self, method, target, headers=(), body=None, timeout=None):
        data = encode_request(method, target, headers, body)
        for attempt in (0, 1):
            if self.sock is None:
                self._open()
            reused = self.used
            try:
                return self._exchange(data, method, timeout or self.timeout)
            except HttpFailure as e:
                self.close()
                # A server may close a keep-alive connection at any time (RFC 9112 9.6), e.g. after a request whose
                # body it did not read: a client retries on a new connection when not one byte of a response came.
                if attempt == 0 and reused and e.kind in ("eof", "reset") and not e.partial:
                    self.retries += 1
                    continue
                raise
        raise AssertionError("unreachable")

    def _exchange(self, data, method, timeout):
        self.sock.settimeout(timeout)
        t0 = time.perf_counter()
        try:
            self.sock.sendall(data)
        except socket.timeout:
            raise HttpFailure("timeout", "sending", sent=False)
        except OSError as e:
            # The server may answer (413, 431, 400) and close before reading the whole request: read that answer.
            try:
                return self._read(method, t0)
            except HttpFailure as f:
                raise HttpFailure("reset", "sending: %s" % e, sent=False, partial=f.partial)
        self.used = True
        return self._read(method, t0)

    def _read(self, method, t0):
        rf = self.rfile
        got = False
        try:
            while True:
                line = rf.readline(65537)
                if not line:
                    raise HttpFailure("eof", "connection closed before a response", sent=True, partial=got)
                got = True
                m = re.match(rb"HTTP/1\.[01] (\d{3})(?: [^\r\n]*)?\r?\n$", line)
                if not m:
                    raise HttpFailure("malformed", "status line %r" % line[:200], sent=True)
                status = int(m.group(1))
                headers = []
                while True:
                    h = rf.readline(65537)
                    if not h:
                        raise HttpFailure("eof", "in headers", sent=True)
                    if h in (b"\r\n", b"\n"):
                        break
                    k, sep, v = h.partition(b":")
                    if not sep:
                        raise HttpFailure("malformed", "header line %r" % h[:200], sent=True)
                    headers.append((k.strip().lower().decode("latin-1"), v.strip().decode("utf-8", "replace")))
                if 100 <= status < 200:
                    continue   # 100 Continue
                break
            hd = dict(headers)
            close = hd.get("connection", "").lower() == "close"
            if method == "HEAD" or status in (204, 304):
                body = b""
            elif "chunked" in hd.get("transfer-encoding", "").lower():
                parts = []
                while True:
                    size_line = rf.readline(1024)
                    try:
                        size = int(size_line.split(b";")[0].strip(), 16)
                    except ValueError:
                        raise HttpFailure("malformed", "chunk size %r" % size_line[:100], sent=True)
                    if size == 0:
                        while rf.readline(65537) not in (b"\r\n", b"\n", b""):
                            pass
                        break
                    chunk = rf.read(size)
                    if len(chunk) < size:
                        raise HttpFailure("eof", "in a chunk", sent=True)
                    parts.append(chunk)
                    rf.readline(3)
                body = b"".join(parts)
            elif "content-length" in hd:
                n = int(hd["content-length"])
                body = rf.read(n)
                if len(body) < n:
                    raise HttpFailure("eof", "body shorter than Content-Length", sent=True)
            else:
                body = rf.read()
                close = True
        except socket.timeout:
            raise HttpFailure("timeout", "no complete response in time", sent=True, partial=got)
        except OSError as e:
            raise HttpFailure("reset", str(e), sent=True, partial=got)
        elapsed = time.perf_counter() - t0
        if close:
            self.close()
        return Response(status, headers, body, elapsed, close)


def request(port, method, target, headers=(), body=None, timeout=10.0):
    """One request on a new connection."""
    c = Conn(port, timeout)
    try:
        return c.request(method, target, headers, body)
    finally:
        c.close()


def json_body(resp):
    try:
        return json.loads(resp.body)
    except ValueError:
        return None


ERROR_KEYS = {"code", "details", "hint", "message"}


def error_shape_problem(resp, method):
    """None when an error response has PostgREST's error body ({code, details, hint, message}), else what is wrong.
    Kestrel's own protocol-level rejections (malformed request line, oversized headers) have no body and are not
    API errors; they are counted separately by the callers."""
    if resp.status < 400 or method == "HEAD":
        return None
    if not resp.body:
        return "empty body"
    j = json_body(resp)
    if not isinstance(j, dict):
        return "body is not a JSON object: %r" % resp.body[:120]
    if set(j) != ERROR_KEYS:
        return "keys %s instead of code/details/hint/message" % sorted(j)
    if not isinstance(j["code"], str) or not isinstance(j["message"], str):
        return "code/message not strings"
    return None


def internal_errors(logpath):
    """Distinct unexpected exceptions in a server log ('Internal error on METHOD PATH: Type: message'), each with the
    requests it happened on, in order of first appearance."""
    found = {}
    with open(logpath, errors="replace") as fh:
        for line in fh:
            m = re.search(r"Internal error on (\S+) (\S*): ([\w.]+): (.*)", line)
            if m:
                sig = "%s: %s" % (m.group(3).split(".")[-1], re.sub(r"\d+", "N", m.group(4))[:70])
                found.setdefault(sig, []).append((m.group(1), m.group(2)))
    return found


def internal_error_check(part, sig):
    return "%s.no-internal-errors[%s]" % (part, re.sub(r"[^A-Za-z0-9_.:/-]+", "-", sig).strip("-"))


def check_internal_errors(res, part, logpath):
    """One check per distinct exception (500 PGRSTX00) in the server log, so that a known one (known-failures.txt)
    cannot hide a new one."""
    errors = internal_errors(logpath) if os.path.exists(logpath) else {}
    if not errors:
        res.check(part + ".no-internal-errors", True)
    for sig, where in errors.items():
        paths = sorted(set("%s %s" % w for w in where))
        res.check(internal_error_check(part, sig), False, "%d time(s), on %s" % (len(where), ", ".join(paths[:5])))


def is_internal_error(resp):
    """A 500 PGRSTX00: an unexpected exception, reported by check_internal_errors from the server log."""
    return resp.status == 500 and b'"PGRSTX00"' in resp.body


def percentile(values, p):
    if not values:
        return 0.0
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


class Probe(threading.Thread):
    """Another client: one request every `interval` seconds on a fresh connection each time; records
    (time, status or failure kind, latency)."""

    def __init__(self, port, target="/items?id=eq.1", interval=0.05, timeout=10.0, headers=()):
        super().__init__(daemon=True)
        self.port = port
        self.target = target
        self.interval = interval
        self.timeout = timeout
        self.headers = headers
        self.samples = []
        self._stop_event = threading.Event()

    def run(self):
        while not self._stop_event.is_set():
            t = time.time()
            try:
                r = request(self.port, "GET", self.target, self.headers, timeout=self.timeout)
                status = "500-PGRSTX00" if is_internal_error(r) else r.status
                self.samples.append((t, status, r.elapsed, r.header("retry-after")))
            except HttpFailure as e:
                self.samples.append((t, e.kind, time.time() - t, None))
            self._stop_event.wait(max(0.0, self.interval - (time.time() - t)))

    def stop(self):
        self._stop_event.set()
        self.join(30)
        return self.samples

    def latencies(self, since=0.0, until=1e18):
        return [s[2] for s in self.samples if since <= s[0] <= until and s[1] == 200]


# ---------------------------------------------------------------------------------------------------------------------
# wrk
# ---------------------------------------------------------------------------------------------------------------------

def wrk(url, seconds, conns, script, env=None, threads=2, timeout_s=10):
    """Runs wrk with one of the lua/ scripts; the script writes its per-status counts (JSON) to RELIABILITY_WRK_OUT.
    Returns (summary dict from the script, wrk's stdout)."""
    fd, out = tempfile.mkstemp(prefix="wrk-", suffix=".json")
    os.close(fd)
    e = dict(os.environ)
    e.update(env or {})
    e["RELIABILITY_WRK_OUT"] = out
    argv = ["wrk", "-t", str(threads), "-c", str(conns), "-d", "%ds" % max(1, int(round(seconds))),
            "--timeout", "%ds" % timeout_s, "-s", os.path.join(HERE, "lua", script), url]
    p = subprocess.run(argv, capture_output=True, text=True, env=e, timeout=seconds + 60)
    try:
        with open(out) as fh:
            summary = json.load(fh)
    except (OSError, ValueError):
        summary = {"error": "no summary", "stderr": p.stderr[-2000:], "stdout": p.stdout[-2000:]}
    finally:
        os.unlink(out)
    summary["wrk_stdout"] = p.stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", p.stdout)
    summary["rps"] = float(m.group(1)) if m else 0.0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", p.stdout)
    summary["socket_errors"] = dict(zip(("connect", "read", "write", "timeout"), map(int, m.groups()))) if m else {}
    return summary


def pace(port, fraction, path, conns=16, seconds=3):
    """The wrk delay (ms per connection between requests) that loads the server at about `fraction` of its capacity
    on `path`: capacity measured flat out, then one calibration run to learn the latency under the paced load.
    Returns (capacity rps, target rps, delay ms)."""
    url = "http://127.0.0.1:%d" % port
    cap = wrk(url, seconds, 16, "load.lua", {"RELIABILITY_PATH": path})["rps"]
    target = max(20.0, cap * fraction)
    delay = conns * 1000.0 / target
    got = wrk(url, seconds, conns, "load.lua", {"RELIABILITY_PATH": path, "RELIABILITY_DELAY_MS": str(int(delay))})["rps"]
    latency_ms = max(0.0, conns * 1000.0 / max(got, 1.0) - int(delay))
    return cap, target, max(1, int(round(conns * 1000.0 / target - latency_ms)))


class Background(threading.Thread):
    """Runs a function in a thread and keeps its result (or exception)."""

    def __init__(self, fn, *args, **kw):
        super().__init__(daemon=True)
        self.fn, self.args, self.kw = fn, args, kw
        self.result = None
        self.error = None

    def run(self):
        try:
            self.result = self.fn(*self.args, **self.kw)
        except BaseException as e:  # reported by the caller
            self.error = e

    def get(self, timeout=None):
        self.join(timeout)
        if self.error is not None:
            raise self.error
        return self.result


# ---------------------------------------------------------------------------------------------------------------------
# JWT
# ---------------------------------------------------------------------------------------------------------------------

SPEC_SECRET = harness.BASE_CONFIG["jwt-secret"]


def b64url(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(s):
    s += "=" * (-len(s) % 4)
    return base64.urlsafe_b64decode(s)


def jwt_hs(claims, secret=SPEC_SECRET, header=None, alg="HS256", raw_payload=None):
    """An HMAC-signed token. claims may be a dict or the raw JSON text (for duplicate keys)."""
    h = header if header is not None else {"alg": alg, "typ": "JWT"}
    h_txt = h if isinstance(h, str) else json.dumps(h, separators=(",", ":"))
    p_txt = raw_payload if raw_payload is not None else (claims if isinstance(claims, str) else json.dumps(claims))
    signing_input = b64url(h_txt) + "." + b64url(p_txt)
    key = secret if isinstance(secret, bytes) else secret.encode("utf-8")
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}.get(alg, hashlib.sha256)
    return signing_input + "." + b64url(hmac.new(key, signing_input.encode("ascii"), digest).digest())


def _is_probable_prime(n, rng):
    if n < 2:
        return False
    for p in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37):
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for _ in range(24):
        a = rng.randrange(2, n - 2)
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


class RsaKey:
    """A deterministic 2048-bit RSA key (test use only) for RS256 tokens and the JWKS of the second server."""

    def __init__(self, seed=1):
        rng = random.Random(seed)
        e = 65537

        def prime():
            while True:
                c = rng.getrandbits(1024) | (1 << 1023) | (1 << 1022) | 1
                if c % e != 1 and _is_probable_prime(c, rng):
                    return c
        p, q = prime(), prime()
        self.n, self.e = p * q, e
        self.d = pow(e, -1, (p - 1) * (q - 1))

    def n_bytes(self):
        return self.n.to_bytes(256, "big")

    def jwk(self, kid=None):
        k = {"kty": "RSA", "alg": "RS256", "use": "sig", "e": b64url(self.e.to_bytes(3, "big")), "n": b64url(self.n_bytes())}
        if kid:
            k["kid"] = kid
        return k

    def sign(self, signing_input):
        # RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 9.2): 0x00 0x01 FF.. 0x00 DigestInfo hash
        digest_info = bytes.fromhex("3031300d060960864801650304020105000420") + hashlib.sha256(signing_input).digest()
        em = b"\x00\x01" + b"\xff" * (256 - 3 - len(digest_info)) + b"\x00" + digest_info
        return pow(int.from_bytes(em, "big"), self.d, self.n).to_bytes(256, "big")

    def jwt(self, claims, header=None):
        h = header or {"alg": "RS256", "typ": "JWT"}
        si = b64url(json.dumps(h, separators=(",", ":"))) + "." + b64url(json.dumps(claims))
        return si + "." + b64url(self.sign(si.encode("ascii")))

    def public_pem(self):
        """SubjectPublicKeyInfo PEM (the form an attacker would use as an HMAC secret)."""
        def der_len(n):
            if n < 128:
                return bytes([n])
            b = n.to_bytes((n.bit_length() + 7) // 8, "big")
            return bytes([0x80 | len(b)]) + b

        def der(tag, content):
            return bytes([tag]) + der_len(len(content)) + content

        def der_int(i):
            b = i.to_bytes((i.bit_length() + 8) // 8, "big")
            return der(0x02, b)
        rsa_pub = der(0x30, der_int(self.n) + der_int(self.e))
        alg = der(0x30, der(0x06, bytes.fromhex("2a864886f70d010101")) + b"\x05\x00")
        spki = der(0x30, alg + der(0x03, b"\x00" + rsa_pub))
        body = base64.b64encode(spki).decode()
        lines = [body[i:i + 64] for i in range(0, len(body), 64)]
        return "-----BEGIN PUBLIC KEY-----\n" + "\n".join(lines) + "\n-----END PUBLIC KEY-----\n"
