"""Part 2: the JWT attack corpus.

Two servers on the fixture database: the spec's HMAC secret with jwt-aud = youraudience ("hs"), and a JWKS holding the
public half of a test RSA key ("jwks", for HS/RS confusion). Every attack is sent as GET /authors_only, which the
anonymous role may not read (401 42501) and postgrest_test_author may (200).

Checks per attack: the status and error code PostgREST documents (PGRST301 undecodable/unverifiable, PGRST303 invalid
claims, both 401; a role that does not exist is PostgreSQL's 22023, 400; a token too large for the header limit is
the protocol's 431), and what reached PostgreSQL, read from its log (log_statement = all): nothing at all for a token
refused by the server, and otherwise no statement with a role other than the anonymous one. After all attacks,
pg_stat_statements must show no statement run by a non-anonymous role; the positive controls that follow (valid
tokens) must then show one, which proves that the detector can see an escalation.
"""
import json
import re
import time

import common

AUD = "youraudience"
ANON = "postgrest_test_anonymous"
PRIVILEGED = ("postgrest_test_author", "postgrest_test_default_role", "postgrest_test_superuser")
TARGET = "/authors_only"


def attacks(key, attacker, jwks_text):
    """(name, server, Authorization header value, expected statuses, expected codes or None, reaches_db)."""
    now = int(time.time())
    esc = {"role": "postgrest_test_superuser", "id": "1", "aud": AUD, "exp": now + 3600}   # id=1: switch_role -> author
    hs = common.jwt_hs
    b64 = common.b64url
    good_hs = hs(esc)
    h, p, sig = good_hs.split(".")

    def unsigned(alg):
        return b64(json.dumps({"alg": alg, "typ": "JWT"})) + "." + p + "."

    a = []

    def add(name, server, token, status=(401,), codes=("PGRST301",), reaches_db=False, late=False):
        a.append((name, server, "Bearer " + token, status, codes, reaches_db, late))

    for alg in ("none", "None", "NONE", "nOnE"):
        add("alg-%s-empty-signature" % alg, "hs", unsigned(alg))
        add("alg-%s-with-signature" % alg, "hs", unsigned(alg) + sig)
        add("alg-%s-on-jwks" % alg, "jwks", unsigned(alg))
    add("alg-missing", "hs", b64('{"typ":"JWT"}') + "." + p + "." + sig)
    add("alg-empty", "hs", b64('{"alg":""}') + "." + p + "." + sig)
    add("alg-not-a-string", "hs", b64('{"alg":["HS256"]}') + "." + p + "." + sig)
    add("alg-unknown", "hs", b64('{"alg":"HS1"}') + "." + p + "." + sig)
    # HS <-> RS confusion: the verifier must not use a public key (in any encoding) as an HMAC secret.
    public_forms = {
        "pem": key.public_pem(), "pem-no-newline": key.public_pem().strip(), "jwk-json": json.dumps(key.jwk("k1")),
        "jwks-config-text": jwks_text, "modulus-bytes": key.n_bytes(), "modulus-b64url": key.jwk()["n"],
    }
    for form, secret in public_forms.items():
        for alg in ("HS256", "HS384", "HS512"):
            add("hs-signed-with-public-key-%s-%s" % (form, alg), "jwks", hs(esc, secret, alg=alg))
    add("hs-signed-with-kid-of-rsa-key", "jwks", hs(esc, key.public_pem(), header={"alg": "HS256", "kid": "k1"}))
    add("rs256-signed-by-attacker-key", "jwks", attacker.jwt(esc))
    add("rs256-attacker-key-embedded-as-jwk", "jwks", attacker.jwt(esc, {"alg": "RS256", "jwk": attacker.jwk()}))
    add("rs256-attacker-key-via-jku", "jwks", attacker.jwt(esc, {"alg": "RS256", "jku": "http://127.0.0.1:9/jwks.json",
                                                                "kid": "k1"}))
    add("rs256-on-hmac-server", "hs", key.jwt(esc))
    add("es256-garbage-signature", "jwks", b64('{"alg":"ES256"}') + "." + p + "." + b64(b"\x01" * 64))
    add("ps256-garbage-signature", "jwks", b64('{"alg":"PS256"}') + "." + p + "." + b64(b"\x01" * 256))
    add("rs256-signature-of-other-payload", "jwks",
        key.jwt(esc).split(".")[0] + "." + b64(json.dumps(dict(esc, id="2"))) + "." + key.jwt(esc).split(".")[2])
    # kid tricks (the HMAC server has no kid; the JWKS one has k1).
    kids = {"path-traversal": "../../../../dev/null", "sql": "' OR '1'='1", "nul": "k1\u0000", "empty": "",
            "trailing-space": "k1 ", "5000-chars": "x" * 5000}
    for label, kid in kids.items():
        add("kid-%s-hs-empty-secret" % label, "jwks", hs(esc, "", header={"alg": "HS256", "kid": kid}))
        add("kid-%s-rs-attacker-key" % label, "jwks", attacker.jwt(esc, {"alg": "RS256", "kid": kid}))
    add("kid-object", "jwks", key.jwt(esc, {"alg": "RS256", "kid": {"k": "k1"}}))
    add("kid-on-hmac-server-empty-secret", "hs", hs(esc, "", header={"alg": "HS256", "kid": "k1"}))
    # crit: a critical header parameter the verifier does not understand must be refused (RFC 7515 4.1.11). These
    # tokens are validly signed, so accepting them runs SQL as their role: they run after the pg_stat_statements check
    # of the other attacks (late), so that a known failure here cannot hide an escalation there.
    add("crit-unknown-hs", "hs", hs(esc, header={"alg": "HS256", "crit": ["exp2"], "exp2": 1}), late=True)
    add("crit-unknown-rs", "jwks", key.jwt(esc, {"alg": "RS256", "crit": ["x-unknown"], "x-unknown": True}), late=True)
    add("crit-not-array", "hs", hs(esc, header={"alg": "HS256", "crit": "b64"}), late=True)
    # Time claims (PostgREST allows 30 s of clock skew).
    add("expired-beyond-skew", "hs", hs(dict(esc, exp=now - 120)), codes=("PGRST303",))
    add("expired-long-ago", "hs", hs(dict(esc, exp=1)), codes=("PGRST303",))
    add("exp-not-a-number", "hs", hs(dict(esc, exp="9999999999")), codes=("PGRST303",))
    add("nbf-beyond-skew", "hs", hs(dict(esc, nbf=now + 120)), codes=("PGRST303",))
    add("iat-beyond-skew", "hs", hs(dict(esc, iat=now + 120)), codes=("PGRST303",))
    # Audience (jwt-aud = youraudience on the HMAC server).
    add("aud-wrong", "hs", hs(dict(esc, aud="notyouraudience")), codes=("PGRST303",))
    add("aud-wrong-array", "hs", hs(dict(esc, aud=["a", "b"])), codes=("PGRST303",))
    add("aud-empty-string", "hs", hs(dict(esc, aud="")), codes=("PGRST303",))
    add("aud-object", "hs", hs(dict(esc, aud={"aud": AUD})), codes=("PGRST303",))
    add("aud-prefix", "hs", hs(dict(esc, aud=AUD + "x")), codes=("PGRST303",))
    # Signature and encoding damage.
    add("signature-flipped", "hs", h + "." + p + "." + ("A" if sig[0] != "A" else "B") + sig[1:])
    add("signature-empty", "hs", h + "." + p + ".")
    add("signature-truncated", "hs", h + "." + p + "." + sig[:-4])
    add("signature-of-other-payload", "hs", h + "." + b64(json.dumps(dict(esc, role="postgrest_test_author"))) + "." + sig)
    add("payload-bad-base64", "hs", h + ".!!!$$$." + sig)
    add("header-bad-base64", "hs", "%%%." + p + "." + sig)
    # PostgREST: "Parsing claims failed" (PGRST303) for a verified payload that is not a JSON object.
    add("payload-not-json", "hs", hs(None, raw_payload="not json"), codes=("PGRST301", "PGRST303"))
    add("payload-json-array", "hs", hs(None, raw_payload='["role","postgrest_test_author"]'), codes=("PGRST301", "PGRST303"))
    add("header-not-object", "hs", b64('"HS256"') + "." + p + "." + sig)
    add("two-parts", "hs", h + "." + p)
    add("four-parts", "hs", good_hs + "." + sig)
    add("whitespace-inside", "hs", h + ". " + p + "." + sig)
    add("jwe-five-parts", "hs", ".".join([b64('{"alg":"dir","enc":"A128GCM"}'), "", b64(b"i" * 12), p, b64(b"t" * 16)]))
    add("garbage-100kb", "hs", "eyJ" + "A" * 100000 + "." + p + "." + sig)
    add("token-1mb", "hs", "eyJ" + "A" * (1 << 20) + "." + p + "." + sig, status=(431,), codes=None)
    add("empty-bearer", "hs", "", codes=("PGRST301",))
    # Validly signed tokens with hostile claims: these reach PostgreSQL, but never as a privileged role. A role that
    # does not exist is PostgreSQL's 22023, which PostgREST answers with 401. A role claim that is not a string is
    # either refused, or used as the anonymous role, or used as a (non-existent) role name: all 401.
    not_string = dict(status=(401,), codes=("22023", "42501", "PGRST303", "PGRST301"), reaches_db=None)
    add("role-does-not-exist", "hs", hs(dict(esc, role="no_such_role_x", id="4")), codes=("22023",), reaches_db=True)
    add("role-is-an-object", "hs", hs(dict(esc, role={"name": "postgrest_test_superuser"}, id="4")), **not_string)
    add("role-is-an-array", "hs", hs(dict(esc, role=["postgrest_test_superuser"], id="4")), **not_string)
    add("role-is-a-number", "hs", hs(dict(esc, role=1, id="4")), **not_string)
    add("role-with-quote", "hs", hs(dict(esc, role='postgrest_test_anonymous"; set role postgrest_test_superuser; --',
                                         id="4")), codes=("22023",), reaches_db=True)
    # Duplicate claims: PostgREST (aeson) keeps the last value; whatever is read must be read consistently.
    dup_exp = '{"role":"postgrest_test_author","aud":"%s","exp":%d,"exp":%d}' % (AUD, now + 3600, now - 3600)
    add("duplicate-exp-last-expired", "hs", hs(dup_exp), codes=("PGRST303", "PGRST301"))
    dup_role = '{"role":"postgrest_test_author","aud":"%s","exp":%d,"role":"no_such_role_x"}' % (AUD, now + 3600)
    add("duplicate-role-last-nonexistent", "hs", hs(dup_role), codes=("22023", "PGRST301"), reaches_db=None)
    return a


def controls(key):
    """Valid tokens: they must work, and the detector must see their role."""
    now = int(time.time())
    author = {"role": "postgrest_test_author", "aud": "youraudience", "exp": now + 3600}
    return [
        ("valid-hs-token", "hs", "Bearer " + common.jwt_hs(author), 200),
        ("valid-without-aud-claim", "hs", "Bearer " + common.jwt_hs({"role": "postgrest_test_author"}), 200),
        ("valid-expired-within-skew", "hs", "Bearer " + common.jwt_hs(dict(author, exp=now - 10)), 200),
        ("valid-rs256-from-jwks", "jwks", "Bearer " + key.jwt({"role": "postgrest_test_author"}), 200),
        ("valid-rs256-with-kid", "jwks", "Bearer " + key.jwt({"role": "postgrest_test_author"},
                                                             {"alg": "RS256", "kid": "k1"}), 200),
    ]


def statements_since(cluster, offset):
    """Statements PostgreSQL ran (log_statement = all), each with the value bound to set_config('role', $n)."""
    out = []
    entries = common.split_pg_log(cluster.log_since(offset))
    for n, (sev, _state, text) in enumerate(entries):
        m = re.match(r"(?:statement|execute [^:]*): (.*)", text, re.S)
        if sev != "LOG" or not m:
            continue
        sql = m.group(1)
        role = None
        rm = re.search(r"set_config\('role', \$(\d+)", sql)
        if rm and n + 1 < len(entries) and entries[n + 1][0] == "DETAIL":
            pm = re.search(r"\$%s = '((?:[^']|'')*)'" % rm.group(1), entries[n + 1][2])
            role = pm.group(1).replace("''", "'") if pm else None
        out.append((sql, role))
    return out


def run_attack(res, cluster, servers, attack, existing_roles):
    name, server, auth, status, codes, reaches_db, _late = attack
    offset = cluster.log_size()
    try:
        r = common.request(servers[server].port, "GET", TARGET, [("Authorization", auth)], timeout=10)
    except common.HttpFailure as e:
        res.check("jwt.%s" % name, False, "no response: %s" % e)
        return
    time.sleep(0.05)
    stmts = statements_since(cluster, offset)
    body = common.json_body(r)
    code = body.get("code") if isinstance(body, dict) else None
    problems = []
    if r.status not in status:
        problems.append("status %d, expected %s" % (r.status, "/".join(map(str, status))))
    if codes is not None and code not in codes:
        problems.append("code %s, expected %s" % (code, "/".join(codes)))
    if reaches_db is False and stmts:
        problems.append("%d statement(s) reached PostgreSQL, e.g. %r" % (len(stmts), stmts[0][0][:120]))
    if reaches_db is True and not stmts:
        problems.append("no statement reached PostgreSQL (expected its error)")
    # set_config('role', ...) with a role that exists and is not the anonymous one: SQL ran as that role.
    escalated = sorted({role for _, role in stmts if role in existing_roles})
    if escalated:
        problems.append("SQL ran as %s" % escalated)
    res.check("jwt.%s" % name, not problems, "; ".join(problems) + " (body %r)" % r.body[:160])


def run(ctx):
    res, cluster = ctx.results, ctx.cluster
    key = common.RsaKey(seed=11)
    attacker = common.RsaKey(seed=12)
    jwks_text = json.dumps({"keys": [key.jwk("k1")]})
    cluster.set_log_statement("all")
    starting = {"hs": common.Background(ctx.start_server, "jwt-hs", {"jwt-aud": AUD}),
                "jwks": common.Background(ctx.start_server, "jwt-jwks", {"jwt-secret": jwks_text})}
    for t in starting.values():
        t.start()
    servers = {k: t.get() for k, t in starting.items()}
    time.sleep(0.5)   # let the schema cache queries reach the log before the first offset
    cluster.psql("SELECT reliability.pg_stat_statements_reset()")
    corpus = attacks(key, attacker, jwks_text)
    existing = set(cluster.psql("SELECT string_agg(rolname, ',') FROM pg_roles").split(",")) - {ANON}
    for attack in corpus:
        if not attack[6]:
            run_attack(res, cluster, servers, attack, existing)

    # Nothing may have run as a privileged role during the attacks (pg_stat_statements records the effective user).
    seen = cluster.psql("SELECT string_agg(DISTINCT userid::regrole::text, ',') FROM reliability.pg_stat_statements")
    seen_roles = set(filter(None, seen.split(",")))
    leaked = sorted(seen_roles & set(PRIVILEGED))
    res.check("jwt.no-statement-as-a-privileged-role-during-attacks", not leaked,
              "pg_stat_statements users: %s" % sorted(seen_roles))
    res.figure("jwt", "attacks", len(corpus))
    res.figure("jwt", "statement_users_during_attacks", sorted(seen_roles))
    for attack in corpus:
        if attack[6]:
            run_attack(res, cluster, servers, attack, existing)

    # Positive controls: valid tokens work, and then the same detector does see the privileged role.
    for name, server, auth, status in controls(key):
        r = common.request(servers[server].port, "GET", TARGET, [("Authorization", auth)], timeout=10)
        res.check("jwt.control.%s" % name, r.status == status, "status %d (body %r)" % (r.status, r.body[:160]))
    time.sleep(0.2)
    seen = cluster.psql("SELECT string_agg(DISTINCT userid::regrole::text, ',') FROM reliability.pg_stat_statements")
    res.check("jwt.control.detector-sees-the-privileged-role", "postgrest_test_author" in seen.split(","),
              "pg_stat_statements users after the controls: %s" % seen)
    for s in servers.values():
        res.check("jwt.server-%s-alive" % s.name, s.alive())
    cluster.set_log_statement("none")
