/*-------------------------------------------------------------------------
 *
 * keys.c
 *	  Signing keys of logs: files <log>.pem in govledger.key_dir, created
 *	  on first use, and the public keys registered in govledger.log.
 *
 * A private key never enters a table.  The key file is PKCS#8 PEM,
 * written once with mode 0600 into a directory of mode 0700 (created
 * when missing) by writing a temporary file and linking it into place, so
 * that two backends generating the same key at once end with one file,
 * and a crash never leaves a half-written key.  A key file readable by
 * group or others is refused.
 *
 * The first time a log's key is used its public key (DER
 * SubjectPublicKeyInfo) is stored in govledger.log.public_key; from then
 * on a key file whose public key differs is refused, so a swapped file
 * cannot silently sign a log.  Verification (checkpoints, receipts of
 * our own logs, verify()) uses the registered public key only, so it
 * works where the key file is absent (replicas, other nodes).
 *
 * Keys are cached per backend for the life of the process; the cache
 * is dropped when govledger.key_dir changes.
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/keys.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "govledger.h"
#include "seal.h"

#define Anum_gov_log_sig_alg		4
#define Anum_gov_log_public_key		5

char	   *gov_key_dir = NULL;

typedef struct KeyCacheEntry
{
	int32		log_id;
	char		name[NAMEDATALEN * 2];
	bool		has_signer;
	GlNoteKey	signer;
	bytea	   *signer_der;		/* its public key, in TopMemoryContext */
	bool		has_verifier;
	GlNoteKey	verifier;
} KeyCacheEntry;

#define KEY_CACHE_SIZE 64
static KeyCacheEntry key_cache[KEY_CACHE_SIZE];
static int	key_cache_used = 0;
static char key_cache_dir[MAXPGPATH] = "";

void
GovKeysInit(void)
{
	DefineCustomStringVariable("govledger.key_dir",
							   "Directory holding the private keys of logs, one <log>.pem each.",
							   "Empty means the directory govledger_keys in the data directory. "
							   "Keys are generated there on first use.  Databases of one "
							   "cluster whose logs share names need their own directories "
							   "(ALTER DATABASE ... SET govledger.key_dir).",
							   &gov_key_dir,
							   "",
							   PGC_SUSET,
							   GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);
}

/* The effective key directory. */
static const char *
key_dir(void)
{
	static char buf[MAXPGPATH];

	if (gov_key_dir != NULL && gov_key_dir[0] != '\0')
		return gov_key_dir;
	snprintf(buf, sizeof(buf), "%s/govledger_keys", DataDir);
	return buf;
}

/* Drop cached keys when the directory changed. */
static void
check_cache_dir(void)
{
	const char *dir = key_dir();
	int			i;

	if (strcmp(dir, key_cache_dir) == 0)
		return;
	for (i = 0; i < key_cache_used; i++)
	{
		if (key_cache[i].has_signer)
		{
			GlNoteKeyFree(&key_cache[i].signer);
			pfree(key_cache[i].signer_der);
		}
		if (key_cache[i].has_verifier)
			GlNoteKeyFree(&key_cache[i].verifier);
	}
	key_cache_used = 0;
	strlcpy(key_cache_dir, dir, sizeof(key_cache_dir));
}

static KeyCacheEntry *
cache_entry(const GovLog *log)
{
	KeyCacheEntry *e;
	int			i;

	check_cache_dir();
	for (i = 0; i < key_cache_used; i++)
	{
		e = &key_cache[i];
		if (e->log_id == log->log_id && strcmp(e->name, log->name) == 0)
			return e;
	}
	if (key_cache_used == KEY_CACHE_SIZE)
	{
		/* recycle the oldest slot */
		e = &key_cache[0];
		if (e->has_signer)
		{
			GlNoteKeyFree(&e->signer);
			pfree(e->signer_der);
		}
		if (e->has_verifier)
			GlNoteKeyFree(&e->verifier);
		memmove(&key_cache[0], &key_cache[1],
				sizeof(KeyCacheEntry) * (KEY_CACHE_SIZE - 1));
		key_cache_used--;
	}
	e = &key_cache[key_cache_used++];
	memset(e, 0, sizeof(*e));
	e->log_id = log->log_id;
	strlcpy(e->name, log->name, sizeof(e->name));
	return e;
}

/* Read a whole key file, refusing group/other access; NULL when absent. */
static char *
read_key_file(const char *path, size_t *len)
{
	int			fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	struct stat st;
	char	   *buf;
	ssize_t		r;

	if (fd < 0)
	{
		if (errno == ENOENT)
			return NULL;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open key file \"%s\": %m", path)));
	}
	if (fstat(fd, &st) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat key file \"%s\": %m", path)));
	if (!S_ISREG(st.st_mode) || (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("key file \"%s\" is not a regular file private to the server's user", path),
				 errhint("Set its mode to 0600 (chmod 600).")));
	if (st.st_size <= 0 || st.st_size > 64 * 1024)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("key file \"%s\" has an implausible size", path)));
	buf = palloc(st.st_size + 1);
	r = read(fd, buf, st.st_size);
	if (r != st.st_size)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read key file \"%s\": %m", path)));
	buf[r] = '\0';
	CloseTransientFile(fd);
	*len = (size_t) r;
	return buf;
}

/*
 * Generate a key for the log and link it into place as path, unless
 * another process did first.
 */
static void
generate_key_file(const GovLog *log, const char *dir, const char *path)
{
	EVP_PKEY   *pkey = NULL;
	BIO		   *bio;
	char	   *pem;
	long		pemlen;
	char		tmp[MAXPGPATH];
	int			fd;

	if (mkdir(dir, S_IRWXU) != 0 && errno != EEXIST)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create key directory \"%s\": %m", dir)));
	if (GlNoteKeyGenerate(GlSigAlgFromName(log->sig_alg), &pkey) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not generate a %s key for log \"%s\"",
						log->sig_alg, log->name)));
	bio = BIO_new(BIO_s_mem());
	if (bio == NULL ||
		PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) != 1)
	{
		EVP_PKEY_free(pkey);
		BIO_free(bio);
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not encode the key of log \"%s\"", log->name)));
	}
	EVP_PKEY_free(pkey);
	pemlen = BIO_get_mem_data(bio, &pem);

	snprintf(tmp, sizeof(tmp), "%s/.%s.pem.%d", dir, log->name, MyProcPid);
	(void) unlink(tmp);
	fd = OpenTransientFilePerm(tmp, O_WRONLY | O_CREAT | O_EXCL | PG_BINARY,
							   S_IRUSR | S_IWUSR);
	if (fd < 0)
	{
		BIO_free(bio);
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create key file \"%s\": %m", tmp)));
	}
	if (write(fd, pem, pemlen) != pemlen || pg_fsync(fd) != 0)
	{
		int			save = errno;

		CloseTransientFile(fd);
		unlink(tmp);
		BIO_free(bio);
		errno = save;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write key file \"%s\": %m", tmp)));
	}
	BIO_free(bio);
	CloseTransientFile(fd);
	/* link fails with EEXIST when another backend created the key first */
	if (link(tmp, path) != 0 && errno != EEXIST)
	{
		int			save = errno;

		unlink(tmp);
		errno = save;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not install key file \"%s\": %m", path)));
	}
	unlink(tmp);
	fsync_fname(dir, true);
	ereport(LOG,
			(errmsg("govledger: generated %s key for log \"%s\" in \"%s\"",
					log->sig_alg, log->name, path)));
}

/* DER SubjectPublicKeyInfo of a key, palloc'd bytea. */
static bytea *
public_key_der(EVP_PKEY *pkey)
{
	int			len = i2d_PUBKEY(pkey, NULL);
	bytea	   *b;
	unsigned char *p;

	if (len <= 0)
		elog(ERROR, "could not encode public key");
	b = palloc(VARHDRSZ + len);
	SET_VARSIZE(b, VARHDRSZ + len);
	p = (unsigned char *) VARDATA(b);
	i2d_PUBKEY(pkey, &p);
	return b;
}

/*
 * The registered public key of the log (palloc'd copy) or NULL; when
 * 'set' is given and none is registered, register it.
 */
static bytea *
registered_public_key(int32 log_id, bytea *set)
{
	const GovCatalog *cat = GovGetCatalog();
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	bytea	   *result = NULL;
	Snapshot	snap;

	/*
	 * The latest snapshot sees a key registered by a concurrent first seal;
	 * a parallel worker of verify() reads it with the query's snapshot,
	 * which sees it whenever it sees a block signed with it.
	 */
	snap = RegisterSnapshot(set == NULL ? GovReadSnapshot() : GetLatestSnapshot());
	rel = table_open(cat->log, set ? RowExclusiveLock : AccessShareLock);
	ScanKeyInit(&key, Anum_gov_log_log_id, BTEqualStrategyNumber, F_INT4EQ,
				Int32GetDatum(log_id));
	scan = systable_beginscan(rel, InvalidOid, false, snap, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, Anum_gov_log_public_key,
									 RelationGetDescr(rel), &isnull);

		if (!isnull)
			result = DatumGetByteaPCopy(d);
		else if (set != NULL)
		{
			Datum		values[Natts_gov_log];
			bool		nulls[Natts_gov_log];
			bool		repl[Natts_gov_log];
			HeapTuple	newtup;

			memset(repl, 0, sizeof(repl));
			memset(nulls, 0, sizeof(nulls));
			values[Anum_gov_log_public_key - 1] = PointerGetDatum(set);
			repl[Anum_gov_log_public_key - 1] = true;
			newtup = heap_modify_tuple(tup, RelationGetDescr(rel), values,
									   nulls, repl);
			GovUpdateTuple(rel, &tup->t_self, newtup);
			CommandCounterIncrement();
			result = set;
		}
	}
	systable_endscan(scan);
	table_close(rel, NoLock);
	UnregisterSnapshot(snap);
	return result;
}

static bool
bytea_equal(bytea *a, bytea *b)
{
	return VARSIZE_ANY_EXHDR(a) == VARSIZE_ANY_EXHDR(b) &&
		memcmp(VARDATA_ANY(a), VARDATA_ANY(b), VARSIZE_ANY_EXHDR(a)) == 0;
}

/*
 * GovLogSigner
 *		The private key of the log, from its key file (generated when
 *		absent).  Registers the public key on first use and refuses a key
 *		file that does not match the registered one.
 */
const GlNoteKey *
GovLogSigner(const GovLog *log)
{
	KeyCacheEntry *e = cache_entry(log);
	const char *dir = key_dir();
	char		path[MAXPGPATH];
	char	   *pem;
	size_t		pemlen;
	BIO		   *bio;
	EVP_PKEY   *pkey;
	const char *err = "";
	bytea	   *der;
	bytea	   *reg;

	if (e->has_signer)
	{
		/* a registration may have been rolled back: make sure it holds */
		reg = registered_public_key(log->log_id,
									(XactReadOnly || RecoveryInProgress()) ? NULL : e->signer_der);
		if (reg != NULL && !bytea_equal(reg, e->signer_der))
			ereport(ERROR,
					(errcode(ERRCODE_CONFIG_FILE_ERROR),
					 errmsg("key of log \"%s\" does not match its registered public key",
							log->name)));
		return &e->signer;
	}
	snprintf(path, sizeof(path), "%s/%s.pem", dir, log->name);
	pem = read_key_file(path, &pemlen);
	if (pem == NULL)
	{
		if (RecoveryInProgress())
			ereport(ERROR,
					(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
					 errmsg("log \"%s\" has no key file \"%s\" and none can be created during recovery",
							log->name, path)));
		generate_key_file(log, dir, path);
		pem = read_key_file(path, &pemlen);
		if (pem == NULL)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("key file \"%s\" vanished", path)));
	}
	bio = BIO_new_mem_buf(pem, (int) pemlen);
	pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	pfree(pem);
	ERR_clear_error();
	if (pkey == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("key file \"%s\" does not hold a PEM private key", path)));
	if (GlNoteKeyFromPkey(&e->signer, log->name, pkey, &err) != 0)
	{
		EVP_PKEY_free(pkey);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("key file \"%s\" cannot sign for log \"%s\": %s",
						path, log->name, err)));
	}
	if (e->signer.alg != GlSigAlgFromName(log->sig_alg) || !e->signer.has_private)
	{
		GlNoteKeyFree(&e->signer);
		EVP_PKEY_free(pkey);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("key file \"%s\" is not a %s private key, as log \"%s\" requires",
						path, log->sig_alg, log->name)));
	}
	der = public_key_der(pkey);
	EVP_PKEY_free(pkey);
	reg = registered_public_key(log->log_id,
								(XactReadOnly || RecoveryInProgress() ||
								 IsInParallelMode()) ? NULL : der);
	if (reg != NULL && !bytea_equal(reg, der))
	{
		GlNoteKeyFree(&e->signer);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("key file \"%s\" does not match the public key registered for log \"%s\"",
						path, log->name),
				 errhint("Restore the original key file; a log's key cannot be replaced silently.")));
	}
	e->signer_der = MemoryContextAlloc(TopMemoryContext, VARSIZE(der));
	memcpy(e->signer_der, der, VARSIZE(der));
	e->has_signer = true;
	return &e->signer;
}

/*
 * GovLogVerifier
 *		The public key of the log as registered in govledger.log; when
 *		none is registered yet, the key file's (generated if needed).
 */
const GlNoteKey *
GovLogVerifier(const GovLog *log)
{
	KeyCacheEntry *e = cache_entry(log);
	bytea	   *reg;
	const unsigned char *p;
	EVP_PKEY   *pkey;
	const char *err = "";

	if (e->has_verifier)
		return &e->verifier;
	reg = registered_public_key(log->log_id, NULL);
	if (reg == NULL)
	{
		(void) GovLogSigner(log);
		reg = registered_public_key(log->log_id, NULL);
		if (reg == NULL)
		{
			/* read-only: the file's public key, not yet registered */
			e = cache_entry(log);
			return &e->signer;
		}
		e = cache_entry(log);
	}
	p = (const unsigned char *) VARDATA_ANY(reg);
	pkey = d2i_PUBKEY(NULL, &p, VARSIZE_ANY_EXHDR(reg));
	ERR_clear_error();
	if (pkey == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("registered public key of log \"%s\" is not a valid key", log->name)));
	if (GlNoteKeyFromPkey(&e->verifier, log->name, pkey, &err) != 0 ||
		e->verifier.alg != GlSigAlgFromName(log->sig_alg))
	{
		EVP_PKEY_free(pkey);
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("registered public key of log \"%s\" is not a %s key",
						log->name, log->sig_alg)));
	}
	EVP_PKEY_free(pkey);
	e->verifier.has_private = false;
	e->has_verifier = true;
	return &e->verifier;
}
