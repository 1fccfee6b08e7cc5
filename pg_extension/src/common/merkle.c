/*-------------------------------------------------------------------------
 *
 * merkle.c
 *	  RFC 9162 Merkle tree roots, proofs and proof verification.
 *
 * Generation follows the recursive definitions of RFC 9162 sections
 * 2.1.1, 2.1.3.1 and 2.1.4.1 written as loops over [start, end) leaf
 * ranges.  Every range the recursion visits starts at a multiple of the
 * largest power of two not above its length, so a range is a run of
 * complete subtrees of decreasing size: its hash is the right fold of at
 * most 64 callback lookups, and a whole proof needs O(log n) lookups.
 *
 * Verification is the iterative algorithm of RFC 9162 sections 2.1.3.2
 * and 2.1.4.2, with the preconditions spelled out explicitly (index
 * below size, sizes ordered, proof length bounded) so that every
 * malformed proof is rejected rather than mis-read.
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/common/merkle.c
 *
 *-------------------------------------------------------------------------
 */
#include <assert.h>
#include <string.h>

#include <openssl/crypto.h>

#include "merkle.h"

uint64_t
GlMerkleSplit(uint64_t n)
{
	uint64_t	k = 1;

	assert(n >= 2);
	while (k < n - k)
		k <<= 1;
	return k;
}

/* True when n is a power of two (n > 0). */
static int
is_pow2(uint64_t n)
{
	return n != 0 && (n & (n - 1)) == 0;
}

/*
 * Hash of leaves [start, end) (end > start), a range whose start is a
 * multiple of the largest power of two not above its length, from
 * complete subtree lookups.
 */
static int
range_hash(GlHash *h, uint64_t start, uint64_t end, GlSubtreeFn fn, void *arg,
		   uint8_t *out)
{
	uint8_t		subs[64][GL_HASH_MAX_SIZE];
	int			nsubs = 0;
	uint64_t	pos = start;
	int			j;

	assert(end > start);
	while (pos < end)
	{
		uint64_t	len = end - pos;
		int			level = 63;

		/* largest power of two not above the remaining length */
		while (((uint64_t) 1 << level) > len)
			level--;
		assert(pos % ((uint64_t) 1 << level) == 0);
		if (fn(arg, level, pos >> level, subs[nsubs]) != 0)
			return -1;
		nsubs++;
		pos += (uint64_t) 1 << level;
	}
	/* fold from the right: H(s0, H(s1, ... H(s[n-2], s[n-1]))) */
	for (j = nsubs - 2; j >= 0; j--)
	{
		if (GlHashNode(h, subs[j], subs[j + 1], subs[j]) != 0)
			return -1;
	}
	memcpy(out, subs[0], h->size);
	return 0;
}

int
GlMerkleRootFromLeaves(GlHash *h, const uint8_t *leaves, uint64_t n,
					   uint8_t *root)
{
	GlMerkleFrontier *f;
	uint64_t	i;
	int			rc;

	if (n == 0)
		return GlHashData(h, "", 0, root);
	/* the frontier is 4 kB: keep it off small stacks */
	f = OPENSSL_malloc(sizeof(*f));
	if (f == NULL)
		return -1;
	GlMerkleFrontierInit(f);
	rc = 0;
	for (i = 0; i < n && rc == 0; i++)
		rc = GlMerkleFrontierAppend(f, h, leaves + i * h->size, NULL, NULL);
	if (rc == 0)
		rc = GlMerkleFrontierRoot(f, h, root);
	OPENSSL_free(f);
	return rc;
}

int
GlMerkleRoot(GlHash *h, uint64_t size, GlSubtreeFn fn, void *arg,
			 uint8_t *root)
{
	if (size == 0)
		return GlHashData(h, "", 0, root);
	return range_hash(h, 0, size, fn, arg, root);
}

/* Reverse the order of n hashes in place. */
static void
reverse_hashes(GlHash *h, uint8_t *proof, int n)
{
	uint8_t		tmp[GL_HASH_MAX_SIZE];
	int			i;

	for (i = 0; i < n / 2; i++)
	{
		uint8_t    *a = proof + (size_t) i * h->size;
		uint8_t    *b = proof + (size_t) (n - 1 - i) * h->size;

		memcpy(tmp, a, h->size);
		memcpy(a, b, h->size);
		memcpy(b, tmp, h->size);
	}
}

int
GlMerkleInclusionProof(GlHash *h, uint64_t index, uint64_t size,
					   GlSubtreeFn fn, void *arg, uint8_t *proof, int *nproof)
{
	uint64_t	start = 0;
	uint64_t	end = size;
	int			n = 0;

	*nproof = 0;
	if (index >= size)
		return GL_MERKLE_INVALID;
	/* collect siblings from the top down, then reverse (RFC order) */
	while (end - start > 1)
	{
		uint64_t	k = GlMerkleSplit(end - start);
		uint8_t    *slot = proof + (size_t) n * h->size;

		if (n >= GL_MERKLE_MAX_PROOF)
			return -1;
		if (index < start + k)
		{
			if (range_hash(h, start + k, end, fn, arg, slot) != 0)
				return -1;
			end = start + k;
		}
		else
		{
			if (range_hash(h, start, start + k, fn, arg, slot) != 0)
				return -1;
			start += k;
		}
		n++;
	}
	reverse_hashes(h, proof, n);
	*nproof = n;
	return 0;
}

int
GlMerkleConsistencyProof(GlHash *h, uint64_t old_size, uint64_t new_size,
						 GlSubtreeFn fn, void *arg, uint8_t *proof,
						 int *nproof)
{
	uint64_t	start = 0;
	uint64_t	end = new_size;
	uint64_t	m = old_size;	/* old leaves within [start, end) */
	int			whole = 1;		/* RFC's b: range is the old tree itself */
	int			n = 0;

	*nproof = 0;
	if (old_size > new_size)
		return GL_MERKLE_INVALID;
	if (old_size == 0 || old_size == new_size)
		return 0;
	for (;;)
	{
		uint64_t	k;
		uint8_t    *slot = proof + (size_t) n * h->size;

		if (n >= GL_MERKLE_MAX_PROOF)
			return -1;
		if (m == end - start)
		{
			if (!whole)
			{
				if (range_hash(h, start, end, fn, arg, slot) != 0)
					return -1;
				n++;
			}
			break;
		}
		k = GlMerkleSplit(end - start);
		if (m <= k)
		{
			if (range_hash(h, start + k, end, fn, arg, slot) != 0)
				return -1;
			end = start + k;
		}
		else
		{
			if (range_hash(h, start, start + k, fn, arg, slot) != 0)
				return -1;
			m -= k;
			start += k;
			whole = 0;
		}
		n++;
	}
	reverse_hashes(h, proof, n);
	*nproof = n;
	return 0;
}

int
GlMerkleVerifyInclusion(GlHash *h, uint64_t index, uint64_t size,
						const uint8_t *leaf, const uint8_t *proof, int nproof,
						const uint8_t *root)
{
	uint8_t		r[GL_HASH_MAX_SIZE];
	uint64_t	fn = index;
	uint64_t	sn;
	int			i;

	if (index >= size || nproof < 0 || nproof > GL_MERKLE_MAX_PROOF)
		return GL_MERKLE_INVALID;
	sn = size - 1;
	memcpy(r, leaf, h->size);
	for (i = 0; i < nproof; i++)
	{
		const uint8_t *p = proof + (size_t) i * h->size;

		if (sn == 0)
			return GL_MERKLE_INVALID;
		if ((fn & 1) || fn == sn)
		{
			if (GlHashNode(h, p, r, r) != 0)
				return -1;
			if (!(fn & 1))
			{
				while (!(fn & 1) && fn != 0)
				{
					fn >>= 1;
					sn >>= 1;
				}
			}
		}
		else
		{
			if (GlHashNode(h, r, p, r) != 0)
				return -1;
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0 || CRYPTO_memcmp(r, root, h->size) != 0)
		return GL_MERKLE_INVALID;
	return 0;
}

int
GlMerkleVerifyConsistency(GlHash *h, uint64_t old_size, uint64_t new_size,
						  const uint8_t *old_root, const uint8_t *new_root,
						  const uint8_t *proof, int nproof)
{
	uint8_t		fr[GL_HASH_MAX_SIZE];
	uint8_t		sr[GL_HASH_MAX_SIZE];
	uint64_t	fn;
	uint64_t	sn;
	int			i;

	if (old_size > new_size || nproof < 0 || nproof > GL_MERKLE_MAX_PROOF)
		return GL_MERKLE_INVALID;
	if (old_size == new_size)
	{
		if (nproof != 0 || CRYPTO_memcmp(old_root, new_root, h->size) != 0)
			return GL_MERKLE_INVALID;
		return 0;
	}
	if (old_size == 0)
	{
		uint8_t		empty[GL_HASH_MAX_SIZE];

		if (nproof != 0)
			return GL_MERKLE_INVALID;
		if (GlHashData(h, "", 0, empty) != 0)
			return -1;
		return CRYPTO_memcmp(old_root, empty, h->size) == 0 ? 0 : GL_MERKLE_INVALID;
	}
	/* step 1: an empty path proves nothing */
	if (nproof == 0)
		return GL_MERKLE_INVALID;

	/*
	 * Step 2: when old_size is a power of two, old_root is itself the
	 * first element of the path.  Rather than copying the array, start
	 * from old_root and walk the given hashes from index 0; otherwise
	 * start from the first given hash.
	 */
	i = 0;
	if (is_pow2(old_size))
	{
		memcpy(fr, old_root, h->size);
	}
	else
	{
		memcpy(fr, proof, h->size);
		i = 1;
	}
	memcpy(sr, fr, h->size);

	/* steps 3 and 4 */
	fn = old_size - 1;
	sn = new_size - 1;
	while (fn & 1)
	{
		fn >>= 1;
		sn >>= 1;
	}

	/* step 6 */
	for (; i < nproof; i++)
	{
		const uint8_t *c = proof + (size_t) i * h->size;

		if (sn == 0)
			return GL_MERKLE_INVALID;
		if ((fn & 1) || fn == sn)
		{
			if (GlHashNode(h, c, fr, fr) != 0 || GlHashNode(h, c, sr, sr) != 0)
				return -1;
			if (!(fn & 1))
			{
				while (!(fn & 1) && fn != 0)
				{
					fn >>= 1;
					sn >>= 1;
				}
			}
		}
		else
		{
			if (GlHashNode(h, sr, c, sr) != 0)
				return -1;
		}
		fn >>= 1;
		sn >>= 1;
	}

	/* step 7 */
	if (sn != 0 ||
		CRYPTO_memcmp(fr, old_root, h->size) != 0 ||
		CRYPTO_memcmp(sr, new_root, h->size) != 0)
		return GL_MERKLE_INVALID;
	return 0;
}

void
GlMerkleFrontierInit(GlMerkleFrontier *f)
{
	f->size = 0;
}

int
GlMerkleFrontierLoad(GlMerkleFrontier *f, uint64_t size, GlSubtreeFn fn,
					 void *arg)
{
	int			level;

	for (level = 0; level < 64; level++)
	{
		if (size & ((uint64_t) 1 << level))
		{
			if (fn(arg, level, (size >> level) - 1, f->hash[level]) != 0)
				return -1;
		}
	}
	f->size = size;
	return 0;
}

int
GlMerkleFrontierAppend(GlMerkleFrontier *f, GlHash *h, const uint8_t *leaf,
					   GlSubtreeEmitFn emit, void *arg)
{
	uint8_t		cur[GL_HASH_MAX_SIZE];
	uint64_t	i = f->size;
	int			level = 0;

	if (i == UINT64_MAX)
		return -1;
	memcpy(cur, leaf, h->size);
	if (emit && emit(arg, 0, i, cur) != 0)
		return -1;
	/* each trailing one bit of i is a left sibling waiting on the edge */
	while (i & ((uint64_t) 1 << level))
	{
		if (GlHashNode(h, f->hash[level], cur, cur) != 0)
			return -1;
		level++;
		if (emit && emit(arg, level, i >> level, cur) != 0)
			return -1;
	}
	memcpy(f->hash[level], cur, h->size);
	f->size = i + 1;
	return 0;
}

int
GlMerkleFrontierRoot(const GlMerkleFrontier *f, GlHash *h, uint8_t *root)
{
	uint8_t		acc[GL_HASH_MAX_SIZE];
	int			have = 0;
	int			level;

	if (f->size == 0)
		return GlHashData(h, "", 0, root);
	for (level = 0; level < 64; level++)
	{
		if (!(f->size & ((uint64_t) 1 << level)))
			continue;
		if (!have)
		{
			memcpy(acc, f->hash[level], h->size);
			have = 1;
		}
		else if (GlHashNode(h, f->hash[level], acc, acc) != 0)
			return -1;
	}
	memcpy(root, acc, h->size);
	return 0;
}
