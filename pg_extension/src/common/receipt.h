/*-------------------------------------------------------------------------
 *
 * receipt.h
 *	  Verification of govledger receipts (docs/receipt-format.md), of
 *	  signed checkpoints, and of consistency with an older checkpoint:
 *	  the checks shared by govledger.verify_receipt() in the extension
 *	  and the offline govledger-verify.
 *
 * Failures are reported in the caller's buffer as "field: message",
 * naming the receipt member (or "old checkpoint", "consistency.proof" …)
 * that is wrong.  Nothing is allocated that outlives a call.
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/common/receipt.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOVLEDGER_RECEIPT_H
#define GOVLEDGER_RECEIPT_H

#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"
#include "hash.h"
#include "notekey.h"

#define GL_RECEIPT_FORMAT	"govledger-receipt-v1"

/* Results: 0 verified, GL_RECEIPT_BAD does not verify, -1 internal error */
#define GL_RECEIPT_BAD		1

/* What a verified receipt established */
typedef struct GlReceiptInfo
{
	uint64_t	entry_id;
	uint64_t	leaf_index;
	uint64_t	tree_size;
	char		hash_alg[16];
	char		origin[256];	/* the receipt's "log" */
	char		ledger[256];	/* truncated if longer (display only) */
	uint8_t		root[GL_HASH_MAX_SIZE]; /* the checkpoint's root */
	size_t		hashlen;
} GlReceiptInfo;

/*
 * Verify the receipt JSON text[0..len) against key.  On success fills
 * *info and returns 0; otherwise returns GL_RECEIPT_BAD (or -1) with the
 * reason in err (capacity errcap).
 */
extern int	GlReceiptVerify(const char *text, size_t len, const GlNoteKey *key,
							GlReceiptInfo *info, char *err, size_t errcap);

/*
 * Verify a signed checkpoint note[0..len): a valid signature by key, a
 * well-formed body whose root is hashlen bytes and, when origin is not
 * NULL, whose origin equals it.  Fills *cp, whose pointers refer into
 * note.  'field' prefixes error messages.  Returns as GlReceiptVerify.
 */
extern int	GlCheckpointVerify(const char *note, size_t len, const GlNoteKey *key,
							   size_t hashlen, const char *origin,
							   GlCheckpoint *cp, const char *field,
							   char *err, size_t errcap);

/*
 * Verify that the tree of a verified receipt (info) extends the tree of
 * the older signed checkpoint old_note[0..oldlen), using the consistency
 * proof JSON cons[0..conslen) (members old_size, new_size, proof).
 * Returns as GlReceiptVerify.
 */
extern int	GlReceiptVerifyConsistency(const GlReceiptInfo *info,
									   const GlNoteKey *key,
									   const char *old_note, size_t oldlen,
									   const char *cons, size_t conslen,
									   char *err, size_t errcap);

#endif							/* GOVLEDGER_RECEIPT_H */
