#!/usr/bin/env bash
# make_certs.sh OUTDIR: creates every certificate and key the tests need, with the openssl
# command (OpenSSL 3.0). EC P-256 keys unless noted; no prompts; a few seconds at most.
#
# Idempotent: does nothing when OUTDIR/ca.pem exists and is newer than this script. Files are
# made in a private directory and moved into OUTDIR with ca.pem last, so a half-finished run
# never looks finished; concurrent runs on the same OUTDIR are serialised with flock.
#
# Files (NAME.pem = certificate, NAME.key = PKCS#8 PEM private key, mode 0600):
#   ca                    root CA "Test Root CA" (self-signed)
#   int                   intermediate CA "Test Intermediate CA", signed by ca (pathlen 0)
#   controller            server, signed by ca, SAN DNS:localhost IP:127.0.0.1, EKU serverAuth
#   agent                 client, signed by ca, CN=10.0.1.11 (SAN IP:10.0.1.11), EKU clientAuth
#   other-ca              a second, unrelated root CA "Other Test CA"
#   controller-other-ca   server from other-ca, SAN DNS:localhost IP:127.0.0.1
#   agent-other-ca        client from other-ca, CN=10.0.1.11
#   controller-expired    server from ca, valid 2020-01-01..2021-01-01 only, SAN localhost/127.0.0.1
#   controller-wronghost  server from ca, SAN DNS:wrong.example.net only
#   node1                 RSA 2048, signed by int; node1-chain.pem = node1.pem + int.pem
#   node1-ec              EC, signed by ca
#   node-expired          EC, signed by ca, valid 2020-01-01..2021-01-01 only
#   node-notyet           EC, signed by ca, valid from 2045-01-01 to 2046-01-01
#   rsa1024               RSA 1024, signed by ca
#   ca2                   a second root "Test Root CA 2" (for rotation)
#   node2                 EC, signed by ca2
# All node* and rsa1024 certificates: CN=10.0.1.11, SAN IP:10.0.1.11 DNS:node1.example.net,
# EKU serverAuth+clientAuth (usable as an agent's client certificate and as a server cert).
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
OUT=$1
SELF=$(readlink -f "$0")
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# Serialise concurrent runs on the same directory.
exec 9>"$OUT/.make_certs.lock"
flock -w 60 9

if [ -f "$OUT/ca.pem" ] && [ "$OUT/ca.pem" -nt "$SELF" ]; then
	exit 0
fi

T=$(mktemp -d "$OUT/.tmp.XXXXXX")
trap 'rm -rf "$T"' EXIT
umask 077
cd "$T"

cat > ext.cnf <<'EOF'
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ ca_ext ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ int_ext ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ server_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ wronghost_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:wrong.example.net
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ client_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectAltName = IP:10.0.1.11
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ node_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = IP:10.0.1.11, DNS:node1.example.net
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

# `openssl ca` database, used only for certificates with explicit validity dates
# (OpenSSL 3.0's `x509 -req` has no -not_before/-not_after).
mkdir -p cadb/new
: > cadb/index.txt
echo 1000 > cadb/serial
cat > ca.cnf <<EOF
[ ca ]
default_ca = CA_default
[ CA_default ]
dir = $T/cadb
database = \$dir/index.txt
new_certs_dir = \$dir/new
serial = \$dir/serial
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no
[ policy_any ]
commonName = supplied
EOF

# quiet CMD...: runs CMD with its chatter hidden, showing it only if CMD fails.
quiet() {
	if ! "$@" 2>err.txt; then
		echo "make_certs: failed: $*" >&2
		cat err.txt >&2
		exit 1
	fi
}
eckey() { quiet openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key"; }
rsakey() { quiet openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:$2" -out "$1.key"; }
serial() { echo "0x$(openssl rand -hex 8)"; }

# root NAME CN
root() {
	eckey "$1"
	openssl req -x509 -new -key "$1.key" -subj "/CN=$2" -days 3650 -sha256 \
		-config ext.cnf -extensions ca_ext -set_serial "$(serial)" -out "$1.pem"
}

# sign NAME CN ISSUER EXT  (key NAME.key must exist)
sign() {
	openssl req -new -key "$1.key" -subj "/CN=$2" -config ext.cnf -out "$1.csr"
	openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -set_serial "$(serial)" \
		-days 825 -sha256 -extfile ext.cnf -extensions "$4" -out "$1.pem" 2>err.txt || {
		cat err.txt >&2; exit 1; }
	rm -f "$1.csr"
}

# sign_dated NAME CN ISSUER EXT START END  (dates YYMMDDHHMMSSZ)
sign_dated() {
	openssl req -new -key "$1.key" -subj "/CN=$2" -config ext.cnf -out "$1.csr"
	openssl ca -batch -notext -config ca.cnf -cert "$3.pem" -keyfile "$3.key" \
		-startdate "$5" -enddate "$6" -extfile ext.cnf -extensions "$4" \
		-in "$1.csr" -out "$1.pem" 2>err.txt || { cat err.txt >&2; exit 1; }
	rm -f "$1.csr"
}

root ca "Test Root CA"
eckey int; sign int "Test Intermediate CA" ca int_ext
eckey controller; sign controller "localhost" ca server_ext
eckey agent; sign agent "10.0.1.11" ca client_ext

root other-ca "Other Test CA"
eckey controller-other-ca; sign controller-other-ca "localhost" other-ca server_ext
eckey agent-other-ca; sign agent-other-ca "10.0.1.11" other-ca client_ext

eckey controller-expired
sign_dated controller-expired "localhost" ca server_ext 200101000000Z 210101000000Z
eckey controller-wronghost; sign controller-wronghost "wrong.example.net" ca wronghost_ext

rsakey node1 2048; sign node1 "10.0.1.11" int node_ext
cat node1.pem int.pem > node1-chain.pem
eckey node1-ec; sign node1-ec "10.0.1.11" ca node_ext
eckey node-expired
sign_dated node-expired "10.0.1.11" ca node_ext 200101000000Z 210101000000Z
eckey node-notyet
sign_dated node-notyet "10.0.1.11" ca node_ext 450101000000Z 460101000000Z
rsakey rsa1024 1024; sign rsa1024 "10.0.1.11" ca node_ext

root ca2 "Test Root CA 2"
eckey node2; sign node2 "10.0.1.11" ca2 node_ext

# Sanity checks: chains verify, dates are what the tests rely on.
openssl verify -CAfile ca.pem controller.pem agent.pem controller-wronghost.pem node1-ec.pem rsa1024.pem >/dev/null
openssl verify -CAfile ca.pem -untrusted int.pem node1.pem >/dev/null
openssl verify -CAfile other-ca.pem controller-other-ca.pem agent-other-ca.pem >/dev/null
openssl verify -CAfile ca2.pem node2.pem >/dev/null
for f in controller-expired node-expired; do
	if openssl x509 -in $f.pem -noout -checkend 0 >/dev/null; then
		echo "make_certs: $f.pem is not expired" >&2; exit 1
	fi
done
if openssl x509 -in node-notyet.pem -noout -checkend 0 >/dev/null; then :; else
	echo "make_certs: node-notyet.pem unexpectedly expired" >&2; exit 1
fi

chmod 0644 ./*.pem
chmod 0600 ./*.key
for f in ./*.pem ./*.key; do
	[ "$f" = ./ca.pem ] && continue
	mv -f "$f" "$OUT/"
done
mv -f ca.pem "$OUT/ca.pem"
