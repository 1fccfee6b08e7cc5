/*-------------------------------------------------------------------------
 *
 * merkle.h
 *	  RFC 9162 Merkle trees: roots, inclusion and consistency proofs
 *	  (generation and verification), and the append frontier that yields
 *	  the hashes of complete subtrees as leaves are added.
 *
 * Subtrees are named (level, index): the complete subtree at level L
 * with index i covers leaves [i * 2^L, (i + 1) * 2^L); level 0 is the
 * leaf hash itself.  Proof generation never walks the leaves: it asks a
 * caller-supplied function for the hash of O(log n) complete subtrees,
 * which the extension answers from its stored subtree table and the
 * tests answer from an in-memory array.
 *
 * Return conventions (all functions): 0 success; GL_MERKLE_INVALID (a
 * positive value) when a proof does not verify or arguments describe an
 * impossible tree (index out of range, sizes reversed, too many proof
 * hashes); -1 when hashing or the caller's callback failed.
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/common/merkle.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOVLEDGER_MERKLE_H
#define GOVLEDGER_MERKLE_H

#include <stdint.h>

#include "hash.h"

/* A proof for a tree of fewer than 2^64 leaves never has more hashes. */
#define GL_MERKLE_MAX_PROOF		66

#define GL_MERKLE_INVALID		1

/*
 * Callback that stores in 'out' (h->size bytes) the hash of the complete
 * subtree (level, index).  Returns 0, or non-zero when it cannot (the
 * calling function then returns -1).
 */
typedef int (*GlSubtreeFn) (void *arg, int level, uint64_t index,
							uint8_t *out);

/*
 * Callback receiving the hash of a subtree that has just become
 * complete.  'hash' is only valid during the call.  Returns 0, or
 * non-zero to abort the append (which then returns -1).
 */
typedef int (*GlSubtreeEmitFn) (void *arg, int level, uint64_t index,
								const uint8_t *hash);

/*
 * The right edge of a tree: for each set bit L of 'size', hash[L] is the
 * complete subtree at level L that the tree of 'size' leaves ends with
 * (index (size >> L) - 1).  Enough to append and to compute the root.
 * About 4 kB; plain data, no resources to release.
 */
typedef struct GlMerkleFrontier
{
	uint64_t	size;			/* leaves in the tree */
	uint8_t		hash[64][GL_HASH_MAX_SIZE];
} GlMerkleFrontier;

/* Largest power of two strictly below n (n >= 2). */
extern uint64_t GlMerkleSplit(uint64_t n);

/*
 * Root of the tree over 'n' leaf hashes stored consecutively in
 * 'leaves' (n * h->size bytes).  The empty tree's root is H("").
 */
extern int	GlMerkleRootFromLeaves(GlHash *h, const uint8_t *leaves,
								   uint64_t n, uint8_t *root);

/* Root of the tree of 'size' leaves, from complete subtree hashes. */
extern int	GlMerkleRoot(GlHash *h, uint64_t size, GlSubtreeFn fn, void *arg,
						 uint8_t *root);

/*
 * RFC 9162 section 2.1.3.1 inclusion proof of leaf 'index' in the tree
 * of 'size' leaves.  Writes *nproof hashes (at most GL_MERKLE_MAX_PROOF)
 * consecutively into 'proof', deepest first.
 */
extern int	GlMerkleInclusionProof(GlHash *h, uint64_t index, uint64_t size,
								   GlSubtreeFn fn, void *arg,
								   uint8_t *proof, int *nproof);

/*
 * RFC 9162 section 2.1.4.1 consistency proof between the trees of
 * old_size and new_size leaves (old_size <= new_size; empty when they
 * are equal or old_size is 0).  Output as for GlMerkleInclusionProof.
 */
extern int	GlMerkleConsistencyProof(GlHash *h, uint64_t old_size,
									 uint64_t new_size, GlSubtreeFn fn,
									 void *arg, uint8_t *proof, int *nproof);

/*
 * RFC 9162 section 2.1.3.2: does 'proof' (nproof hashes) prove that
 * 'leaf' (a leaf hash) is leaf 'index' of the tree of 'size' leaves
 * whose root is 'root'?  0 yes, GL_MERKLE_INVALID no, -1 hashing failed.
 */
extern int	GlMerkleVerifyInclusion(GlHash *h, uint64_t index, uint64_t size,
									const uint8_t *leaf, const uint8_t *proof,
									int nproof, const uint8_t *root);

/*
 * RFC 9162 section 2.1.4.2: does 'proof' prove the tree (old_size,
 * old_root) is a prefix of (new_size, new_root)?  Equal sizes need an
 * empty proof and equal roots; old_size 0 needs an empty proof and the
 * empty-tree root as old_root.  Returns as GlMerkleVerifyInclusion.
 */
extern int	GlMerkleVerifyConsistency(GlHash *h, uint64_t old_size,
									  uint64_t new_size,
									  const uint8_t *old_root,
									  const uint8_t *new_root,
									  const uint8_t *proof, int nproof);

/* Start an empty frontier. */
extern void GlMerkleFrontierInit(GlMerkleFrontier *f);

/*
 * Set f to the right edge of the tree of 'size' leaves, asking fn for
 * the popcount(size) subtrees it needs.
 */
extern int	GlMerkleFrontierLoad(GlMerkleFrontier *f, uint64_t size,
								 GlSubtreeFn fn, void *arg);

/*
 * Append leaf hash 'leaf' as leaf f->size.  Calls emit (when not NULL)
 * for every subtree that becomes complete, level 0 (the leaf itself)
 * first, then upward: appending leaf i completes (L, i >> L) for L = 0
 * and every L such that the low L bits of i are all one.  On failure the
 * frontier is unchanged.
 */
extern int	GlMerkleFrontierAppend(GlMerkleFrontier *f, GlHash *h,
								   const uint8_t *leaf,
								   GlSubtreeEmitFn emit, void *arg);

/* Root of the tree the frontier describes. */
extern int	GlMerkleFrontierRoot(const GlMerkleFrontier *f, GlHash *h,
								 uint8_t *root);

#endif							/* GOVLEDGER_MERKLE_H */
