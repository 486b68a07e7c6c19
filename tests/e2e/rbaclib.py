"""The RBAC audit judgement shared by e2e.rbac_audit and e2e.install: the rules an identity
is granted (from manifests, as (apiGroup, resource, verb) triples) against what the
apiserver's audit log shows it used.

- any request refused with 403 is a missing rule;
- any granted triple never used is too much, unless an allow-list says why it is granted
  anyway (one reason per entry);
- an allow-listed triple that was used should leave the allow-list.
"""
import json

from e2elib import brief, check, kubectl, triple


def load_yaml_docs(path=None, text=None):
    """A manifest file (or YAML text) as JSON objects through kubectl (the tests need no
    YAML library)."""
    args = ["create", "--dry-run=client", "-o", "json", "-f", path or "-"]
    out = kubectl(*args, input=text, check=True).stdout
    docs, dec, i = [], json.JSONDecoder(), 0
    while True:  # one JSON object per YAML document, concatenated
        while i < len(out) and out[i].isspace():
            i += 1
        if i >= len(out):
            break
        d, i = dec.raw_decode(out, i)
        docs += d["items"] if d.get("kind") == "List" else [d]
    return docs


def granted_triples(docs):
    """{(apiGroup, resource, verb): "Kind/name"} of every ClusterRole and Role in docs."""
    out = {}
    for d in docs:
        if d["kind"] not in ("ClusterRole", "Role"):
            continue
        for rule in d.get("rules") or []:
            for g in rule.get("apiGroups") or []:
                for r in rule.get("resources") or []:
                    for v in rule.get("verbs") or []:
                        out[(g, r, v)] = f"{d['kind']}/{d['metadata']['name']}"
    return out


def usage(events):
    """(used {triple: count}, denied {triple: brief}, non-resource {"VERB /url": code}) of
    audit events."""
    used, denied, nonres = {}, {}, {}
    for e in events:
        if not (e.get("objectRef") or {}).get("resource"):
            # Discovery and other non-resource URLs (system:discovery grants them to all).
            u = f"{e.get('verb')} {e.get('requestURI', '').split('?')[0]}"
            nonres[u] = (e.get("responseStatus") or {}).get("code")
            if nonres[u] == 403:
                denied.setdefault(("non-resource", u, e.get("verb")), brief(e))
            continue
        t = triple(e)
        code = (e.get("responseStatus") or {}).get("code", 0)
        if code == 403:
            denied.setdefault(t, brief(e))
        else:
            used[t] = used.get(t, 0) + 1
        if t[2] == "patch" and code == 201:
            # A server-side apply that created the object: the apiserver authorized
            # `create` too (the PATCH handler's create check), without a request of its own.
            c = (t[0], t[1], "create")
            used[c] = used.get(c, 0) + 1
    return used, denied, nonres


def judge(events, granted, allowed_unused, what="the operator", either=None):
    """Prints the usage and checks: no 403, every granted triple used or allow-listed, no
    allow-listed triple used, no list/watch of Secrets. `either` {triple: reason}: triples
    a short scenario may or may not use (timing decides), judged by neither check.
    Returns (used, denied, unused)."""
    either = either or {}
    used, denied, nonres = usage(events)
    print(f"{len(events)} requests by {what}; {len(used)} triples used:")
    for t in sorted(used):
        print(f"  used    {t[0] or 'core'} {t[1]} {t[2]} x{used[t]}{'' if t in granted else '  (NOT GRANTED?)'}")
    for t, d in sorted(denied.items()):
        print(f"  DENIED  {t[0] or 'core'} {t[1]} {t[2]}: {d}")
    for u, code in sorted(nonres.items()):
        print(f"  non-resource {u} -> {code}")
    unused = sorted(t for t in granted if t not in used and t not in allowed_unused and t not in either)
    for t in unused:
        print(f"  UNUSED  {t[0] or 'core'} {t[1]} {t[2]} ({granted[t]})")
    for t in sorted(t for t in allowed_unused if t not in used):
        print(f"  allowed unused {t[0] or 'core'} {t[1]} {t[2]}: {allowed_unused[t]}")
    for t in sorted(either):
        print(f"  {'used' if t in used else 'unused'} (either way) {t[0] or 'core'} {t[1]} {t[2]}: {either[t]}")
    now_used = sorted(t for t in allowed_unused if t in used and t not in either)
    for t in now_used:
        print(f"  allow-listed but used (drop the entry): {t}")
    check(not denied, f"{what}: no request refused with 403: {sorted(denied)}")
    check(not unused, f"{what}: every granted rule is used or allow-listed with a reason: unused {unused}")
    check(not now_used, f"{what}: no allow-listed rule is actually used: {now_used}")
    sec = [brief(e) for e in events
           if (e.get("objectRef") or {}).get("resource") == "secrets" and e.get("verb") in ("list", "watch")]
    check(not sec, f"{what}: no list/watch of Secrets: {sec}")
    return used, denied, unused
