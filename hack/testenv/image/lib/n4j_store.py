"""Object-store clients of the test bed's Neo4j stand-ins (neo4j-admin, n4j-testbed-seed).

Python stdlib only: these run in a pod's chroot that has the host's /usr and nothing else.
Each store reads its credentials the way the SDK inside Neo4j does, and every request is
really authenticated, so a wrong key is refused by the store (the emulator), not by us:

  s3://bucket/prefix   AWS SDK v2: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN),
                       else the shared credentials file (AWS_SHARED_CREDENTIALS_FILE, default
                       ~/.aws/credentials), profile AWS_PROFILE or "default"; region AWS_REGION,
                       else the config file (AWS_CONFIG_FILE, ~/.aws/config); endpoint
                       AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL, else AWS. SigV4, path style.
  azb://acct/cont/pfx  Shared Key: AZURE_STORAGE_ACCOUNT_NAME (must name acct) +
                       AZURE_STORAGE_ACCOUNT_KEY; endpoint AZURE_STORAGE_BLOB_ENDPOINT, else
                       https://<acct>.blob.core.windows.net. (Neo4j's docs describe only
                       DefaultAzureCredential: Entra tokens cannot be had here.)
  gs://bucket/prefix   GOOGLE_APPLICATION_CREDENTIALS must name a readable service-account key
                       (JSON: type, client_email, private_key); the JSON API at
                       STORAGE_EMULATOR_HOST. The emulator (fake-gcs-server) does not verify
                       tokens: for GCS only the key file's presence and shape are checked.
  file:///dir, /dir    a local directory.

Errors are StoreError with the store's own code and message; no credential value is ever
part of one.
"""
import configparser
import datetime
import hashlib
import hmac
import base64
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET


class StoreError(Exception):
    pass


def _xml_error(body):
    """(Code, Message) of an S3/Azure XML error body, or (None, None)."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None, None
    code = root.findtext("Code")
    msg = root.findtext("Message") or ""
    return code, msg.strip().splitlines()[0] if msg.strip() else ""


def _http(method, url, headers, data=None, timeout=30):
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        host = urllib.parse.urlsplit(url).netloc
        raise StoreError(f"Unable to execute HTTP request to {host}: {reason}") from None


def split_uri(uri):
    """(scheme, rest) with scheme in s3, gs, azb, file."""
    m = re.match(r"^([a-z0-9]+)://(.*)$", uri)
    if not m:
        return "file", uri
    scheme, rest = m.group(1), m.group(2)
    if scheme not in ("s3", "gs", "azb", "file"):
        raise StoreError(f"Unsupported URI scheme '{scheme}' in {uri}")
    if scheme == "file":
        return "file", urllib.parse.unquote(rest)
    return scheme, rest


def open_store(uri):
    """The store and the key prefix (ending with '/' or empty) a URI names."""
    scheme, rest = split_uri(uri)
    if scheme == "file":
        return DirStore(rest), ""
    parts = rest.split("/", 2 if scheme == "azb" else 1)
    if scheme == "azb":
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise StoreError(f"Invalid Azure URI {uri}: azb://account/container/path")
        prefix = parts[2] if len(parts) > 2 else ""
        store = AzureStore(parts[0], parts[1])
    else:
        if not parts[0]:
            raise StoreError(f"Invalid URI {uri}: no bucket")
        prefix = parts[1] if len(parts) > 1 else ""
        store = S3Store(parts[0]) if scheme == "s3" else GCSStore(parts[0])
    return store, prefix


def locate(uri):
    """(store, prefix) of a backup path: a folder's prefix ends with '/' (or is empty), an
    artifact's is its key."""
    store, prefix = open_store(uri)
    if isinstance(store, DirStore) and store.root.endswith(".backup"):
        return DirStore(os.path.dirname(store.root) or "."), os.path.basename(store.root)
    if prefix and not prefix.endswith("/") and not prefix.endswith(".backup"):
        prefix += "/"
    return store, prefix


class DirStore:
    """A local directory; `prefix` is a path relative to it."""

    kind = "file"

    def __init__(self, root):
        self.root = root

    def _p(self, key):
        return os.path.join(self.root, key)

    def list(self, prefix=""):
        d = self._p(prefix) if prefix.endswith("/") or not prefix else os.path.dirname(self._p(prefix))
        if not os.path.isdir(d):
            if os.path.exists(self.root) and not os.path.isdir(self.root):
                raise StoreError(f"{self.root} is not a directory")
            return []
        out = []
        for n in sorted(os.listdir(d)):
            full = os.path.join(d, n)
            key = os.path.relpath(full, self.root)
            if os.path.isfile(full) and key.startswith(prefix):
                out.append((key, os.path.getsize(full)))
        return out

    def get(self, key, limit=None):
        try:
            with open(self._p(key), "rb") as f:
                return f.read(limit) if limit else f.read()
        except OSError as e:
            raise StoreError(f"{self._p(key)}: {e.strerror}") from None

    def put(self, key, data):
        path = self._p(key)
        try:
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            tmp = path + ".tmp"
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except OSError as e:
            raise StoreError(f"{path}: {e.strerror}") from None

    def delete(self, key):
        try:
            os.unlink(self._p(key))
        except OSError as e:
            raise StoreError(f"{self._p(key)}: {e.strerror}") from None

    def uri(self, key):
        return "file://" + os.path.abspath(self._p(key))


# ------------------------------------------------------------------------------ S3 ----
def _aws_ini(path, section):
    cp = configparser.ConfigParser(interpolation=None)
    try:
        with open(path) as f:
            cp.read_file(f)
    except OSError:
        return None
    except configparser.Error:
        raise StoreError(f"Unable to parse {path}") from None
    return dict(cp[section]) if cp.has_section(section) else None


def aws_credentials():
    """(key id, secret, session token) from the AWS SDK v2 default chain's env and profile
    file providers (the ones that exist here)."""
    kid, sec = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if kid and sec:
        return kid, sec, os.environ.get("AWS_SESSION_TOKEN") or None
    home = os.environ.get("HOME", "/")
    path = os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or os.path.join(home, ".aws", "credentials")
    profile = os.environ.get("AWS_PROFILE") or "default"
    sec_ = _aws_ini(path, profile)
    if sec_ and sec_.get("aws_access_key_id") and sec_.get("aws_secret_access_key"):
        return sec_["aws_access_key_id"], sec_["aws_secret_access_key"], sec_.get("aws_session_token")
    raise StoreError("Unable to load credentials from any of the providers in the chain "
                     "AwsCredentialsProviderChain: [EnvironmentVariableCredentialsProvider: Unable to "
                     "load credentials from system settings. Access key must be specified either via "
                     "environment variable (AWS_ACCESS_KEY_ID) or system property (aws.accessKeyId)., "
                     f"ProfileCredentialsProvider(profileName={profile}): Profile file contained no "
                     "credentials for profile '" + profile + "']")


def aws_region():
    r = os.environ.get("AWS_REGION")
    if r:
        return r
    home = os.environ.get("HOME", "/")
    path = os.environ.get("AWS_CONFIG_FILE") or os.path.join(home, ".aws", "config")
    profile = os.environ.get("AWS_PROFILE") or "default"
    sec = _aws_ini(path, "default" if profile == "default" else "profile " + profile)
    if sec and sec.get("region"):
        return sec["region"]
    raise StoreError("Unable to load region from any of the providers in the chain "
                     "software.amazon.awssdk.regions.providers.DefaultAwsRegionProviderChain")


def sigv4_headers(method, url, region, service, creds, payload=b"", now=None, extra=None):
    """Headers of a SigV4-signed request (AWS Signature Version 4)."""
    kid, secret, token = creds
    now = now or datetime.datetime.now(datetime.timezone.utc)
    amzdate, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    u = urllib.parse.urlsplit(url)
    phash = hashlib.sha256(payload).hexdigest()
    headers = {"host": u.netloc, "x-amz-date": amzdate, "x-amz-content-sha256": phash}
    if token:
        headers["x-amz-security-token"] = token
    for k, v in (extra or {}).items():
        headers[k.lower()] = v
    q = urllib.parse.parse_qsl(u.query, keep_blank_values=True)
    cq = "&".join(f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}"
                  for k, v in sorted(q))
    names = sorted(headers)
    ch = "".join(f"{n}:{' '.join(str(headers[n]).split())}\n" for n in names)
    sh = ";".join(names)
    creq = "\n".join([method, urllib.parse.quote(u.path or "/", safe="/-_.~"), cq, ch, sh, phash])
    scope = f"{day}/{region}/{service}/aws4_request"
    sts = "\n".join(["AWS4-HMAC-SHA256", amzdate, scope, hashlib.sha256(creq.encode()).hexdigest()])

    def h(k, m):
        return hmac.new(k, m.encode(), hashlib.sha256).digest()

    k = h(h(h(h(("AWS4" + secret).encode(), day), region), service), "aws4_request")
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={kid}/{scope}, SignedHeaders={sh}, "
                                f"Signature={sig}")
    headers.pop("host")
    return headers


class S3Store:
    kind = "s3"

    def __init__(self, bucket):
        self.bucket = bucket
        self.creds = aws_credentials()
        self.region = aws_region()
        ep = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        self.endpoint = (ep or f"https://s3.{self.region}.amazonaws.com").rstrip("/")

    def _req(self, method, key="", query=None, data=b"", ok=(200,)):
        path = "/" + urllib.parse.quote(self.bucket, safe="")
        if key:
            path += "/" + urllib.parse.quote(key, safe="/-_.~")
        url = self.endpoint + path
        if query:
            url += "?" + urllib.parse.urlencode(sorted(query.items()), quote_via=urllib.parse.quote)
        hdrs = sigv4_headers(method, url, self.region, "s3", self.creds, data or b"")
        if method == "PUT":  # else urllib sends a form type, and a server may parse the body away
            hdrs["Content-Type"] = "application/octet-stream"
        st, _, body = _http(method, url, hdrs, data if method in ("PUT", "POST") else None)
        if st not in ok:
            code, msg = _xml_error(body)
            raise StoreError(f"S3 {method} s3://{self.bucket}/{key}: {code or 'HTTP ' + str(st)}: "
                             f"{msg or body[:200].decode('utf-8', 'replace')} (Status Code: {st})")
        return body

    def create_bucket(self):
        self._req("PUT")

    def list(self, prefix=""):
        out, token = [], None
        ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
        while True:
            q = {"list-type": "2", "prefix": prefix}
            if token:
                q["continuation-token"] = token
            root = ET.fromstring(self._req("GET", query=q))
            for c in root.iter(ns + "Contents"):
                out.append((c.findtext(ns + "Key"), int(c.findtext(ns + "Size") or 0)))
            token = root.findtext(ns + "NextContinuationToken")
            if root.findtext(ns + "IsTruncated") != "true" or not token:
                return sorted(out)

    def get(self, key, limit=None):
        return self._req("GET", key)[:limit] if limit else self._req("GET", key)

    def put(self, key, data):
        self._req("PUT", key, data=data)

    def delete(self, key):
        self._req("DELETE", key, ok=(200, 204))

    def uri(self, key):
        return f"s3://{self.bucket}/{key}"


# --------------------------------------------------------------------------- Azure ----
AZURE_VERSION = "2021-08-06"


class AzureStore:
    kind = "azb"

    def __init__(self, account, container):
        self.account, self.container = account, container
        name, key = os.environ.get("AZURE_STORAGE_ACCOUNT_NAME"), os.environ.get("AZURE_STORAGE_ACCOUNT_KEY")
        if not key:
            raise StoreError("DefaultAzureCredential failed to retrieve a token from the included "
                             "credentials (no AZURE_STORAGE_ACCOUNT_KEY; the test bed has no Entra ID)")
        if name and name != account:
            raise StoreError(f"AZURE_STORAGE_ACCOUNT_NAME names account '{name}', the URI '{account}'")
        try:
            self.key = base64.b64decode(key, validate=True)
        except ValueError:
            raise StoreError("AZURE_STORAGE_ACCOUNT_KEY is not valid base64") from None
        ep = os.environ.get("AZURE_STORAGE_BLOB_ENDPOINT")
        self.endpoint = (ep or f"https://{account}.blob.core.windows.net").rstrip("/")

    def _req(self, method, blob="", query=None, data=b"", ok=(200,), extra=None):
        path = urllib.parse.urlsplit(self.endpoint).path + "/" + urllib.parse.quote(self.container, safe="")
        if blob:
            path += "/" + urllib.parse.quote(blob, safe="/-_.~")
        url = self.endpoint.split("://", 1)[0] + "://" + urllib.parse.urlsplit(self.endpoint).netloc + path
        q = query or {}
        if q:
            url += "?" + urllib.parse.urlencode(sorted(q.items()), quote_via=urllib.parse.quote)
        date = datetime.datetime.now(datetime.timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")
        h = {"x-ms-date": date, "x-ms-version": AZURE_VERSION}
        h.update(extra or {})
        length = str(len(data)) if data else ""
        # urllib gives a PUT without a type a form type of its own: name one, and sign it.
        ctype = "application/octet-stream" if method == "PUT" else ""
        canon_h = "".join(f"{k}:{h[k]}\n" for k in sorted(h) if k.startswith("x-ms-"))
        canon_r = "/" + self.account + path + "".join(f"\n{k.lower()}:{q[k]}" for k in sorted(q))
        sts = "\n".join([method, "", "", length, "", ctype, "", "", "", "", "", ""]) + "\n" + canon_h + canon_r
        sig = base64.b64encode(hmac.new(self.key, sts.encode(), hashlib.sha256).digest()).decode()
        h["Authorization"] = f"SharedKey {self.account}:{sig}"
        if ctype:
            h["Content-Type"] = ctype
        st, _, body = _http(method, url, h, (data or b"") if method == "PUT" else None)
        if st not in ok:
            code, msg = _xml_error(body)
            raise StoreError(f"Azure {method} azb://{self.account}/{self.container}/{blob}: "
                             f"{code or 'HTTP ' + str(st)}: {msg} (Status code {st})")
        return body

    def create_container(self):
        self._req("PUT", query={"restype": "container"}, ok=(201,))

    def list(self, prefix=""):
        out, marker = [], None
        while True:
            q = {"restype": "container", "comp": "list", "prefix": prefix}
            if marker:
                q["marker"] = marker
            root = ET.fromstring(self._req("GET", query=q))
            for b in root.iter("Blob"):
                out.append((b.findtext("Name"), int(b.findtext("Properties/Content-Length") or 0)))
            marker = root.findtext("NextMarker")
            if not marker:
                return sorted(out)

    def get(self, key, limit=None):
        body = self._req("GET", key)
        return body[:limit] if limit else body

    def put(self, key, data):
        self._req("PUT", key, data=data, ok=(201,), extra={"x-ms-blob-type": "BlockBlob"})

    def delete(self, key):
        self._req("DELETE", key, ok=(202,))

    def uri(self, key):
        return f"azb://{self.account}/{self.container}/{key}"


# ----------------------------------------------------------------------------- GCS ----
def gcs_key_file():
    path = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    if not path:
        raise StoreError("Your default credentials were not found. To set up Application Default "
                         "Credentials, see https://cloud.google.com/docs/authentication/external/set-up-adc")
    try:
        with open(path) as f:
            key = json.load(f)
    except OSError as e:
        raise StoreError(f"Error reading credential file from environment variable "
                         f"GOOGLE_APPLICATION_CREDENTIALS, value '{path}': {e.strerror}") from None
    except ValueError:
        raise StoreError(f"Error reading credential file from environment variable "
                         f"GOOGLE_APPLICATION_CREDENTIALS, value '{path}': not a JSON key file") from None
    if not isinstance(key, dict) or key.get("type") != "service_account":
        raise StoreError(f"Error reading credentials from '{path}': 'type' field must be "
                         "'service_account'")
    for f in ("client_email", "private_key"):
        if not key.get(f):
            raise StoreError(f"Error reading service account credential from '{path}': no '{f}'")
    if "BEGIN PRIVATE KEY" not in key["private_key"]:
        raise StoreError(f"Error reading service account credential from '{path}': invalid private key")
    return key


class GCSStore:
    kind = "gs"

    def __init__(self, bucket):
        self.bucket = bucket
        gcs_key_file()
        host = os.environ.get("STORAGE_EMULATOR_HOST")
        if not host:
            raise StoreError("The test bed reaches Google Cloud Storage only through an emulator "
                             "(STORAGE_EMULATOR_HOST is not set)")
        self.endpoint = (host if "://" in host else "http://" + host).rstrip("/")

    def _req(self, method, path, query=None, data=None, ok=(200,)):
        url = self.endpoint + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        h = {"Content-Type": "application/octet-stream"} if data is not None else {}
        st, _, body = _http(method, url, h, data)
        if st not in ok:
            try:
                err = json.loads(body).get("error", {})
                msg = f"{err.get('code', st)} {err.get('message', '')}"
            except (ValueError, AttributeError):
                msg = f"{st} {body[:200].decode('utf-8', 'replace')}"
            raise StoreError(f"GCS {method} gs://{self.bucket}: {msg}".rstrip())
        return body

    def _o(self, key):
        return f"/storage/v1/b/{urllib.parse.quote(self.bucket, safe='')}/o/{urllib.parse.quote(key, safe='')}"

    def create_bucket(self):
        self._req("POST", "/storage/v1/b", {"project": "testbed"},
                  json.dumps({"name": self.bucket}).encode())

    def list(self, prefix=""):
        out, token = [], None
        while True:
            q = {"prefix": prefix}
            if token:
                q["pageToken"] = token
            doc = json.loads(self._req("GET", f"/storage/v1/b/{urllib.parse.quote(self.bucket, safe='')}/o", q))
            out += [(i["name"], int(i.get("size", 0))) for i in doc.get("items", [])]
            token = doc.get("nextPageToken")
            if not token:
                return sorted(out)

    def get(self, key, limit=None):
        body = self._req("GET", self._o(key), {"alt": "media"})
        return body[:limit] if limit else body

    def put(self, key, data):
        self._req("POST", f"/upload/storage/v1/b/{urllib.parse.quote(self.bucket, safe='')}/o",
                  {"uploadType": "media", "name": key}, data)

    def delete(self, key):
        self._req("DELETE", self._o(key), ok=(200, 204))

    def uri(self, key):
        return f"gs://{self.bucket}/{key}"


# ----------------------------------------------------------------------- artifacts ----
MAGIC = b"NEO4J-TESTBED-BACKUP "
NAME_RE = re.compile(r"^(?P<db>.+)-(?P<ts>\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d)\.backup$")


def parse_header(data):
    """The JSON header of an artifact's bytes, or None when it is not one."""
    nl = data.find(b"\n")
    if not data.startswith(MAGIC) or nl < 0:
        return None
    try:
        h = json.loads(data[len(MAGIC):nl])
    except ValueError:
        return None
    need = ("database", "databaseId", "time", "full", "lowestTx", "highestTx", "compressed")
    return h if isinstance(h, dict) and all(k in h for k in need) else None


def read_artifacts(store, prefix, database=None):
    """Every artifact directly under prefix (optionally of one database), oldest first, as
    dicts: header fields + name (without the prefix), key, sizeBytes. Objects that are not
    artifacts are skipped."""
    out = []
    for key, size in store.list(prefix):
        name = key[len(prefix):]
        m = NAME_RE.match(name)
        if "/" in name or not m or (database and m.group("db") != database):
            continue
        h = parse_header(store.get(key, 4096) if isinstance(store, DirStore) else store.get(key))
        if h is None:
            continue
        out.append(dict(h, name=name, key=key, sizeBytes=size))
    out.sort(key=lambda a: (a["time"], a["name"]))
    return out


def is_empty(a):
    return not a["full"] and a["lowestTx"] == 0 and a["highestTx"] == 0


def newest_chain(arts):
    """The newest chain of one database's artifacts (oldest first): its newest full backup
    and the differentials after it. Empty differentials are kept (they break nothing)."""
    start = None
    for i, a in enumerate(arts):
        if a["full"]:
            start = i
    return [] if start is None else arts[start:]


def chain_breaks(chain):
    """Messages for every link that does not continue the one before (contiguous tx ids,
    same database id)."""
    errs, last = [], None
    for a in chain:
        if last is None:
            if not a["full"]:
                errs.append(f"{a['name']}: the chain does not start with a full backup")
            last = a
            continue
        if a["databaseId"] != last["databaseId"]:
            errs.append(f"{a['name']}: database id {a['databaseId']} differs from the chain's {last['databaseId']}")
        if is_empty(a):
            continue
        if a["lowestTx"] != last["highestTx"] + 1:
            errs.append(f"{a['name']}: transactions {a['lowestTx']}..{a['highestTx']} do not follow "
                        f"{last['name']} (..{last['highestTx']}): missing {last['highestTx'] + 1}.."
                        f"{a['lowestTx'] - 1}" if a["lowestTx"] > last["highestTx"] + 1 else
                        f"{a['name']}: transactions {a['lowestTx']}..{a['highestTx']} overlap "
                        f"{last['name']} (..{last['highestTx']})")
        last = a
    return errs
