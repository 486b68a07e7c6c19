#!/usr/bin/env python3
"""Object-store emulator chores of hack/test-env (hack/testenv/README.md, "Object stores").

  stores.py s3-setup ENDPOINT KEYFILE   moto: an IAM user with an inline policy allowing
      everything, its access key written to KEYFILE (0600, two lines: id, secret), then
      moto's request authentication switched on (/moto-api/reset-auth 0): from then on
      every S3 request must carry a valid SigV4 signature of that key, so a wrong secret
      is refused by moto itself (SignatureDoesNotMatch / InvalidAccessKeyId).
  stores.py ping KIND ENDPOINT          exit 0 when the emulator answers (s3|azure|gcs).
"""
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "image", "lib"))
import n4j_store as st  # noqa: E402

POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
# Before authentication is on, moto accepts any signature: these only route the request.
BOOT = ("AKIDTESTBEDBOOTSTRAP", "bootstrap-only", None)


def iam(endpoint, params):
    body = urllib.parse.urlencode(dict(params, Version="2010-05-08")).encode()
    url = endpoint.rstrip("/") + "/"
    h = st.sigv4_headers("POST", url, "us-east-1", "iam", BOOT, body,
                         extra={"content-type": "application/x-www-form-urlencoded; charset=utf-8"})
    req = urllib.request.Request(url, data=body, method="POST", headers=h)
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read()


def s3_setup(endpoint, keyfile):
    user = "testbed"
    iam(endpoint, {"Action": "CreateUser", "UserName": user})
    iam(endpoint, {"Action": "PutUserPolicy", "UserName": user, "PolicyName": "all",
                   "PolicyDocument": json.dumps(POLICY)})
    root = ET.fromstring(iam(endpoint, {"Action": "CreateAccessKey", "UserName": user}))
    kid = sec = None
    for el in root.iter():
        if el.tag.endswith("AccessKeyId"):
            kid = el.text
        elif el.tag.endswith("SecretAccessKey"):
            sec = el.text
    if not kid or not sec:
        sys.exit("moto: CreateAccessKey returned no key")
    fd = os.open(keyfile + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(f"{kid}\n{sec}\n")
    os.replace(keyfile + ".tmp", keyfile)
    # A form content type would make moto read an empty body.
    req = urllib.request.Request(endpoint.rstrip("/") + "/moto-api/reset-auth", data=b"0", method="POST",
                                 headers={"Content-Type": "text/plain"})
    urllib.request.urlopen(req, timeout=10).read()


def ping(kind, endpoint):
    path = {"s3": "/moto-api/data.json", "azure": "?comp=list", "gcs": "/storage/v1/b"}[kind]
    try:
        with urllib.request.urlopen(endpoint.rstrip("/") + path if kind != "azure" else endpoint + path,
                                    timeout=3) as r:
            return r.status < 500
    except urllib.error.HTTPError as e:
        # Azurite refuses an unsigned listing (403): it answers, which is all we ask.
        return kind == "azure" and e.code == 403
    except (urllib.error.URLError, OSError):
        return False


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "s3-setup":
        s3_setup(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "ping":
        sys.exit(0 if ping(sys.argv[2], sys.argv[3]) else 1)
    else:
        sys.exit(__doc__)
