#!/bin/sh
# sql/demo/make_keys.sh: Ed25519 key pairs for the demo agencies.
#
#   make_keys.sh DIR AGENCY...
#
# Creates DIR/AGENCY.pem (private, mode 600) for each agency that has none and
# prints "AGENCY<TAB>hex of the raw 32-byte public key" for every one.  Demo
# only: a real agency keeps its key in its own system (or an HSM) and hands
# the service centre nothing but the public key.
set -eu

dir=$1
shift
mkdir -p "$dir"
chmod 700 "$dir"
for agency in "$@"; do
	pem="$dir/$agency.pem"
	if [ ! -f "$pem" ]; then
		(umask 077; openssl genpkey -algorithm ed25519 -out "$pem")
	fi
	# the DER SubjectPublicKeyInfo of an Ed25519 key ends with the raw 32 bytes
	pub=$(openssl pkey -in "$pem" -pubout -outform DER | tail -c 32 | od -An -tx1 | tr -d ' \n')
	printf '%s\t%s\n' "$agency" "$pub"
done
