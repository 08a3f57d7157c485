#!/bin/sh
# make_node_certs: test certificates for the certificate store tests, made with the openssl command.
# Usage: make_node_certs.sh OUTDIR
# Writes into OUTDIR (PEM unless named .der/.bin):
#   root-ca.pem/.key        RSA 2048 root CA            root2-ca.pem/.key  EC P-384 second root CA
#   int-ca.pem/.key         EC P-256 intermediate under root-ca
#   node.pem/.key           EC P-256 node cert (SAN DNS:node1.example.com, IP:10.0.1.11), PKCS#8 key
#   node-chain.pem          node.pem + int-ca.pem
#   node-rsa.pem/.key       RSA 2048 node cert under int-ca, traditional "RSA PRIVATE KEY" key
#   node-rsa-chain.pem      node-rsa.pem + int-ca.pem
#   other-ca.pem/.key       an unrelated root CA;  node-other.pem/.key/-chain.pem: node under other-ca
#   wrong.key               an EC key matching no certificate
#   expired-ca.pem          self-signed CA valid 2020-01-01..2021-01-01
#   future-ca.pem           self-signed CA valid 2090-01-01..2091-01-01
#   expired-node-chain.pem  node cert under int-ca valid 2020..2021 (key: node.key) + int-ca.pem
#   future-node-chain.pem   node cert under int-ca valid 2090..2091 (key: node.key) + int-ca.pem
#   weak-ca.pem/.key        RSA 1024 self-signed CA
#   weak-node-chain.pem/weak-node.key  RSA 1024 node cert under int-ca + int-ca.pem
#   root-ca.der             root-ca.pem as DER
#   garbage.pem             text that is no PEM;  big.pem: 5 MiB of PEM-looking data
set -eu
out=${1:?usage: make_node_certs.sh OUTDIR}
mkdir -p "$out"
cd "$out"
# Runs openssl quietly; on failure shows what it said and stops.
o() { openssl "$@" 2>.openssl.err || { echo "make_node_certs.sh: openssl $1 failed:" >&2; cat .openssl.err >&2; exit 1; }; }

cat > ext.cnf <<'CNF'
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[int_ext]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[node_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:node1.example.com, IP:10.0.1.11
authorityKeyIdentifier = keyid
CNF
# A minimal `openssl ca` set-up, only to give explicit start and end dates.
mkdir -p ca.db
: > ca.db/index.txt
cat > ca.cnf <<CNF
[ca]
default_ca = dflt
[dflt]
dir = ca.db
database = ca.db/index.txt
new_certs_dir = ca.db
serial = ca.db/serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[any]
commonName = supplied
CNF
cat ext.cnf >> ca.cnf
echo 1000 > ca.db/serial

selfsigned() { # NAME KEYALG CN
	o req -x509 -newkey "$2" -nodes -keyout "$1.key" -out "$1.pem" -days 3650 -subj "/O=Test/CN=$3" \
		-config ext.cnf -extensions ca_ext -sha256
}
issue() { # NAME KEYALG CN ISSUER EXT
	o req -new -newkey "$2" -nodes -keyout "$1.key" -out "$1.csr" -subj "/O=Test/CN=$3"
	o x509 -req -in "$1.csr" -CA "$4.pem" -CAkey "$4.key" -CAcreateserial -days 825 -sha256 \
		-extfile ext.cnf -extensions "$5" -out "$1.pem"
}
dated() { # NAME KEY CN ISSUER EXT START END  (ISSUER "self" = self-signed)
	o req -new -key "$2" -out "$1.csr" -subj "/O=Test/CN=$3"
	if [ "$4" = self ]; then
		o ca -batch -config ca.cnf -selfsign -keyfile "$2" -in "$1.csr" -extensions "$5" \
			-startdate "$6" -enddate "$7" -out "$1.pem" -notext
	else
		o ca -batch -config ca.cnf -cert "$4.pem" -keyfile "$4.key" -in "$1.csr" -extensions "$5" \
			-startdate "$6" -enddate "$7" -out "$1.pem" -notext
	fi
}

selfsigned root-ca rsa:2048 "Test Root CA"
o ecparam -name secp384r1 -out p384.param
selfsigned root2-ca ec:p384.param "Second Root CA"
o ecparam -name prime256v1 -out p256.param
issue int-ca ec:p256.param "Test Intermediate CA" root-ca int_ext
issue node ec:p256.param node1.example.com int-ca node_ext
cat node.pem int-ca.pem > node-chain.pem

o genrsa -traditional -out node-rsa.key 2048
o req -new -key node-rsa.key -out node-rsa.csr -subj "/O=Test/CN=node1.example.com"
o x509 -req -in node-rsa.csr -CA int-ca.pem -CAkey int-ca.key -CAcreateserial -days 825 -sha256 \
	-extfile ext.cnf -extensions node_ext -out node-rsa.pem
cat node-rsa.pem int-ca.pem > node-rsa-chain.pem

selfsigned other-ca ec:p256.param "Other Root CA"
issue node-other ec:p256.param node1.example.com other-ca node_ext
cp node-other.pem node-other-chain.pem
o genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out wrong.key

o genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out dated.key
dated expired-ca dated.key "Expired CA" self ca_ext 20200101000000Z 20210101000000Z
dated future-ca dated.key "Future CA" self ca_ext 20900101000000Z 20910101000000Z
dated expired-node node.key node1.example.com int-ca node_ext 20200101000000Z 20210101000000Z
dated future-node node.key node1.example.com int-ca node_ext 20900101000000Z 20910101000000Z
cat expired-node.pem int-ca.pem > expired-node-chain.pem
cat future-node.pem int-ca.pem > future-node-chain.pem

selfsigned weak-ca rsa:1024 "Weak CA"
o genrsa -out weak-node.key 1024
o req -new -key weak-node.key -out weak-node.csr -subj "/O=Test/CN=node1.example.com"
o x509 -req -in weak-node.csr -CA int-ca.pem -CAkey int-ca.key -CAcreateserial -days 825 -sha256 \
	-extfile ext.cnf -extensions node_ext -out weak-node.pem
cat weak-node.pem int-ca.pem > weak-node-chain.pem

o x509 -in root-ca.pem -outform DER -out root-ca.der
printf 'this is not a certificate\nhello world\n' > garbage.pem
{
	cat root-ca.pem
	head -c 5242880 /dev/zero | tr '\0' 'A' | fold -w 64
} > big.pem
rm -f ./*.csr ./*.srl ext.cnf ca.cnf p256.param p384.param dated.key .openssl.err
rm -rf ca.db
