#!/usr/bin/env python3
"""A local stand-in for an OpenAI-compatible provider: POST /v1/chat/completions, for the AI generations example's
demo and tests (no machine here reaches a real provider). Python 3 standard library only.

    python3 examples/ai-generations/mock-provider/mock_provider.py --port 8089 --latency-ms 2000 --failure-rate 0.2

Each request waits --latency-ms (± --jitter-ms), then answers a chat completion, or, with probability
--failure-rate, fails in one of --failure-modes:

    500    500 with an OpenAI-style JSON error            429    429 rate limited, Retry-After: 1
    html   502 with an HTML error page (a proxy's)        close  the socket closed without an answer
    hang   no answer for --hang-s seconds (the caller's timeout fires), then the socket closed
    slow   the answer after --slow-factor × the latency   400    400 invalid request (not retried)

A prompt can ask for one outcome instead of the dice: "[mock:html]", "[mock:hang]", "[mock:ok]", ... or
"[mock:MODE-times:N]" (the first N requests with the same Idempotency-Key get MODE, the next ones succeed;
"fail-times" is 500-times).

Every request is recorded (Idempotency-Key, time, outcome) for tests: GET /_mock/requests lists them,
DELETE /_mock/requests forgets them, GET /_mock/health answers 200. A request without "Authorization: Bearer ..."
is refused with 401, like the real thing.
"""
import argparse
import json
import os
import random
import re
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = ("500", "429", "html", "close", "hang", "slow", "400")
DIRECTIVE = re.compile(r"\[mock:([a-z0-9-]+)(?::(\d+))?\]")


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.requests = []
        self.seen = {}  # Idempotency-Key -> requests so far (for fail-times)
        self.random = random.Random(args.seed)

    def record(self, entry):
        with self.lock:
            entry["seq"] = len(self.requests) + 1
            self.requests.append(entry)

    def count(self, key):
        with self.lock:
            self.seen[key] = self.seen.get(key, 0) + 1
            return self.seen[key]

    def dice(self):
        with self.lock:
            if self.random.random() >= self.args.failure_rate:
                return "ok"
            return self.random.choice(self.args.failure_modes)

    def latency_s(self):
        with self.lock:
            jitter = self.random.uniform(-self.args.jitter_ms, self.args.jitter_ms)
        return max(0.0, (self.args.latency_ms + jitter) / 1000)


def completion(body, prompt, key):
    text = f"Mock answer to: {prompt[:200]}"
    words = len(prompt.split())
    return {
        "id": "chatcmpl-mock-" + (key or str(time.time_ns())),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "mock"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": words, "completion_tokens": len(text.split()), "total_tokens": words + len(text.split())},
    }


def openai_error(message, kind, code=None):
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mock-provider/1"
    state: State = None  # set in main

    def log_message(self, fmt, *args):
        if not self.state.args.quiet:
            sys.stderr.write("mock-provider: %s\n" % (fmt % args))

    def send_json(self, status, obj, headers=()):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/_mock/health":
            self.send_json(200, {"ok": True})
        elif self.path == "/_mock/requests":
            with self.state.lock:
                self.send_json(200, list(self.state.requests))
        else:
            self.send_json(404, openai_error("Not found", "invalid_request_error"))

    def do_DELETE(self):
        if self.path == "/_mock/requests":
            with self.state.lock:
                self.state.requests.clear()
                self.state.seen.clear()
            self.send_json(200, {"ok": True})
        else:
            self.send_json(404, openai_error("Not found", "invalid_request_error"))

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        key = self.headers.get("Idempotency-Key")
        entry = {"idempotency_key": key, "path": self.path, "at": time.time()}
        if self.path.rstrip("/") != "/v1/chat/completions":
            entry["outcome"] = "404"
            self.state.record(entry)
            return self.send_json(404, openai_error(f"Unknown path {self.path}", "invalid_request_error"))
        if not (self.headers.get("Authorization") or "").startswith("Bearer "):
            entry["outcome"] = "401"
            self.state.record(entry)
            return self.send_json(401, openai_error("No API key provided.", "invalid_request_error", "invalid_api_key"))
        try:
            body = json.loads(raw)
            prompt = " ".join(m.get("content", "") for m in body["messages"] if m.get("role") == "user")
        except (ValueError, KeyError, TypeError, AttributeError):
            entry["outcome"] = "400"
            self.state.record(entry)
            return self.send_json(400, openai_error("Invalid JSON body: 'messages' is required.", "invalid_request_error"))
        entry["generation_prompt"] = prompt[:200]
        seen = self.state.count(key) if key else 1
        directive = DIRECTIVE.search(prompt)
        if directive and directive.group(1).endswith("-times"):
            failing = directive.group(1)[: -len("-times")].replace("fail", "500")
            mode = (failing if failing in MODES else "500") if seen <= int(directive.group(2) or 1) else "ok"
        elif directive and directive.group(1) in MODES + ("ok",):
            mode = directive.group(1)
        else:
            mode = self.state.dice()
        entry["outcome"] = mode
        entry["attempt_seen"] = seen
        self.state.record(entry)

        args = self.state.args
        if mode == "hang":
            time.sleep(args.hang_s)
            return self.close_now()
        time.sleep(self.state.latency_s() * (args.slow_factor if mode == "slow" else 1))
        if mode in ("ok", "slow"):
            self.send_json(200, completion(body, prompt, key))
        elif mode == "500":
            self.send_json(500, openai_error("The server had an error while processing your request.", "server_error"))
        elif mode == "429":
            self.send_json(429, openai_error("Rate limit reached.", "requests", "rate_limit_exceeded"), [("Retry-After", "1")])
        elif mode == "400":
            self.send_json(400, openai_error("Invalid request (mock).", "invalid_request_error"))
        elif mode == "html":
            page = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
            self.send_response(502)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)
        elif mode == "close":
            self.close_now()

    def close_now(self):
        # No answer at all: the caller sees its connection reset or closed mid-request.
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def main(argv=None):
    env = os.environ.get
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default=env("MOCK_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(env("MOCK_PORT", "8089")), help="0: a free port (printed)")
    p.add_argument("--latency-ms", type=float, default=float(env("MOCK_LATENCY_MS", "2000")))
    p.add_argument("--jitter-ms", type=float, default=float(env("MOCK_JITTER_MS", "300")))
    p.add_argument("--failure-rate", type=float, default=float(env("MOCK_FAILURE_RATE", "0.1")))
    p.add_argument("--failure-modes", default=env("MOCK_FAILURE_MODES", "500,429,html,close"),
                   help="comma-separated, from: " + ",".join(MODES))
    p.add_argument("--slow-factor", type=float, default=float(env("MOCK_SLOW_FACTOR", "5")))
    p.add_argument("--hang-s", type=float, default=float(env("MOCK_HANG_S", "120")))
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    args.failure_modes = [m.strip() for m in args.failure_modes.split(",") if m.strip()]
    bad = [m for m in args.failure_modes if m not in MODES]
    if bad or not 0 <= args.failure_rate <= 1:
        p.error(f"--failure-modes: unknown {bad}" if bad else "--failure-rate must be between 0 and 1")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        p.error("--host: the mock binds to the loopback interface only")
    Handler.state = State(args)
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    print(f"mock-provider: listening on http://{args.host}:{server.server_address[1]} (latency {args.latency_ms:g} ms, "
          f"failure rate {args.failure_rate:g}, modes {','.join(args.failure_modes)})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
