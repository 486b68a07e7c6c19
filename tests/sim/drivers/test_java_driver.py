#!/usr/bin/env python3
"""n4j-clustersim through the official Neo4j Java driver (the version bench/bolt uses).
Usage: test_java_driver.py PATH/TO/n4j-clustersim OUT_DIR

Builds tests/sim/drivers/java into OUT_DIR with Maven (offline first, so a warm
$CACHE/m2 needs no network; online when something is missing), starts a 3-server simulator
advertising s0..s2.sim.test and runs SimDriverCheck with -Djdk.net.hosts.file mapping those
names: the JVM's own resolver is all the Java driver needs, for the seed and for every
routing-table address. SimDriverCheck prints the checks and the closing line.
"""
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import simcluster  # noqa: E402

# 127.0.0.94-96: this suite's own (the Python suite uses .91-93, test_sim .61+).
FIRST_IP = 94
JAVA = os.path.join(HERE, "java")


def build(out):
    stamp = os.path.join(out, ".built")
    srcs = [os.path.join(JAVA, "pom.xml")]
    for d, _, fs in os.walk(os.path.join(JAVA, "src")):
        srcs += [os.path.join(d, f) for f in fs]
    if os.path.exists(stamp) and all(os.path.getmtime(f) <= os.path.getmtime(stamp) for f in srcs):
        return True
    os.makedirs(out, exist_ok=True)
    mvn = ["mvn", "-B", "-q", "-f", os.path.join(JAVA, "pom.xml"),
           "-Dmaven.repo.local=" + os.path.join(simcluster.CACHE, "m2"),
           "-Dsimcheck.out=" + out, "package", "dependency:copy-dependencies",
           "-DincludeScope=runtime", "-DoutputDirectory=" + os.path.join(out, "lib")]
    for extra in (["-o"], []):
        with tempfile.TemporaryFile(mode="w+") as log:
            rc = subprocess.call(mvn + extra, stdout=log, stderr=subprocess.STDOUT)
            if rc == 0:
                open(stamp, "w").close()
                return True
            log.seek(0)
            text = log.read()
    print("maven build failed (%s):\n%s" % (" ".join(mvn), text[-4000:]))
    return False


def main():
    sim, out = sys.argv[1], os.path.abspath(sys.argv[2])
    if not build(out):
        print("sim.driver_java: 0 passed, 1 failed")
        return 1
    cl = simcluster.Cluster(sim, FIRST_IP)
    known = cl.names_resolve()
    if known:
        cl.close()
        print("FAIL the advertised names resolve without jdk.net.hosts.file: %s" % known)
        print("sim.driver_java: 0 passed, 1 failed")
        return 1
    try:
        cmd = ["java", "-Djdk.net.hosts.file=" + cl.hosts_file(), "-cp",
               os.path.join(out, "classes") + os.pathsep + os.path.join(out, "lib", "*"),
               "SimDriverCheck", simcluster.PASSWORD, cl.control_path] + cl.adv
        java = subprocess.Popen(cmd)
        deadline = time.monotonic() + 200
        while java.poll() is None:
            # A dead simulator would make every later check wait out the driver's retries.
            if cl.proc.poll() is not None or time.monotonic() > deadline:
                java.kill()
                java.wait()
                why = ("the simulator exited (status %s)" % cl.proc.returncode
                       if cl.proc.poll() is not None else "SimDriverCheck ran past 200 s")
                print("FAIL " + why)
                break
            time.sleep(0.2)
        rc = java.returncode if java.returncode == 0 else 1
    finally:
        report = simcluster.sanitizer_report(cl.close())
    if report:
        print("FAIL the simulator logged a sanitizer or valgrind report:\n" + report)
    if report or (rc != 0 and java.returncode != 1):
        # SimDriverCheck did not print its own closing line (killed), or it did but the
        # simulator's log says more.
        print("sim.driver_java: 0 passed, 1 failed")
        return 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
