"""Part 3: the injection corpus.

Classic payloads (quotes, ';', comments, dollar quotes, backslashes, NUL, look-alike unicode, stacked statements that
would call nextval on a canary sequence, drop a canary table, create a table or sleep) in every position a client
controls: filter values and operators' arguments, column and relation names, JSON paths, casts, aliases, order,
on_conflict, columns, RPC argument names and values, body keys, Prefer, profiles, Content-Type and Accept
parameters, Range, limit/offset, logic trees, embeds and hints, JWT claims (the role and others), plain headers.

Each payload carries a marker (rginjN). With log_statement = all, every statement PostgreSQL ran is lexed: once string
literals, dollar-quoted strings and quoted identifiers are removed, no marker may remain (so no payload text is ever
SQL). Parameters ($n, logged separately) are where payloads belong. Side effects must not happen either: the canary
sequence was never advanced, the canary table still holds its row, no table named rginj* exists. The server runs with
db-tx-end = commit, so that an injected statement would not be rolled back with the request.
"""
import json
import re
import time

import common

SEQ = "reliability.canary_seq"
TEMPLATES = [
    "{m}'", '{m}"', "{m}\\", "{m}\\'", "{m}''", '{m}""', "{m};", "{m}--", "{m}/*", "{m}*/", "{m}$$", "$x${m}",
    "{m}\x00x", "{m}`",
    "x'; select nextval('%s') {m}; --" % SEQ,
    "x\"; select nextval('%s') {m}; --" % SEQ,
    "x'); select nextval('%s') {m}; --" % SEQ,
    "x\")); select nextval('%s') {m}; --" % SEQ,
    "x')); select nextval('%s') {m}; --" % SEQ,
    "$$; select nextval('%s') {m}; $$" % SEQ,
    "$q$; select nextval('%s') {m}; $q$" % SEQ,
    "x\\'; select nextval('%s') {m}; --" % SEQ,
    "E'\\x27; select nextval('%s') {m}; --" % SEQ,
    "x\u02bc; select nextval('%s') {m}; --" % SEQ,        # modifier letter apostrophe
    "x\uff07; select nextval('%s') {m}; --" % SEQ,        # fullwidth apostrophe
    "x' or '{m}'='{m}",
    "1 or 1=1 {m}",
    "1); drop table reliability.canary; select 1 {m} --",
    "x'; drop table reliability.canary; select 1 {m}; --",
    "x\"; create table {m}(i int); --",
    "x'; create table {m}(i int); --",
    "x'::text || pg_sleep(3)::text || '{m}",
    "(select nextval('%s') {m})" % SEQ,
    "nextval('%s') {m}" % SEQ,
    "1)::int, nextval('%s') {m}--" % SEQ,
    "x*/ select nextval('%s') {m} /*" % SEQ,
    "{m}\u2028x", "{m}\U0001F600",
]


def payloads():
    return [(i, "rginj%d" % i, t.format(m="rginj%d" % i)) for i, t in enumerate(TEMPLATES)]


def enc(s):
    return "".join(chr(b) if chr(b).isalnum() or chr(b) in "-_.~" else "%%%02X" % b for b in s.encode("utf-8"))


def header_safe(p):
    return "\r" not in p and "\n" not in p


# position -> function(payload) returning (method, target, headers, body)
def positions():
    js = json.dumps
    ct = [("Content-Type", "application/json")]

    def get(target, headers=()):
        return ("GET", target, list(headers), None)

    def token(claims):
        return [("Authorization", "Bearer " + common.jwt_hs(claims))]

    return {
        "filter-eq-value": lambda p: get("/complex_items?name=eq." + enc(p)),
        "filter-like-value": lambda p: get("/complex_items?name=like." + enc(p)),
        "filter-in-value": lambda p: get("/complex_items?name=in.(" + enc(p) + ",%22" + enc(p) + "%22)"),
        "filter-cs-array-value": lambda p: get("/complex_items?arr_data=cs.{" + enc(p) + "}"),
        "filter-fts-value": lambda p: get("/tsearch?text_search_vector=fts." + enc(p)),
        "filter-fts-language": lambda p: get("/tsearch?text_search_vector=fts(" + enc(p) + ").x"),
        "filter-is-value": lambda p: get("/complex_items?name=is." + enc(p)),
        "filter-column": lambda p: get("/complex_items?" + enc(p) + "=eq.1"),
        "filter-json-path-arrow": lambda p: get("/complex_items?settings->" + enc(p) + "=eq.1"),
        "filter-json-path-double-arrow": lambda p: get("/complex_items?settings->>" + enc(p) + "=eq.1"),
        "filter-json-path-quoted": lambda p: get("/complex_items?settings->'" + enc(p) + "'=eq.1"),
        "logic-tree-value": lambda p: get("/complex_items?or=(name.eq." + enc(p) + ",id.eq.1)"),
        "logic-tree-quoted-value": lambda p: get("/complex_items?or=(name.eq.%22" + enc(p) + "%22,id.eq.1)"),
        "logic-tree-column": lambda p: get("/complex_items?and=(" + enc(p) + ".eq.1)"),
        "select-column": lambda p: get("/complex_items?select=" + enc(p)),
        "select-alias": lambda p: get("/complex_items?select=" + enc(p) + ":name"),
        "select-cast": lambda p: get("/complex_items?select=name::" + enc(p)),
        "select-json-path": lambda p: get("/complex_items?select=settings->" + enc(p)),
        "select-json-path-text": lambda p: get("/complex_items?select=settings->>" + enc(p)),
        "select-embed": lambda p: get("/clients?select=*," + enc(p) + "(*)"),
        "select-embed-hint": lambda p: get("/projects?select=*,clients!" + enc(p) + "(*)"),
        "order-column": lambda p: get("/complex_items?order=" + enc(p)),
        "order-direction": lambda p: get("/complex_items?order=name." + enc(p)),
        "order-json-path": lambda p: get("/complex_items?order=settings->>" + enc(p)),
        "embedded-filter": lambda p: get("/clients?select=*,projects(*)&projects.name=eq." + enc(p)),
        "limit": lambda p: get("/complex_items?limit=" + enc(p)),
        "offset": lambda p: get("/complex_items?offset=" + enc(p)),
        "relation-name": lambda p: get("/" + enc(p)),
        "relation-name-with-schema": lambda p: get("/test." + enc(p)),
        "rpc-function-name": lambda p: get("/rpc/" + enc(p)),
        "rpc-arg-name-get": lambda p: get("/rpc/sayhello?" + enc(p) + "=x"),
        "rpc-arg-value-get": lambda p: get("/rpc/sayhello?name=" + enc(p)),
        "rpc-arg-value-post": lambda p: ("POST", "/rpc/sayhello", ct, js({"name": p}).encode()),
        "rpc-arg-name-post": lambda p: ("POST", "/rpc/sayhello", ct, js({p: "x"}).encode()),
        "insert-body-key": lambda p: ("POST", "/complex_items", ct + [("Prefer", "tx=rollback")],
                                      js({"id": 9001, p: 1}).encode()),
        "insert-body-value": lambda p: ("POST", "/complex_items", ct, js({"id": 9002, "name": p}).encode()),
        "insert-columns": lambda p: ("POST", "/complex_items?columns=id," + enc(p), ct,
                                     js({"id": 9003, p: 1}).encode()),
        "insert-on-conflict": lambda p: ("POST", "/complex_items?on_conflict=" + enc(p),
                                         ct + [("Prefer", "resolution=merge-duplicates")],
                                         js({"id": 9004, "name": "n"}).encode()),
        "insert-csv-header": lambda p: ("POST", "/complex_items", [("Content-Type", "text/csv")],
                                        ("id,\"" + p.replace('"', '""') + "\"\n9005,1").encode()),
        "update-filter": lambda p: ("PATCH", "/complex_items?name=eq." + enc(p), ct, js({"name": p}).encode()),
        "delete-filter": lambda p: ("DELETE", "/complex_items?name=eq." + enc(p), [], None),
        "prefer-timezone": lambda p: get("/complex_items", [("Prefer", "timezone=" + p)]),
        "prefer-value": lambda p: get("/complex_items", [("Prefer", "return=" + p + ", count=" + p)]),
        "accept-profile": lambda p: get("/complex_items", [("Accept-Profile", p)]),
        "content-profile": lambda p: ("POST", "/rpc/sayhello", ct + [("Content-Profile", p)], b'{"name":"x"}'),
        "content-type-param": lambda p: ("POST", "/rpc/sayhello", [("Content-Type", "application/json; charset=" + p)],
                                         b'{"name":"x"}'),
        "accept-param": lambda p: get("/complex_items", [("Accept", "application/vnd.pgrst.object+json; nulls=" + p)]),
        "accept-plan-for": lambda p: get("/complex_items", [("Accept", 'application/vnd.pgrst.plan; for="' + p + '"')]),
        "range-header": lambda p: get("/complex_items", [("Range", "0-" + p)]),
        "plain-header": lambda p: get("/rpc/get_guc_value?name=request.headers", [("X-Payload", p)]),
        "cookie": lambda p: get("/complex_items", [("Cookie", "a=" + p)]),
        "jwt-role-claim": lambda p: get("/complex_items", token({"role": p})),
        "jwt-other-claim": lambda p: get("/complex_items", token({"role": "postgrest_test_anonymous", p: p})),
    }


# PostgreSQL's lexer and parser errors (42601 is also used by e.g. to_tsquery for its own input, which is fine).
SQL_SYNTAX_ERROR = re.compile(r"(syntax error at or near|syntax error at end of input|unterminated quoted|"
                              r"unterminated dollar-quoted|zero-length delimited identifier)")

HEADER_POSITIONS = ("prefer-timezone", "prefer-value", "accept-profile", "content-profile", "content-type-param",
                    "accept-param", "accept-plan-for", "range-header", "plain-header", "cookie")


def _quoted_end(sql, i, quote, backslash=False):
    """The index just past the quoted token whose opening quote is at i ('' or "" inside it is an escaped quote)."""
    i += 1
    while i < len(sql):
        if backslash and sql[i] == "\\":
            i += 2
        elif sql[i] == quote and sql[i + 1:i + 2] == quote:
            i += 2
        elif sql[i] == quote:
            return i + 1
        else:
            i += 1
    return len(sql)


def strip_quoted(sql, identifiers=True):
    """The SQL text outside string literals ('..', E'..'), dollar-quoted strings and (unless identifiers=False)
    quoted identifiers ("..")."""
    out = []
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        word_start = i == 0 or not (sql[i - 1].isalnum() or sql[i - 1] == "_")
        if c == "'":
            i = _quoted_end(sql, i, "'")
            out.append(" '' ")
        elif c in "eE" and sql[i + 1:i + 2] == "'" and word_start:
            i = _quoted_end(sql, i + 1, "'", backslash=True)
            out.append(" '' ")
        elif c == '"':
            start, i = i, _quoted_end(sql, i, '"')
            out.append(' "" ' if identifiers else sql[start:i])
        elif c == "$" and word_start and re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$", sql[i:]):
            tag = re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$", sql[i:]).group(0)
            end = sql.find(tag, i + len(tag))
            i = n if end < 0 else end + len(tag)
            out.append(" $$ $$ ")
        else:
            out.append(c)
            i += 1
    return "".join(out)


def run(ctx):
    res, cluster = ctx.results, ctx.cluster
    server = ctx.start_server("inject", {"db-tx-end": "commit"})
    cluster.set_log_statement("all")
    time.sleep(0.3)
    pl = payloads()
    if ctx.args.mode == "quick":
        pl = pl[::2]   # every other payload in every position: half the requests
    markers = re.compile(r"rginj\d+", re.I)
    total = 0
    statuses = {}
    shapes = set()
    in_identifiers = in_literals = 0
    for name, build in positions().items():
        offset = cluster.log_size()
        problems = []
        for _, marker, p in pl:
            if name in HEADER_POSITIONS and not header_safe(p):
                continue
            method, target, headers, body = build(p)
            total += 1
            try:
                r = common.request(server.port, method, target, headers, body, timeout=15)
            except common.HttpFailure as e:
                problems.append("%s: no response (%s)" % (marker, e.kind))
                continue
            statuses[r.status] = statuses.get(r.status, 0) + 1
            if r.status >= 500 and not common.is_internal_error(r):   # those: inject.no-internal-errors[...]
                problems.append("%s: %d %r" % (marker, r.status, r.body[:150]))
            if r.elapsed > 2.5:
                problems.append("%s: %.1f s (a pg_sleep ran?)" % (marker, r.elapsed))
        time.sleep(0.02)   # PostgreSQL logs a statement before running it: the lines are there once the answer is
        for sev, state, text in common.split_pg_log(cluster.log_since(offset)):
            m = re.match(r"(?:statement|execute [^:]*): (.*)", text, re.S)
            if sev == "LOG" and m:
                sql = m.group(1)
                bare = strip_quoted(sql)
                shapes.add(re.sub(r"\s+", " ", bare)[:400])
                if markers.search(sql):
                    if markers.search(strip_quoted(sql, identifiers=False)):
                        in_identifiers += 1
                    else:
                        in_literals += 1
                found = markers.findall(bare)
                if found:
                    problems.append("payload text outside quotes in SQL (%s): %r" % (found[0], sql[:300]))
            elif sev == "ERROR" and SQL_SYNTAX_ERROR.match(text) and markers.search(text):
                problems.append("a payload caused a syntax error: %r" % text[:300])
        res.check("inject.%s" % name, not problems, "; ".join(problems[:3]) + (" (+%d more)" % (len(problems) - 3)
                                                                               if len(problems) > 3 else ""))
    # Control: the same analysis does see a marker that is SQL (run here through psql), so it can fail.
    offset = cluster.log_size()
    cluster.psql("SELECT 1 AS rginj99999, 'rginj99998' AS quoted")
    time.sleep(0.1)
    seen = [markers.findall(strip_quoted(m.group(1))) for sev, _, text in common.split_pg_log(cluster.log_since(offset))
            for m in [re.match(r"(?:statement|execute [^:]*): (.*)", text, re.S)] if sev == "LOG" and m]
    res.check("inject.control.detector-sees-a-marker-in-sql", [["rginj99999"]] == [x for x in seen if x],
              "markers found outside quotes: %s" % seen)
    cluster.set_log_statement("none")
    seq = cluster.psql("SELECT is_called FROM %s" % SEQ)
    res.check("inject.canary-sequence-untouched", seq == "f", "canary_seq.is_called = %s" % seq)
    rows = cluster.psql("SELECT coalesce(string_agg(note, ','), '<none>') FROM reliability.canary")
    res.check("inject.canary-table-intact", rows == "intact", "reliability.canary holds %r" % rows)
    made = cluster.psql("SELECT coalesce(string_agg(relname, ','), '') FROM pg_class WHERE relname ILIKE 'rginj%'")
    res.check("inject.no-table-created", made == "", "tables: %s" % made)
    res.check("inject.server-alive", server.alive())
    res.figure("inject", "requests", total)
    res.figure("inject", "positions", len(positions()))
    res.figure("inject", "payloads", len(pl))
    res.figure("inject", "statuses", dict(sorted(statuses.items())))
    res.figure("inject", "statement_shapes", len(shapes))
    res.figure("inject", "statements_with_payload_in_a_quoted_identifier", in_identifiers)
    res.figure("inject", "statements_with_payload_in_a_string_literal", in_literals)
