/*-------------------------------------------------------------------------
 *
 * catalog_write.c
 *	  Direct heap and index writes into the extension's own tables, as
 *	  the insert trigger and the ledger functions make them.
 *
 * These writes bypass the executor: no permission checks, no triggers,
 * no constraint checks beyond the unique indexes.  That is the point:
 * the insert trigger must record an entry for a role that has no
 * privilege on govledger.entry, and must do it without SPI.  The callers
 * build complete, valid tuples.  Only plain column indexes are
 * maintained (the extension's tables have no others).
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/catalog_write.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "catalog/index.h"
#include "nodes/execnodes.h"
#include "utils/rel.h"

#include "govledger.h"

/*
 * Insert index entries for heap tuple tup (already in rel at tup->t_self)
 * into every index of rel.
 */
static void
insert_index_entries(Relation rel, HeapTuple tup)
{
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	TupleDesc	desc = RelationGetDescr(rel);

	foreach(lc, indexes)
	{
		Relation	idx = index_open(lfirst_oid(lc), RowExclusiveLock);
		IndexInfo  *ii = BuildIndexInfo(idx);
		Datum		values[INDEX_MAX_KEYS];
		bool		isnull[INDEX_MAX_KEYS];
		int			i;

		if (ii->ii_Expressions != NIL || ii->ii_Predicate != NIL)
			elog(ERROR, "index \"%s\" of \"%s\" is not a plain column index",
				 RelationGetRelationName(idx), RelationGetRelationName(rel));
		for (i = 0; i < ii->ii_NumIndexAttrs; i++)
			values[i] = heap_getattr(tup, ii->ii_IndexAttrNumbers[i], desc,
									 &isnull[i]);
		index_insert(idx, values, isnull, &tup->t_self, rel,
					 ii->ii_Unique ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO,
					 false, ii);
		index_close(idx, RowExclusiveLock);
		pfree(ii);
	}
	list_free(indexes);
}

/*
 * GovInsertTuple
 *		Insert tup into rel (opened by the caller with RowExclusiveLock)
 *		and into its indexes; a unique violation raises the usual error.
 */
void
GovInsertTuple(Relation rel, HeapTuple tup)
{
	simple_heap_insert(rel, tup);
	insert_index_entries(rel, tup);
}

/*
 * GovUpdateTuple
 *		Replace the tuple at otid by tup, maintaining indexes unless the
 *		update was heap-only.
 */
void
GovUpdateTuple(Relation rel, ItemPointer otid, HeapTuple tup)
{
	simple_heap_update(rel, otid, tup);
	if (!HeapTupleIsHeapOnly(tup))
		insert_index_entries(rel, tup);
}
