#!/bin/sh
# Test certificates made by the openssl command at test time (for unit.controller_certs,
# unit.controller_reconcile and e2e.tls_status): certgen.sh DIR writes into DIR
#   ca.pem, ca.key   a self-signed CA valid for 3650 days from now
#   key.pem          the servers' key (no certificate in it)
#   leaf.pem         signed by the CA, valid 2025-01-01T00:00:00Z .. 2030-12-31T23:59:59Z
#                    (UTCTime), SANs DNS:graph.db.svc, DNS:*.graph-headless.db.svc.cluster.local
#                    and IP:127.0.0.1, email:ops@graph.example (not DNS names)
#   renewed.pem      the same key, valid 2026-06-01T12:00:00Z .. 2050-06-01T12:00:00Z
#                    (GeneralizedTime from 2050 on), SAN DNS:graph-renewed.db.svc
#   soon.pem         the same key, valid from an hour ago to 7 days from now
#   chain.pem        leaf.pem then ca.pem
#   keyfirst.pem     key.pem then leaf.pem
# The exact dates come from `openssl ca -startdate/-enddate`.
set -eu
d=$1
mkdir -p "$d"
cd "$d"
: >index.txt
echo 1000 >serial
cat >ca.cnf <<EOF
[ca]
default_ca = testca
[testca]
dir = .
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[any]
commonName = supplied
EOF
q() { "$@" >/dev/null 2>&1 || { echo "certgen: $* failed" >&2; "$@"; exit 1; }; }
q openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
	-out ca.pem -subj /CN=certgen-ca -days 3650
q openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out key.pem
sign() { # name start end san
	q openssl req -new -key key.pem -subj "/CN=$1" -addext "subjectAltName=$4" -out "$1.csr"
	q openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -notext \
		-startdate "$2" -enddate "$3" -in "$1.csr" -out "$1.pem"
}
sign leaf 20250101000000Z 20301231235959Z \
	"DNS:graph.db.svc,DNS:*.graph-headless.db.svc.cluster.local,IP:127.0.0.1,email:ops@graph.example"
sign renewed 20260601120000Z 20500601120000Z "DNS:graph-renewed.db.svc"
now=$(date -u +%s)
sign soon "$(date -u -d "@$((now - 3600))" +%Y%m%d%H%M%SZ)" \
	"$(date -u -d "@$((now + 7 * 86400))" +%Y%m%d%H%M%SZ)" "DNS:graph.db.svc"
cat leaf.pem ca.pem >chain.pem
cat key.pem leaf.pem >keyfirst.pem
