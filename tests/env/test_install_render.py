#!/usr/bin/env python3
"""The install manifests as the real tools render them, accepted by the real apiserver:

- `helm lint` of the chart with its default values, the namespaced values
  (charts/neo4j-operator/ci/namespaced-values.yaml) and the ServiceMonitor and
  PrometheusRule switched on; a value the schema does not know is refused;
- `helm template --kube-version 1.33 --include-crds` (default values: cluster-wide; the
  namespaced values) and `kustomize build` of every overlay, each piped to
  `kubectl apply --server-side --dry-run=server` (the documented install command);
- in each output: the Deployment (2 replicas, `run --leader-elect=true`, the restricted
  security context, probes on /healthz and /readyz, POD_NAME/POD_NAMESPACE from the
  downward API, a grace period above the 30 s drain budget), its pod admitted by the
  apiserver in a namespace enforcing the restricted Pod Security profile, the metrics
  Service, the PDB, the CRDs identical to crds/;
- RBAC: cluster-wide = a ClusterRole with exactly rbac.yaml's rules bound by a
  ClusterRoleBinding to the operator's ServiceAccount; namespaced = no cluster-scoped RBAC
  at all, a Role with those rules and its RoleBinding in every watched namespace; the
  leader-election Role (rbac.yaml's) in the operator's namespace, both modes.

The namespaces the manifests name (neo4j-operator, neo4j, neo4j-staging) are created for
the dry runs when absent (a server-side dry run creates no namespace) and deleted after.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from envlib import (ROOT, check, done, kjson, kubectl, load_env, pods_admitted,  # noqa: E402
                    restricted_namespace, run, unique_name)

load_env()
from rbaclib import load_yaml_docs  # noqa: E402  (imports e2elib, which needs no env)

CHART = os.path.join(ROOT, "charts", "neo4j-operator")
NS_VALUES = os.path.join(CHART, "ci", "namespaced-values.yaml")
OP_NS = "neo4j-operator"
RBAC = load_yaml_docs(os.path.join(ROOT, "manifests", "base", "rbac.yaml"))
CLUSTER_RULES = next(d["rules"] for d in RBAC if d["kind"] == "ClusterRole")
LEASE_RULES = next(d["rules"] for d in RBAC if d["kind"] == "Role")
CRDS = {d["metadata"]["name"]: d for d in load_yaml_docs(os.path.join(ROOT, "crds"))}


def tool(*args, input=None):
    p = run(list(args), input=input, timeout=300)
    check(p.returncode == 0, f"{' '.join(args[:3])}...: exit {p.returncode} {p.stderr.strip()[:2000]}")
    return p


def by_kind(docs, kind):
    return [d for d in docs if d["kind"] == kind]


def judge(name, text, watched):
    """Checks of one rendered install; watched: None (cluster-wide) or the namespaces."""
    p = kubectl("apply", "--server-side", "--force-conflicts", "--field-manager=install-render",
                "--dry-run=server", "-f", "-", input=text)
    check(p.returncode == 0, f"{name}: kubectl apply --server-side --dry-run=server accepts it: "
          f"{p.stderr.strip()[:3000]}")
    docs = load_yaml_docs(text=text)
    deps = by_kind(docs, "Deployment")
    check(len(deps) == 1, f"{name}: one Deployment ({len(deps)})")
    if not deps:
        return
    d = deps[0]
    check(d["metadata"].get("namespace") == OP_NS, f"{name}: the Deployment is in {OP_NS}")
    spec = d["spec"]["template"]["spec"]
    c = spec["containers"][0]
    args = c.get("args") or []
    check(d["spec"].get("replicas") == 2, f"{name}: 2 replicas")
    check(args[:1] == ["run"] and "--leader-elect=true" in args, f"{name}: run --leader-elect=true: {args}")
    ns_args = [a for a in args if a.startswith("--namespaces")]
    want = [] if watched is None else [f"--namespaces={','.join(watched)}"]
    check(ns_args == want, f"{name}: watch flags {ns_args} == {want}")
    psc, sc = spec.get("securityContext") or {}, c.get("securityContext") or {}
    check(psc.get("runAsNonRoot") is True and psc.get("runAsUser") == 65532
          and (psc.get("seccompProfile") or {}).get("type") == "RuntimeDefault",
          f"{name}: pod securityContext non-root 65532, seccomp RuntimeDefault: {psc}")
    check(sc.get("readOnlyRootFilesystem") is True and sc.get("allowPrivilegeEscalation") is False
          and (sc.get("capabilities") or {}).get("drop") == ["ALL"],
          f"{name}: container read-only root, no privilege escalation, drop ALL: {sc}")
    probes = ((c.get("livenessProbe") or {}).get("httpGet") or {}, (c.get("readinessProbe") or {}).get("httpGet") or {})
    ports = {p["name"]: p["containerPort"] for p in c.get("ports") or []}
    check([p.get("path") for p in probes] == ["/healthz", "/readyz"] and ports.get("health") == 8081
          and all(p.get("port") == "health" for p in probes),
          f"{name}: liveness /healthz, readiness /readyz on 8081: {probes} {ports}")
    check("--health-probe-bind-address=:8081" in args and "--metrics-bind-address=:8080" in args,
          f"{name}: the binary serves 8080 and 8081: {args}")
    env = {e["name"]: ((e.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath") for e in c.get("env") or []}
    check(env.get("POD_NAME") == "metadata.name" and env.get("POD_NAMESPACE") == "metadata.namespace",
          f"{name}: POD_NAME and POD_NAMESPACE from the downward API: {env}")
    check((spec.get("terminationGracePeriodSeconds") or 30) > 30, f"{name}: grace period above the 30 s drain")
    check((c.get("resources") or {}).get("limits", {}).get("memory") and c["resources"].get("requests"),
          f"{name}: resources set: {c.get('resources')}")
    # The pod the ReplicaSet would create, in a namespace enforcing `restricted`.
    pns = unique_name("install-render")
    restricted_namespace(pns)
    try:
        sa = spec.get("serviceAccountName")
        kubectl("-n", pns, "create", "serviceaccount", sa, check=True)
        moved = json.loads(json.dumps(d))
        moved["metadata"]["namespace"] = pns
        for what, p in pods_admitted(name, [moved]):
            check(p.returncode == 0 and not p.stderr.strip(),
                  f"{what}: admitted under restricted, no warning: {p.stderr.strip()}")
    finally:
        kubectl("delete", "ns", pns, "--wait=false")

    svc = [s for s in by_kind(docs, "Service") if any(p.get("name") == "metrics" for p in s["spec"]["ports"])]
    check(len(svc) == 1 and svc[0]["spec"]["ports"][0]["port"] == 8080, f"{name}: a metrics Service on 8080")
    pdb = by_kind(docs, "PodDisruptionBudget")
    check(len(pdb) == 1 and pdb[0]["spec"].get("minAvailable") == 1, f"{name}: a PDB minAvailable 1")
    crds = {x["metadata"]["name"]: x for x in by_kind(docs, "CustomResourceDefinition")}
    check(crds.keys() == CRDS.keys() and all(crds[k]["spec"] == CRDS[k]["spec"] for k in crds),
          f"{name}: the CRDs are crds/'s: {sorted(crds)}")

    sa_subject = {"kind": "ServiceAccount", "name": spec.get("serviceAccountName"), "namespace": OP_NS}
    croles, cbinds = by_kind(docs, "ClusterRole"), by_kind(docs, "ClusterRoleBinding")
    roles, binds = by_kind(docs, "Role"), by_kind(docs, "RoleBinding")

    def bound(binding_list, role):
        return [b for b in binding_list if b["roleRef"]["kind"] == role["kind"]
                and b["roleRef"]["name"] == role["metadata"]["name"]
                and b["metadata"].get("namespace") == role["metadata"].get("namespace")
                and b.get("subjects") == [sa_subject]]

    lease = [r for r in roles if r["metadata"].get("namespace") == OP_NS and r["rules"] == LEASE_RULES]
    check(len(lease) == 1 and bound(binds, lease[0]), f"{name}: the leader-election Role bound in {OP_NS}")
    if watched is None:
        check(len(croles) == 1 and croles[0]["rules"] == CLUSTER_RULES,
              f"{name}: one ClusterRole with rbac.yaml's rules")
        check(croles and len(bound(cbinds, croles[0])) == 1,
              f"{name}: the ClusterRole bound to the operator's ServiceAccount by a ClusterRoleBinding")
    else:
        check(not croles and not cbinds, f"{name}: no cluster-scoped RBAC in namespaced mode "
              f"({[x['metadata']['name'] for x in croles + cbinds]})")
        for ns in watched:
            r = [x for x in roles if x["metadata"].get("namespace") == ns and x["rules"] == CLUSTER_RULES]
            check(len(r) == 1 and bound(binds, r[0]), f"{name}: a Role with rbac.yaml's rules bound in {ns}")


created = []
for ns in (OP_NS, "neo4j", "neo4j-staging"):
    p = kubectl("get", "ns", ns, "-o", "json")
    if p.returncode == 0 and json.loads(p.stdout)["metadata"].get("deletionTimestamp"):
        kubectl("wait", "--for=delete", f"ns/{ns}", "--timeout=180s", timeout=200)  # an earlier run's
        p = kubectl("get", "ns", ns)
    if p.returncode != 0:
        restricted_namespace(ns)
        created.append(ns)
try:
    # helm lint: defaults, namespaced, monitoring objects on; the strict schema refuses a typo.
    tool("helm", "lint", "--strict", CHART)
    tool("helm", "lint", "--strict", CHART, "-f", NS_VALUES)
    tool("helm", "lint", "--strict", CHART, "--set", "metrics.serviceMonitor.enabled=true",
         "--set", "prometheusRule.enabled=true")
    p = run(["helm", "template", "x", CHART, "--set", "logLevl=debug"])
    check(p.returncode != 0 and "logLevl" in p.stderr, f"values.schema.json refuses an unknown value: {p.stderr.strip()}")
    p = tool("helm", "template", "x", CHART, "-n", OP_NS, "--kube-version", "1.33",
             "--set", "metrics.serviceMonitor.enabled=true", "--set", "prometheusRule.enabled=true")
    import yaml  # python3-yaml (hack/install-deps)
    with open(os.path.join(CHART, "files", "prometheus-rules.yaml")) as f:
        groups = [g["name"] for g in yaml.safe_load(f)["groups"]]
    rendered = [d for d in yaml.safe_load_all(p.stdout) if d and d.get("kind") == "PrometheusRule"]
    check(groups and len(rendered) == 1
          and [g["name"] for g in rendered[0]["spec"]["groups"]] == groups
          and "kind: ServiceMonitor" in p.stdout,
          f"the PrometheusRule carries files/prometheus-rules.yaml's groups {groups}, and a ServiceMonitor")

    common = ["helm", "template", "neo4j-operator", CHART, "-n", OP_NS, "--kube-version", "1.33", "--include-crds"]
    judge("helm (default values: cluster-wide)", tool(*common).stdout, None)
    judge("helm (ci/namespaced-values.yaml)", tool(*common, "-f", NS_VALUES).stdout, ["neo4j", "neo4j-staging"])
    for overlay, watched in (("cluster-wide", None), ("single-namespace", ["neo4j"])):
        out = tool("kustomize", "build", os.path.join(ROOT, "manifests", "overlays", overlay)).stdout
        judge(f"kustomize overlays/{overlay}", out, watched)
    # The base alone is the cluster-wide install too (overlays only add to it).
    judge("kustomize base", tool("kustomize", "build", os.path.join(ROOT, "manifests", "base")).stdout, None)
    # The CRD upgrade path of docs/install.md, as a dry run.
    p = kubectl("apply", "--server-side", "--force-conflicts", "--dry-run=server", "-f", os.path.join(CHART, "crds"))
    check(p.returncode == 0, f"kubectl apply --server-side -f charts/neo4j-operator/crds/ (dry run): {p.stderr}")
    check(kjson("get", "crd", "neo4jclusters.neo4j.graphops.io")["spec"]["group"] == "neo4j.graphops.io",
          "the CRDs are installed")
finally:
    for ns in created:
        kubectl("delete", "ns", ns, "--wait=true", "--timeout=180s", timeout=200)
done()
