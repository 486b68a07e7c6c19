#!/usr/bin/env python3
"""Checks of docs/monitoring/ and docs/runbooks/ that need no Prometheus (the promtool
checks are tests/env/test_promtool.py). One check per ctest test:

  promql          the metric-name extractor on tricky PromQL (what the other checks rely on)
  metrics_doc     metrics.md's table parses; every metric name the monitoring docs and the
                  runbooks mention is in it (or in neo4j-metrics.txt)
  rules           every alert: severity critical|warning|info, summary, description, a
                  runbook_url to docs/runbooks/<alert>.md; every metric an expression names
                  is in metrics.md, with the labels it matches on or groups by; rate() only
                  of counters
  runbooks        a runbook per alert (and no other) with Meaning, Impact, Diagnosis,
                  Mitigation, Escalation; README.md links each
  generated       prometheusrule.yaml and dashboard.json are what hack/gen-monitoring writes,
                  and the PrometheusRule's spec is the plain rule file
  dashboard       the dashboard: valid JSON, schemaVersion >= 36, the datasource, job,
                  namespace and cluster variables, every panel with a query, every query and
                  variable naming only known metrics (metrics.md, neo4j-metrics.txt) and
                  their labels, every variable it uses defined

Usage: monitoring_check.py CHECK [REPO]. Prints `N passed, N failed`.
"""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import monlib  # noqa: E402

passed = failed = 0


def check(cond, msg):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL: {msg}", flush=True)
    return cond


def check_problems(probs, what):
    for p in probs:
        check(False, p)
    check(True, what)


# ------------------------------------------------------------------------- checks ----

def promql():
    cases = [
        ('sum by (controller, le) (rate(x_bucket{job="$job"}[$__rate_interval]))', ["x_bucket"]),
        ('absent(up{job="a"} == 1) and on () (count(up == 1) > 0)', ["up", "up"]),
        ("a offset 5m + b @ start() - c @ 1609746000", ["a", "b", "c"]),
        ('label_replace(m, "dst", "$1", "src", "(.*)")', ["m"]),
        ("time() - max by (namespace, name) (foo) > 26 * 3600", ["foo"]),
        ("sum(rate(x[5m:1m])) without (instance, pod)", ["x"]),
        ('neo4j_database_${database}_y{a="1"} / 1000', [monlib.DB_VAR.join(["neo4j_database_", "_y"])]),
        ("1e3 * 0x1F + Inf - NaN + 1h30m", []),
        ('count_values("v", build_info)', ["build_info"]),
        ("# a comment naming not_a_metric\nfoo", ["foo"]),
        ('rate(metric{label="}{"}[5m])', ["metric"]),
        ("a - on (x) group_right (y) b unless ignoring (z) c", ["a", "b", "c"]),
        ("sum(x) by (le) / bool_metric", ["x", "bool_metric"]),
        ("histogram_quantile(0.9, sum(rate(h_bucket[5m])) by (le))", ["h_bucket"]),
        ("topk(3, sum without (a) (x:recorded:rate5m))", ["x:recorded:rate5m"]),
    ]
    for expr, want in cases:
        got = monlib.metric_names(expr)
        check(got == want, f"metric_names({expr!r}) = {got}, want {want}")
    known = {"c_total": "counter", "g": "gauge", "h_bucket": "histogram-part",
             "h_count": "histogram-part"}
    check(monlib.problems("rate(c_total[5m])", known, "t") == [], "rate of a counter is fine")
    check(any("only counters" in p for p in monlib.problems("rate(g[5m])", known, "t")),
          "rate() of a gauge is reported")
    check(any("_bucket" in p for p in monlib.problems("histogram_quantile(0.5, h_count)", known, "t")),
          "histogram_quantile() over _count is reported")
    check(any("not a known metric" in p for p in monlib.problems("gg", known, "t")),
          "an unknown name is reported")
    check(any("names no metric" in p for p in monlib.problems("vector(1)", known, "t")),
          "a query without a metric is reported")
    lab = {"g": {"job", "a"}, "h_bucket": {"job", "le"}}
    check(monlib.label_problems('sum by (a) (g{job="x", a=~"y"})', lab, "t") == [], "documented labels pass")
    check(any("no label 'b'" in p for p in monlib.label_problems('g{b="x"}', lab, "t")),
          "a selector on an unknown label is reported")
    check(any("by (b)" in p for p in monlib.label_problems(
        "histogram_quantile(0.5, sum by (b, le) (rate(h_bucket[5m])))", lab, "t")),
          "grouping by an unknown label is reported")
    check(monlib.grafana_to_promql('x{a=~"$ns", b="${cluster:regex}"}[$__rate_interval]')
          == 'x{a=~"x", b="x"}[5m]', "grafana_to_promql substitutes variables")


def metrics_doc():
    try:
        doc = monlib.metrics_doc()
    except ValueError as e:
        check(False, str(e))
        return
    # The contract's families (CONTRACT13.md); the live /metrics test compares the rest.
    check(len(doc) >= 35, f"metrics.md lists {len(doc)} families")
    for name, (typ, labels) in doc.items():
        check(typ != "counter" or name.endswith("_total"), f"counter {name} ends in _total")
        check(typ == "counter" or not name.endswith("_total"), f"{typ} {name} does not end in _total")
        check("le" not in labels and "quantile" not in labels, f"{name}: le/quantile are not listed")
    try:
        monlib.neo4j_metrics()
    except ValueError as e:
        check(False, str(e))
    known = monlib.known_series(include_neo4j=True)
    prefixes = ("neo4j_operator_", "controller_runtime_", "workqueue_", "rest_client_",
                "leader_election_", "process_", "neo4j_dbms_", "neo4j_database_")
    files = [os.path.join(monlib.MON, "README.md")]
    files += [os.path.join(monlib.RUNBOOKS, f) for f in sorted(os.listdir(monlib.RUNBOOKS))
              if f.endswith(".md")]
    for path in files:
        text = open(path).read()
        # metric names in code spans and code blocks
        for span in re.findall(r"```.*?```|`[^`\n]+`", text, re.S):
            for name in monlib.metric_names(span.strip("`")):
                if name.startswith(prefixes) and not name.endswith("_"):  # `process_*`: a prefix
                    check(name in known, f"{os.path.relpath(path, monlib.ROOT)} mentions "
                          f"{name}, which metrics.md does not list")


def rules():
    known = monlib.known_series(include_neo4j=False)
    known_labels = monlib.known_labels(include_neo4j=False)
    rs = monlib.rules()
    check(len(rs) >= 11, f"{len(rs)} rules")
    names = set()
    for group, r in rs:
        name = r.get("alert")
        if not check(name, f"group {group}: a recording rule or nameless rule: {r}"):
            continue
        names.add(name)
        where = f"{group}/{name}"
        check(re.fullmatch(r"Neo4j[A-Z][A-Za-z]+", name), f"{where}: alert name style")
        labels = r.get("labels") or {}
        ann = r.get("annotations") or {}
        check(labels.get("severity") in ("critical", "warning", "info"),
              f"{where}: severity {labels.get('severity')!r}")
        for k in ("summary", "description", "runbook_url"):
            check(str(ann.get(k) or "").strip(), f"{where}: annotation {k} missing")
        url = ann.get("runbook_url", "")
        check(url == f"{monlib.RUNBOOK_BASE}docs/runbooks/{name}.md",
              f"{where}: runbook_url {url!r} is not {monlib.RUNBOOK_BASE}docs/runbooks/{name}.md")
        check(os.path.isfile(os.path.join(monlib.RUNBOOKS, f"{name}.md")),
              f"{where}: docs/runbooks/{name}.md does not exist")
        check("for" in r, f"{where}: no `for` (a single bad scrape would page)")
        check_problems(monlib.problems(r["expr"], known, where, known_labels), f"{where}: metric names")
    want = {"Neo4jClusterDegraded", "Neo4jClusterNotReady", "Neo4jServerUnavailable",
            "Neo4jBackupFailed", "Neo4jBackupOverdue", "Neo4jCertificateExpiring",
            "Neo4jOperatorNotLeading", "Neo4jOperatorDown", "Neo4jClusterUpdatePending",
            "Neo4jOperatorReconcileErrors", "Neo4jClusterStalled"}
    check(not (want - names), f"alerts missing: {sorted(want - names)}")
    # the unit tests cover every alert
    tests = " ".join(open(os.path.join(monlib.RULE_TESTS, f)).read()
                     for f in os.listdir(monlib.RULE_TESTS) if f.endswith(".yaml"))
    for n in sorted(names):
        check(re.search(rf"alertname: {n}\n\s+exp_alerts:\n\s+- exp_labels", tests),
              f"docs/monitoring/tests: no test expects {n} to fire")
        check(re.search(rf"alertname: {n}\n\s+exp_alerts: \[\]", tests),
              f"docs/monitoring/tests: no test expects {n} to stay silent")


def runbooks():
    alerts = {r["alert"] for _, r in monlib.rules() if "alert" in r}
    files = {f[:-3] for f in os.listdir(monlib.RUNBOOKS) if f.endswith(".md") and f != "README.md"}
    check(not (alerts - files), f"alerts without a runbook: {sorted(alerts - files)}")
    check(not (files - alerts), f"runbooks without an alert: {sorted(files - alerts)}")
    readme = open(os.path.join(monlib.MON, "README.md")).read()
    for a in sorted(alerts & files):
        text = open(os.path.join(monlib.RUNBOOKS, f"{a}.md")).read()
        check(text.startswith(f"# {a}\n"), f"runbooks/{a}.md starts with '# {a}'")
        heads = re.findall(r"^## (\w+)", text, re.M)
        for h in ("Meaning", "Impact", "Diagnosis", "Mitigation", "Escalation"):
            check(h in heads, f"runbooks/{a}.md has no '## {h}' section")
        check("kubectl " in text, f"runbooks/{a}.md gives no kubectl command")
        check(f"(../runbooks/{a}.md)" in readme, f"docs/monitoring/README.md does not link runbooks/{a}.md")


def generated():
    p = subprocess.run([sys.executable, os.path.join(monlib.ROOT, "hack", "gen-monitoring"), "--check"],
                       capture_output=True, text=True)
    check(p.returncode == 0, f"hack/gen-monitoring --check: {p.stdout}{p.stderr}")
    pr = monlib.load_yaml(monlib.PROMETHEUSRULE)
    check(pr.get("apiVersion") == "monitoring.coreos.com/v1" and pr.get("kind") == "PrometheusRule",
          "prometheusrule.yaml is a monitoring.coreos.com/v1 PrometheusRule")
    check((pr.get("metadata") or {}).get("name"), "the PrometheusRule has a name")
    check(pr.get("spec") == monlib.load_yaml(monlib.RULES),
          "the PrometheusRule's spec is prometheus-rules.yaml (run hack/gen-monitoring)")


def dashboard():
    try:
        board = monlib.dashboard()
    except (OSError, json.JSONDecodeError) as e:
        check(False, f"dashboard.json: {e}")
        return
    check(board.get("schemaVersion", 0) >= 36, f"schemaVersion {board.get('schemaVersion')} >= 36")
    check(board.get("uid") and board.get("title"), "uid and title")
    known = monlib.known_series(include_neo4j=True)
    labels = monlib.known_labels(include_neo4j=True)
    vars_ = {v["name"]: v for v in board.get("templating", {}).get("list", [])}
    check(vars_.get("datasource", {}).get("type") == "datasource"
          and vars_["datasource"].get("query") == "prometheus", "a Prometheus datasource variable")
    for v in ("job", "namespace", "cluster"):
        check(vars_.get(v, {}).get("type") == "query", f"a {v} query variable")
    for name, v in vars_.items():
        if v.get("type") != "query":
            continue
        q = v.get("query")
        q = q.get("query", "") if isinstance(q, dict) else q or ""
        m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", q) or re.fullmatch(r"metrics\((.*)\)", q)
        if not check(m, f"variable {name}: {q!r} is neither label_values(...) nor metrics(...)"):
            continue
        if q.startswith("metrics("):
            # the variable is read from the names themselves: its regex must yield the
            # database part of a known name
            rx = v.get("regex", "").strip("/")
            gen = re.sub(r"\(\.\+\)|\(\.\*\)", monlib.DB_VAR, rx.strip("^$"))
            check(gen in known, f"variable {name}: regex {rx!r} does not match a known name")
        else:
            check_problems(monlib.problems(m.group(1), known, f"variable {name}", labels), f"variable {name}")
            check(m.group(2) in labels.get(monlib.metric_names(m.group(1))[0], {m.group(2)}),
                  f"variable {name}: label_values of a label {m.group(2)!r} the metric lacks")
        check((v.get("datasource") or {}).get("uid") == "${datasource}", f"variable {name} uses ${{datasource}}")
    ids = set()
    n_targets = 0
    for p in monlib.panels(board):
        title = p.get("title", "?")
        check(p.get("id") not in ids, f"panel id {p.get('id')} ({title}) is unique")
        ids.add(p.get("id"))
        g = p.get("gridPos") or {}
        check(all(isinstance(g.get(k), int) for k in "hwxy") and g["x"] + g["w"] <= 24,
              f"panel {title}: gridPos {g}")
        if p.get("type") in ("row", "text"):
            continue
        targets = p.get("targets") or []
        check(targets, f"panel {title!r} has no target")
        check((p.get("datasource") or {}).get("uid") == "${datasource}", f"panel {title!r} uses ${{datasource}}")
        for t in targets:
            n_targets += 1
            expr = t.get("expr", "")
            where = f"panel {title!r} {t.get('refId')}"
            if not check(expr.strip(), f"{where}: empty query"):
                continue
            check((t.get("datasource") or {}).get("uid") == "${datasource}", f"{where}: datasource")
            check_problems(monlib.problems(expr, known, where, labels), f"{where}: metric names")
            for v in re.findall(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", expr):
                v = v[0] or v[1]
                check(v in vars_ or v in monlib.GRAFANA_BUILTINS, f"{where}: ${v} is not a variable")
    check(n_targets >= 40, f"{n_targets} queries")


CHECKS = {"promql": promql, "metrics_doc": metrics_doc, "rules": rules, "runbooks": runbooks,
          "generated": generated, "dashboard": dashboard}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in CHECKS:
        sys.exit(f"usage: {sys.argv[0]} {'|'.join(CHECKS)} [REPO]")
    CHECKS[sys.argv[1]]()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed or not passed else 0)
