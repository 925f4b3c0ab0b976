"""Part 1: a grammar-aware fuzzer seeded from the conformance corpus (../shared/conformance/cases/*.jsonl).

Request i of a run is a pure function of (seed, i): a seed case is picked and mutated 1-6 times by operators that know
PostgREST's URL grammar (operators, logic trees, select/embed trees, JSON paths, casts, order, ranges), its headers
(Prefer, Accept, Range, profiles, Authorization with mangled JWTs, Content-Type) and bodies (JSON, CSV, form, deep
nesting, huge numbers, invalid UTF-8). `run.sh --only fuzz --seed S --fuzz-replay I` resends request I.

Oracle, per response: no 5xx (except those the fixture itself is built to raise, see EXPECTED_5XX below), no response
slower than the bound, every response complete and well-formed, every error body in PostgREST's JSON shape. Per run:
the server is alive at the end, and its RSS is back near the baseline after the run.
"""
import importlib.util
import json
import os
import random
import re
import threading
import time

import common

SLOW_BOUND_S = 5.0
# Seeds that call functions which sleep (test.sleep = pg_sleep) are left out: the oracle bounds response time.
EXCLUDED_PATHS = ("/rpc/sleep",)
# Protocol-level rejections that Kestrel sends itself, before the API, with an empty body (PostgREST's Warp does
# the same with a plain-text body): a malformed request line or header (400), a request line or headers over the
# limits (414, 431), an unknown Transfer-Encoding (501 is not accepted: see the check).
PROTOCOL_STATUSES = (400, 413, 414, 431)

OPS = ["eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike", "match", "imatch", "in", "is", "isdistinct", "fts",
       "plfts", "phfts", "wfts", "cs", "cd", "ov", "sl", "sr", "nxr", "nxl", "adj", "not.eq", "not.in", "not.is",
       "eq(any)", "like(all)", "gt(any)", "fts(english)", "plfts(simple)", "fts(a'b)", "foo", "", "not", "not.not.eq",
       "eq(", "in()", "is(any)"]
VALUES = ["", "null", "NULL", "true", "false", "unknown", "not_null", "0", "-1", "1.5", "1e309", "-1e309", "NaN",
          "Infinity", "-0", "9" * 40, "1" + "0" * 400, "0x10", "'", "''", '"', '""', "\\", "\\\\", "(", ")", "()",
          "{}", "{1,2}", "{a,\"b,c\"}", "[1,2]", "[", "]", "a,b", "a.b", "a:b", "a::int", "a->b", "%", "_", "*",
          "é", "日本", "\U0001F600", "\u202e", "\u0000", "\x7f", "a b", " ", "\t", "2020-01-01", "infinity",
          "00:00", "[1,2)", "(,)", "*.*", "x" * 3000, "$$", "$1", "?", ";", "--", "/*", "all", "any",
          "'bad'&'fts'", "!", "<->", "a|b", "{\"a\":1}", "\"quoted \\\"inner\\\" value\""]
PREFER = ["return=representation", "return=minimal", "return=headers-only", "return=", "return=foo", "count=exact",
          "count=planned", "count=estimated", "count=none", "count=", "tx=commit", "tx=rollback", "tx=foo",
          "resolution=merge-duplicates", "resolution=ignore-duplicates", "resolution=x", "missing=default",
          "missing=null", "handling=strict", "handling=lenient", "handling=", "max-affected=0", "max-affected=1",
          "max-affected=-1", "max-affected=99999999999999999999", "max-affected=x", "timezone=America/Los_Angeles",
          "timezone=Invalid/Zone", "timezone=+05:30", "timezone=''", "timezone=UTC'; --", "params=single-object",
          "params=multiple-objects", "anything", "", ",", "=", "return", "a=b=c", "return=representation;x=y"]
ACCEPT = ["application/json", "text/csv", "application/vnd.pgrst.object+json", "application/vnd.pgrst.object",
          "application/vnd.pgrst.object+json;nulls=stripped", "application/vnd.pgrst.array+json;nulls=stripped",
          "application/vnd.pgrst.array+json;nulls=x", "application/vnd.pgrst.plan+json",
          'application/vnd.pgrst.plan+json; for="application/json"; options=analyze|verbose|settings|buffers|wal',
          'application/vnd.pgrst.plan; for="text/csv"', "application/vnd.pgrst.plan+text; options=foo",
          "application/geo+json", "application/openapi+json", "text/plain", "text/xml", "application/octet-stream",
          "*/*", "image/png", "pg/outfunc", "application/vnd.twkb", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8",
          "text/csv;q=abc, application/json;q=2", ";;;", "a/b/c", "*/json", "application/*", "", ",,,",
          "application/json; charset=ebcdic", "text/csv; version=1; q=0.1, */*; q=0"]
PROFILES = ["test", "v1", "v2", "public", "pg_catalog", "information_schema", "nonexistent", "تست", 'SPECIAL "@/\\#~_-',
            "", " ", "test,v1", '"test"', "x" * 500, "Test", "postgrest", "private"]
CTYPES = ["application/json", "text/csv", "application/x-www-form-urlencoded", "text/plain", "application/octet-stream",
          "text/xml", "application/json; charset=utf-8", "application/json; charset=latin1",
          "application/json; $$ x=y $$", "multipart/form-data; boundary=x", "application/vnd.pgrst.object+json",
          "text/csv; header=absent", "application/geo+json", "", ";", "json", "*/*", "application/x-ndjson"]
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "FOO", "get"]
RANGES = ["0-10", "5-", "-5", "10-5", "abc", "items=0-1", "0-99999999999999999999", "0-1,2-3", "", "-", "1-1",
          "9223372036854775807-", "0-0", "x-y"]


def load_runpy(conf):
    spec = importlib.util.spec_from_file_location("conformance_run", os.path.join(conf, "run.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class Corpus:
    """Seed requests and the vocabulary the mutators draw from (resources, columns, tokens, bodies)."""

    def __init__(self, conf):
        self.runpy = load_runpy(conf)
        self.seeds = []
        self.resources, self.columns, self.tokens, self.bodies = set(), set(), set(), []
        self.expected_5xx = set()
        self.custom_error_bodies = set()
        for case in self.runpy.load_cases(os.path.join(conf, "cases")):
            if any(case["path"].startswith(p) for p in EXCLUDED_PATHS):
                continue
            body = None
            if case.get("body_base64") is not None:
                import base64
                body = base64.b64decode(case["body_base64"])
            elif case.get("body") is not None:
                body = case["body"].encode("utf-8")
            headers = [(k, v) for k, v in case["headers"] if k.lower() not in ("host", "content-length", "connection")]
            segs, query = self.parse(case["path"])
            self.seeds.append({"method": case["method"], "segs": segs, "query": query, "headers": headers,
                               "body": body})
            expect = case["expect"]
            if (expect.get("status") or 0) >= 500:
                self.expected_5xx.add("/".join(segs))
            if (expect.get("status") or 0) >= 400 and (expect.get("body") is not None or (
                    expect.get("json") is not None and not (isinstance(expect["json"], dict)
                                                            and set(expect["json"]) == common.ERROR_KEYS))):
                # The function answers its own error body (response.status + a body): not the server's error shape.
                self.custom_error_bodies.add("/".join(segs))
            if segs:
                self.resources.add("/".join(segs))
            for k, v in query:
                key = k.decode("utf-8", "replace")
                if key not in ("select", "order", "limit", "offset", "or", "and", "on_conflict", "columns"):
                    self.columns.add(key.split("->")[0].split(".")[0])
                if key == "select" and v:
                    for item in v.decode("utf-8", "replace").replace("(", ",").replace(")", ",").split(","):
                        name = item.split(":")[-1].split("->")[0].split("!")[0].strip(". *")
                        if name.isidentifier():
                            self.columns.add(name)
            for k, v in headers:
                if k.lower() == "authorization":
                    self.tokens.add(v)
            if body and body[:1] in (b"{", b"["):
                self.bodies.append(body)
        self.resources = sorted(self.resources)
        self.columns = sorted(c for c in self.columns if c)
        self.tokens = sorted(self.tokens)

    def parse(self, path):
        raw = path.encode("utf-8")
        p, _, q = raw.partition(b"?")
        segs = [self.runpy._url_decode(s, False).decode("utf-8", "replace") for s in p.strip(b"/").split(b"/") if s]
        query = []
        if q:
            for part in q.replace(b";", b"&").split(b"&"):
                if not part:
                    continue
                k, eq, v = part.partition(b"=")
                query.append((self.runpy._url_decode(k, True), self.runpy._url_decode(v, True) if eq else None))
        return segs, query


# ---------------------------------------------------------------------------------------------------------------------
# mutators: each takes (rng, req, corpus) and changes req in place
# ---------------------------------------------------------------------------------------------------------------------

def _b(s):
    return s if isinstance(s, bytes) else s.encode("utf-8")


def _col(rng, c):
    return rng.choice(c.columns) if c.columns and rng.random() < 0.8 else rng.choice(["id", "name", "a", "b", "x"])


def _filter_items(req):
    return [i for i, (k, v) in enumerate(req["query"])
            if v is not None and k not in (b"select", b"order", b"limit", b"offset", b"on_conflict", b"columns")]


def _value(rng):
    v = rng.choice(VALUES)
    if rng.random() < 0.1:
        v = v * rng.randint(2, 50)
    return v


def m_op(rng, req, c):
    items = _filter_items(req)
    if not items:
        req["query"].append((_b(_col(rng, c)), _b(rng.choice(OPS) + "." + _value(rng))))
        return
    i = rng.choice(items)
    k, v = req["query"][i]
    rest = v.split(b".", 1)[1] if b"." in v else v
    if v.startswith(b"not.") and rest.count(b".") >= 1:
        rest = rest.split(b".", 1)[1]
    req["query"][i] = (k, _b(rng.choice(OPS)) + b"." + rest)


def m_value(rng, req, c):
    items = _filter_items(req)
    if not items:
        req["query"].append((_b(_col(rng, c)), _b("eq." + _value(rng))))
        return
    i = rng.choice(items)
    k, v = req["query"][i]
    op = v.rsplit(b".", 1)[0] if b"." in v else b"eq"
    req["query"][i] = (k, op + b"." + _b(_value(rng)))


def m_inlist(rng, req, c):
    n = rng.choice([0, 1, 2, 10, 100, 2000])
    elems = ",".join(rng.choice(['1', '"a,b"', '"x""y"', '"\\"', 'null', "é", "'", "(", ")", "2", ""]) for _ in range(n))
    tail = rng.choice([")", ")", ")", "", "))"])
    req["query"].append((_b(_col(rng, c)), _b(rng.choice(["in.(", "not.in.(", "in.((", "cs.{", "ov.["]) + elems + tail)))


def _logic_tree(rng, c, depth):
    if depth <= 0:
        return "%s.%s.%s" % (_col(rng, c), rng.choice(OPS[:12]), rng.choice(["1", "a", "null", "\"x,y\"", "(", ""]))
    kids = [_logic_tree(rng, c, depth - 1)]
    for _ in range(rng.randint(0, 2)):
        kids.append(_logic_tree(rng, c, rng.randint(0, min(depth - 1, 2))))
    return "%s(%s)" % (rng.choice(["and", "or", "not.and", "not.or", "an", "or "]), ",".join(kids))


def m_logic(rng, req, c):
    depth = rng.choice([1, 2, 3, 5, 10, 50, 200, 1000])
    if depth > 10:  # deep but narrow, so that the text stays small
        tree = "%s.eq.1" % _col(rng, c)
        for _ in range(depth):
            tree = "%s(%s)" % (rng.choice(["and", "or", "not.or"]), tree)
    else:
        tree = _logic_tree(rng, c, depth)
    key, _, body = tree.partition("(")
    req["query"].append((_b(key), _b("(" + body)))


def _select_item(rng, c, depth):
    r = rng.random()
    col = _col(rng, c)
    if depth > 0 and r < 0.3:
        rel = rng.choice(c.resources).split("/")[-1] if c.resources else "items"
        inner = ",".join(_select_item(rng, c, depth - 1) for _ in range(rng.randint(1, 3)))
        prefix = rng.choice(["", "", "alias:", "...", "x:"])
        hint = rng.choice(["", "", "!inner", "!left", "!fk", "!" + _col(rng, c), "!inner!left"])
        return "%s%s%s(%s)" % (prefix, rel, hint, inner)
    if r < 0.45:
        path = "".join(rng.choice(["->", "->>"]) + rng.choice(["a", "0", "-1", "'x'", "\"y\"", "b c", ""])
                       for _ in range(rng.choice([1, 2, 5, 100])))
        return col + path
    if r < 0.6:
        return col + "::" + rng.choice(["text", "int", "int[]", "json", "\"char\"", "numeric(10,2)", "foo", "text;x",
                                        "double precision", "", "::", "pg_catalog.text"])
    if r < 0.7:
        return rng.choice(["a", "\"quoted alias\"", "", "x" * 100]) + ":" + col
    if r < 0.8:
        return rng.choice(["count()", col + ".count()", col + ".sum()", col + ".avg()::int", "*", "**", ""])
    return col


def m_select(rng, req, c):
    depth = rng.choice([0, 1, 2, 3, 5, 8, 21, 40])
    if depth > 8:
        inner = "*"
        for _ in range(depth):
            inner = "%s(%s)" % (rng.choice(c.resources).split("/")[-1] if c.resources else "items", inner)
        sel = "*," + inner
    else:
        sel = ",".join(_select_item(rng, c, depth) for _ in range(rng.randint(1, 6)))
    if rng.random() < 0.05:
        sel = ",".join(_col(rng, c) for _ in range(rng.choice([500, 3000])))
    if rng.random() < 0.1:
        sel += rng.choice(["(", ")", ",", "((", "!", ":", "::"])
    req["query"] = [q for q in req["query"] if q[0] != b"select"] + [(b"select", _b(sel))]


def m_order(rng, req, c):
    terms = []
    for _ in range(rng.randint(1, 4)):
        t = _col(rng, c) + rng.choice(["", "->a", "->>b", "::text"])
        t += rng.choice(["", ".asc", ".desc", ".nullsfirst", ".desc.nullslast", ".foo", ".asc.desc", "."])
        terms.append(t)
    prefix = rng.choice(["", "", rng.choice(c.resources).split("/")[-1] + "." if c.resources else ""])
    req["query"].append((_b(prefix + "order"), _b(",".join(terms))))


def m_limit(rng, req, c):
    key = rng.choice([b"limit", b"offset", b"x.limit", b"items.offset"])
    val = rng.choice(["0", "1", "-1", "999999999999999999999", "1.5", "abc", "", "1e3", "0x1", " 1"])
    req["query"].append((key, _b(val)))


def m_params(rng, req, c):
    q = req["query"]
    r = rng.random()
    if q and r < 0.35:
        q.append(rng.choice(q))
    elif q and r < 0.6:
        del q[rng.randrange(len(q))]
    elif q and r < 0.8:
        i = rng.randrange(len(q))
        q[i] = (_b(rng.choice([_col(rng, c), "a->b", "a::int", "\"a\"", "é", "", "select", "on_conflict", "columns",
                               "not.or", "a.b.c", "'", "x" * 200])), q[i][1])
    else:
        rng.shuffle(q)


def m_special(rng, req, c):
    key = rng.choice([b"on_conflict", b"columns", b"select", b"and", b"or"])
    n = rng.choice([1, 2, 3, 50, 3000])
    val = ",".join(_col(rng, c) for _ in range(n))
    if key in (b"and", b"or"):
        val = "(" + ",".join("%s.eq.%d" % (_col(rng, c), i) for i in range(min(n, 500))) + ")"
    req["query"].append((key, _b(val)))


def m_path(rng, req, c):
    r = rng.random()
    if r < 0.5 and c.resources:
        req["segs"] = rng.choice(c.resources).split("/")
    elif r < 0.65:
        req["segs"] = ["rpc", rng.choice([_col(rng, c), "", "nonexistent", "get_current_user", "x" * 300])]
    elif r < 0.8:
        req["segs"] = [rng.choice(["test.items", "items ", "Items", "تست", "", "..", ".", "%", "rpc", "a/b",
                                   "items;", "\"items\"", "x" * 2000, "items\u0000"])]
    else:
        req["segs"] = req["segs"] + [rng.choice(["", "x", "..", "1"])] * rng.randint(1, 3)


def m_jsonpath(rng, req, c):
    col = _col(rng, c)
    path = "".join(rng.choice(["->", "->>"]) + rng.choice(["a", "0", "-1", "99999999999999999999", "'x'", "", "a b"])
                   for _ in range(rng.choice([1, 2, 3, 50, 500])))
    req["query"].append((_b(col + path), _b(rng.choice(["eq.1", "is.null", "like.*a*", "in.(1,2)", "cs.{1}"]))))


def _set_header(req, name, value, append=False):
    if not append:
        req["headers"] = [(k, v) for k, v in req["headers"] if k.lower() != name.lower()]
    req["headers"].append((name, value))


def m_prefer(rng, req, c):
    n = rng.choice([1, 1, 2, 3, 30])
    _set_header(req, "Prefer", ", ".join(rng.choice(PREFER) for _ in range(n)), append=rng.random() < 0.2)


def m_accept(rng, req, c):
    n = rng.choice([1, 1, 1, 2, 200])
    _set_header(req, "Accept", ", ".join(rng.choice(ACCEPT) for _ in range(n)))


def m_range(rng, req, c):
    _set_header(req, "Range", rng.choice(RANGES))
    if rng.random() < 0.7:
        _set_header(req, "Range-Unit", rng.choice(["items", "bytes", "", "ítems"]))


def m_profile(rng, req, c):
    _set_header(req, rng.choice(["Accept-Profile", "Content-Profile"]), rng.choice(PROFILES))


def mangle_token(rng, c):
    secret = common.SPEC_SECRET
    role = rng.choice(["postgrest_test_author", "postgrest_test_superuser", "postgrest_test_anonymous", "nonexistent",
                       "", None, 1, {"a": 1}, ["x"], "a\"b", "x" * 300])
    claims = {"role": role, "id": rng.choice(["1", "2", "3", 1])}
    r = rng.random()
    if r < 0.15 and c.tokens:
        return rng.choice(c.tokens)
    if r < 0.3:
        claims["exp"] = rng.choice([0, 1, 9999999999, -1, "soon", 1e300, None])
        return "Bearer " + common.jwt_hs(claims, secret)
    if r < 0.45:
        tok = common.jwt_hs(claims, secret)
        i = rng.randrange(len(tok))
        tok = tok[:i] + rng.choice("AaZz09-_.=+/ ") + tok[i + 1:]
        return "Bearer " + tok
    if r < 0.55:
        return "Bearer " + common.jwt_hs(claims, secret, header={"alg": rng.choice(["none", "None", "HS512", "RS256",
                                                                                  "ES256", "", None])})
    if r < 0.65:
        return "Bearer " + common.b64url('{"alg":"none"}') + "." + common.b64url(json.dumps(claims)) + "."
    if r < 0.75:
        return rng.choice(["Bearer", "Bearer ", "bearer x.y.z", "Basic dXNlcjpwYXNz", "Bearer a.b", "Bearer ....",
                           "Bearer " + "A" * 20000, "Bearer é.é.é", "Bearer " + ".".join(["eyJ"] * 50)])
    if r < 0.85:
        return "Bearer " + common.jwt_hs(claims, rng.choice(["wrong", "", secret + "x"]))
    tok = common.jwt_hs(claims, secret)
    return "Bearer " + rng.choice([tok[:-rng.randint(1, 40)], tok + "AAAA", tok.replace(".", "..", 1),
                                   tok.split(".", 1)[1], tok + "." + tok])


def m_auth(rng, req, c):
    _set_header(req, "Authorization", mangle_token(rng, c))


def m_ctype(rng, req, c):
    _set_header(req, "Content-Type", rng.choice(CTYPES))


def m_header_junk(rng, req, c):
    r = rng.random()
    if r < 0.4:
        req["headers"].append((rng.choice(["X-Junk", "Origin", "Cookie", "Accept-Encoding", "Range-Unit", "Expect"]),
                               rng.choice(["", "x" * 5000, "é", "null", "100-continue", "gzip, br", "*"])))
    elif r < 0.7:
        req["headers"].append(("X-Big", "y" * rng.choice([10000, 60000, 140000])))
    else:
        req["headers"].append((rng.choice(["X Bad", "X:Bad", "Ä", "X\tY"]), "1"))


def m_method(rng, req, c):
    req["method"] = rng.choice(METHODS)


def _mutate_json(rng, v, depth=0):
    if depth > 20:
        return v
    if isinstance(v, dict) and v and rng.random() < 0.7:
        k = rng.choice(list(v))
        v[k] = _mutate_json(rng, v[k], depth + 1) if rng.random() < 0.5 else _json_atom(rng)
        if rng.random() < 0.2:
            v[rng.choice(["", "x", "a b", "é", "\"", "id", k + "_"])] = _json_atom(rng)
        return v
    if isinstance(v, list) and v and rng.random() < 0.7:
        i = rng.randrange(len(v))
        v[i] = _mutate_json(rng, v[i], depth + 1)
        if rng.random() < 0.1:
            v = v * rng.choice([2, 100])
        return v
    return _json_atom(rng)


def _json_atom(rng):
    return rng.choice([None, True, False, 0, -1, 1.5, 10 ** 30, "", "x", "é", "\u0000", "2020-01-01", [], {},
                       [1, "a"], {"a": None}, "x" * 1000, 1e308, "{}", "[1,2]"])


def m_body_json(rng, req, c):
    src = req["body"] if req["body"] and req["body"][:1] in (b"{", b"[") else (
        rng.choice(c.bodies) if c.bodies else b"{}")
    try:
        v = json.loads(src)
    except (ValueError, RecursionError):
        v = {}
    v = _mutate_json(rng, v)
    body = json.dumps(v).encode("utf-8")
    if rng.random() < 0.2 and len(body) < 20000:   # m_body_big is the one that tries the size limit
        body = json.dumps([v] * rng.choice([1, 2, 10, 1000])).encode("utf-8")
    req["body"] = body
    if rng.random() < 0.5:
        _set_header(req, "Content-Type", "application/json")


def m_body_raw_json(rng, req, c):
    """Texts a JSON serializer would not produce: deep nesting, huge numbers, duplicate keys, escapes, truncation."""
    r = rng.random()
    if r < 0.25:
        n = rng.choice([10, 100, 1000, 10000, 100000])
        o, cl = rng.choice([("[", "]"), ('{"a":', "}")])
        body = o * n + "1" + cl * (n if rng.random() < 0.8 else n // 2)
    elif r < 0.45:
        num = rng.choice(["1e999999", "-1e-999999", "1" * 20000, "0." + "1" * 5000, "1E+2147483648", "-0", "01",
                          "1.", ".5", "NaN", "Infinity", "0x1F", "123456789012345678901234567890"])
        body = '{"%s": %s}' % (_col(rng, c), num) if rng.random() < 0.7 else "[%s]" % num
    elif r < 0.6:
        k = _col(rng, c)
        body = '{"%s": 1, "%s": "x", "%s": null}' % (k, k, k)
    elif r < 0.8:
        body = '{"%s": "%s"}' % (_col(rng, c), rng.choice(["\\ud800", "\\udfff\\ud800", "\\u0000", "\\x41", "\\",
                                                          "\\u00", "\\uZZZZ", "\t", "\\/"]))
    else:
        src = rng.choice(c.bodies).decode("utf-8", "replace") if c.bodies else '{"a":1}'
        body = src[:rng.randrange(max(1, len(src)))]
    req["body"] = body.encode("utf-8")
    _set_header(req, "Content-Type", rng.choice(["application/json", "application/json", "text/csv", "text/plain"]))


def m_body_bytes(rng, req, c):
    body = bytearray(req["body"] or b'{"a":"b"}')
    for _ in range(rng.randint(1, 5)):
        pos = rng.randrange(len(body) + 1)
        body[pos:pos] = rng.choice([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xc0\xaf", b"\x00", b"\xe2\x82",
                                    b"\xf4\x90\x80\x80", b"\r", b"\"", b"\\"])
    req["body"] = bytes(body)


def m_body_csv(rng, req, c):
    cols = [_col(rng, c) for _ in range(rng.choice([1, 2, 3, 200]))]
    lines = [",".join(rng.choice([x, '"%s"' % x, '"a""b"', "", '"unterminated']) for x in cols)]
    for _ in range(rng.choice([0, 1, 2, 5, 1000])):
        lines.append(",".join(rng.choice(["1", "", "NULL", '"x,y"', "é", '"', "\\N", "1e999", "\x00"])
                              for _ in range(len(cols) + rng.choice([0, 0, 0, 1, -1]))))
    sep = rng.choice(["\n", "\r\n", "\r"])
    req["body"] = sep.join(lines).encode("utf-8", "surrogatepass")
    _set_header(req, "Content-Type", "text/csv")


def m_body_form(rng, req, c):
    parts = ["%s=%s" % (_col(rng, c), rng.choice(["1", "", "%zz", "%ff", "a+b", "é", "%00", "x" * 1000]))
             for _ in range(rng.choice([1, 2, 5, 500]))]
    req["body"] = "&".join(parts).encode("utf-8")
    _set_header(req, "Content-Type", "application/x-www-form-urlencoded")


def m_body_big(rng, req, c):
    """Rare: a body around the 10 MiB limit (413 above it)."""
    size = rng.choice([1 << 20, 10 * (1 << 20) - 100, 10 * (1 << 20) + 100])
    row = b'{"id":1,"name":"%s"},' % (b"x" * 80)
    body = b"[" + row * (size // len(row)) + b'{"id":2}]'
    req["body"] = body
    req["method"] = rng.choice(["POST", "PATCH", "PUT"])
    _set_header(req, "Content-Type", "application/json")


def m_encoding(rng, req, c):
    req["encoding"] = rng.choice(["percent_all", "raw", "double", "invalid", "nonascii", "nul", "space"])


MUTATORS = [(m_op, 8), (m_value, 10), (m_inlist, 3), (m_logic, 4), (m_select, 8), (m_order, 3), (m_limit, 2),
            (m_params, 4), (m_special, 2), (m_path, 5), (m_jsonpath, 3), (m_prefer, 6), (m_accept, 5), (m_range, 3),
            (m_profile, 3), (m_auth, 5), (m_ctype, 3), (m_header_junk, 2), (m_method, 3), (m_body_json, 5),
            (m_body_raw_json, 4), (m_body_bytes, 2), (m_body_csv, 2), (m_body_form, 1), (m_encoding, 4), (m_body_big, 1)]
_MUT_FNS = [m for m, _ in MUTATORS]
_MUT_WEIGHTS = [w for _, w in MUTATORS]


def generate(corpus, seed, index):
    rng = random.Random("%d:%d" % (seed, index))
    s = rng.choice(corpus.seeds)
    req = {"method": s["method"], "segs": list(s["segs"]), "query": list(s["query"]), "headers": list(s["headers"]),
           "body": s["body"], "encoding": None, "mutations": []}
    n = 1
    while n < 6 and rng.random() < 0.5:
        n += 1
    for _ in range(n):
        m = rng.choices(_MUT_FNS, _MUT_WEIGHTS)[0]
        if m is m_body_big and rng.random() > 0.02:
            m = m_body_json
        m(rng, req, corpus)
        req["mutations"].append(m.__name__[2:])
    req["target"] = render_target(corpus, req, rng)
    return req


_UNRESERVED = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def _enc(b, safe=b""):
    return "".join(chr(x) if x in _UNRESERVED or x in safe else "%%%02X" % x for x in b)


def render_target(corpus, req, rng):
    mode = req.get("encoding")
    segs = [_b(s) for s in req["segs"]]
    path = "".join("/" + _enc(s, b":@&=+$,") for s in segs) or "/"
    q = "&".join(_enc(k) + ("" if v is None else "=" + _enc(v)) for k, v in req["query"])
    target = (path + ("?" + q if q else "")).encode("ascii")
    if mode == "percent_all":
        target = b"/" + "".join("%%%02X" % x for x in target[1:]).encode()
    elif mode == "raw":       # the decoded text as it is: spaces, quotes, non-ASCII bytes
        raw_q = b"&".join(k + (b"" if v is None else b"=" + v) for k, v in req["query"])
        target = b"/" + b"/".join(segs) + (b"?" + raw_q if raw_q else b"")
    elif mode == "double":
        target = target.replace(b"%", b"%25")
    elif mode == "invalid":
        pos = rng.randrange(len(target) + 1)
        target = target[:pos] + rng.choice([b"%", b"%z", b"%zz", b"%ff%fe", b"%c0%af", b"%ed%a0%80", b"%2F"]) + target[pos:]
    elif mode == "nonascii":
        pos = rng.randrange(1, len(target) + 1)
        target = target[:pos] + rng.choice([b"\xc3\xa9", b"\xff", b"\x80"]) + target[pos:]
    elif mode == "nul":
        pos = rng.randrange(1, len(target) + 1)
        target = target[:pos] + rng.choice([b"%00", b"\x00", b"\x01", b"\x7f"]) + target[pos:]
    elif mode == "space":
        pos = rng.randrange(1, len(target) + 1)
        target = target[:pos] + rng.choice([b" ", b"\t", b"#", b"%20"]) + target[pos:]
    return target


def shown(small):
    return describe(small) if small else "(does not fail when sent alone: it depends on the requests before it)"


def describe(req):
    body = req["body"]
    if body is not None and len(body) > 300:
        body = body[:300] + b"... (%d bytes)" % len(req["body"])
    target = req["target"]
    if len(target) > 600:
        target = target[:600] + b"... (%d bytes)" % len(req["target"])
    hdrs = [(k, (v if len(v) < 200 else v[:200] + "... (%d chars)" % len(v))) for k, v in req["headers"]]
    return "%s %r\n      headers: %r\n      body: %r\n      mutations: %s" % (
        req["method"], target, hdrs, body, ",".join(req.get("mutations", [])))


# ---------------------------------------------------------------------------------------------------------------------
# oracle
# ---------------------------------------------------------------------------------------------------------------------

# PostgREST's SQLSTATE -> HTTP status table (Error.hs, pgErrorStatus), the entries that give a 5xx. A database error
# answered with exactly the status PostgREST gives it is PostgREST-compatible: counted and listed, not failed.
PG_5XX_EXACT = {"21000": 500, "53400": 500, "57P01": 503, "42P17": 500}
PG_5XX_CLASSES = {"08": 503, "09": 500, "25": 500, "2D": 500, "38": 500, "39": 500, "3B": 500, "40": 500, "53": 503,
                  "54": 500, "55": 500, "57": 500, "58": 500, "F0": 500, "HV": 500, "P0": 500, "XX": 500}
MAX_BODY = 10 * (1 << 20)   # server-max-body-size's default


def postgrest_5xx(code, message):
    """The 5xx status PostgREST answers a PostgreSQL error with, or None."""
    if not isinstance(code, str) or len(code) != 5 or code.startswith("PGRST"):
        return None
    if code.startswith("PT"):
        return int(code[2:]) if code[2:].isdigit() and int(code[2:]) >= 500 else None
    if code == "21000" and str(message).endswith("requires a WHERE clause"):
        return None
    if code == "P0001":
        return None
    return PG_5XX_EXACT.get(code) or PG_5XX_CLASSES.get(code[:2])


def judge(corpus, req, outcome):
    """(kind, detail, signature), or None when all is well. Kinds: 5xx, slow, no-response, error-shape (failures);
    internal (a 500 PGRSTX00: the check comes from the server log); ok-* (accepted, counted and listed)."""
    if isinstance(outcome, common.HttpFailure):
        if not outcome.sent and req["body"] and len(req["body"]) > MAX_BODY:
            # The server refuses a body over the limit (413) and closes; TCP may reset before we read the answer.
            return ("ok-body-over-limit-reset", "", "reset")
        return ("no-response", "%s: %s" % (outcome.kind, outcome), outcome.kind)
    r = outcome
    resource = "/".join(s for s in req["segs"] if s)
    if r.elapsed > SLOW_BOUND_S:
        return ("slow", "%.1f s (bound %.0f s), status %d" % (r.elapsed, SLOW_BOUND_S, r.status),
                "%s /%s" % (req["method"], resource[:40]))
    if r.status >= 500:
        j = common.json_body(r)
        code = j.get("code") if isinstance(j, dict) else None
        shaped = common.error_shape_problem(r, req["method"]) is None
        if code == "PGRSTX00" or (req["method"] == "HEAD" and r.status == 500):
            # An unexpected exception (HEAD has no body to tell, the server log does).
            return ("internal", "%d %r" % (r.status, r.body[:300]), "PGRSTX00")
        if shaped and resource in corpus.expected_5xx:
            return ("ok-fixture-5xx", "", "%s %s" % (code, resource))
        if shaped and postgrest_5xx(code, j.get("message")) == r.status:
            return ("ok-postgrest-5xx", "", str(code))
        return ("5xx", "%d %r" % (r.status, r.body[:300]), "%d %s" % (r.status, code))
    if r.status in PROTOCOL_STATUSES and not r.body:
        return None
    problem = common.error_shape_problem(r, req["method"])
    if problem and resource in corpus.custom_error_bodies:
        return ("ok-custom-error-body", "", resource)
    if problem:
        return ("error-shape", "%d: %s" % (r.status, problem), "%d %s" % (r.status, problem.split(":")[0]))
    return None


def send(conn, req, timeout=SLOW_BOUND_S * 3):
    try:
        return conn.request(req["method"], req["target"], req["headers"], req["body"], timeout=timeout)
    except common.HttpFailure as e:
        return e


def shrink(corpus, port, req, kind, budget=150):
    """A smaller request that still fails the same way: drop headers, query items, path segments, body parts."""
    conn = common.Conn(port)
    rng = random.Random(0)

    def still_fails(cand):
        cand["target"] = render_target(corpus, cand, rng)
        out = judge(corpus, cand, send(conn, cand))
        return out is not None and out[0] == kind

    if not still_fails(dict(req)):
        conn.close()
        return None   # the failure depends on earlier requests (server or database state)
    best = dict(req)
    tries = 0
    changed = True
    while changed and tries < budget:
        changed = False
        for field in ("headers", "query"):
            i = 0
            while i < len(best[field]) and tries < budget:
                cand = dict(best)
                cand[field] = best[field][:i] + best[field][i + 1:]
                tries += 1
                if still_fails(cand):
                    best, changed = cand, True
                else:
                    i += 1
        if best["body"] and tries < budget:
            for cut in (0, len(best["body"]) // 2):
                cand = dict(best)
                cand["body"] = best["body"][:cut] if cut else None
                tries += 1
                if still_fails(cand):
                    best, changed = cand, True
                    break
        if best.get("encoding") and tries < budget:
            cand = dict(best, encoding=None)
            tries += 1
            if still_fails(cand):
                best, changed = cand, True
    conn.close()
    best["target"] = render_target(corpus, best, rng)
    return best


# ---------------------------------------------------------------------------------------------------------------------
# the part
# ---------------------------------------------------------------------------------------------------------------------

def report_internal_errors(res, server, corpus, seed, internal):
    """A reproduction for each distinct exception in the server log (the checks themselves are made when the server
    stops: common.check_internal_errors)."""
    errors = common.internal_errors(server.logpath)
    x00 = [i for i, _d, _sig in internal]
    res.check("fuzz.every-pgrstx00-is-logged", bool(errors) or not x00,
              "%d PGRSTX00 responses but no 'Internal error' line in the server log" % len(x00))
    for n, (sig, where) in enumerate(errors.items()):
        # The first failing request on one of those paths, shrunk, as the reproduction.
        for i in x00:
            req = generate(corpus, seed, i)
            if any(("/" + "/".join(req["segs"])) == p and req["method"] == m for m, p in where) and n < 8 and server.alive():
                small = shrink(corpus, server.port, req, "internal")
                res.finding("    %s: seed %d, request #%d (replay: tests/reliability/run.sh --only fuzz --seed %d "
                            "--fuzz-replay %d)\n      minimal request: %s"
                            % (common.internal_error_check("fuzz", sig), seed, i, seed, i, shown(small)))
                break


def check_error_then_success(res, server):
    """What the fuzzer first found as random 500s, as a deterministic check: a request whose statement fails in
    PostgreSQL (here 22P02, invalid input for an integer: a 400) must not break the request that uses the same pooled
    connection next. Sequential requests reuse the most recently returned connection."""
    conn = common.Conn(server.port)
    statuses = []
    for target in ["/items?id=eq.1", "/items?id=eq.abc"] + ["/items?id=eq.1"] * 12:
        out = send(conn, {"method": "GET", "target": target, "headers": [], "body": None})
        statuses.append(out.status if isinstance(out, common.Response) else out.kind)
    conn.close()
    res.check("fuzz.a-failed-statement-does-not-break-the-next-request", statuses[1] == 400 and
              all(x == 200 for x in statuses[2:]),
              "GET /items?id=eq.1, then id=eq.abc, then id=eq.1 x12: %s" % statuses)


def run(ctx):
    res, args = ctx.results, ctx.args
    corpus = Corpus(ctx.conf)
    total = args.fuzz_requests or (100000 if args.mode == "full" else 10000)
    seed = args.seed
    print("fuzz: seed %d, %d requests, %d seeds from the corpus" % (seed, total, len(corpus.seeds)), flush=True)
    server = ctx.start_server("fuzz")
    if args.fuzz_replay is not None:
        req = generate(corpus, seed, args.fuzz_replay)
        out = send(common.Conn(server.port), req)
        print("request %d:\n      %s" % (args.fuzz_replay, describe(req)))
        print("response: %s" % (out if isinstance(out, common.HttpFailure) else
                                "%d %r" % (out.status, out.body[:2000])))
        verdict = judge(corpus, req, out)
        print("verdict: %s" % ("ok" if verdict is None else "%s %s" % (verdict[0], verdict[1])))
        ctx.stop_server(server)
        return

    check_error_then_success(res, server)
    # Warm-up with the unmutated seeds (every one once), then the baseline RSS.
    conn = common.Conn(server.port)
    for s in corpus.seeds[:400]:
        req = dict(s, encoding=None)
        req["target"] = render_target(corpus, req, None)
        send(conn, req)
    conn.close()
    time.sleep(1)
    rss_base = server.rss_mb()
    fds_base = server.fds()

    failures = {}          # kind -> list of (index, detail)
    stats = {"statuses": {}, "protocol": 0, "accepted": {}, "slowest": 0.0, "sent": 0, "resent": 0}
    lock = threading.Lock()
    rss_peak = [rss_base]
    stop = threading.Event()
    workers = args.fuzz_workers
    deadline = time.time() + (args.fuzz_max_seconds or (1500 if args.mode == "full" else 60))

    def sampler():
        while not stop.wait(1.0):
            if server.alive():
                rss_peak[0] = max(rss_peak[0], server.rss_mb())

    def worker(k):
        conn = common.Conn(server.port)
        for i in range(k, total, workers):
            if time.time() > deadline:
                break
            try:
                req = generate(corpus, seed, i)
            except Exception as e:   # a bug in a mutator: report it, do not lose the worker
                with lock:
                    failures.setdefault("generator", []).append((i, repr(e), type(e).__name__))
                continue
            out = send(conn, req)
            verdict = judge(corpus, req, out)
            with lock:
                stats["sent"] += 1
                if isinstance(out, common.Response):
                    stats["statuses"][out.status] = stats["statuses"].get(out.status, 0) + 1
                    stats["slowest"] = max(stats["slowest"], out.elapsed)
                    if out.status in PROTOCOL_STATUSES and not out.body:
                        stats["protocol"] += 1
                if verdict and verdict[0].startswith("ok-"):
                    kinds = stats["accepted"].setdefault(verdict[0][3:], {})
                    kinds[verdict[2]] = kinds.get(verdict[2], 0) + 1
                elif verdict:
                    failures.setdefault(verdict[0], []).append((i, verdict[1], verdict[2]))
            if verdict and verdict[0] == "no-response" and not server.alive():
                break
        with lock:
            stats["resent"] += conn.retries
        conn.close()

    t0 = time.time()
    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(workers)]
    samp = threading.Thread(target=sampler, daemon=True)
    samp.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    elapsed = time.time() - t0
    alive = server.alive()
    time.sleep(3)   # idle: let the GC and the pool settle
    rss_after = server.rss_mb() if alive else 0.0
    fds_after = server.fds() if alive else 0

    res.figure("fuzz", "seed", seed)
    res.figure("fuzz", "requests", stats["sent"])
    res.figure("fuzz", "seconds", round(elapsed, 1))
    res.figure("fuzz", "statuses", dict(sorted(stats["statuses"].items())))
    res.figure("fuzz", "protocol_rejections_without_body", stats["protocol"])
    # Accepted, and listed so that nothing is hidden: 5xx the fixture is built to raise, database errors PostgREST
    # also answers with a 5xx, functions' own error bodies, bodies over the limit refused with a reset.
    for category, sigs in sorted(stats["accepted"].items()):
        res.figure("fuzz", "accepted_" + category.replace("-", "_"), dict(sorted(sigs.items(), key=lambda kv: -kv[1])))
    res.figure("fuzz", "resent_after_server_closed_keepalive", stats["resent"])
    res.figure("fuzz", "slowest_s", round(stats["slowest"], 2))
    res.figure("fuzz", "rss_mb", "baseline %.0f, peak %.0f, after %.0f" % (rss_base, rss_peak[0], rss_after))
    res.figure("fuzz", "fds", "baseline %d, after %d" % (fds_base, fds_after))

    res.check("fuzz.all-requests-sent", stats["sent"] == total,
              "%d of %d sent before the time cap" % (stats["sent"], total))
    for kind, label in (("generator", "generator-works"), ("5xx", "no-5xx"), ("slow", "no-response-slower-than-5s"),
                        ("no-response", "every-request-answered"), ("error-shape", "error-bodies-in-postgrest-shape")):
        got = failures.get(kind, [])
        if not got:
            res.check("fuzz." + label, True)
            continue
        # One check per distinct failure (signature), so that a known one (known-failures.txt) cannot hide a new one.
        by_sig = {}
        for i, detail, sig in got:
            by_sig.setdefault(sig, []).append((i, detail))
        for n, (sig, items) in enumerate(sorted(by_sig.items())):
            i, d = items[0]
            name = "fuzz.%s[%s]" % (label, re.sub(r"[^A-Za-z0-9_./-]+", "-", sig)[:80])
            res.check(name, False, "%d request(s); first: #%d %s" % (len(items), i, d))
            if n < 8 and server.alive():
                small = shrink(corpus, server.port, generate(corpus, seed, i), kind)
                res.finding("    %s: seed %d, request #%d (replay: tests/reliability/run.sh --only fuzz --seed %d "
                            "--fuzz-replay %d)\n      minimal request: %s\n      others: %s"
                            % (name, seed, i, seed, i, shown(small), ", ".join("#%d" % j for j, _ in items[1:11])))
    report_internal_errors(res, server, corpus, seed, failures.get("internal", []))
    res.check("fuzz.process-alive", alive, "" if alive else "exit code %s; log %s" % (server.proc.poll(), server.logpath))
    rss_bound = max(rss_base * 1.5, rss_base + 100)
    res.check("fuzz.rss-back-near-baseline", alive and rss_after <= rss_bound,
              "after %.0f MB, baseline %.0f MB, bound %.0f MB" % (rss_after, rss_base, rss_bound))
    res.check("fuzz.fds-back-near-baseline", alive and fds_after <= fds_base + 20,
              "after %d, baseline %d" % (fds_after, fds_base))
    ctx.stop_server(server)
