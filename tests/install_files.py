#!/usr/bin/env python3
"""The install's copies and versions agree with their sources (no cluster, no tools):

- charts/neo4j-operator/crds/ holds exactly crds/*.yaml, byte for byte (Helm reads CRDs
  only from inside the chart; the operator embeds crds/, the source of truth);
- charts/neo4j-operator/files/rbac.yaml is manifests/base/rbac.yaml (the chart's
  (Cluster)Role rules are read from it: the rules e2e.rbac_audit proves minimal);
- charts/neo4j-operator/files/prometheus-rules.yaml is docs/monitoring/prometheus-rules.yaml
  (the chart's PrometheusRule; the alerts are written and tested there);
- crds/Kustomization lists exactly crds/*.yaml (manifests/base installs the CRDs through it);
- one version: CMake's project version = Chart.yaml version and appVersion = the image tag
  of manifests/base/deployment.yaml.

    python3 tests/install_files.py <repo root>
"""
import filecmp
import glob
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "env"))
from envlib import check, done  # noqa: E402  one check/summary for every test script

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
CHART = os.path.join(ROOT, "charts", "neo4j-operator")




def same(copy, source, fix):
    a, b = os.path.join(ROOT, copy), os.path.join(ROOT, source)
    if not os.path.exists(b):
        check(False, f"{source} exists (the source of {copy})")
        return
    check(os.path.exists(a) and filecmp.cmp(a, b, shallow=False),
          f"{copy} is an identical copy of {source} (fix: {fix})")


def rel(paths):
    return sorted(os.path.basename(p) for p in paths)


crds = rel(glob.glob(os.path.join(ROOT, "crds", "*.yaml")))
check(len(crds) >= 2, f"crds/ holds the CRDs: {crds}")
chart_crds = rel(glob.glob(os.path.join(CHART, "crds", "*")))
check(chart_crds == crds, f"charts/neo4j-operator/crds/ holds the same files as crds/: {chart_crds} != {crds}")
for c in crds:
    same(f"charts/neo4j-operator/crds/{c}", f"crds/{c}", "cp crds/*.yaml charts/neo4j-operator/crds/")
same("charts/neo4j-operator/files/rbac.yaml", "manifests/base/rbac.yaml",
     "cp manifests/base/rbac.yaml charts/neo4j-operator/files/")
same("charts/neo4j-operator/files/prometheus-rules.yaml", "docs/monitoring/prometheus-rules.yaml",
     "cp docs/monitoring/prometheus-rules.yaml charts/neo4j-operator/files/")

with open(os.path.join(ROOT, "crds", "Kustomization")) as f:
    kz = f.read()
listed = sorted(re.findall(r"^- (\S+)\s*$", kz.split("resources:", 1)[-1], re.M))
check(listed == crds, f"crds/Kustomization lists exactly crds/*.yaml: {listed} != {crds}")

with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
    m = re.search(r"project\(neo4j-operator VERSION (\S+)", f.read())
version = m.group(1) if m else None
check(version is not None, "CMakeLists.txt has project(neo4j-operator VERSION x.y.z)")
with open(os.path.join(CHART, "Chart.yaml")) as f:
    chart = f.read()
cv = re.search(r"^version:\s*\"?([^\"\s]+)", chart, re.M)
av = re.search(r"^appVersion:\s*\"?([^\"\s]+)", chart, re.M)
check(av and av.group(1) == version, f"Chart.yaml appVersion {av and av.group(1)} = the project version {version}")
check(cv and cv.group(1) == version, f"Chart.yaml version {cv and cv.group(1)} = the project version {version}")
with open(os.path.join(ROOT, "manifests", "base", "deployment.yaml")) as f:
    images = re.findall(r"^\s*image:\s*(\S+)", f.read(), re.M)
check(images == [f"ghcr.io/graphops/neo4j-operator:{version}"],
      f"manifests/base/deployment.yaml runs ghcr.io/graphops/neo4j-operator:{version}: {images}")

done()
