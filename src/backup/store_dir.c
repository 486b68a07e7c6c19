/*
 * A directory store (a PVC mounted in the backup Job): the regular files directly under
 * it. Nothing is followed: a symlink or a subdirectory is not listed, so retention can
 * never delete outside the directory or anything it does not recognise.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/internal.h"

struct dir_store {
	struct n4j_store base; /* first: the store pointer is this struct's */
	int fd;                /* the directory, opened once: later renames of the path
				  do not redirect deletes */
	struct n4j_arena *arena;
};

static int dir_list(struct n4j_store *s, struct n4j_artifact **out, size_t *n,
		    struct n4j_error *err)
{
	struct dir_store *d = (struct dir_store *)s;
	int fd = dup(d->fd);
	if (fd < 0)
		return n4j_err(err, N4J_EIO, "dir: %s", strerror(errno));
	DIR *dir = fdopendir(fd);
	if (!dir) {
		int e = errno;
		close(fd);
		return n4j_err(err, N4J_EIO, "dir: %s", strerror(e));
	}
	rewinddir(dir);
	size_t cap = 64, cnt = 0;
	struct n4j_artifact *a = malloc(cap * sizeof(*a));
	int rc = 0;
	if (!a) {
		rc = n4j_err(err, N4J_ENOMEM, "dir: out of memory");
		goto out;
	}
	struct dirent *de;
	errno = 0;
	while ((de = readdir(dir)) != NULL) {
		if (!n4j_store_name_ok(de->d_name))
			continue;
		struct stat st;
		if (fstatat(d->fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (cnt == cap) {
			struct n4j_artifact *g = realloc(a, 2 * cap * sizeof(*a));
			if (!g) {
				rc = n4j_err(err, N4J_ENOMEM, "dir: out of memory");
				goto out;
			}
			a = g;
			cap *= 2;
		}
		const char *nm = n4j_arena_strdup(d->arena, de->d_name);
		if (!nm) {
			rc = n4j_err(err, N4J_ENOMEM, "dir: out of memory");
			goto out;
		}
		a[cnt++] = (struct n4j_artifact){.name = nm, .size_bytes = (int64_t)st.st_size};
		errno = 0;
	}
	if (errno != 0)
		rc = n4j_err(err, N4J_EIO, "dir: listing: %s", strerror(errno));
out:
	closedir(dir);
	if (rc) {
		free(a);
		return rc;
	}
	*out = a;
	*n = cnt;
	return 0;
}

static int dir_del(struct n4j_store *s, const char *name, struct n4j_error *err)
{
	struct dir_store *d = (struct dir_store *)s;
	if (unlinkat(d->fd, name, 0) != 0) {
		if (errno == ENOENT) /* already gone: what we wanted */
			return 0;
		return n4j_err(err, N4J_EIO, "dir: deleting %s: %s", name, strerror(errno));
	}
	return 0;
}

static void dir_close(struct n4j_store *s)
{
	struct dir_store *d = (struct dir_store *)s;
	close(d->fd);
	n4j_arena_free(d->arena);
	free(d);
}

static const struct n4j_store_ops dir_ops = {dir_list, dir_del, dir_close};

int n4j_store_open_dir(const char *path, struct n4j_store **out, struct n4j_error *err)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return n4j_err(err, errno == ENOENT ? N4J_ENOTFOUND : N4J_EIO, "dir %s: %s", path,
			       strerror(errno));
	struct dir_store *d = calloc(1, sizeof(*d));
	struct n4j_arena *a = n4j_arena_new();
	if (!d || !a) {
		close(fd);
		free(d);
		n4j_arena_free(a);
		return n4j_err(err, N4J_ENOMEM, "dir: out of memory");
	}
	d->base.ops = &dir_ops;
	d->base.kind = "dir";
	d->fd = fd;
	d->arena = a;
	*out = &d->base;
	return 0;
}
