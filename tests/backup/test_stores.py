#!/usr/bin/env python3
"""The backup Job's object-store clients (src/backup/store_s3.c, store_azure.c,
store_gcs.c) against real emulators: moto (S3), Azurite (Azure Blob) and
fake-gcs-server (GCS) started by hack/test-env.

Objects are uploaded with a plain HTTP client (signed here, independently of the
C code); the C clients then list and delete through tests/backup/store_tool. For
each store:
  - list returns exactly the objects directly under the prefix, with sizes (not the
    prefix's "folders", not a sibling prefix that shares its first letters, not
    other prefixes), across several pages (N4J_STORE_PAGE_SIZE=2);
  - delete removes exactly the named object (checked with the plain client);
  - a wrong key (S3, Azure) fails with the store's error code and no secret, no
    signature in the message; missing credentials fail with a clear message.

Usage: test_stores.py STORE_TOOL [NEO4J_OPERATOR] (with the operator: also
`backup-retention` pruning each store for real). Endpoints and credentials from TESTENV_S3_ENDPOINT,
TESTENV_S3_KEY_ID, TESTENV_S3_SECRET, TESTENV_AZURE_ENDPOINT (the blob service,
http://127.0.0.1:PORT; the account is Azurite's devstoreaccount1 unless
TESTENV_AZURE_ACCOUNT/TESTENV_AZURE_KEY say otherwise), TESTENV_GCS_ENDPOINT.
A missing one FAILS the test: the environment is incomplete.
"""
import base64
import datetime
import hashlib
import hmac
from http import server as httpserver
import json
import os
import re
import shlex
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

TOOL = sys.argv[1] if len(sys.argv) > 1 else ""
# The operator binary, for `backup-retention` against each store (optional argument).
OPERATOR = sys.argv[2] if len(sys.argv) > 2 else ""
# Azurite's well-known development account (public, documented by Microsoft).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
               "KBHBeksoGMGw==")

failures = []
# Under valgrind (valgrind.env.backup_store_clients): its errors exit 99, not the tools' 1.
WRAP = (shlex.split(os.environ["N4J_CHILD_WRAPPER"]) + ["--error-exitcode=99"]
        if os.environ.get("N4J_CHILD_WRAPPER") else [])
# Buckets and containers made here, removed at the end (the emulators are shared).
CLEANUPS = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


def need(name):
    v = os.environ.get(name, "")
    if not v:
        print(f"FAIL {name} is not set: start the test environment (hack/test-env up) and "
              f"export its env (hack/test-env env)", flush=True)
        sys.exit(1)
    return v


def http(method, url, headers=None, body=b""):
    req = urllib.request.Request(url, data=body if method in ("PUT", "POST") else None,
                                 method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def tool(args, env):
    full = {k: v for k, v in os.environ.items()
            if not k.startswith(("AWS_", "AZURE_", "GOOGLE_", "STORAGE_EMULATOR"))}
    full.update(env)
    p = subprocess.run(WRAP + [TOOL] + args, env=full, capture_output=True, text=True,
                       timeout=300)
    check(p.returncode != 99, f"valgrind: store_tool {args[0]}: {p.stderr[-1500:]}")
    return p.returncode, p.stdout, p.stderr


def listing(out):
    got = {}
    for line in out.splitlines():
        name, size = line.split("\t")
        got[name] = int(size)
    return got


# The layout every store gets: `p/` is the target's prefix.
def layout(run):
    return {
        f"{run}/p/neo4j-2026-01-01T02-00-00.backup": b"a" * 11,
        f"{run}/p/neo4j-2026-01-02T02-00-00.backup": b"b" * 22,
        f"{run}/p/system-2026-01-02T02-00-00.backup": b"c" * 33,
        f"{run}/p/notes & more.txt": b"user's file",
        f"{run}/p/sub/neo4j-2026-01-03T02-00-00.backup": b"deeper",
        f"{run}/px/neo4j-2026-01-04T02-00-00.backup": b"sibling prefix",
        f"{run}/other.backup": b"outside",
    }


def expect_direct(objs, run):
    pre = f"{run}/p/"
    return {k[len(pre):]: len(v) for k, v in objs.items()
            if k.startswith(pre) and "/" not in k[len(pre):]}


def retention(kind, target, env, put, exists, run):
    """`neo4j-operator backup-retention` on the cloud target (when the build has it): five
    daily fulls of neo4j, keepLast 2 → the three oldest go; an uninspected artifact, another
    database's and a user's file stay."""
    if not OPERATOR:
        return
    days = [f"neo4j-2026-11-0{d}T02-00-00.backup" for d in range(1, 6)]
    keep = days[3:] + ["neo4j-2026-10-01T02-00-00.backup",  # not in inspect: never pruned
                       "system-2026-11-01T02-00-00.backup",  # not a --database
                       "README.txt"]
    for n in days + keep:
        put(f"{run}/ret/{n}", n.encode())
    tmp = tempfile.mkdtemp(prefix="n4j-ret-")
    try:
        insp = os.path.join(tmp, "inspect.json")
        with open(insp, "w") as f:
            json.dump([{"name": n, "database": "neo4j", "time": n[6:25], "full": True,
                        "lowestTx": 1, "highestTx": 10 + i} for i, n in enumerate(days)]
                      + [{"name": "system-2026-11-01T02-00-00.backup", "database": "system",
                          "full": True}], f)
        rep = os.path.join(tmp, "report")
        full = {k: v for k, v in os.environ.items()
                if not k.startswith(("AWS_", "AZURE_", "GOOGLE_", "STORAGE_EMULATOR"))}
        full.update(env)
        p = subprocess.run(WRAP + [OPERATOR, "backup-retention", f"--target={target}",
                            f"--inspect={insp}", "--keep-last=2", "--database=neo4j",
                            f"--report={rep}", "--now=2026-11-06T00:00:00Z"],
                           env=full, capture_output=True, text=True, timeout=600)
        check(p.returncode != 99, f"valgrind: backup-retention: {p.stderr[-1500:]}")
        report = {}
        try:
            report = json.loads(open(rep).read())
        except (OSError, ValueError):
            pass
        check(p.returncode == 0 and report.get("prunedCount") == 3,
              f"{kind}: backup-retention keepLast 2 prunes 3 ({p.returncode} {report} "
              f"{p.stderr.strip()[:300]})")
        for n in days[:3]:
            check(not exists(f"{run}/ret/{n}"), f"{kind}: retention deleted {n}")
        for n in keep:
            check(exists(f"{run}/ret/{n}"), f"{kind}: retention kept {n}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def exercise(kind, target, env, objs, run, exists, bad_env, bad_secret, bad_code):
    """list / page / delete / wrong key for one store."""
    want = expect_direct(objs, run)
    rc, out, err = tool(["list", target], env)
    if check(rc == 0, f"{kind}: list exits 0 ({err.strip()[:300]})"):
        check(listing(out) == want, f"{kind}: list = the objects directly under the prefix "
              f"with sizes (got {listing(out)}, want {want})")
    rc, out, err = tool(["list", target], dict(env, N4J_STORE_PAGE_SIZE="2"))
    if check(rc == 0, f"{kind}: paged list exits 0 ({err.strip()[:300]})"):
        check(listing(out) == want, f"{kind}: paged list (2 a page) = the same objects")
    # The empty prefix (the bucket/container's top): only top-level objects.
    top = target[:target.rindex(f"{run}/p")] if kind != "azure" else None
    if top is not None:
        rc, out, err = tool(["list", top + run], env)
        check(rc == 0 and listing(out) == {"other.backup": len(b"outside")},
              f"{kind}: a one-segment prefix lists its own level only ({out!r} {err[:200]})")

    victim = "neo4j-2026-01-01T02-00-00.backup"
    rc, out, err = tool(["delete", target, victim], env)
    check(rc == 0, f"{kind}: delete exits 0 ({err.strip()[:300]})")
    check(not exists(f"{run}/p/{victim}"), f"{kind}: the deleted object is gone")
    for k in objs:
        if not k.endswith("/p/" + victim):
            check(exists(k), f"{kind}: {k} is untouched")
    rc, out, err = tool(["list", target], env)
    want.pop(victim)
    check(rc == 0 and listing(out) == want, f"{kind}: list after delete lacks only it")
    # Deleting again: idempotent (the object may have been pruned by an earlier run).
    rc, out, err = tool(["delete", target, victim], env)
    check(rc == 0, f"{kind}: deleting a missing object succeeds ({err.strip()[:300]})")

    if bad_env is not None:
        for op in (["list", target], ["delete", target, "neo4j-2026-01-02T02-00-00.backup"]):
            rc, out, err = tool(op, bad_env)
            check(rc == 1, f"{kind}: {op[0]} with a wrong key exits 1")
            check(any(c in err for c in bad_code),
                  f"{kind}: {op[0]} names the store's error {'|'.join(bad_code)}: "
                  f"{err.strip()[:300]}")
            check(bad_secret not in err and "Signature=" not in err
                  and "SharedKey " not in err and "AWS4-HMAC-SHA256" not in err
                  and "StringToSign" not in err and "SignatureProvided" not in err
                  and "CanonicalRequest" not in err
                  and not re.search(r"\?[A-Za-z-]+=", err),
                  f"{kind}: {op[0]}'s error has no secret, signature or URL query")
        check(exists(f"{run}/p/neo4j-2026-01-02T02-00-00.backup"),
              f"{kind}: nothing deleted with a wrong key")


# ---- S3 ---------------------------------------------------------------------------

def s3_sign(method, url, key_id, secret, region="us-east-1", body=b"", service="s3",
            ctype=None):
    u = urllib.parse.urlsplit(url)
    now = datetime.datetime.now(datetime.timezone.utc)
    amz, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    ph = hashlib.sha256(body).hexdigest()
    q = "&".join(sorted(
        f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}"
        for k, v in urllib.parse.parse_qsl(u.query, keep_blank_values=True)))
    ct, sh = (f"content-type:{ctype}\n", "content-type;") if ctype else ("", "")
    creq = (f"{method}\n{u.path}\n{q}\n{ct}host:{u.netloc}\nx-amz-content-sha256:{ph}\n"
            f"x-amz-date:{amz}\n\n{sh}host;x-amz-content-sha256;x-amz-date\n{ph}")
    scope = f"{day}/{region}/{service}/aws4_request"
    sts = f"AWS4-HMAC-SHA256\n{amz}\n{scope}\n{hashlib.sha256(creq.encode()).hexdigest()}"
    k = ("AWS4" + secret).encode()
    for part in (day, region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    h = {"x-amz-date": amz, "x-amz-content-sha256": ph,
         "Authorization": f"AWS4-HMAC-SHA256 Credential={key_id}/{scope}, "
                          f"SignedHeaders={sh}host;x-amz-content-sha256;x-amz-date, "
                          f"Signature={sig}"}
    if ctype:
        h["Content-Type"] = ctype
    return h


def test_s3():
    ep = need("TESTENV_S3_ENDPOINT").rstrip("/")
    kid, sec = need("TESTENV_S3_KEY_ID"), need("TESTENV_S3_SECRET")
    run = "r" + uuid.uuid4().hex[:8]
    bucket = "n4j-stores-" + run

    def s3(method, key="", body=b""):
        url = f"{ep}/{bucket}" + ("/" + urllib.parse.quote(key, safe="/-_.~") if key else "")
        h = s3_sign(method, url, kid, sec, body=body)
        h["Content-Type"] = "application/octet-stream"  # urllib's default is a form
        return http(method, url, h, body)

    st, b = s3("PUT")
    if not check(st == 200, f"s3: create bucket ({st} {b[:200]!r})"):
        return

    def cleanup():
        while True:
            st, b = http(
                "GET", f"{ep}/{bucket}?list-type=2",
                s3_sign("GET", f"{ep}/{bucket}?list-type=2", kid, sec))
            keys = re.findall(r"<Key>(.*?)</Key>", b.decode())
            for k in keys:
                s3("DELETE", k.replace("&amp;", "&"))
            if not keys or st != 200:
                break
        s3("DELETE")

    CLEANUPS.append(cleanup)
    objs = layout(run)
    for k, v in objs.items():
        st, b = s3("PUT", k, v)
        check(st == 200, f"s3: put {k} ({st})")
    env = {"AWS_ACCESS_KEY_ID": kid, "AWS_SECRET_ACCESS_KEY": sec, "AWS_ENDPOINT_URL_S3": ep,
           "AWS_REGION": "us-east-1"}
    bad_secret = "WrongSecret" + uuid.uuid4().hex
    bad = dict(env, AWS_SECRET_ACCESS_KEY=bad_secret)
    exercise("s3", f"s3://{bucket}/{run}/p", env, objs, run,
             lambda k: s3("HEAD", k)[0] == 200, bad, bad_secret, ("SignatureDoesNotMatch",))

    retention("s3", f"s3://{bucket}/{run}/ret", env, lambda k, v: s3("PUT", k, v),
              lambda k: s3("HEAD", k)[0] == 200, run)
    s3_irsa(ep, bucket, run, kid, sec, objs)
    s3_error_body(run)
    s3_tls(run)
    rc, out, err = tool(["list", f"s3://{bucket}/{run}/p"],
                        {"AWS_ENDPOINT_URL_S3": ep})
    check(rc == 1 and "no credentials" in err and "AWS_ACCESS_KEY_ID" in err,
          f"s3: no credentials → a clear error ({err.strip()[:300]})")
    rc, out, err = tool(["list", f"s3://{bucket}/{run}/p"],
                        {"AWS_ENDPOINT_URL_S3": ep, "AWS_ACCESS_KEY_ID": kid})
    check(rc == 1 and "AWS_SECRET_ACCESS_KEY" in err,
          f"s3: a key id without its secret → a clear error ({err.strip()[:300]})")
    rc, out, err = tool(["list", f"s3://{bucket}/p"],
                        dict(env, AWS_ENDPOINT_URL_S3="http://user:TOPSECRET@127.0.0.1:9/"))
    check(rc == 1 and "AWS_ENDPOINT_URL_S3" in err and "TOPSECRET" not in err,
          f"s3: an endpoint with user info is refused without repeating it ({err.strip()[:300]})")
    rc, out, err = tool(["list", "s3://evil.com#@x/p"], env)
    check(rc == 1 and "not a bucket name" in err,
          f"s3: a bucket that would change the host is refused ({err.strip()[:300]})")
    rc, out, err = tool(["list", f"s3://no-such-bucket-{run}/p"], env)
    check(rc == 1 and "NoSuchBucket" in err,
          f"s3: a missing bucket names NoSuchBucket ({err.strip()[:300]})")


def s3_error_body(run):
    """AWS's SignatureDoesNotMatch quotes the request's signature, string to sign and
    canonical request (moto's does not): a stand-in answers like AWS, and none of it may
    reach the message."""
    body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SignatureDoesNotMatch"
            "</Code><Message>The request signature we calculated does not match the signature "
            "you provided. Check your key and signing method.</Message><AWSAccessKeyId>"
            "AKIAEXAMPLE</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256\n20260101T000000Z\n"
            "20260101/us-east-1/s3/aws4_request\nabc</StringToSign><SignatureProvided>"
            "f00dfeed" + run + "</SignatureProvided><CanonicalRequest>GET\n/b\nlist-type=2"
            "</CanonicalRequest><RequestId>1</RequestId></Error>").encode()

    class H(httpserver.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            seen.append(self.path)
            if len(seen) == 1:  # a transient SlowDown first: retried, not reported
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(403)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    seen = []
    srv = httpserver.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        rc, out, err = tool(["list", "s3://b/p"], {
            "AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{srv.server_address[1]}",
            "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "x" + run})
        check(rc == 1 and "SignatureDoesNotMatch" in err and "f00dfeed" not in err
              and "StringToSign" not in err and "aws4_request" not in err
              and "list-type" not in err and len(seen) == 2,
              f"s3: a 503 is retried; then an AWS-style error quoting the signed request: "
              f"only Code and Message ({len(seen)} requests; {err.strip()[:300]})")
    finally:
        srv.shutdown()


def s3_tls(run):
    """HTTPS to an S3-compatible store with a private CA: refused by default, trusted
    through AWS_CA_BUNDLE (a stand-in answering one listing over TLS)."""
    tmp = tempfile.mkdtemp(prefix="n4j-tls-")
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", cert], capture_output=True)
    if not check(p.returncode == 0, f"s3: a test certificate ({p.stderr[-200:]!r})"):
        return
    body = (b"<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>p/"
            b"neo4j-2026-01-01T00-00-00.backup</Key><Size>5</Size></Contents>"
            b"</ListBucketResult>")

    class H(httpserver.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    srv = httpserver.ThreadingHTTPServer(("127.0.0.1", 0), H)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        env = {"AWS_ENDPOINT_URL_S3": f"https://127.0.0.1:{srv.server_address[1]}",
               "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "x" + run}
        rc, out, err = tool(["list", "s3://b/p"], env)
        check(rc == 1 and "certificate" in err,
              f"s3: an untrusted certificate is refused ({err.strip()[:300]})")
        rc, out, err = tool(["list", "s3://b/p"], dict(env, AWS_CA_BUNDLE=cert))
        check(rc == 0 and listing(out) == {"neo4j-2026-01-01T00-00-00.backup": 5},
              f"s3: AWS_CA_BUNDLE trusts it ({err.strip()[:300]})")
        rc, out, err = tool(["list", "s3://b/p"], dict(env, AWS_CA_BUNDLE=cert + ".missing"))
        check(rc == 1 and "AWS_CA_BUNDLE" in err,
              f"s3: an unreadable AWS_CA_BUNDLE is named ({err.strip()[:300]})")
    finally:
        srv.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)


def s3_irsa(ep, bucket, run, kid, sec, objs):
    """IRSA: the projected token and role go to STS AssumeRoleWithWebIdentity (an STS
    stand-in here: moto with authentication on cannot serve that unsigned call); the
    credentials it returns (the test's key, plus a session token) must then sign the
    S3 requests that moto verifies."""
    # Real temporary credentials from the emulator (a role allowed everything, assumed
    # with the test's key): what STS hands out for the IRSA role.
    def aws(service, params):
        form = urllib.parse.urlencode(params).encode()
        ctype = "application/x-www-form-urlencoded"
        return http("POST", ep + "/", s3_sign("POST", ep + "/", kid, sec, body=form,
                                              service=service, ctype=ctype), form)

    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]})
    allow = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "*", "Resource": "*"}]})
    rname = "n4j-irsa-" + run
    st1, _ = aws("iam", {"Action": "CreateRole", "RoleName": rname, "Version": "2010-05-08",
                         "AssumeRolePolicyDocument": trust})
    st2, _ = aws("iam", {"Action": "PutRolePolicy", "RoleName": rname, "PolicyName": "all",
                         "PolicyDocument": allow, "Version": "2010-05-08"})
    st, b = aws("sts", {"Action": "AssumeRole", "Version": "2011-06-15", "RoleSessionName": "t",
                        "RoleArn": f"arn:aws:iam::123456789012:role/{rname}"})
    got = {t: re.search(f"<{t}>(.*?)</{t}>", b.decode()) for t in
           ("AccessKeyId", "SecretAccessKey", "SessionToken")}
    if not check(st1 == 200 and st2 == 200 and st == 200 and all(got.values()),
                 f"s3: a role's temporary credentials from the emulator ({st1} {st2} {st} "
                 f"{b[:200]!r})"):
        return
    kid, sec, session = (got[t].group(1) for t in ("AccessKeyId", "SecretAccessKey",
                                                    "SessionToken"))
    tmp = tempfile.mkdtemp(prefix="n4j-irsa-")
    jwt = "eyJhbGciOiJSUzI1NiJ9.e30." + uuid.uuid4().hex
    role = "arn:aws:iam::123456789012:role/neo4j-backup"
    calls = []

    class H(httpserver.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            form = dict(urllib.parse.parse_qsl(self.rfile.read(n).decode()))
            calls.append(form)
            ok = (form.get("Action") == "AssumeRoleWithWebIdentity"
                  and form.get("RoleArn") == role and form.get("WebIdentityToken") == jwt
                  and "Authorization" not in self.headers)
            if ok:
                body = (f"<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>"
                        f"<Credentials><AccessKeyId>{kid}</AccessKeyId><SecretAccessKey>{sec}"
                        f"</SecretAccessKey><SessionToken>{session}</SessionToken>"
                        f"<Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>"
                        f"</AssumeRoleWithWebIdentityResult>"
                        f"</AssumeRoleWithWebIdentityResponse>").encode()
                code = 200
            else:
                body = (b"<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken"
                        b"</Code><Message>Couldn't retrieve verification key from your "
                        b"identity provider</Message></Error></ErrorResponse>")
                code = 400
            self.send_response(code)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    srv = httpserver.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        tokf = os.path.join(tmp, "token")
        with open(tokf, "w") as f:
            f.write(jwt + "\n")
        env = {"AWS_ENDPOINT_URL_S3": ep, "AWS_REGION": "us-east-1",
               "AWS_ENDPOINT_URL_STS": f"http://127.0.0.1:{srv.server_address[1]}/",
               "AWS_WEB_IDENTITY_TOKEN_FILE": tokf, "AWS_ROLE_ARN": role}
        want = expect_direct(objs, run)
        want.pop("neo4j-2026-01-01T02-00-00.backup")  # deleted before
        rc, out, err = tool(["list", f"s3://{bucket}/{run}/p"], env)
        check(rc == 0 and listing(out) == want and len(calls) == 1,
              f"s3: IRSA: the web identity token → STS → signed S3 requests "
              f"({len(calls)} STS call(s), {err.strip()[:300]})")
        with open(tokf, "w") as f:
            f.write("not-the-token")
        rc, out, err = tool(["list", f"s3://{bucket}/{run}/p"], env)
        check(rc == 1 and "InvalidIdentityToken" in err and "not-the-token" not in err,
              f"s3: IRSA: a refused token fails with STS's error, not the token "
              f"({err.strip()[:300]})")
        rc, out, err = tool(["list", f"s3://{bucket}/{run}/p"],
                            {k: v for k, v in env.items() if k != "AWS_ROLE_ARN"})
        check(rc == 1 and "AWS_ROLE_ARN" in err,
              f"s3: IRSA without AWS_ROLE_ARN → a clear error ({err.strip()[:300]})")
    finally:
        srv.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)


# ---- Azure ------------------------------------------------------------------------

def az_sign(method, url, account, key, headers, length=0):
    u = urllib.parse.urlsplit(url)
    xms = "".join(f"{k}:{v}\n" for k, v in sorted(headers.items()) if k.startswith("x-ms-"))
    res = f"/{account}{u.path}"
    for k, v in sorted(urllib.parse.parse_qsl(u.query, keep_blank_values=True)):
        res += f"\n{k.lower()}:{v}"
    ctype = headers.get("Content-Type", "")
    sts = (f"{method}\n\n\n{length if length else ''}\n\n{ctype}\n\n\n\n\n\n\n" + xms + res)
    mac = hmac.new(base64.b64decode(key), sts.encode(), hashlib.sha256).digest()
    return f"SharedKey {account}:{base64.b64encode(mac).decode()}"


def test_azure():
    ep = need("TESTENV_AZURE_ENDPOINT").rstrip("/")
    account = os.environ.get("TESTENV_AZURE_ACCOUNT") or AZURITE_ACCOUNT
    key = os.environ.get("TESTENV_AZURE_KEY") or AZURITE_KEY
    # Azurite serves the account under a path; a real endpoint would already end with it.
    blob_ep = ep if ep.endswith("/" + account) else f"{ep}/{account}"
    run = "r" + uuid.uuid4().hex[:8]
    container = "n4j-stores-" + run

    def az(method, path, query="", body=b"", extra=None):
        url = f"{blob_ep}/{container}" + (
            "/" + urllib.parse.quote(path, safe="/-_.~") if path else "") + (
            "?" + query if query else "")
        h = {"x-ms-date": datetime.datetime.now(datetime.timezone.utc).strftime(
            "%a, %d %b %Y %H:%M:%S GMT"), "x-ms-version": "2021-08-06"}
        h.update(extra or {})
        if method == "PUT":
            h["Content-Type"] = "application/octet-stream"  # urllib's default is a form
        h["Authorization"] = az_sign(method, url, account, key, h, len(body))
        return http(method, url, h, body)

    st, b = az("PUT", "", "restype=container")
    if not check(st == 201, f"azure: create container ({st} {b[:200]!r})"):
        return
    CLEANUPS.append(lambda: az("DELETE", "", "restype=container"))
    objs = layout(run)
    for k, v in objs.items():
        st, b = az("PUT", k, body=v, extra={"x-ms-blob-type": "BlockBlob"})
        check(st == 201, f"azure: put {k} ({st} {b[:200]!r})")
    env = {"AZURE_STORAGE_ACCOUNT_NAME": account, "AZURE_STORAGE_ACCOUNT_KEY": key,
           "AZURE_STORAGE_BLOB_ENDPOINT": blob_ep}
    wrong = base64.b64encode(hashlib.sha512(run.encode()).digest()).decode()
    bad = dict(env, AZURE_STORAGE_ACCOUNT_KEY=wrong)
    target = f"azb://{account}/{container}/{run}/p"
    # Azure answers a bad signature with AuthenticationFailed, Azurite with AuthorizationFailure.
    exercise("azure", target, env, objs, run, lambda k: az("HEAD", k)[0] == 200, bad, wrong,
             ("AuthenticationFailed", "AuthorizationFailure"))
    retention("azure", f"azb://{account}/{container}/{run}/ret", env,
              lambda k, v: az("PUT", k, body=v, extra={"x-ms-blob-type": "BlockBlob"}),
              lambda k: az("HEAD", k)[0] == 200, run)
    rc, out, err = tool(["list", f"azb://{account}/{container}/{run}"], env)
    check(rc == 0 and listing(out) == {"other.backup": len(b"outside")},
          f"azure: a one-segment prefix lists its own level only ({out!r} {err[:200]})")
    rc, out, err = tool(["list", f"azb://{account}/{container}"], env)
    check(rc == 0 and listing(out) == {},
          f"azure: the container's top (no prefix) lists nothing here ({out!r} {err[:200]})")

    az_entra(ep, blob_ep, account, key, container, run, objs)
    rc, out, err = tool(["list", target], dict(env, AZURE_STORAGE_ACCOUNT_KEY="not base64!"))
    check(rc == 1 and "not base64" in err and "not base64!" not in err,
          f"azure: a malformed key → a clear error without the value ({err.strip()[:300]})")
    rc, out, err = tool(["list", target], {"AZURE_STORAGE_BLOB_ENDPOINT": blob_ep})
    check(rc == 1 and "no credentials" in err,
          f"azure: no credentials → a clear error ({err.strip()[:300]})")
    rc, out, err = tool(["list", f"azb://{account}/no-such-{run}/p"], env)
    check(rc == 1 and "ContainerNotFound" in err,
          f"azure: a missing container names ContainerNotFound ({err.strip()[:300]})")


def az_entra(ep, blob_ep, account, key, container, run, objs):
    """Microsoft Entra ID (DefaultAzureCredential's environment and workload-identity
    parts): a token endpoint stand-in that checks the client credentials, and a proxy in
    front of Azurite that admits only its bearer token (re-signing with Shared Key, as
    Azurite serves OAuth only over HTTPS)."""
    tenant, client = "tenant-" + run, "client-" + run
    secret, assertion = "CS" + uuid.uuid4().hex, "eyJ.fed." + uuid.uuid4().hex
    token = "aad-" + uuid.uuid4().hex
    seen = {"grants": [], "bearer_ok": 0, "bearer_bad": 0}

    class H(httpserver.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def reply(self, code, body, hdrs=None):
            self.send_response(code)
            for k, v in (hdrs or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            f = dict(urllib.parse.parse_qsl(self.rfile.read(n).decode()))
            ok = (self.path == f"/{tenant}/oauth2/v2.0/token"
                  and f.get("grant_type") == "client_credentials"
                  and f.get("client_id") == client
                  and f.get("scope") == "https://storage.azure.com/.default"
                  and (f.get("client_secret") == secret or (
                      f.get("client_assertion") == assertion and f.get(
                          "client_assertion_type") ==
                      "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")))
            if not ok:
                return self.reply(401, json.dumps({
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided."
                                         "\r\nTrace ID: 1"}).encode())
            seen["grants"].append("secret" if "client_secret" in f else "federated")
            self.reply(200, json.dumps({"token_type": "Bearer", "expires_in": 3599,
                                        "access_token": token}).encode())

        def proxy(self, method):
            if (self.headers.get("Authorization") != "Bearer " + token
                    or not self.headers.get("x-ms-version")):
                seen["bearer_bad"] += 1
                return self.reply(401, b"<?xml version=\"1.0\"?><Error><Code>InvalidAuthen"
                                       b"ticationInfo</Code><Message>no</Message></Error>")
            seen["bearer_ok"] += 1
            u = urllib.parse.urlsplit(blob_ep)
            url = f"{u.scheme}://{u.netloc}{self.path}"  # self.path has the account
            h = {"x-ms-date": self.headers["x-ms-date"],
                 "x-ms-version": self.headers["x-ms-version"]}
            h["Authorization"] = az_sign(method, url, account, key, h)
            st, b = http(method, url, h)
            self.reply(st, b)

        def do_GET(self):
            self.proxy("GET")

        def do_DELETE(self):
            self.proxy("DELETE")

    srv = httpserver.ThreadingHTTPServer(("127.0.0.1", 0), H)
    base = f"http://127.0.0.1:{srv.server_address[1]}"
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    tmp = tempfile.mkdtemp(prefix="n4j-az-")
    try:
        fed = os.path.join(tmp, "azure-identity-token")
        with open(fed, "w") as f:
            f.write(assertion)
        proxied = base + urllib.parse.urlsplit(blob_ep).path
        common = {"AZURE_STORAGE_BLOB_ENDPOINT": proxied, "AZURE_TENANT_ID": tenant,
                  "AZURE_CLIENT_ID": client, "AZURE_AUTHORITY_HOST": base + "/"}
        target = f"azb://{account}/{container}/{run}/p"
        want = expect_direct(objs, run)
        want.pop("neo4j-2026-01-01T02-00-00.backup")  # deleted before
        rc, out, err = tool(["list", target], dict(common, AZURE_FEDERATED_TOKEN_FILE=fed))
        check(rc == 0 and listing(out) == want and seen["grants"] == ["federated"]
              and seen["bearer_bad"] == 0,
              f"azure: workload identity (federated token) → Entra ID token → bearer requests "
              f"({seen} {err.strip()[:300]})")
        rc, out, err = tool(["list", target], dict(common, AZURE_CLIENT_SECRET=secret))
        check(rc == 0 and listing(out) == want and seen["grants"][-1] == "secret",
              f"azure: a client secret → token → bearer requests ({err.strip()[:300]})")
        wrong = "CS-wrong-" + run
        rc, out, err = tool(["list", target], dict(common, AZURE_CLIENT_SECRET=wrong))
        check(rc == 1 and "invalid_client" in err and "AADSTS7000215" in err
              and wrong not in err and "Trace ID" not in err,
              f"azure: a wrong client secret fails with Entra ID's error, first line only, no "
              f"secret ({err.strip()[:300]})")
    finally:
        srv.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)


# ---- GCS --------------------------------------------------------------------------

def test_gcs():
    ep = need("TESTENV_GCS_ENDPOINT").rstrip("/")
    run = "r" + uuid.uuid4().hex[:8]
    bucket = "n4j-stores-" + run
    st, b = http("POST", f"{ep}/storage/v1/b", {"Content-Type": "application/json"},
                 json.dumps({"name": bucket}).encode())
    if not check(st == 200, f"gcs: create bucket ({st} {b[:200]!r})"):
        return

    def cleanup():
        st, b = http("GET", f"{ep}/storage/v1/b/{bucket}/o")
        for it in (json.loads(b).get("items", []) if st == 200 else []):
            http("DELETE", f"{ep}/storage/v1/b/{bucket}/o/"
                 + urllib.parse.quote(it["name"], safe=""))
        http("DELETE", f"{ep}/storage/v1/b/{bucket}")

    CLEANUPS.append(cleanup)
    objs = layout(run)
    for k, v in objs.items():
        st, b = http("POST", f"{ep}/upload/storage/v1/b/{bucket}/o?uploadType=media&name="
                     + urllib.parse.quote(k, safe=""),
                     {"Content-Type": "application/octet-stream"}, v)
        check(st == 200, f"gcs: put {k} ({st} {b[:200]!r})")

    def exists(k):
        return http("GET", f"{ep}/storage/v1/b/{bucket}/o/"
                    + urllib.parse.quote(k, safe=""))[0] == 200

    # STORAGE_EMULATOR_HOST as Google's clients take it (host:port or a URL).
    host = ep.split("://", 1)[1] if ep.startswith("http://") else ep
    env = {"STORAGE_EMULATOR_HOST": host}
    exercise("gcs", f"gs://{bucket}/{run}/p", env, objs, run, exists, None, None, None)

    def put(k, v):
        return http("POST", f"{ep}/upload/storage/v1/b/{bucket}/o?uploadType=media&name="
                    + urllib.parse.quote(k, safe=""),
                    {"Content-Type": "application/octet-stream"}, v)

    retention("gcs", f"gs://{bucket}/{run}/ret", env, put, exists, run)
    rc, out, err = tool(["list", f"gs://no-such-{run}/p"], env)
    check(rc == 1 and "404" in err,
          f"gcs: a missing bucket fails with the store's 404 ({err.strip()[:300]})")
    # Without an emulator: the service-account key file is required and read carefully.
    rc, out, err = tool(["list", f"gs://{bucket}/p"], {})
    check(rc == 1 and "GOOGLE_APPLICATION_CREDENTIALS" in err,
          f"gcs: no credentials → a clear error ({err.strip()[:300]})")
    gcs_oauth(ep, bucket, run, objs)
    secret_pem = "-----BEGIN PRIVATE KEY-----\nTOPSECRETKEYMATERIAL\n-----END PRIVATE KEY-----\n"
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"n4j-gcs-{run}.json")
    with open(path, "w") as f:
        json.dump({"type": "service_account", "client_email": "x@y.iam.gserviceaccount.com",
                   "private_key": secret_pem, "token_uri": "http://127.0.0.1:9/token"}, f)
    try:
        rc, out, err = tool(["list", f"gs://{bucket}/p"],
                            {"GOOGLE_APPLICATION_CREDENTIALS": path})
        check(rc == 1 and "private_key" in err and "TOPSECRET" not in err,
              f"gcs: a broken key file → a clear error without the key ({err.strip()[:300]})")
    finally:
        os.unlink(path)


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def gcs_oauth(ep, bucket, run, objs):
    """The service-account path: a key made here, a token endpoint that verifies the
    JWT (openssl), and a proxy in front of the emulator that lets only that token
    through (fake-gcs-server itself checks no credentials)."""
    tmp = tempfile.mkdtemp(prefix="n4j-gcs-")
    keyf, pubf = os.path.join(tmp, "key.pem"), os.path.join(tmp, "pub.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                    "rsa_keygen_bits:2048", "-out", keyf], check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", keyf, "-pubout", "-out", pubf], check=True,
                   capture_output=True)
    pem = open(keyf).read()
    token = "tok-" + uuid.uuid4().hex
    seen = {"jwt_ok": 0, "bearer_ok": 0, "bearer_bad": 0}

    class H(httpserver.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def reply(self, code, body, ctype="application/json"):
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            form = dict(urllib.parse.parse_qsl(self.rfile.read(n).decode()))
            jwt = form.get("assertion", "")
            parts = jwt.split(".")
            ok = (self.path == "/token" and len(parts) == 3 and form.get("grant_type") ==
                  "urn:ietf:params:oauth:grant-type:jwt-bearer")
            if ok:
                with open(os.path.join(tmp, "in"), "wb") as f:
                    f.write((parts[0] + "." + parts[1]).encode())
                with open(os.path.join(tmp, "sig"), "wb") as f:
                    f.write(b64url_decode(parts[2]))
                v = subprocess.run(["openssl", "dgst", "-sha256", "-verify", pubf,
                                    "-signature", os.path.join(tmp, "sig"),
                                    os.path.join(tmp, "in")], capture_output=True)
                claims = json.loads(b64url_decode(parts[1]))
                hdr = json.loads(b64url_decode(parts[0]))
                ok = (v.returncode == 0 and hdr.get("alg") == "RS256"
                      and claims.get("iss") == "backup@p.iam.gserviceaccount.com"
                      and claims.get("aud") == token_uri
                      and "devstorage" in claims.get("scope", "")
                      and claims.get("exp", 0) > time.time())
            if not ok:
                return self.reply(400, json.dumps({
                    "error": "invalid_grant",
                    "error_description": "Invalid JWT Signature."}).encode())
            seen["jwt_ok"] += 1
            self.reply(200, json.dumps({"access_token": token, "expires_in": 3600,
                                        "token_type": "Bearer"}).encode())

        def proxy(self, method):
            if self.headers.get("Authorization") != "Bearer " + token:
                seen["bearer_bad"] += 1
                return self.reply(401, json.dumps({"error": {
                    "code": 401, "message": "Invalid Credentials"}}).encode())
            seen["bearer_ok"] += 1
            st, b = http(method, ep + self.path)
            self.reply(st, b)

        def do_GET(self):
            self.proxy("GET")

        def do_DELETE(self):
            self.proxy("DELETE")

    srv = httpserver.ThreadingHTTPServer(("127.0.0.1", 0), H)
    base = f"http://127.0.0.1:{srv.server_address[1]}"
    token_uri = base + "/token"
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    keyfile = os.path.join(tmp, "sa.json")
    try:
        def write_key(p):
            with open(keyfile, "w") as f:
                json.dump({"type": "service_account", "project_id": "p",
                           "client_email": "backup@p.iam.gserviceaccount.com",
                           "private_key": p, "token_uri": token_uri}, f)

        write_key(pem)
        env = {"GOOGLE_APPLICATION_CREDENTIALS": keyfile, "GCS_ENDPOINT_URL": base}
        want = expect_direct(objs, run)
        want.pop("neo4j-2026-01-01T02-00-00.backup")  # deleted above
        rc, out, err = tool(["list", f"gs://{bucket}/{run}/p"], env)
        check(rc == 0 and listing(out) == want and seen["jwt_ok"] == 1
              and seen["bearer_ok"] >= 1 and seen["bearer_bad"] == 0,
              f"gcs: a service-account key → a verified RS256 JWT → a bearer token on every "
              f"request ({seen} {err.strip()[:300]})")
        rc, out, err = tool(["delete", f"gs://{bucket}/{run}/p", "notes & more.txt"], env)
        check(rc == 0 and not http("GET", f"{ep}/storage/v1/b/{bucket}/o/"
                                   + urllib.parse.quote(f"{run}/p/notes & more.txt", safe=""))
              [0] == 200, f"gcs: delete with the token ({err.strip()[:300]})")
        # Another key than the one the token endpoint knows: the grant is refused.
        other = os.path.join(tmp, "other.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                        "rsa_keygen_bits:2048", "-out", other], check=True, capture_output=True)
        other_pem = open(other).read()
        write_key(other_pem)
        rc, out, err = tool(["list", f"gs://{bucket}/{run}/p"], env)
        body = other_pem.split("\n")[1]
        check(rc == 1 and "invalid_grant" in err and "Invalid JWT Signature" in err
              and body not in err and "eyJ" not in err,
              f"gcs: a wrong key fails with the token endpoint's error, no key, no JWT "
              f"({err.strip()[:300]})")
    finally:
        srv.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    if not TOOL or not os.access(TOOL, os.X_OK):
        print("usage: test_stores.py STORE_TOOL")
        return 2
    # The emulators' endpoints and keys, as every env test takes them (hack/test-env env);
    # a shell that exported them already gets the same values.
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "env"))
    import envlib
    envlib.load_env()
    envlib._done = True  # this test keeps its own failure list and exit status
    only = os.environ.get("N4J_STORES_ONLY", "")  # development: e.g. "s3,azure"
    if not only:  # all endpoints first: an incomplete environment fails before any work
        for v in ("TESTENV_S3_ENDPOINT", "TESTENV_S3_KEY_ID", "TESTENV_S3_SECRET",
                  "TESTENV_AZURE_ENDPOINT", "TESTENV_GCS_ENDPOINT"):
            need(v)
    try:
        for name, fn in (("s3", test_s3), ("azure", test_azure), ("gcs", test_gcs)):
            if not only or name in only.split(","):
                fn()
    finally:
        for c in CLEANUPS:
            try:
                c()
            except Exception as e:  # best effort: a leftover bucket fails nothing
                print(f"note: cleanup: {e}")
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
