"""Readers for docs/monitoring/: the metrics reference table, Neo4j's metric list, the rule
files and the dashboard, and a PromQL metric-name extractor. Used by monitoring_check.py
(unit tests) and tests/env/test_promtool.py."""
import json
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MON = os.path.join(ROOT, "docs", "monitoring")
RUNBOOKS = os.path.join(ROOT, "docs", "runbooks")
RULES = os.path.join(MON, "prometheus-rules.yaml")
PROMETHEUSRULE = os.path.join(MON, "prometheusrule.yaml")
DASHBOARD = os.path.join(MON, "dashboard.json")
METRICS_MD = os.path.join(MON, "metrics.md")
NEO4J_METRICS = os.path.join(MON, "neo4j-metrics.txt")
RULE_TESTS = os.path.join(MON, "tests")
# Every runbook_url is this followed by docs/runbooks/<alert>.md.
RUNBOOK_BASE = "https://github.com/graphops/neo4j-operator/blob/main/"
# Series Prometheus records itself (metrics.md, "Series Prometheus adds").
PROMETHEUS_SERIES = {"up": "gauge"}
# The dashboard's variable for the database name inside Neo4j's per-database metric names,
# and the placeholder neo4j-metrics.txt writes for it.
DB_VAR = "DBVAR"


def load_yaml(path_or_text, text=False):
    try:
        import yaml
    except ImportError:  # Debian's python3-yaml (hack/install-deps) under another interpreter
        sys.path.append("/usr/lib/python3/dist-packages")
        import yaml
    if text:
        return yaml.safe_load(path_or_text)
    with open(path_or_text) as f:
        return yaml.safe_load(f)


ROW = re.compile(r"^\| `([a-zA-Z_:][a-zA-Z0-9_:]*)` \| (counter|gauge|histogram) \| ([^|]*) \|")


def metrics_doc(path=METRICS_MD):
    """{family: (type, [labels])} from the table between the metrics-table comments.
    Raises ValueError on a row of the table that does not parse."""
    out = {}
    inside = False
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.strip() == "<!-- metrics-table:begin -->":
                inside = True
                continue
            if line.strip() == "<!-- metrics-table:end -->":
                inside = False
                continue
            if not inside or line.startswith("| name |") or line.startswith("|---"):
                continue
            m = ROW.match(line)
            if not m:
                raise ValueError(f"{path}:{n}: not a metrics table row: {line[:80]}")
            name, typ, labels = m.group(1), m.group(2), m.group(3).strip()
            if name in out:
                raise ValueError(f"{path}:{n}: {name} listed twice")
            if labels == "–":
                lab = []
            else:
                lab = [x.strip() for x in labels.split(",")]
                if not all(re.fullmatch(r"`[a-zA-Z_][a-zA-Z0-9_]*`", x) for x in lab):
                    raise ValueError(f"{path}:{n}: labels of {name} are not `a`, `b`: {labels}")
                lab = [x.strip("`") for x in lab]
            out[name] = (typ, lab)
    if inside:
        raise ValueError(f"{path}: metrics-table:end missing")
    return out


def neo4j_metrics(path=NEO4J_METRICS):
    """{name: type} from neo4j-metrics.txt, <db> written as DB_VAR."""
    out = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            if len(parts) < 3 or parts[1] not in ("counter", "gauge", "summary"):
                raise ValueError(f"{path}:{n}: expected '<name> <counter|gauge|summary> <reference name>'")
            out[parts[0].replace("<db>", DB_VAR)] = parts[1]
    return out


def known_series(include_neo4j):
    """{series name: kind}: kind is the family type, or 'histogram-part'/'summary-part' for
    the _bucket/_sum/_count series of a histogram or summary."""
    fams = {k: v[0] for k, v in metrics_doc().items()}
    fams.update(PROMETHEUS_SERIES)
    if include_neo4j:
        fams.update(neo4j_metrics())
    out = {}
    for name, typ in fams.items():
        if typ == "histogram":
            for s in ("_bucket", "_sum", "_count"):
                out[name + s] = "histogram-part"
        else:
            out[name] = typ
            if typ == "summary":
                out[name + "_sum"] = out[name + "_count"] = "summary-part"
    return out


# Labels Prometheus adds to every series of a target (Kubernetes service discovery through a
# ServiceMonitor), besides the metric's own.
TARGET_LABELS = {"job", "instance", "namespace", "pod", "service", "endpoint", "container"}


def known_labels(include_neo4j):
    """{series name: labels a selector or a grouping may use}: the family's documented labels
    (metrics.md; Neo4j's metrics have none), `le` on _bucket, `quantile` on a summary, and
    TARGET_LABELS."""
    fams = {k: (v[0], set(v[1])) for k, v in metrics_doc().items()}
    fams.update({k: (t, set()) for k, t in PROMETHEUS_SERIES.items()})
    if include_neo4j:
        fams.update({k: (t, set()) for k, t in neo4j_metrics().items()})
    out = {}
    for name, (typ, labels) in fams.items():
        labels = labels | TARGET_LABELS
        if typ == "histogram":
            out[name + "_bucket"] = labels | {"le"}
            out[name + "_sum"] = out[name + "_count"] = labels
        else:
            out[name] = labels | ({"quantile"} if typ == "summary" else set())
            if typ == "summary":
                out[name + "_sum"] = out[name + "_count"] = labels
    return out


# ---------------------------------------------------------------- PromQL names ----

KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
            "group_right", "offset", "bool", "inf", "nan", "atan2"}
TOKEN = re.compile(r"0[xX][0-9a-fA-F]+|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[a-zA-Z]*|[a-zA-Z_:][a-zA-Z0-9_:]*")
COUNTER_FUNCS = ("rate", "irate", "increase", "resets")


def _strip(expr):
    """expr without strings, comments, label matchers, ranges and grouping label lists,
    with the dashboard's database variable as DB_VAR and other variables removed."""
    s = re.sub(r"\$\{database\}|\$database\b", DB_VAR, expr)
    s = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', s)
    s = re.sub(r"#[^\n]*", " ", s)
    s = re.sub(r"\{[^{}]*\}", " ", s)
    s = re.sub(r"\[[^\[\]]*\]", " ", s)
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", " ", s)
    s = re.sub(r"\$\{?\w+\}?", " ", s)
    return s


def _names(stripped):
    out = []
    for m in TOKEN.finditer(stripped):
        tok = m.group(0)
        if tok[0].isdigit():
            continue
        if stripped[m.end():].lstrip().startswith("("):
            continue  # a function or an aggregation
        if tok.lower() in KEYWORDS or tok in ("start", "end"):
            continue
        out.append(tok)
    return out


def metric_names(expr):
    """The metric names an expression selects, in order (with repeats)."""
    return _names(_strip(expr))


def _calls(stripped, funcs):
    """(function, argument text) of every call of one of funcs."""
    for m in re.finditer(r"\b(%s)\s*\(" % "|".join(funcs), stripped):
        depth, i = 1, m.end()
        while i < len(stripped) and depth:
            depth += {"(": 1, ")": -1}.get(stripped[i], 0)
            i += 1
        yield m.group(1), stripped[m.end():i - 1]


AGGREGATIONS = ("sum", "min", "max", "avg", "count", "group", "stddev", "stdvar", "topk",
                "bottomk", "quantile", "count_values", "limitk", "limit_ratio")


def label_problems(expr, labels, where):
    """Labels a selector matches on, or an aggregation groups by, that its metric does not
    have (labels: known_labels())."""
    out = []
    s = re.sub(r"\$\{database\}|\$database\b", DB_VAR, expr)
    s = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', s)
    s = re.sub(r"#[^\n]*", " ", s)
    for m in re.finditer(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^{}]*)\}", s):
        name = m.group(1)
        for lab in re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", m.group(2)):
            if name in labels and lab not in labels[name]:
                out.append(f"{where}: {name} has no label {lab!r} (metrics.md)")
    for m in re.finditer(r"\b(%s)\s+by\s*\(([^()]*)\)\s*\(" % "|".join(AGGREGATIONS), s):
        depth, i = 1, m.end()
        while i < len(s) and depth:
            depth += {"(": 1, ")": -1}.get(s[i], 0)
            i += 1
        group = [g.strip() for g in m.group(2).split(",") if g.strip()]
        for name in set(_names(_strip(s[m.end():i - 1]))):
            for lab in group:
                if name in labels and lab not in labels[name]:
                    out.append(f"{where}: {m.group(1)} by ({lab}) over {name}, which has no label {lab!r}")
    return out


def problems(expr, known, where, labels=None):
    """What is wrong with the metric names of expr: unknown names, a rate() of a gauge, a
    histogram_quantile() not over _bucket series, an expression naming no metric, and (with
    labels) a label the metric does not have."""
    out = label_problems(expr, labels, where) if labels is not None else []
    s = _strip(expr)
    names = _names(s)
    if not names:
        out.append(f"{where}: names no metric: {expr!r}")
    for n in names:
        if n not in known:
            out.append(f"{where}: {n!r} is not a known metric (docs/monitoring/metrics.md,"
                       " neo4j-metrics.txt)")
    for fn, arg in _calls(s, COUNTER_FUNCS):
        for n in _names(arg):
            if n in known and known[n] not in ("counter", "histogram-part", "summary-part"):
                out.append(f"{where}: {fn}() of {n!r}, a {known[n]}: only counters grow")
    for fn, arg in _calls(s, ("histogram_quantile",)):
        for n in _names(arg):
            if n in known and not (known[n] == "histogram-part" and n.endswith("_bucket")):
                out.append(f"{where}: histogram_quantile() over {n!r}: needs a histogram's _bucket")
    return out


# ---------------------------------------------------------------- rules, dashboard ----

def rules(path=RULES):
    """[(group, rule dict)] of a Prometheus rule file."""
    doc = load_yaml(path)
    return [(g["name"], r) for g in doc["groups"] for r in g["rules"]]


def dashboard(path=DASHBOARD):
    with open(path) as f:
        return json.load(f)


def panels(board):
    """Every panel, those inside collapsed rows too."""
    out = []
    for p in board.get("panels", []):
        out.append(p)
        out.extend(p.get("panels", []) if p.get("type") == "row" else [])
    return out


GRAFANA_BUILTINS = {"__rate_interval", "__interval", "__interval_ms", "__range", "__range_s",
                    "__range_ms", "__dashboard", "__from", "__to"}


def grafana_to_promql(expr):
    """A dashboard query with its variables replaced by values promtool can parse."""
    durations = {"__rate_interval": "5m", "__interval": "1m", "__range": "1h"}

    def sub(m):
        v = m.group(1) or m.group(2)
        return durations.get(v, "neo4j" if v == "database" else "x")
    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", sub, expr)
