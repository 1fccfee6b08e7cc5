/*-------------------------------------------------------------------------
 *
 * hash.h
 *	  Hash algorithms chosen by name ("sha256", "sm3") through OpenSSL
 *	  EVP, and the RFC 9162 Merkle leaf and node hashes built on them.
 *
 * A GlHash holds the fetched algorithm and one reusable digest context,
 * so hashing many leaves allocates nothing.  It is not thread-safe; use
 * one per thread.  Its OpenSSL objects are outside any PostgreSQL memory
 * context: backend callers must make sure GlHashClose runs on error
 * paths too (for example from a memory context reset callback).
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/common/hash.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOVLEDGER_HASH_H
#define GOVLEDGER_HASH_H

#include <stddef.h>
#include <stdint.h>

/* Largest digest any supported algorithm produces (EVP_MAX_MD_SIZE). */
#define GL_HASH_MAX_SIZE	64

/* RFC 9162 domain separation prefixes */
#define GL_LEAF_PREFIX		0x00
#define GL_NODE_PREFIX		0x01

typedef struct GlHash
{
	struct evp_md_st *md;		/* fetched algorithm, owned */
	struct evp_md_ctx_st *ctx;	/* reusable context, owned */
	size_t		size;			/* digest length in bytes */
	char		name[16];		/* our name for it: "sha256" or "sm3" */
} GlHash;

/*
 * True when 'name' is a hash algorithm this library supports ("sha256"
 * or "sm3", lower case, exactly).  Does not touch OpenSSL.
 */
extern int	GlHashNameValid(const char *name);

/*
 * Prepare h for algorithm 'name'.  Returns 0, or -1 when the name is
 * not supported or OpenSSL cannot provide it (h is then left closed and
 * needs no GlHashClose).  On success the caller must call GlHashClose.
 */
extern int	GlHashOpen(GlHash *h, const char *name);

/* Release what GlHashOpen acquired; safe on a closed or zeroed GlHash. */
extern void GlHashClose(GlHash *h);

/*
 * out = H(data[0..len)); out holds h->size bytes.  Returns 0 or -1 when
 * OpenSSL fails.
 */
extern int	GlHashData(GlHash *h, const void *data, size_t len, uint8_t *out);

/* out = H(0x00 || data) (RFC 9162 leaf hash).  Returns 0 or -1. */
extern int	GlHashLeaf(GlHash *h, const void *data, size_t len, uint8_t *out);

/*
 * out = H(0x01 || left || right) (RFC 9162 interior node); left and
 * right are h->size bytes each and may alias out.  Returns 0 or -1.
 */
extern int	GlHashNode(GlHash *h, const uint8_t *left, const uint8_t *right,
					   uint8_t *out);

#endif							/* GOVLEDGER_HASH_H */
