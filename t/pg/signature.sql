-- t/pg/signature.sql: govledger.verify_signature against RFC 8032 test
-- vectors and signatures made by the openssl command line (P-256 and SM2
-- keys generated with `openssl genpkey`, signed with `openssl dgst -sha256
-- -sign` and `openssl pkeyutl -sign -rawin -digest sm3
-- -pkeyopt distid:1234567812345678`).
BEGIN;
SELECT plan(17);

-- RFC 8032 section 7.1, TEST 1 (empty message) and TEST 2 (one byte 0x72)
SELECT ok(govledger.verify_signature('ed25519',
	'\xd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', '',
	'\xe5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'),
	'ed25519: RFC 8032 test 1 verifies');
SELECT ok(govledger.verify_signature('ed25519',
	'\x3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c', '\x72',
	'\x92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00'),
	'ed25519: RFC 8032 test 2 verifies');
SELECT ok(NOT govledger.verify_signature('ed25519',
	'\x3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c', '\x73',
	'\x92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00'),
	'ed25519: another message does not verify');
SELECT ok(NOT govledger.verify_signature('ed25519',
	'\x3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c', '\x72',
	'\x92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c01'),
	'ed25519: a flipped signature bit does not verify');
SELECT ok(NOT govledger.verify_signature('ed25519',
	'\xd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', '',
	'\xe5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a10'),
	'ed25519: a short signature is false, not an error');
SELECT ok(NOT govledger.verify_signature('ed25519', '\x00', '', '\x00'),
	'ed25519: a malformed key is false, not an error');
SELECT ok(NOT govledger.verify_signature('ed25519', '', '', ''),
	'ed25519: empty key and signature are false');

-- P-256, DER SubjectPublicKeyInfo and the bare uncompressed point
SELECT ok(govledger.verify_signature('ecdsa-p256',
	'\x3059301306072a8648ce3d020106082a8648ce3d03010703420004338d962b6f20eb6c5b32f5b295bb33c17552212b7f4d10c7d91cde58ca03d07fb3a624d6c6fd1bd3db4f405d4846088390a0198e18c79f37700d5b9cc4afd226',
	convert_to('govledger-attestation/v1 test', 'UTF8'),
	'\x3044022007fc70baa6b545dbb94152effb89c6807585ac288144f8ffef30491765c9254302202d3e4bec11f4ce9f2b252d0285846f279936736bdb4c2377ba6a7042f18df249'),
	'ecdsa-p256: openssl signature verifies under the DER key');
SELECT ok(govledger.verify_signature('ecdsa-p256',
	'\x04338d962b6f20eb6c5b32f5b295bb33c17552212b7f4d10c7d91cde58ca03d07fb3a624d6c6fd1bd3db4f405d4846088390a0198e18c79f37700d5b9cc4afd226',
	convert_to('govledger-attestation/v1 test', 'UTF8'),
	'\x3044022007fc70baa6b545dbb94152effb89c6807585ac288144f8ffef30491765c9254302202d3e4bec11f4ce9f2b252d0285846f279936736bdb4c2377ba6a7042f18df249'),
	'ecdsa-p256: ... and under the uncompressed point');
SELECT ok(NOT govledger.verify_signature('ecdsa-p256',
	'\x04338d962b6f20eb6c5b32f5b295bb33c17552212b7f4d10c7d91cde58ca03d07fb3a624d6c6fd1bd3db4f405d4846088390a0198e18c79f37700d5b9cc4afd226',
	convert_to('govledger-attestation/v1 tesT', 'UTF8'),
	'\x3044022007fc70baa6b545dbb94152effb89c6807585ac288144f8ffef30491765c9254302202d3e4bec11f4ce9f2b252d0285846f279936736bdb4c2377ba6a7042f18df249'),
	'ecdsa-p256: a changed message does not verify');
SELECT ok(NOT govledger.verify_signature('sm2',
	'\x3059301306072a8648ce3d020106082a8648ce3d03010703420004338d962b6f20eb6c5b32f5b295bb33c17552212b7f4d10c7d91cde58ca03d07fb3a624d6c6fd1bd3db4f405d4846088390a0198e18c79f37700d5b9cc4afd226',
	convert_to('govledger-attestation/v1 test', 'UTF8'),
	'\x3044022007fc70baa6b545dbb94152effb89c6807585ac288144f8ffef30491765c9254302202d3e4bec11f4ce9f2b252d0285846f279936736bdb4c2377ba6a7042f18df249'),
	'the algorithm is pinned: a P-256 key does not pass as sm2');

-- SM2 with SM3 and the default distinguishing ID
SELECT ok(govledger.verify_signature('sm2',
	'\x3059301306072a8648ce3d020106082a811ccf5501822d03420004ae8f144b74818e379bae789efed14544c7cd7c24a7001d2e20911ea765b783c12801625a1a7cbda7e4e82e323eacb1764a25465639adb9d22abe0582e63c4bfc',
	convert_to('govledger-attestation/v1 test', 'UTF8'),
	'\x3046022100b64f2b78bacdb5bd98b696c26c4cea365f29b4f144d2d9210d7784ce70648262022100aac4e41b3ab7a2c019682c625f307f7303354f2687771bd5c799fea45ceb5ab1'),
	'sm2: openssl signature verifies under the DER key');
SELECT ok(govledger.verify_signature('sm2',
	'\x04ae8f144b74818e379bae789efed14544c7cd7c24a7001d2e20911ea765b783c12801625a1a7cbda7e4e82e323eacb1764a25465639adb9d22abe0582e63c4bfc',
	convert_to('govledger-attestation/v1 test', 'UTF8'),
	'\x3046022100b64f2b78bacdb5bd98b696c26c4cea365f29b4f144d2d9210d7784ce70648262022100aac4e41b3ab7a2c019682c625f307f7303354f2687771bd5c799fea45ceb5ab1'),
	'sm2: ... and under the uncompressed point');
SELECT ok(NOT govledger.verify_signature('sm2',
	'\x04ae8f144b74818e379bae789efed14544c7cd7c24a7001d2e20911ea765b783c12801625a1a7cbda7e4e82e323eacb1764a25465639adb9d22abe0582e63c4bfc',
	convert_to('govledger-attestation/v1 test', 'UTF8'),
	'\x3046022100b64f2b78bacdb5bd98b696c26c4cea365f29b4f144d2d9210d7784ce70648262022100aac4e41b3ab7a2c019682c625f307f7303354f2687771bd5c799fea45ceb5ab0'),
	'sm2: a flipped signature bit does not verify');

SELECT throws_ok(
	$$SELECT govledger.verify_signature('rsa', '\x00', '', '\x00')$$,
	'22023', 'unknown signature algorithm "rsa"',
	'an unknown algorithm is an error');
SELECT is(govledger.verify_signature('ed25519', NULL, '', ''), NULL,
	'NULL in, NULL out');
SELECT function_privs_are('govledger', 'verify_signature',
	ARRAY['text', 'bytea', 'bytea', 'bytea'], 'public', ARRAY['EXECUTE'],
	'anyone may check a signature');

SELECT * FROM finish();
ROLLBACK;
