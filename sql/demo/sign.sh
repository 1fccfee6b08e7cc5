#!/bin/sh
# sql/demo/sign.sh: sign e-services payloads with an agency's Ed25519 key.
#
#   sign.sh KEY.pem attestation|revocation < payload      one payload, prints
#                                                         the base64 signature
#   sign.sh KEY.pem attestation|revocation -batch IN OUT  IN: lines "id<TAB>hex
#                                                         sha256"; OUT: lines
#                                                         "id<TAB>base64 sig"
#
# What is signed is the UTF-8 text "govledger-<purpose>/v1 " followed by the
# lower-case hex SHA-256 of the exact payload bytes (see
# sql/30_attestations.sql).  The private key stays in its file; the database
# only ever sees public keys and signatures.
set -eu

key=$1
purpose=$2
case $purpose in
	attestation|revocation) ;;
	*) echo "usage: $0 KEY.pem attestation|revocation [-batch IN OUT]" >&2; exit 2 ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

sign_hex() {
	printf 'govledger-%s/v1 %s' "$purpose" "$1" > "$tmp/msg"
	openssl pkeyutl -sign -inkey "$key" -rawin -in "$tmp/msg" -out "$tmp/sig"
	openssl base64 -A -in "$tmp/sig"
}

if [ "${3:-}" = "-batch" ]; then
	: > "$4.part"
	while IFS='	' read -r id hex; do
		printf '%s\t%s\n' "$id" "$(sign_hex "$hex")" >> "$4.part"
	done < "$3"
	mv "$4.part" "$4"
else
	cat > "$tmp/payload"
	hex=$(openssl dgst -sha256 -r "$tmp/payload" | cut -d' ' -f1)
	sign_hex "$hex"
	echo
fi
