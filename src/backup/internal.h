/*
 * backup internals: the store vtable behind n4j_store_open and the per-scheme
 * constructors. Only src/backup/ includes this header.
 *
 * A backend embeds `struct n4j_store` as its FIRST member and returns a pointer
 * to it; n4j_store_list/delete/close dispatch through `ops`. `close` frees the
 * whole backend (including every name handed out by `list`) and the store itself.
 */
#ifndef N4J_BACKUP_INTERNAL_H
#define N4J_BACKUP_INTERNAL_H

#include "backup/backup.h"

struct n4j_store_ops {
	/* Every object directly under the prefix (one level: nothing that has a '/' after
	 * the prefix), names without the prefix, size_bytes set (-1 when unknown), the
	 * other fields zero. *out is malloc'd (the caller frees it with free()); the names
	 * it points to stay owned by the store until close. Pages through the listing. */
	int (*list)(struct n4j_store *s, struct n4j_artifact **out, size_t *n,
		    struct n4j_error *err);
	/* Deletes one object/file by name (relative to the prefix). n4j_store_delete has
	 * already refused unsafe names (n4j_store_name_ok). */
	int (*del)(struct n4j_store *s, const char *name, struct n4j_error *err);
	void (*close)(struct n4j_store *s);
};

struct n4j_store {
	const struct n4j_store_ops *ops;
	const char *kind; /* "dir", "s3", "gs", "azb": for logs and messages */
};

/*
 * Scheme constructors, called by n4j_store_open for
 *   s3://bucket/prefix              → n4j_store_open_s3("bucket", "prefix", ...)
 *   gs://bucket/prefix              → n4j_store_open_gcs("bucket", "prefix", ...)
 *   azb://account/container/prefix  → n4j_store_open_azure("account", "container/prefix", ...)
 * Both strings are NUL-terminated and borrowed for the call only (copy what you keep).
 * `rest` has no leading or trailing '/' and may be "" (no prefix; for azure the
 * dispatcher guarantees a non-empty container). The bucket/account is non-empty and
 * has no '/'. Credentials/endpoints come from the environment (see backup.h); errors
 * never contain a credential. Failure: negative N4J_E*, *out untouched.
 */
int n4j_store_open_s3(const char *bucket_or_account, const char *rest, struct n4j_store **out,
		      struct n4j_error *err);
int n4j_store_open_gcs(const char *bucket_or_account, const char *rest, struct n4j_store **out,
		       struct n4j_error *err);
int n4j_store_open_azure(const char *bucket_or_account, const char *rest, struct n4j_store **out,
			 struct n4j_error *err);

/* A directory on the local file system (a PVC mount). `path` borrowed for the call. */
int n4j_store_open_dir(const char *path, struct n4j_store **out, struct n4j_error *err);

/* A name a store may delete: non-empty, no '/', no '\\', not "." or "..", no "..",
 * no control characters. (Artifact names never need any of these.) */
bool n4j_store_name_ok(const char *name);

#endif
