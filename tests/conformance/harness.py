#!/usr/bin/env python3
"""Small helpers for tests/conformance/run.sh (stdlib only; the JSON and HTTP bits are clumsy in bash).

  harness.py free-port                      print a free TCP port on 127.0.0.1
  harness.py env CASES_DIR|default          print the server's PGRST_* environment, NUL-separated NAME=VALUE
  harness.py probe PORT                     exit 0 if http://127.0.0.1:PORT/ answers with a status other than 503
  harness.py prepare CONF_DIR OUT_DIR NAME...
                                            for each config NAME ('default' or a cases-special directory): write
                                            OUT_DIR/NAME.env (as 'env' prints it) and print a line
                                            NAME<TAB>CASES_DIR<TAB>STATEFUL(0/1)<TAB>CASE_COUNT
  harness.py summarize ROWS_TSV OUT_JSON    print the per-config table and total, write the combined JSON
"""
import glob
import http.client
import json
import os
import socket
import sys

# The spec's baseCfg, i.e. ../shared/conformance/README.md section 2, plus the pool/channel settings that every
# cases-special/*/config.json "full" map lists (PostgREST's defaults). None = leave the variable unset.
BASE_CONFIG = {
    "db-schemas": "test",
    "db-anon-role": "postgrest_test_anonymous",
    "db-pre-request": "test.switch_role",
    "db-extra-search-path": "",
    "db-tx-end": "rollback-allow-override",
    "db-max-rows": None,
    "db-aggregates-enabled": False,
    "db-plan-enabled": False,
    "db-prepared-statements": True,
    "db-root-spec": None,
    "db-pre-config": None,
    "db-config": False,
    "db-channel-enabled": True,
    "db-hoisted-tx-settings": "default_transaction_isolation,plan_filter.statement_cost_limit,statement_timeout",
    "db-pool": 10,
    "db-pool-acquisition-timeout": 10,
    "db-pool-max-lifetime": 1800,
    "db-pool-max-idletime": 600,
    "db-pool-automatic-recovery": True,
    "jwt-secret": "reallyreallyreallyreallyverysafe",
    "jwt-secret-is-base64": False,
    "jwt-aud": None,
    "jwt-role-claim-key": "$.role",
    "jwt-cache-max-entries": 10,
    "openapi-mode": "follow-privileges",
    "openapi-security-active": False,
    "openapi-server-proxy-uri": None,
    "server-cors-allowed-origins": "",
    "server-trace-header": None,
    "server-timing-enabled": True,
    "url-use-legacy-target-names": True,
    "client-error-verbosity": "verbose",
    "log-level": "crit",
    "app.settings.app_host": "localhost",
    "app.settings.external_api_secret": "0123456789abcdef",
}


def env_name(key):
    # PostgREST's Config.hs: PGRST_ + upper-cased name, '-' -> '_'; app settings keep their case.
    if key.startswith("app.settings."):
        return "PGRST_APP_SETTINGS_" + key[len("app.settings."):]
    return "PGRST_" + key.upper().replace("-", "_").replace(".", "_")


def env_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def config_for(cases_dir):
    """base + overrides (README section 3); cross-checked against the directory's "full" map."""
    cfg = dict(BASE_CONFIG)
    path = os.path.join(cases_dir, "config.json")
    if cases_dir == "default" or not os.path.exists(path):
        return cfg  # cases/ has no config.json: it is the base config
    with open(path, encoding="utf-8") as fh:
        spec = json.load(fh)
    cfg.update(spec.get("overrides") or {})
    full = spec.get("full")
    if full and full != cfg:
        # The corpus is the authority: trust "full", but say so, since it means BASE_CONFIG is stale.
        diff = sorted(k for k in set(full) | set(cfg) if full.get(k) != cfg.get(k))
        print("harness.py: warning: %s: base+overrides differs from config.json 'full' on %s; using 'full'"
              % (spec.get("name"), ", ".join(diff)), file=sys.stderr)
        cfg = dict(full)
    return cfg


def env_text(cases_dir):
    out = []
    for k, v in config_for(cases_dir).items():
        if v is None or v == "unset":
            continue
        out.append("%s=%s\0" % (env_name(k), env_value(v)))
    return "".join(out)


def cmd_env(cases_dir):
    sys.stdout.write(env_text(cases_dir))


def cmd_free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])


def cmd_probe(port):
    try:
        conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=2)
        conn.request("GET", "/")
        status = conn.getresponse().status
        conn.close()
    except (OSError, http.client.HTTPException):
        sys.exit(1)
    # PostgREST answers 503 while its schema cache is loading: not ready yet.
    sys.exit(2 if status == 503 else 0)


def load_cases(cases_dir):
    cases = []
    for f in sorted(glob.glob(os.path.join(cases_dir, "*.jsonl"))):
        with open(f, encoding="utf-8") as fh:
            cases += [json.loads(line) for line in fh if line.strip()]
    return cases


def cmd_prepare(conf_dir, out_dir, *names):
    # One Python start for all configs: process start-up is slow on small CI machines.
    for name in names:
        cases_dir = os.path.join(conf_dir, "cases") if name == "default" else os.path.join(conf_dir, "cases-special", name)
        with open(os.path.join(out_dir, name + ".env"), "w", encoding="utf-8") as fh:
            fh.write(env_text(cases_dir))
        cases = load_cases(cases_dir)
        # Commits data: needs a fresh database before, and leaves a dirty one after.
        stateful = config_for(cases_dir).get("db-tx-end") == "commit" or any(c.get("stateful") for c in cases)
        print("%s\t%s\t%d\t%d" % (name, cases_dir, stateful, len(cases)))


def cmd_summarize(rows_tsv, out_json):
    rows = []
    with open(rows_tsv, encoding="utf-8") as fh:
        for line in fh:
            name, report, cases, note = line.rstrip("\n").split("\t")
            row = {"config": name, "passed": 0, "failed": 0, "skipped": 0, "note": note, "results": []}
            try:
                with open(report, encoding="utf-8") as rf:
                    r = json.load(rf)
                row.update(passed=r["passed"], failed=r["failed"], skipped=r["skipped"], results=r["results"])
            except (OSError, ValueError, KeyError):
                # run.py died without a report: count every case of the config as failed.
                row["failed"] = int(cases)
                row["note"] = (note + "; " if note else "") + "no runner report"
            rows.append(row)
    total = {k: sum(r[k] for r in rows) for k in ("passed", "failed", "skipped")}
    with open(out_json, "w", encoding="utf-8") as fh:
        json.dump(dict(total, configs=rows), fh, indent=1, ensure_ascii=False)
    w = max([len("config")] + [len(r["config"]) for r in rows])
    print("%-*s %7s %7s %7s  %s" % (w, "config", "passed", "failed", "skipped", "note"))
    for r in rows:
        print("%-*s %7d %7d %7d  %s" % (w, r["config"], r["passed"], r["failed"], r["skipped"], r["note"]))
    print("%-*s %7d %7d %7d" % (w, "TOTAL", total["passed"], total["failed"], total["skipped"]))


def main():
    args = sys.argv[1:]
    cmds = {"free-port": (cmd_free_port, 0), "env": (cmd_env, 1), "probe": (cmd_probe, 1),
            "prepare": (cmd_prepare, -3), "summarize": (cmd_summarize, 2)}
    # arity n: exactly n arguments; -n: at least n
    n = cmds[args[0]][1] if args and args[0] in cmds else None
    if n is None or (n >= 0 and len(args) - 1 != n) or (n < 0 and len(args) - 1 < -n):
        sys.exit(__doc__)
    fn, _ = cmds[args[0]]
    fn(*args[1:])


if __name__ == "__main__":
    main()
