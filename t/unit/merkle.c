/*
 * merkle.c
 *	  Unit tests of pg_extension/src/common/merkle.c: the RFC 6962
 *	  reference roots and proofs of rfc6962-merkle.json with every
 *	  must-fail variant, and, for every tree up to 64 leaves, roots and
 *	  every inclusion and consistency proof generated from subtree lookups
 *	  checked against a naive recursive implementation of RFC 9162 and
 *	  verified; plus the append frontier's emitted subtrees.
 *
 * Copyright (c) 2026, govledger contributors
 */
#include <jansson.h>
#include <string.h>

#include "encode.h"
#include "merkle.h"
#include "tap.h"

#define MAXN 64

static GlHash H;
static uint8_t leaves[MAXN][32];
/* subtree store filled through the frontier's emit callback */
static uint8_t store[7][MAXN][32];
static int	stored[7][MAXN];
static int	lookups;

/* naive RFC 9162 MTH over leaves[start, end) */
static void
mth(uint64_t start, uint64_t end, uint8_t *out)
{
	uint8_t		l[32];
	uint8_t		r[32];
	uint64_t	k;

	if (end - start == 1)
	{
		memcpy(out, leaves[start], 32);
		return;
	}
	k = GlMerkleSplit(end - start);
	mth(start, start + k, l);
	mth(start + k, end, r);
	GlHashNode(&H, l, r, out);
}

/* naive PATH(m, D[start:end]) appended to out */
static void
naive_path(uint64_t m, uint64_t start, uint64_t end, uint8_t *out, int *n)
{
	uint64_t	k;

	if (end - start <= 1)
		return;
	k = GlMerkleSplit(end - start);
	if (m < k)
	{
		naive_path(m, start, start + k, out, n);
		mth(start + k, end, out + 32 * (*n)++);
	}
	else
	{
		naive_path(m - k, start + k, end, out, n);
		mth(start, start + k, out + 32 * (*n)++);
	}
}

/* naive SUBPROOF(m, D[start:end], b) */
static void
naive_subproof(uint64_t m, uint64_t start, uint64_t end, int b, uint8_t *out, int *n)
{
	uint64_t	k;

	if (m == end - start)
	{
		if (!b)
			mth(start, end, out + 32 * (*n)++);
		return;
	}
	k = GlMerkleSplit(end - start);
	if (m <= k)
	{
		naive_subproof(m, start, start + k, b, out, n);
		mth(start + k, end, out + 32 * (*n)++);
	}
	else
	{
		naive_subproof(m - k, start + k, end, 0, out, n);
		mth(start, start + k, out + 32 * (*n)++);
	}
}

static int
emit(void *arg, int level, uint64_t index, const uint8_t *hash)
{
	(void) arg;
	if (level >= 7 || index >= MAXN)
		return -1;
	memcpy(store[level][index], hash, 32);
	stored[level][index]++;
	return 0;
}

static int
lookup(void *arg, int level, uint64_t index, uint8_t *out)
{
	uint64_t	limit = *(uint64_t *) arg;

	/* a lookup must only touch complete subtrees inside the tree */
	if (level >= 7 || index >= MAXN || !stored[level][index] ||
		((index + 1) << level) > limit)
		return -1;
	lookups++;
	memcpy(out, store[level][index], 32);
	return 0;
}

/* vector lookup over the 8 reference leaves */
static uint8_t vleaves[8][32];

static int
vlookup(void *arg, int level, uint64_t index, uint8_t *out)
{
	uint64_t	start = index << level;
	uint64_t	end = (index + 1) << level;

	(void) arg;
	if (end > 8)
		return -1;
	return GlMerkleRootFromLeaves(&H, vleaves[start], end - start, out);
}

static int
hexlist(json_t *arr, uint8_t *out)
{
	size_t		i;
	json_t	   *v;

	json_array_foreach(arr, i, v)
	{
		if (GlHexDecode(json_string_value(v), 64, out + 32 * i, 32) != 32)
			tap_bail("bad hex in vectors");
	}
	return (int) json_array_size(arr);
}

static void
vector_tests(json_t *vec)
{
	json_t	   *roots = json_object_get(vec, "roots_by_tree_size_hex");
	uint8_t		root[9][32];
	uint8_t		got[32];
	size_t		i;
	json_t	   *v;
	int			sz;

	hexlist(json_object_get(vec, "leaf_hashes_hex"), &vleaves[0][0]);
	for (sz = 0; sz <= 8; sz++)
	{
		char		key[16];
		char		hex[65];

		snprintf(key, sizeof(key), "%d", sz);
		GlHexDecode(json_string_value(json_object_get(roots, key)), 64, root[sz], 32);
		GlMerkleRootFromLeaves(&H, vleaves[0], (uint64_t) sz, got);
		GlHexEncode(got, 32, hex);
		tap_is_str(hex, json_string_value(json_object_get(roots, key)), "vector root from leaves");
		if (sz > 0)
		{
			uint64_t	lim = (uint64_t) sz;

			GlMerkleRoot(&H, lim, vlookup, NULL, got);
			tap_ok(memcmp(got, root[sz], 32) == 0, "vector root of size %d from subtrees", sz);
		}
	}

	json_array_foreach(json_object_get(vec, "inclusion_proofs"), i, v)
	{
		uint64_t	idx = (uint64_t) json_integer_value(json_object_get(v, "leaf_index"));
		uint64_t	size = (uint64_t) json_integer_value(json_object_get(v, "tree_size"));
		uint8_t		proof[GL_MERKLE_MAX_PROOF * 32];
		uint8_t		gen[GL_MERKLE_MAX_PROOF * 32];
		uint8_t		mut[(GL_MERKLE_MAX_PROOF + 1) * 32];
		int			n = hexlist(json_object_get(v, "proof_hex"), proof);
		int			gn = 0;
		int			j;
		int			b;
		const uint8_t *leaf = vleaves[idx];
		const uint8_t *rt = root[size];
		uint8_t		badleaf[32];

		tap_ok(GlMerkleInclusionProof(&H, idx, size, vlookup, NULL, gen, &gn) == 0 &&
			   gn == n && memcmp(gen, proof, 32 * (size_t) n) == 0,
			   "generated inclusion proof (%llu, %llu) equals the vector",
			   (unsigned long long) idx, (unsigned long long) size);
		tap_ok(GlMerkleVerifyInclusion(&H, idx, size, leaf, proof, n, rt) == 0,
			   "inclusion (%llu, %llu) verifies", (unsigned long long) idx, (unsigned long long) size);
		/* must-fail variants */
		tap_ok(GlMerkleVerifyInclusion(&H, idx + 1, size, leaf, proof, n, rt) != 0, "index+1 fails");
		tap_ok(GlMerkleVerifyInclusion(&H, idx - 1, size, leaf, proof, n, rt) != 0, "index-1 fails");
		tap_ok(GlMerkleVerifyInclusion(&H, idx, size * 2, leaf, proof, n, rt) != 0, "size doubled fails");
		tap_ok(GlMerkleVerifyInclusion(&H, idx, size / 2, leaf, proof, n, rt) != 0, "size halved fails");
		memcpy(badleaf, leaf, 32);
		badleaf[0] ^= 1;
		tap_ok(GlMerkleVerifyInclusion(&H, idx, size, badleaf, proof, n, rt) != 0, "wrong leaf fails");
		tap_ok(GlMerkleVerifyInclusion(&H, idx, size, leaf, proof, n, root[size - 1]) != 0, "wrong root fails");
		memcpy(mut, proof, 32 * (size_t) n);
		memcpy(mut + 32 * n, leaf, 32);
		tap_ok(GlMerkleVerifyInclusion(&H, idx, size, leaf, mut, n + 1, rt) != 0, "trailing extra hash fails");
		memcpy(mut, leaf, 32);
		memcpy(mut + 32, proof, 32 * (size_t) n);
		tap_ok(GlMerkleVerifyInclusion(&H, idx, size, leaf, mut, n + 1, rt) != 0, "leading extra hash fails");
		tap_ok(GlMerkleVerifyInclusion(&H, idx, size, leaf, proof, n - 1, rt) != 0, "last hash removed fails");
		tap_ok(GlMerkleVerifyInclusion(&H, idx, size, leaf, proof + 32, n - 1, rt) != 0, "first hash removed fails");
		{
			int			allfail = 1;

			for (j = 0; j < n; j++)
				for (b = 0; b < 256; b++)
				{
					memcpy(mut, proof, 32 * (size_t) n);
					mut[32 * j + b / 8] ^= (uint8_t) (1 << (b % 8));
					if (GlMerkleVerifyInclusion(&H, idx, size, leaf, mut, n, rt) == 0)
						allfail = 0;
				}
			tap_ok(allfail, "every single flipped bit in every proof hash fails");
		}
	}

	json_array_foreach(json_object_get(vec, "consistency_proofs"), i, v)
	{
		uint64_t	m = (uint64_t) json_integer_value(json_object_get(v, "old_size"));
		uint64_t	s = (uint64_t) json_integer_value(json_object_get(v, "new_size"));
		uint8_t		proof[GL_MERKLE_MAX_PROOF * 32];
		uint8_t		gen[GL_MERKLE_MAX_PROOF * 32];
		uint8_t		mut[(GL_MERKLE_MAX_PROOF + 1) * 32];
		int			n = hexlist(json_object_get(v, "proof_hex"), proof);
		int			gn = 0;
		int			j;
		int			b;
		const uint8_t *r1 = root[m];
		const uint8_t *r2 = root[s];

		tap_ok(GlMerkleConsistencyProof(&H, m, s, vlookup, NULL, gen, &gn) == 0 &&
			   gn == n && memcmp(gen, proof, 32 * (size_t) n) == 0,
			   "generated consistency proof (%llu, %llu) equals the vector",
			   (unsigned long long) m, (unsigned long long) s);
		tap_ok(GlMerkleVerifyConsistency(&H, m, s, r1, r2, proof, n) == 0,
			   "consistency (%llu, %llu) verifies", (unsigned long long) m, (unsigned long long) s);
		tap_ok(GlMerkleVerifyConsistency(&H, m, s, r2, r1, proof, n) != 0, "swapped roots fail");
		tap_ok(GlMerkleVerifyConsistency(&H, s, m, r2, r1, proof, n) != 0, "swapped sizes fail");
		tap_ok(GlMerkleVerifyConsistency(&H, m + 1, s, r1, r2, proof, n) != 0, "old size+1 fails");
		tap_ok(GlMerkleVerifyConsistency(&H, m - 1, s, r1, r2, proof, n) != 0, "old size-1 fails");
		tap_ok(GlMerkleVerifyConsistency(&H, m, s * 2, r1, r2, proof, n) != 0, "new size doubled fails");
		tap_ok(GlMerkleVerifyConsistency(&H, m, s / 2, r1, r2, proof, n) != 0, "new size halved fails");
		tap_ok(GlMerkleVerifyConsistency(&H, m, s, root[m + 1], r2, proof, n) != 0, "wrong old root fails");
		tap_ok(GlMerkleVerifyConsistency(&H, m, s, r1, root[s - 1], proof, n) != 0, "wrong new root fails");
		memcpy(mut, proof, 32 * (size_t) n);
		memcpy(mut + 32 * n, r1, 32);
		tap_ok(GlMerkleVerifyConsistency(&H, m, s, r1, r2, mut, n + 1) != 0, "trailing extra hash fails");
		memcpy(mut, r1, 32);
		memcpy(mut + 32, proof, 32 * (size_t) n);
		tap_ok(GlMerkleVerifyConsistency(&H, m, s, r1, r2, mut, n + 1) != 0, "leading extra hash fails");
		tap_ok(GlMerkleVerifyConsistency(&H, m, s, r1, r2, proof, n - 1) != 0, "last hash removed fails");
		tap_ok(GlMerkleVerifyConsistency(&H, m, s, r1, r2, proof + 32, n - 1) != 0, "first hash removed fails");
		tap_ok(GlMerkleVerifyConsistency(&H, m, s, r1, r2, proof, 0) != 0, "empty proof fails");
		{
			int			allfail = 1;

			for (j = 0; j < n; j++)
				for (b = 0; b < 256; b++)
				{
					memcpy(mut, proof, 32 * (size_t) n);
					mut[32 * j + b / 8] ^= (uint8_t) (1 << (b % 8));
					if (GlMerkleVerifyConsistency(&H, m, s, r1, r2, mut, n) == 0)
						allfail = 0;
				}
			tap_ok(allfail, "every single flipped bit in every proof hash fails");
		}
	}
}

static void
exhaustive_tests(void)
{
	GlMerkleFrontier f;
	uint64_t	n;
	int			bad_root = 0;
	int			bad_incl = 0;
	int			bad_cons = 0;
	int			bad_emit = 0;
	int			bad_neg = 0;
	int			maxlook = 0;
	int			i;

	memset(stored, 0, sizeof(stored));
	GlMerkleFrontierInit(&f);
	for (i = 0; i < MAXN; i++)
	{
		uint8_t		d[4] = {(uint8_t) i, 0xab, (uint8_t) (i * 7), 0x5a};

		GlHashLeaf(&H, d, sizeof(d), leaves[i]);
	}
	for (n = 1; n <= MAXN; n++)
	{
		uint8_t		r1[32];
		uint8_t		r2[32];
		uint8_t		r3[32];
		uint64_t	lim = n;
		uint64_t	m;
		int			l;

		if (GlMerkleFrontierAppend(&f, &H, leaves[n - 1], emit, NULL) != 0)
			tap_bail("frontier append failed");
		/* exactly the subtrees that just became complete were emitted */
		for (l = 0; l < 7; l++)
		{
			uint64_t	idx;

			for (idx = 0; idx < MAXN; idx++)
			{
				int			complete = ((idx + 1) << l) <= n;

				if (stored[l][idx] != complete)
					bad_emit++;
				if (complete)
				{
					uint8_t		want[32];

					mth(idx << l, (idx + 1) << l, want);
					if (memcmp(want, store[l][idx], 32) != 0)
						bad_emit++;
				}
			}
		}
		mth(0, n, r1);
		GlMerkleFrontierRoot(&f, &H, r2);
		GlMerkleRoot(&H, n, lookup, &lim, r3);
		if (memcmp(r1, r2, 32) || memcmp(r1, r3, 32))
			bad_root++;
		{
			GlMerkleFrontier g;

			GlMerkleFrontierLoad(&g, n, lookup, &lim);
			GlMerkleFrontierRoot(&g, &H, r3);
			if (memcmp(r1, r3, 32))
				bad_root++;
		}
		for (m = 0; m < n; m++)
		{
			uint8_t		p1[GL_MERKLE_MAX_PROOF * 32];
			uint8_t		p2[GL_MERKLE_MAX_PROOF * 32];
			int			n1 = 0;
			int			n2 = 0;

			naive_path(m, 0, n, p1, &n1);
			lookups = 0;
			if (GlMerkleInclusionProof(&H, m, n, lookup, &lim, p2, &n2) != 0 ||
				n1 != n2 || memcmp(p1, p2, 32 * (size_t) n1) != 0 ||
				GlMerkleVerifyInclusion(&H, m, n, leaves[m], p2, n2, r1) != 0)
				bad_incl++;
			if (lookups > maxlook)
				maxlook = lookups;
			/* a proof for one leaf does not prove another */
			if (n > 1 && GlMerkleVerifyInclusion(&H, (m + 1) % n, n, leaves[m], p2, n2, r1) == 0)
				bad_neg++;
		}
		for (m = 0; m <= n; m++)
		{
			uint8_t		p1[GL_MERKLE_MAX_PROOF * 32];
			uint8_t		p2[GL_MERKLE_MAX_PROOF * 32];
			uint8_t		oldroot[32];
			int			n1 = 0;
			int			n2 = 0;

			if (m > 0 && m < n)
				naive_subproof(m, 0, n, 1, p1, &n1);
			if (m == 0)
				GlHashData(&H, "", 0, oldroot);
			else
				mth(0, m, oldroot);
			lookups = 0;
			if (GlMerkleConsistencyProof(&H, m, n, lookup, &lim, p2, &n2) != 0 ||
				n1 != n2 || memcmp(p1, p2, 32 * (size_t) n1) != 0 ||
				GlMerkleVerifyConsistency(&H, m, n, oldroot, r1, p2, n2) != 0)
				bad_cons++;
			if (lookups > maxlook)
				maxlook = lookups;
			if (m > 0 && m < n && n2 > 0)
			{
				p2[0] ^= 0x80;
				if (GlMerkleVerifyConsistency(&H, m, n, oldroot, r1, p2, n2) == 0)
					bad_neg++;
			}
		}
	}
	tap_ok(bad_emit == 0, "frontier emits exactly the completed subtrees with the right hashes (sizes 1..%d)", MAXN);
	tap_ok(bad_root == 0, "roots from frontier, subtrees and reload agree with the naive MTH (sizes 1..%d)", MAXN);
	tap_ok(bad_incl == 0, "every inclusion proof equals the naive PATH and verifies (sizes 1..%d)", MAXN);
	tap_ok(bad_cons == 0, "every consistency proof equals the naive PROOF and verifies (all pairs up to %d)", MAXN);
	tap_ok(bad_neg == 0, "wrong-leaf and corrupted proofs are rejected");
	tap_ok(maxlook <= 2 * 7, "subtree lookups per proof stay logarithmic (max %d)", maxlook);
}

static void
edge_tests(void)
{
	uint8_t		proof[GL_MERKLE_MAX_PROOF * 32];
	uint8_t		empty[32];
	uint8_t		other[32];
	int			n = -1;
	uint64_t	lim = 0;

	GlHashData(&H, "", 0, empty);
	memset(other, 7, 32);
	tap_ok(GlMerkleInclusionProof(&H, 0, 0, lookup, &lim, proof, &n) == GL_MERKLE_INVALID,
		   "inclusion proof in an empty tree is refused");
	tap_ok(GlMerkleInclusionProof(&H, 5, 5, lookup, &lim, proof, &n) == GL_MERKLE_INVALID,
		   "inclusion proof past the end is refused");
	tap_ok(GlMerkleConsistencyProof(&H, 6, 5, lookup, &lim, proof, &n) == GL_MERKLE_INVALID,
		   "consistency proof with old > new is refused");
	tap_ok(GlMerkleVerifyInclusion(&H, 0, 0, empty, proof, 0, empty) != 0, "nothing is included in an empty tree");
	tap_ok(GlMerkleVerifyInclusion(&H, 0, 1, other, proof, 0, other) == 0, "single-leaf tree: leaf is the root");
	tap_ok(GlMerkleVerifyInclusion(&H, 0, 1, other, other, 1, other) != 0, "single-leaf tree: extra hash fails");
	tap_ok(GlMerkleVerifyConsistency(&H, 0, 5, empty, other, proof, 0) == 0, "empty tree is consistent with any tree");
	tap_ok(GlMerkleVerifyConsistency(&H, 0, 5, other, other, proof, 0) != 0, "size 0 needs the empty root");
	tap_ok(GlMerkleVerifyConsistency(&H, 0, 5, empty, other, other, 1) != 0, "size 0 needs an empty proof");
	tap_ok(GlMerkleVerifyConsistency(&H, 5, 5, other, other, proof, 0) == 0, "equal sizes, equal roots: consistent");
	tap_ok(GlMerkleVerifyConsistency(&H, 5, 5, other, empty, proof, 0) != 0, "equal sizes, different roots: not");
	tap_ok(GlMerkleVerifyConsistency(&H, 5, 5, other, other, other, 1) != 0, "equal sizes need an empty proof");
	tap_ok(GlMerkleVerifyInclusion(&H, 0, 8, other, proof, GL_MERKLE_MAX_PROOF + 1, other) != 0,
		   "over-long proofs are refused");
	tap_ok(GlMerkleSplit(2) == 1 && GlMerkleSplit(3) == 2 && GlMerkleSplit(8) == 4 && GlMerkleSplit(9) == 8,
		   "split point is the largest power of two below n");
	tap_ok(GlMerkleSplit(UINT64_MAX) == ((uint64_t) 1 << 63), "split point at 2^64-1");
}

int
main(int argc, char **argv)
{
	json_error_t jerr;
	json_t	   *vec;

	(void) argc;
	vec = json_load_file(tap_vector_path(argv[0], "rfc6962-merkle.json"), 0, &jerr);
	if (vec == NULL)
		tap_bail("cannot read rfc6962-merkle.json (set GOVLEDGER_VECTORS)");
	if (GlHashOpen(&H, "sha256") != 0)
		tap_bail("no sha256");
	vector_tests(vec);
	exhaustive_tests();
	edge_tests();
	GlHashClose(&H);
	json_decref(vec);
	return tap_done();
}
