#!/bin/sh
# sql/demo/make_tokens.sh: demo JWTs for the gateway, signed with EdDSA.
#
#   make_tokens.sh DIR [CITIZEN_SUB [DISTRICT]]
#
# Creates DIR/jwt-ed25519.pem (private, mode 600) and DIR/jwt-ed25519.pub.pem
# once, and writes DIR/tokens.env with one NAME=token line per demo caller
# (CITIZEN_TOKEN for CITIZEN_SUB, default citizen-1; OFFICER_TOKEN for an
# officer of DISTRICT, default 110105; OFFICER_OTHER_TOKEN for another
# district; PSB_TOKEN, SAMR_TOKEN; REPORTER_TOKEN), valid for 30 days.  The gateway is
# configured with the public key:
#     govledger_jwt_key file=DIR/jwt-ed25519.pub.pem alg=EdDSA kid=demo;
# Demo only: real tokens come from the identity provider.
set -eu

dir=$1
citizen=${2:-citizen-1}
district=${3:-110105}
case $district in 110108) other=110105 ;; *) other=110108 ;; esac
mkdir -p "$dir"
pem="$dir/jwt-ed25519.pem"
if [ ! -f "$pem" ]; then
	(umask 077; openssl genpkey -algorithm ed25519 -out "$pem")
fi
openssl pkey -in "$pem" -pubout -out "$dir/jwt-ed25519.pub.pem"

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

now=$(date +%s)
exp=$((now + 30 * 86400))
header=$(printf '{"alg":"EdDSA","typ":"JWT","kid":"demo"}' | b64url)

token() {
	body=$(printf '%s' "$1" | b64url)
	printf '%s.%s' "$header" "$body" > "$dir/signing-input"
	sig=$(openssl pkeyutl -sign -inkey "$pem" -rawin -in "$dir/signing-input" | b64url)
	rm -f "$dir/signing-input"
	printf '%s.%s.%s' "$header" "$body" "$sig"
}

{
	echo "CITIZEN_TOKEN=$(token "{\"sub\":\"$citizen\",\"role\":\"citizen\",\"iat\":$now,\"exp\":$exp}")"
	echo "OFFICER_TOKEN=$(token "{\"sub\":\"officer-$district-1\",\"role\":\"officer\",\"district\":\"$district\",\"iat\":$now,\"exp\":$exp}")"
	echo "OFFICER_OTHER_TOKEN=$(token "{\"sub\":\"officer-$other-1\",\"role\":\"officer\",\"district\":\"$other\",\"iat\":$now,\"exp\":$exp}")"
	echo "PSB_TOKEN=$(token "{\"sub\":\"psb-gateway\",\"role\":\"agency\",\"agency\":\"PSB-110000\",\"iat\":$now,\"exp\":$exp}")"
	echo "SAMR_TOKEN=$(token "{\"sub\":\"samr-gateway\",\"role\":\"agency\",\"agency\":\"SAMR-110000\",\"iat\":$now,\"exp\":$exp}")"
	echo "REPORTER_TOKEN=$(token "{\"sub\":\"bi-tool\",\"role\":\"reporter\",\"iat\":$now,\"exp\":$exp}")"
} > "$dir/tokens.env"
chmod 600 "$dir/tokens.env"
