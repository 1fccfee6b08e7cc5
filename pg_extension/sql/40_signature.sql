/*
 * 40_signature.sql
 *	  Checking a signature under a public key given as bytes.
 */

CREATE FUNCTION govledger.verify_signature(alg text, pubkey bytea,
										   msg bytea, sig bytea)
RETURNS bool
AS 'MODULE_PATHNAME', 'govledger_verify_signature'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION govledger.verify_signature(text, bytea, bytea, bytea) IS
	'True when sig is a valid signature of msg under pubkey for alg (ed25519: 32-byte raw key; ecdsa-p256, sm2: 65-byte uncompressed point or DER SubjectPublicKeyInfo, DER signature); false for malformed or wrong keys and signatures';
