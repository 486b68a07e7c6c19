/* n4j_store_open: a target string → the backend behind it (internal.h's vtable). */
#include <stdlib.h>
#include <string.h>

#include "backup/internal.h"

bool n4j_store_name_ok(const char *name)
{
	if (!name || !*name || strcmp(name, ".") == 0 || strstr(name, ".."))
		return false;
	for (const char *p = name; *p; p++)
		if (*p == '/' || *p == '\\' || (unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* "bucket/a/b/" → bucket "bucket", rest "a/b" (both malloc'd into one block). */
static int split_uri(const char *scheme, const char *body, char **bucket, char **rest,
		     struct n4j_error *err)
{
	while (*body == '/')
		body++;
	const char *slash = strchr(body, '/');
	size_t bl = slash ? (size_t)(slash - body) : strlen(body);
	if (bl == 0)
		return n4j_err(err, N4J_EINVAL, "target %s://: no bucket or account", scheme);
	const char *r = slash ? slash + 1 : "";
	while (*r == '/')
		r++;
	size_t rl = strlen(r);
	while (rl > 0 && r[rl - 1] == '/')
		rl--;
	*bucket = strndup(body, bl);
	*rest = strndup(r, rl);
	if (!*bucket || !*rest) {
		free(*bucket);
		free(*rest);
		return n4j_err(err, N4J_ENOMEM, "target: out of memory");
	}
	return 0;
}

int n4j_store_open(const char *target, struct n4j_store **out, struct n4j_error *err)
{
	if (!target || !*target || !out)
		return n4j_err(err, N4J_EINVAL, "target: empty");
	static const struct {
		const char *scheme;
		int (*open)(const char *, const char *, struct n4j_store **, struct n4j_error *);
	} schemes[] = {
		{"s3", n4j_store_open_s3},
		{"gs", n4j_store_open_gcs},
		{"azb", n4j_store_open_azure},
	};
	const char *sep = strstr(target, "://");
	if (!sep)
		return n4j_store_open_dir(target, out, err);
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		size_t sl = strlen(schemes[i].scheme);
		if ((size_t)(sep - target) != sl || strncmp(target, schemes[i].scheme, sl) != 0)
			continue;
		char *bucket = NULL, *rest = NULL;
		int rc = split_uri(schemes[i].scheme, sep + 3, &bucket, &rest, err);
		if (rc)
			return rc;
		if (strcmp(schemes[i].scheme, "azb") == 0 && !*rest) {
			free(bucket);
			free(rest);
			return n4j_err(err, N4J_EINVAL,
				       "target azb://: needs azb://account/container[/prefix]");
		}
		rc = schemes[i].open(bucket, rest, out, err);
		free(bucket);
		free(rest);
		return rc;
	}
	/* Only the scheme goes into the message: a URI may carry userinfo. */
	return n4j_err(err, N4J_EINVAL,
		       "target: unsupported scheme '%.*s' (a directory, s3://, gs:// or azb://)",
		       (int)((sep - target) > 16 ? 16 : (sep - target)), target);
}

void n4j_store_close(struct n4j_store *s)
{
	if (s && s->ops && s->ops->close)
		s->ops->close(s);
}

int n4j_store_list(struct n4j_store *s, struct n4j_artifact **out, size_t *n, struct n4j_error *err)
{
	if (!s || !out || !n)
		return n4j_err(err, N4J_EINVAL, "store: missing arguments");
	*out = NULL;
	*n = 0;
	return s->ops->list(s, out, n, err);
}

int n4j_store_delete(struct n4j_store *s, const char *name, struct n4j_error *err)
{
	if (!s)
		return n4j_err(err, N4J_EINVAL, "store: missing arguments");
	if (!n4j_store_name_ok(name))
		return n4j_err(err, N4J_EINVAL, "store: refusing to delete an unsafe name");
	return s->ops->del(s, name, err);
}
