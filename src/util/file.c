#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

int n4j_read_file(const char *path, size_t max, char **out, size_t *len, struct n4j_error *err)
{
	bool is_stdin = strcmp(path, "-") == 0;
	FILE *f = is_stdin ? stdin : fopen(path, "rb");
	if (!f)
		return n4j_err(err, N4J_EIO, "%s: %s", path, strerror(errno));
	struct n4j_buf b;
	n4j_buf_init(&b);
	char chunk[65536];
	size_t n;
	int rc = 0;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (b.len + n > max) {
			rc = n4j_err(err, N4J_ELIMIT, "%s: larger than %zu bytes", path, max);
			break;
		}
		n4j_buf_append(&b, chunk, n);
	}
	if (!rc && ferror(f))
		rc = n4j_err(err, N4J_EIO, "%s: read error", path);
	if (!is_stdin)
		fclose(f);
	if (rc) {
		n4j_buf_free(&b);
		return rc;
	}
	*out = n4j_buf_detach(&b, len);
	if (!*out)
		return n4j_err(err, N4J_ENOMEM, "%s: out of memory", path);
	return 0;
}
