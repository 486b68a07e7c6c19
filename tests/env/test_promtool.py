#!/usr/bin/env python3
"""The alert rules and the dashboard's queries under Prometheus' own tool, promtool
(v0.316.0 from the Go module proxy, built by hack/test-env build and put on the PATH of
`hack/test-env env`):

- `promtool check rules --lint=all --lint-fatal` accepts docs/monitoring/prometheus-rules.yaml
  and the spec of docs/monitoring/prometheusrule.yaml (valid PromQL, valid templates, no
  duplicate rule);
- `promtool test rules docs/monitoring/tests/*.yaml` passes: every alert fires on the
  synthetic series of a broken state and stays silent on healthy ones;
- the unit tests notice a changed rule: with Neo4jClusterNotReady's `for` shortened, the
  same tests fail (so they assert timing, not just that the file loads);
- every query of docs/monitoring/dashboard.json, its Grafana variables replaced by values,
  parses as PromQL (each becomes a recording rule for `promtool check rules`).
"""
import atexit
import glob
import json
import os
import re
import shutil
import sys
import tempfile

from envlib import ROOT, check, done, load_env, run

sys.path.insert(0, os.path.join(ROOT, "tests", "monitoring"))
import monlib  # noqa: E402

load_env()
tmp = tempfile.mkdtemp(prefix="test-promtool-")
atexit.register(shutil.rmtree, tmp, True)

p = run(["promtool", "--version"])
check(p.returncode == 0 and "v0.316.0" in p.stdout, f"promtool --version: {p.stdout}{p.stderr}")


def check_rules(path, what):
    p = run(["promtool", "check", "rules", "--lint=all", "--lint-fatal", path])
    check(p.returncode == 0 and "SUCCESS" in p.stdout, f"promtool check rules {what}: {p.stdout}{p.stderr}")
    return p


p = check_rules(monlib.RULES, "prometheus-rules.yaml")
n = re.search(r"SUCCESS: (\d+) rules found", p.stdout)
check(n and int(n.group(1)) >= 13, f"rules found: {p.stdout}")

# The PrometheusRule's spec is a rule file of its own (written as JSON, which is YAML).
spec = monlib.load_yaml(monlib.PROMETHEUSRULE)["spec"]
spec_file = os.path.join(tmp, "prometheusrule-spec.yaml")
with open(spec_file, "w") as f:
    json.dump(spec, f)
check_rules(spec_file, "prometheusrule.yaml's spec")

tests = sorted(glob.glob(os.path.join(monlib.RULE_TESTS, "*.yaml")))
check(len(tests) >= 2, f"rule unit tests: {tests}")
p = run(["promtool", "test", "rules", *tests], timeout=600)
out = p.stdout + p.stderr  # promtool reports failures on stderr
check(p.returncode == 0 and "FAILED" not in out, f"promtool test rules:\n{out[-8000:]}")
check(out.count("SUCCESS") == len(tests), f"every test file passed: {out[-2000:]}")

# A negative control: the same tests against rules whose NotReady alert waits 1 minute
# instead of 15 must fail, at the evaluation that expects it still pending.
mutant_dir = os.path.join(tmp, "mutant")
os.makedirs(os.path.join(mutant_dir, "tests"))
rules_text = open(monlib.RULES).read()
needle = "- alert: Neo4jClusterNotReady"
i = rules_text.index(needle)
j = rules_text.index("for: 15m", i)
with open(os.path.join(mutant_dir, "prometheus-rules.yaml"), "w") as f:
    f.write(rules_text[:j] + "for: 1m" + rules_text[j + len("for: 15m"):])
main_test = os.path.join(monlib.RULE_TESTS, "rules_test.yaml")
with open(os.path.join(mutant_dir, "tests", "rules_test.yaml"), "w") as f:
    f.write(open(main_test).read())
p = run(["promtool", "test", "rules", os.path.join(mutant_dir, "tests", "rules_test.yaml")], timeout=600)
out = p.stdout + p.stderr
check(p.returncode != 0 and "alertname: Neo4jClusterNotReady, time: 14m" in out,
      f"the unit tests catch a NotReady rule that fires after 1m:\n{out[-3000:]}")

# Every dashboard query parses.
rules = []
for panel in monlib.panels(monlib.dashboard()):
    for t in panel.get("targets", []):
        if t.get("expr"):
            rules.append({"record": f"dashboard:panel_{panel['id']}_{t['refId']}",
                          "expr": monlib.grafana_to_promql(t["expr"])})
check(len(rules) >= 40, f"{len(rules)} dashboard queries")
dash_file = os.path.join(tmp, "dashboard-queries.yaml")
with open(dash_file, "w") as f:
    json.dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)
p = check_rules(dash_file, "(the dashboard's queries)")
done()
