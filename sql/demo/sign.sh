#!/bin/sh
# sql/demo/sign.sh: sign e-services payloads with an agency's Ed25519 key.
#
#   sign.sh KEY.pem attestation|revocation < payload
#       one payload on standard input; prints the base64 signature
#   sign.sh KEY.pem attestation|revocation -batch IN OUT
#       IN: lines "id<TAB>lower-case hex sha256 of the payload";
#       OUT: lines "id<TAB>hex signature", two signers in parallel
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

# sign_file ID HEX: the raw 64-byte signature into $tmp/ID.sig
sign_file() {
	printf 'govledger-%s/v1 %s' "$purpose" "$2" > "$tmp/$1.msg"
	openssl pkeyutl -sign -inkey "$key" -rawin -in "$tmp/$1.msg" -out "$tmp/$1.sig"
}

if [ "${3:-}" = "-batch" ]; then
	in=$4
	out=$5
	n=$(wc -l < "$in")
	half=$(( (n + 1) / 2 ))
	head -n "$half" "$in" > "$tmp/part1"
	tail -n +"$(( half + 1 ))" "$in" > "$tmp/part2"
	for part in part1 part2; do
		(while IFS='	' read -r id hex; do
			sign_file "$id" "$hex"
		done < "$tmp/$part") &
	done
	wait
	cut -f1 "$in" > "$tmp/ids"
	while read -r id; do cat "$tmp/$id.sig"; done < "$tmp/ids" \
		| od -An -v -tx1 | tr -d ' \n' | fold -w 128 > "$tmp/sigs"
	echo >> "$tmp/sigs"
	paste "$tmp/ids" "$tmp/sigs" | head -n "$n" > "$out.part"
	mv "$out.part" "$out"
else
	cat > "$tmp/payload"
	hex=$(openssl dgst -sha256 -r "$tmp/payload" | cut -d' ' -f1)
	sign_file one "$hex"
	openssl base64 -A -in "$tmp/one.sig"
	echo
fi
