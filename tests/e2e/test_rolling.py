#!/usr/bin/env python3
"""Rolling changes of a 3-server cluster (DESIGN §4 "Rolling change"; the StatefulSet is
OnDelete, the operator deletes one pod at a time).

1. Image change (spec.image neo4j:5.26.12-enterprise → neo4j:5.26.13-enterprise): every pod
   is deleted exactly once, at no sampled moment are two pods not Ready or absent, the
   system leader's pod goes last (each earlier pod was not the leader when deleted, the
   last one was), and the cluster ends Ready with the new image everywhere.
2. spec.config change: the config hash of the pod template changes and each pod restarts
   exactly once, carrying the new hash. After the first pod went, a not-yet-rolled server
   is hung (`hack/test-env pod hang`, SIGSTOP): no further pod is deleted for 15 s; after
   `pod resume` the roll goes on to the end.
3. Operator upgrade: the operator stops, neo4j-operator-next (another render version)
   starts: UpdatePending=True and no pod is restarted (UIDs unchanged for 20 s); the
   annotation neo4j.graphops.io/rollout=1 rolls the pods (one at a time again) and
   UpdatePending goes False.
"""
import time

from e2elib import (GROUP, Roll, assert_operators_alive, Sampler, check, expect_converged, get_cr, kubectl, next_bin, patch_cr,
                    pods, roll_sample, run, say, sim_dump, sts, testenv, uids, wait_cond, wait_for)

NAME = "graph"
HASH = "neo4j.graphops.io/config-hash"


def judge_roll(what, roll, allow_down=1):
    dels = roll.deletions()
    say(f"{what}: deletions {[(round(t - dels[0][0], 1), pn, ld) for t, pn, ld in dels] if dels else []}")
    check(sorted(pn for _, pn, _ in dels) == sorted(roll.before),
          f"{what}: every pod was deleted: {[pn for _, pn, _ in dels]}")
    seen = roll.uids_seen()
    check(all(n == 2 for n in seen.values()), f"{what}: each pod restarted exactly once (pod UIDs seen: {seen})")
    if allow_down is not None:
        n, down = roll.worst()
        check(n <= allow_down, f"{what}: at most {allow_down} pod not Ready/absent at any moment (saw {n}: {down})")
    if len(dels) == len(roll.before):
        firsts, last = dels[:-1], dels[-1]
        check(all(ld is not None and ld != pn for _, pn, ld in firsts),
              f"{what}: no pod but the last was the system leader when deleted: {firsts}")
        check(last[2] == last[1], f"{what}: the last pod deleted, {last[1]}, was the system leader ({last[2]})")


def wait_rolled(ns, before, image=None, timeout=240):
    """Every pod replaced (new UID) and Ready, and the CR Ready for its generation."""
    def ok():
        assert_operators_alive()
        ps = pods(ns, NAME)
        return len(ps) == len(before) and all(
            p["metadata"]["uid"] != before.get(pn) and p["metadata"].get("deletionTimestamp") is None
            and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions") or [])
            and (image is None or p["spec"]["containers"][0]["image"] == image)
            for pn, p in ps.items())
    wait_for("every pod rolled and Ready", ok, timeout=timeout, interval=1)


def body(t):
    ns = t.namespace("e2e-roll")
    op = t.operator([ns])
    op.start()
    t.cluster("cluster-3.yaml", ns, edits=lambda cr: cr["spec"].update(image="neo4j:5.26.12-enterprise"))
    wait_cond(ns, NAME, "Ready", timeout=240)
    expect_converged(ns, NAME, 3)

    # 1. Image change.
    before = uids(ns, NAME)
    new = "neo4j:5.26.13-enterprise"
    with Sampler(lambda: roll_sample(ns, NAME)) as s:
        gen = patch_cr(ns, NAME, {"spec": {"image": new}})
        wait_rolled(ns, before, image=new)
        wait_cond(ns, NAME, "Ready", generation=gen, timeout=120)
    judge_roll("image roll", Roll(s.samples, before))
    st = sts(ns, NAME)
    check(st["spec"]["template"]["spec"]["containers"][0]["image"] == new, "the StatefulSet has the new image")
    check(st["spec"].get("updateStrategy", {}).get("type") == "OnDelete", "the StatefulSet is OnDelete")
    expect_converged(ns, NAME, 3)

    # 2. Config change, with a server hung in the middle of the roll.
    before = uids(ns, NAME)
    hash0 = sts(ns, NAME)["spec"]["template"]["metadata"]["annotations"].get(HASH)
    with Sampler(lambda: roll_sample(ns, NAME)) as s:
        gen = patch_cr(ns, NAME, {"spec": {"config": {"db.transaction.timeout": "61s"}}})
        wait_for("the first pod of the config roll deleted", lambda: Roll(s.samples, before).deletions(),
                 timeout=120, interval=0.5)
        first = Roll(s.samples, before).deletions()[0][1]
        leader = sim_dump(ns, NAME)["leader"]
        rest = [pn for pn in sorted(before) if pn != first]
        victim = next((pn for pn in rest if pn != leader), rest[0])
        testenv("pod", "hang", f"{ns}/{victim}")
        hung_at = time.monotonic()
        say(f"config roll: {first} went first; {victim} hung (leader {leader})")
        try:
            time.sleep(15)
            during = [d for d in Roll(s.samples, before).deletions() if d[0] > hung_at]
            check(not during, f"with {victim} hung no further pod was deleted for 15 s: {during}")
            cr = get_cr(ns, NAME)
            say(f"while hung: phase {cr['status'].get('phase')}, conditions "
                f"{[(c['type'], c['status'], c.get('reason')) for c in cr['status'].get('conditions') or []]}")
        finally:
            testenv("pod", "resume", f"{ns}/{victim}")
        wait_rolled(ns, before)
        wait_cond(ns, NAME, "Ready", generation=gen, timeout=120)
    roll = Roll(s.samples, before)
    judge_roll("config roll", roll, allow_down=None)  # the hang itself takes a pod down
    check(len([d for d in roll.deletions() if d[0] > hung_at]) == 2,
          "after `pod resume` the roll went on to the two remaining pods")
    hash1 = sts(ns, NAME)["spec"]["template"]["metadata"]["annotations"].get(HASH)
    check(hash0 and hash1 and hash0 != hash1, f"the config hash of the pod template changed: {hash0} -> {hash1}")
    ph = {pn: p["metadata"].get("annotations", {}).get(HASH) for pn, p in pods(ns, NAME).items()}
    check(all(h == hash1 for h in ph.values()), f"every pod carries the new config hash: {ph}")
    expect_converged(ns, NAME, 3)

    # 3. Operator upgrade: a new render version waits for the rollout annotation.
    nb = next_bin()
    if not check(nb is not None, "neo4j-operator-next is built (N4J_OPERATOR_NEXT_BIN): the upgrade part runs"):
        return
    op.stop()
    before = uids(ns, NAME)
    gen = get_cr(ns, NAME)["metadata"]["generation"]
    op.start(binary=nb)
    wait_cond(ns, NAME, "UpdatePending", "True", generation=gen, timeout=90)
    t0 = time.monotonic()
    changed = {}
    while time.monotonic() - t0 < 20:
        now_uids = uids(ns, NAME)
        changed.update({pn: u for pn, u in now_uids.items() if before.get(pn) != u})
        changed.update({pn: None for pn in before if pn not in now_uids})
        time.sleep(1)
    check(not changed, f"with UpdatePending no pod was restarted for 20 s: {changed}")
    with Sampler(lambda: roll_sample(ns, NAME)) as s:
        kubectl("-n", ns, "annotate", "--overwrite", f"neo4jclusters.{GROUP}/{NAME}",
                "neo4j.graphops.io/rollout=1", check=True)
        wait_rolled(ns, before)
        wait_cond(ns, NAME, "UpdatePending", "False", generation=gen, timeout=120)
        wait_cond(ns, NAME, "Ready", generation=gen, timeout=120)
    judge_roll("upgrade roll", Roll(s.samples, before))
    expect_converged(ns, NAME, 3)


run("rolling", body)
