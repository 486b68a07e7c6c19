#!/usr/bin/env python3
"""Every setting a rendered pod gives Neo4j exists in Neo4j (issue 10, item 4).

    conf_keys.py BINARY SOURCE_DIR

Renders every golden input and example as tests/golden.py does and collects, per
Neo4jCluster, the settings its servers start with:
  - each key of the ConfigMap's neo4j.conf (operator keys and the user's spec.config:
    every spec.config key must be among them, so none escapes the check);
  - each NEO4J_* environment variable of a container, set in `env` or exported by the
    start script, converted as docker-neo4j's entrypoint does (drop NEO4J_, '_' -> '.',
    then '..' -> '_'), except the variables the entrypoint keeps for itself.
Each must be in tests/data/neo4j-settings-<line>.txt of the CR's version line (5.26 for
5.26.x, 2025 for 2025.x; any other line has no list and fails), must not be an
Enterprise-only setting in a Community CR, or must be a setting of a plugin the CR
installs (tests/data/neo4j-plugin-settings.txt).

The check proves it can fail on every run: a CR with a key Neo4j lacks, and a Community
CR with an Enterprise-only key, must each be reported.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

# docker-neo4j docker-image-src/{5,calver}/coredb/docker-entrypoint.sh, `not_configs`:
# NEO4J_* variables the entrypoint reads itself and never writes to neo4j.conf.
NOT_CONFIGS = {"NEO4J_ACCEPT_LICENSE_AGREEMENT", "NEO4J_AUTH", "NEO4J_AUTH_PATH", "NEO4J_DEBUG",
               "NEO4J_EDITION", "NEO4J_HOME", "NEO4J_PLUGINS", "NEO4J_SHA256", "NEO4J_TARBALL",
               "NEO4J_DEPRECATION_WARNING"}


def env_setting(var):
    """The setting docker-neo4j's entrypoint makes of VAR, or None for a control variable.
    Its sed: s|^NEO4J_||, s|_|.|g, s|\\.\\.|_|g (left to right, like str.replace)."""
    if var in NOT_CONFIGS or var.endswith("_FILE"):  # *_FILE are docker secrets
        return None
    return var[len("NEO4J_"):].replace("_", ".").replace("..", "_")


class Settings:
    """One list file: exact names, and <...> placeholders as one dot-free segment."""

    def __init__(self, path):
        self.exact, self.patterns = {}, []
        self.source = []
        for line in open(path, encoding="utf-8"):
            line = line.strip()
            if line.startswith("#"):
                self.source.append(line)
                continue
            if not line:
                continue
            name, *flags = line.split()
            ee = "enterprise" in flags
            if "<" in name:
                rx = "".join("[^.]+" if re.fullmatch(r"<[^>]+>", part) else re.escape(part)
                             for part in re.split(r"(<[^>]+>)", name))
                self.patterns.append((re.compile(rx + r"\Z"), ee))
            else:
                self.exact[name] = ee
        if len(self.exact) < 100 or not any(l.startswith("# source:") for l in self.source):
            raise SystemExit(f"{path}: not a settings list (no '# source:' line or too short)")

    def lookup(self, key):
        """None when Neo4j has no such setting, else whether it is Enterprise-only."""
        if key in self.exact:
            return self.exact[key]
        for rx, ee in self.patterns:
            if rx.match(key):
                return ee
        return None


def load_plugin_settings(path):
    out = {}
    for line in open(path, encoding="utf-8"):
        line = line.split("#", 1)[0].strip()
        if line:
            plugin, setting = line.split()
            out.setdefault(plugin, set()).add(setting)
    return out


def version_line(version):
    if re.fullmatch(r"5\.26\.\d+", version):
        return "5.26"
    if re.fullmatch(r"2025\.\d{2}\.\d+", version):
        return "2025"
    return None


def run_json(args):
    p = subprocess.run(args, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: exit {p.returncode}: {p.stderr.strip()}")
    return json.loads(p.stdout)["items"]


def walk(o, fn):
    if isinstance(o, dict):
        fn(o)
        for v in o.values():
            walk(v, fn)
    elif isinstance(o, list):
        for v in o:
            walk(v, fn)


def settings_of(objs, cluster):
    """(setting, where) pairs a cluster's servers start with, and the conf keys alone."""
    name = cluster["metadata"]["name"]
    conf_keys, out = [], []
    for o in objs:
        if o["kind"] == "ConfigMap" and o["metadata"]["name"] == name + "-config":
            for line in o.get("data", {}).get("neo4j.conf", "").splitlines():
                if line.strip() and not line.lstrip().startswith("#"):
                    key = line.split("=", 1)[0].strip()
                    conf_keys.append(key)
                    out.append((key, "neo4j.conf"))
        labels = o.get("metadata", {}).get("labels", {})
        if labels.get("app.kubernetes.io/instance") != name:
            continue

        def containers(x):
            if "image" in x and isinstance(x.get("env", []), list):
                where = f"{o['kind']}/{o['metadata']['name']} container {x.get('name')}"
                for e in x.get("env", []):
                    if e["name"].startswith("NEO4J_"):
                        out.append((e["name"], where + " env"))
                for s in x.get("command", []) + x.get("args", []):
                    for var in re.findall(r"\bexport\s+(NEO4J_\w+)=", s):
                        out.append((var, where + " script"))

        walk(o, containers)
    return conf_keys, out


def check_input(binary, files, lists, plugin_settings):
    """Problems (strings) for one render, and how many settings were checked."""
    args = [binary, "render", "-o", "json"]
    dargs = [binary, "defaults", "-o", "json"]
    for f in files:
        args += ["-f", f]
        dargs += ["-f", f]
    objs = run_json(args)
    clusters = [o for o in run_json(dargs) if o["kind"] == "Neo4jCluster"]
    problems, checked = [], 0
    if not clusters:
        return [f"no Neo4jCluster in {files}"], 0
    for c in clusters:
        spec, cname = c["spec"], c["metadata"]["name"]
        line = version_line(spec["version"])
        if line is None:
            problems.append(f"{cname}: version {spec['version']} has no settings list")
            continue
        known = lists[line]
        community = spec.get("edition") == "community"
        allowed = set()
        for p in spec.get("plugins", []):
            allowed |= plugin_settings.get(p["name"] if isinstance(p, dict) else p, set())
        conf_keys, found = settings_of(objs, c)
        if not conf_keys:
            problems.append(f"{cname}: no neo4j.conf rendered in ConfigMap {cname}-config")
        for key in spec.get("config", {}):
            if key not in conf_keys:
                problems.append(f"{cname}: spec.config key {key} is not in the rendered neo4j.conf")
        for raw, where in found:
            key = env_setting(raw) if raw.startswith("NEO4J_") else raw
            if key is None:
                continue
            shown = f"{key} (from {raw})" if key != raw else key
            checked += 1
            if key in allowed:
                continue
            ee = known.lookup(key)
            if ee is None:
                problems.append(f"{cname} ({spec['version']}): {where}: {shown} is not a Neo4j "
                                f"{line} setting")
            elif ee and community:
                problems.append(f"{cname} ({spec['version']}, community): {where}: {shown} is "
                                f"an Enterprise-only setting")
    return problems, checked


def main():
    binary, src = sys.argv[1], sys.argv[2]
    data = os.path.join(src, "tests", "data")
    lists = {line: Settings(os.path.join(data, f"neo4j-settings-{line}.txt"))
             for line in ("5.26", "2025")}
    plugin_settings = load_plugin_settings(os.path.join(data, "neo4j-plugin-settings.txt"))

    inputs = []
    golden = os.path.join(src, "tests", "golden")
    examples = os.path.join(src, "examples")
    for n in sorted(os.listdir(golden)):
        if n.endswith(".yaml") and not n.endswith(".out.yaml"):
            inputs.append([os.path.join(golden, n)])
    for n in sorted(os.listdir(examples)):
        if n.endswith(".yaml"):
            # A backup renders with the cluster it references, as in tests/golden.py.
            pre = [os.path.join(examples, "cluster-3.yaml")] if n.startswith("backup-") else []
            inputs.append(pre + [os.path.join(examples, n)])

    failed = passed = total = 0
    for files in inputs:
        try:
            problems, n = check_input(binary, files, lists, plugin_settings)
        except (RuntimeError, ValueError, KeyError) as e:
            problems, n = [f"render: {e}"], 0
        total += n
        name = os.path.relpath(files[-1], src)
        if problems:
            failed += 1
            print(f"FAIL {name}")
            for p in problems:
                print(f"  {p}")
        else:
            passed += 1
            print(f"ok {name}: {n} settings")

    # Negative controls: the check must report a key Neo4j lacks and an Enterprise-only
    # key in a Community conf, or a pass above proves nothing.
    controls = {
        "dbms.no_such_setting": ("enterprise", '"5.26.12"', "is not a Neo4j 5.26 setting"),
        "server.max_databases": ("enterprise", '"2025.06.0"',
                                           "is not a Neo4j 2025 setting"),
        "dbms.routing.reads_on_writers_enabled": ("community", '"5.26.12"',
                                                  "an Enterprise-only setting"),
    }
    with tempfile.TemporaryDirectory() as tmp:
        for key, (edition, version, want) in controls.items():
            path = os.path.join(tmp, "control.yaml")
            license_line = '  acceptLicenseAgreement: "yes"\n' if edition == "enterprise" else ""
            with open(path, "w") as f:
                f.write("apiVersion: neo4j.graphops.io/v1alpha1\nkind: Neo4jCluster\n"
                        "metadata:\n  name: control\n  namespace: neo4j\n"
                        f"spec:\n  edition: {edition}\n  version: {version}\n{license_line}"
                        f"  servers: 1\n  config:\n    {key}: \"1\"\n")
            try:
                problems, _ = check_input(binary, [path], lists, plugin_settings)
            except (RuntimeError, ValueError, KeyError) as e:
                problems = [f"render: {e}"]
            hit = [p for p in problems if key in p and want in p]
            if hit and len(problems) == 1:
                passed += 1
                print(f"ok control {key} ({edition} {version}): {hit[0]}")
            else:
                failed += 1
                print(f"FAIL control {key} ({edition} {version}): expected exactly "
                      f"'{want}', got {problems}")

    print(f"{total} settings checked against {', '.join(sorted(lists))} lists")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed or total == 0 else 0)


if __name__ == "__main__":
    main()
