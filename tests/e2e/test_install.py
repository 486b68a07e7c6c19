#!/usr/bin/env python3
"""The operator as installed: the chart or the kustomize manifests applied to the test
apiserver, then the installed Deployment run by hack/run-deployment (its exact args and
env, a TokenRequest token of its ServiceAccount), forms a 3-server cluster; the audit log
of that ServiceAccount shows no request refused and every rule the install granted used.
One mode per tool, so that both tools and both modes run end to end:

- namespaced: `helm install --set watchNamespaces={NS}` (Roles in NS, the Lease Role in the
  operator's namespace, no cluster-wide permission); every request of the operator names
  NS or the operator's namespace;
- cluster-wide: `kustomize build` of an overlay of manifests/overlays/cluster-wide (its own
  namespace and name prefix, as a user installing it elsewhere would write) piped to
  `kubectl apply --server-side`.

Rules granted but not used by one formation are allow-listed with a reason: those of
e2e.rbac_audit (ALLOWED_UNUSED, features the test bed lacks) and those of features only its
fuller scenario exercises (NOT_IN_FORMATION). The granted rules are read from what was
installed (`helm get manifest`, the kustomize output), not from rbac.yaml.
"""
import os
import signal
import time

from e2elib import (ROOT, assert_operators_alive, audit_mark, audit_since, brief, check, cond_is, get_cr, kjson,
                    kubectl, run, say, scoped, servers_ready, unique_name, wait_for)
import envlib  # noqa: E402 (on the path through e2elib)
from envlib import run as run_cmd
from rbaclib import granted_triples, judge, load_yaml_docs
from test_rbac_audit import ALLOWED_UNUSED

CHART = os.path.join(ROOT, "charts", "neo4j-operator")

# Exercised by e2e.rbac_audit's scenario (scale, roll, NetworkPolicy off, a backup), not by
# one formation. Keys: (apiGroup, resource, verb).
NOT_IN_FORMATION = {
    ("neo4j.graphops.io", "neo4jbackups/status", "patch"): "a Neo4jBackup's status (e2e.rbac_audit)",
    **{("batch", "cronjobs", v): "a scheduled Neo4jBackup's CronJob (e2e.rbac_audit)"
       for v in ("get", "create", "patch")},
    **{("", "persistentvolumeclaims", v): "the backup PVC of a pvc target (e2e.rbac_audit)"
       for v in ("get", "create", "patch")},
    ("", "persistentvolumeclaims", "delete"): "the claim of a server dropped at scale-in (e2e.rbac_audit)",
    ("", "pods", "delete"): "a rolling update deletes pods one at a time (e2e.rbac_audit)",
    ("networking.k8s.io", "networkpolicies", "delete"): "spec.networkPolicy.enabled switched off "
        "(e2e.rbac_audit)",
}
ALLOWED = {**ALLOWED_UNUSED, **NOT_IN_FORMATION}
# Used or not depending on timing in one short formation.
EITHER = {
    ("", "events", "patch"): "the recorder patches an Event only when the same one repeats "
        "(e.g. a server still Free on a second reconcile); e2e.rbac_audit's longer scenario "
        "always does",
}


class Deployed:
    """One replica of an installed Deployment run by hack/run-deployment; stopped by PID."""

    def __init__(self, ns, deployment):
        self.ns, self.deployment, self.pid, self.workdir = ns, deployment, None, None

    def start(self, tmp):
        self.workdir = os.path.join(tmp, f"run-{self.deployment}")
        p = run_cmd([os.path.join(ROOT, "hack", "run-deployment"), "-n", self.ns, "--workdir", self.workdir,
                     self.deployment], timeout=60)
        check(p.returncode == 0 and p.stdout.strip().isdigit(),
              f"hack/run-deployment {self.ns}/{self.deployment} printed a PID: {p.stdout!r} {p.stderr}")
        self.pid = int(p.stdout.strip())
        say(f"operator from {self.ns}/{self.deployment}: pid {self.pid}\n{p.stderr.strip()}")

    def alive(self):
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        with open(f"/proc/{self.pid}/stat") as f:  # a zombie has exited
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"

    def log(self, n=60):
        try:
            with open(os.path.join(self.workdir, "operator.log"), errors="replace") as f:
                return "\n".join(f.read().splitlines()[-n:])
        except (OSError, TypeError):
            return ""

    def stop(self, grace=20):
        if not self.pid or not self.alive():
            return
        os.kill(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
        say(f"operator pid {self.pid} stopped")


def wait_ready(op, ns, name, n, timeout=300):
    def ok():
        assert_operators_alive()
        if not op.alive():
            raise AssertionError(f"the operator (pid {op.pid}) exited; its log:\n{op.log()}")
        cr = get_cr(ns, name)
        return cr if cr and cond_is(cr, "Ready", "True") and servers_ready(cr, n) else None
    return wait_for(f"{ns}/{name} Ready with {n} servers", ok, timeout=timeout, interval=1)


def form_and_judge(t, op, user, granted, crns, own_ns, mode, mark):
    op.start(t.tmp)
    try:
        t.cluster("cluster-3.yaml", crns)
        wait_ready(op, crns, "graph", 3)
        check(True, f"{mode}: the cluster formed under the installed operator")
        lease = kjson("-n", own_ns, "get", "lease", "neo4j-operator")
        holder = lease["spec"].get("holderIdentity") or ""
        check(holder.startswith(f"{op.deployment}-local-"),
              f"{mode}: the Lease in {own_ns} is held by the run-deployment replica: {holder}")
    finally:
        op.stop()
        t.diag_op = op
    events = audit_since(mark, user=user)
    if mode.startswith("cluster-wide"):
        # Requests about other namespaces' clusters (a shared environment) say nothing about
        # this install's rules being needed; cluster-scoped ones (the all-namespace lists
        # and watches) do.
        events = scoped(events, (crns, own_ns), ("neo4j-operator",), cluster=True)
    check(len(events) > 50, f"{mode}: the audit log has {user}'s requests ({len(events)})")
    judge(events, granted, ALLOWED, what=f"{mode} ({user})", either=EITHER)
    return events


def delete_cluster(crns):
    kubectl("-n", crns, "delete", "neo4jclusters.neo4j.graphops.io", "graph", "--wait=true", "--timeout=120s",
            timeout=150)


def namespaced_helm(t):
    opns, crns = t.namespace("install-hop"), t.namespace("install-hcr")
    release = unique_name("install-h")
    full = f"{release}-neo4j-operator"
    p = run_cmd(["helm", "install", release, CHART, "-n", opns, "--set", f"watchNamespaces[0]={crns}",
                 "--wait", "--timeout", "180s"], timeout=240)
    check(p.returncode == 0, f"helm install (namespaced, watching {crns}): {p.stderr.strip()}")
    t.cleanups.append(lambda: run_cmd(["helm", "uninstall", release, "-n", opns, "--ignore-not-found"], timeout=120))
    manifest = run_cmd(["helm", "get", "manifest", release, "-n", opns], check=True).stdout
    docs = load_yaml_docs(text=manifest)
    check(not [d for d in docs if d["kind"] in ("ClusterRole", "ClusterRoleBinding")],
          "namespaced: the release holds no cluster-scoped RBAC")
    granted = granted_triples(docs)
    sa = kjson("-n", opns, "get", "deployment", full)["spec"]["template"]["spec"]["serviceAccountName"]
    user = f"system:serviceaccount:{opns}:{sa}"
    mark = audit_mark()
    events = form_and_judge(t, Deployed(opns, full), user, granted, crns, opns, "namespaced (helm)", mark)
    outside = [brief(e) for e in events if (e.get("objectRef") or {}).get("resource")
               and (e.get("objectRef") or {}).get("namespace") not in (crns, opns)]
    check(not outside, f"namespaced: every request names {crns} or {opns}: {outside[:5]}")
    delete_cluster(crns)


def cluster_wide_kustomize(t):
    opns, crns = t.namespace("install-kop"), t.namespace("install-kcr")
    prefix = unique_name("ik") + "-"
    full = f"{prefix}neo4j-operator"
    d = os.path.join(t.tmp, "overlay")
    os.makedirs(d)
    # The user's overlay: another namespace (subjects included) and a name prefix; the
    # Namespace object is theirs to make (here the test's restricted one).
    with open(os.path.join(d, "kustomization.yaml"), "w") as f:
        f.write(f"""apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- {os.path.relpath(os.path.join(ROOT, 'manifests', 'overlays', 'cluster-wide'), d)}
namePrefix: {prefix}
transformers:
- namespace.yaml
patches:
- patch: |-
    $patch: delete
    apiVersion: v1
    kind: Namespace
    metadata:
      name: neo4j-operator
""")
    with open(os.path.join(d, "namespace.yaml"), "w") as f:
        f.write(f"""apiVersion: builtin
kind: NamespaceTransformer
metadata:
  name: operator-namespace
  namespace: {opns}
setRoleBindingSubjects: allServiceAccounts
""")
    built = run_cmd(["kustomize", "build", d], check=True).stdout
    docs = load_yaml_docs(text=built)
    check(not [x for x in docs if x["kind"] == "Namespace"], "the overlay dropped the Namespace object")
    cluster_scoped = [(x["kind"].lower(), x["metadata"]["name"]) for x in docs
                      if x["kind"] in ("ClusterRole", "ClusterRoleBinding")]
    t.cleanups.append(lambda: [kubectl("delete", k, n, "--ignore-not-found") for k, n in cluster_scoped])
    p = kubectl("apply", "--server-side", "--field-manager=install-e2e", "-f", "-", input=built)
    check(p.returncode == 0, f"kustomize build | kubectl apply --server-side: {p.stderr.strip()}")
    p = kubectl("-n", opns, "rollout", "status", f"deployment/{full}", "--timeout=180s", timeout=200)
    check(p.returncode == 0, f"the kustomize-installed Deployment rolls out: {p.stdout} {p.stderr}")
    granted = granted_triples(docs)
    user = f"system:serviceaccount:{opns}:{full}"
    mark = audit_mark()
    form_and_judge(t, Deployed(opns, full), user, granted, crns, opns, "cluster-wide (kustomize)", mark)
    delete_cluster(crns)


def body(t):
    t.cleanups, t.diag_op = [], None
    try:
        namespaced_helm(t)
        cluster_wide_kustomize(t)
    finally:
        if envlib._failures and t.diag_op is not None:
            print(f"--- last installed operator's log ({t.diag_op.workdir}):\n{t.diag_op.log(80)}", flush=True)
        for c in reversed(t.cleanups):
            c()


run("install", body)
