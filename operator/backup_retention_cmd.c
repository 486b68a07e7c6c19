/*
 * `neo4j-operator backup-retention`: the retention container of a backup Job. After
 * neo4j-admin wrote its artifacts and `backup inspect` described them, this lists the
 * target, plans per database (src/backup/retention.c), deletes what no rule keeps (oldest
 * first) and writes the one-line report the controller reads from the termination
 * message (docs/backup-restore.md "Retention").
 *
 * Safety first: anything it cannot classify is left alone — files that are not
 * `<db>-<time>.backup`, databases not named by --database, artifacts inspect did not list.
 * Without a readable inspect nothing is pruned and the exit status is 1.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backup/backup.h"
#include "operator/cli.h"

#define MAX_DATABASES 256
#define REPORT_MAX    4000
#define INSPECT_MAX   (4u << 20)

struct opts {
	const char *target, *inspect, *started, *report, *now, *max_age;
	const char *dbs[MAX_DATABASES];
	size_t n_dbs;
	struct n4j_retention r;
	bool have_keep_last, dry_run;
};

static void usage(FILE *out)
{
	fputs("Usage: neo4j-operator backup-retention --target=DIR|URI --inspect=FILE\n"
	      "         --keep-last=N [--daily=N] [--weekly=N] [--monthly=N] [--max-age=AGE]\n"
	      "         --database=DB [--database=DB ...] --report=FILE [--started=FILE]\n"
	      "         [--now=RFC3339] [--dry-run]\n"
	      "\n"
	      "Prunes the backups of the named databases under the target (a directory, or\n"
	      "s3://bucket/prefix, gs://bucket/prefix, azb://account/container/prefix) by the\n"
	      "retention rules of docs/backup-restore.md, then writes a one-line JSON report to\n"
	      "--report and stdout. --inspect is `neo4j-admin backup inspect --format=json`\n"
	      "output; --started holds the epoch seconds at which the backup began (artifacts\n"
	      "from then on are reported as written by this run). AGE: Nh, Nd or Nw.\n"
	      "Exit 0 when done, 1 on any failure (one line on stderr; nothing pruned when the\n"
	      "inspect output is missing or malformed).\n",
	      out);
}

/* One-line failure, with the command's prefix, on stderr. */
static int fail(FILE *diag, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(FILE *diag, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("backup-retention: ", diag);
	vfprintf(diag, fmt, ap);
	fputc('\n', diag);
	va_end(ap);
	return N4J_EXIT_INTERNAL;
}

static bool parse_count(const char *v, int *out)
{
	char *end;
	errno = 0;
	long x = strtol(v, &end, 10);
	if (errno || end == v || *end || x < 0 || x > 100000 || v[0] == '+' || v[0] == '-' ||
	    v[0] == ' ')
		return false;
	*out = (int)x;
	return true;
}

/* A database name as an artifact name would carry it (same rule, one parser). */
static bool db_ok(const char *db)
{
	char name[128];
	const char *d;
	size_t dl;
	int w = snprintf(name, sizeof(name), "%s-1970-01-01T00-00-00.backup", db);
	return w > 0 && (size_t)w < sizeof(name) &&
	       n4j_artifact_parse_name(name, &d, &dl, NULL) == 0 && dl == strlen(db);
}

/* RFC 3339 "YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)"; the calendar checks are the artifact
 * parser's (the same strictness for the clock as for the names). */
static bool parse_rfc3339(const char *s, int64_t *out)
{
	int y, mo, d, h, mi, sec, n = 0;
	if (strlen(s) < 20 ||
	    sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n != 19)
		return false;
	char name[64];
	snprintf(name, sizeof(name), "now-%04d-%02d-%02dT%02d-%02d-%02d.backup", y, mo, d, h, mi,
		 sec);
	int64_t t;
	if (n4j_artifact_parse_name(name, NULL, NULL, &t) != 0)
		return false;
	const char *p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
		*out = t;
		return true;
	}
	int oh, om;
	if ((*p != '+' && *p != '-') || strlen(p) != 6 || p[3] != ':' ||
	    sscanf(p + 1, "%2d:%2d", &oh, &om) != 2 || oh > 23 || om > 59)
		return false;
	int64_t off = oh * 3600 + om * 60;
	*out = *p == '+' ? t - off : t + off;
	return true;
}

static int parse_args(int argc, char **argv, struct opts *o, FILE *out, FILE *diag, bool *help)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(out);
			*help = true;
			return 0;
		}
		if (strcmp(a, "--dry-run") == 0) {
			o->dry_run = true;
			continue;
		}
		const char *eq = strchr(a, '=');
		if (strncmp(a, "--", 2) != 0 || !eq)
			return fail(diag, "unexpected argument '%s' (flags are --name=value)", a);
		size_t fl = (size_t)(eq - a);
		const char *v = eq + 1;
#define FLAG(s) (fl == strlen(s) && strncmp(a, s, fl) == 0)
		if (FLAG("--target"))
			o->target = v;
		else if (FLAG("--inspect"))
			o->inspect = v;
		else if (FLAG("--started"))
			o->started = v;
		else if (FLAG("--report"))
			o->report = v;
		else if (FLAG("--now"))
			o->now = v;
		else if (FLAG("--max-age"))
			o->max_age = v;
		else if (FLAG("--database")) {
			if (!db_ok(v))
				return fail(diag, "--database: '%.64s' is not a database name", v);
			bool dup = false;
			for (size_t k = 0; k < o->n_dbs; k++)
				dup = dup || strcmp(o->dbs[k], v) == 0;
			if (dup) /* named twice (e.g. "*" expanded next to a name): once */
				continue;
			if (o->n_dbs == MAX_DATABASES)
				return fail(diag, "--database: more than %d", MAX_DATABASES);
			o->dbs[o->n_dbs++] = v;
		} else if (FLAG("--keep-last") || FLAG("--daily") || FLAG("--weekly") ||
			   FLAG("--monthly")) {
			int *dst = FLAG("--keep-last") ? &o->r.keep_last
				   : FLAG("--daily")   ? &o->r.daily
				   : FLAG("--weekly")  ? &o->r.weekly
						       : &o->r.monthly;
			if (!parse_count(v, dst))
				return fail(diag, "%.*s: '%.32s' is not a count (0..100000)",
					    (int)fl, a, v);
			if (FLAG("--keep-last"))
				o->have_keep_last = true;
		} else
			return fail(diag, "unknown flag '%.*s'", (int)(fl > 40 ? 40 : fl), a);
#undef FLAG
	}
	if (!o->target || !*o->target)
		return fail(diag, "--target is required");
	if (!o->inspect)
		return fail(diag, "--inspect is required");
	if (!o->report)
		return fail(diag, "--report is required");
	if (!o->have_keep_last)
		return fail(diag, "--keep-last is required");
	if (o->n_dbs == 0)
		return fail(diag, "--database is required (one per database)");
	if (o->max_age && n4j_retention_parse_age(o->max_age, &o->r.max_age_s) != 0)
		return fail(diag, "--max-age: '%.32s' is not an age like 90d, 12h or 2w",
			    o->max_age);
	return 0;
}

/* One candidate: a listed artifact of a --database, its name parsed. */
struct cand {
	struct n4j_artifact a;
	size_t db; /* index into opts.dbs */
	bool pruned;
};

static int by_time(const void *x, const void *y)
{
	const struct cand *a = *(const struct cand *const *)x, *b = *(const struct cand *const *)y;
	if (a->a.time != b->a.time)
		return a->a.time < b->a.time ? -1 : 1;
	return strcmp(a->a.name, b->a.name);
}

/* The report line; limits: how many pruned names / artifacts / databases to include. */
static void build_report(struct n4j_buf *b, const struct opts *o, struct cand **written,
			 size_t n_written, struct cand **pruned, size_t n_pruned, size_t lim_dbs,
			 size_t lim_arts, size_t lim_pruned, int64_t bytes, size_t kept)
{
	n4j_buf_reset(b);
	n4j_buf_puts(b, "{\"v\":1,\"databases\":[");
	for (size_t i = 0; i < o->n_dbs && i < lim_dbs; i++)
		n4j_buf_printf(b, "%s\"%s\"", i ? "," : "", o->dbs[i]);
	n4j_buf_puts(b, "],\"artifacts\":[");
	for (size_t i = 0; i < n_written && i < lim_arts; i++) {
		const struct n4j_artifact *a = &written[i]->a;
		n4j_buf_printf(b,
			       "%s{\"name\":\"%s\",\"database\":\"%s\",\"sizeBytes\":%lld,"
			       "\"full\":%s}",
			       i ? "," : "", a->name, o->dbs[written[i]->db],
			       (long long)(a->size_bytes < 0 ? 0 : a->size_bytes),
			       a->full ? "true" : "false");
	}
	n4j_buf_printf(b, "],\"bytes\":%lld,\"kept\":%zu,\"prunedCount\":%zu,\"pruned\":[",
		       (long long)bytes, kept, n_pruned);
	for (size_t i = 0; i < n_pruned && i < lim_pruned; i++)
		n4j_buf_printf(b, "%s\"%s\"", i ? "," : "", pruned[i]->a.name);
	n4j_buf_putc(b, ']');
	if (lim_dbs < o->n_dbs || lim_arts < n_written || lim_pruned < n_pruned)
		n4j_buf_puts(b, ",\"truncated\":true");
	if (o->dry_run)
		n4j_buf_puts(b, ",\"dryRun\":true");
	n4j_buf_putc(b, '}');
}

/* The largest limit in [0, n] for which the report fits (it shrinks as the limit does). */
#define FIT(var, n, call)                                                                          \
	do {                                                                                       \
		size_t lo_ = 0, hi_ = (n);                                                         \
		while (lo_ < hi_) {                                                                \
			size_t mid_ = (lo_ + hi_ + 1) / 2;                                         \
			var = mid_;                                                                \
			call;                                                                      \
			if (!b->oom && b->len <= REPORT_MAX)                                       \
				lo_ = mid_;                                                        \
			else                                                                       \
				hi_ = mid_ - 1;                                                    \
		}                                                                                  \
		var = lo_;                                                                         \
	} while (0)

static int write_report(struct n4j_buf *b, const struct opts *o, struct cand **written,
			size_t n_written, struct cand **pruned, size_t n_pruned, int64_t bytes,
			size_t kept)
{
	size_t ld = o->n_dbs, la = n_written, lp = n_pruned;
#define BUILD build_report(b, o, written, n_written, pruned, n_pruned, ld, la, lp, bytes, kept)
	BUILD;
	if (b->len > REPORT_MAX) /* drop pruned names first, then artifacts, then databases */
		FIT(lp, n_pruned, BUILD);
	if (lp == 0) {
		BUILD;
		if (b->len > REPORT_MAX)
			FIT(la, n_written, BUILD);
		if (la == 0) {
			BUILD;
			if (b->len > REPORT_MAX)
				FIT(ld, o->n_dbs, BUILD);
		}
	}
	BUILD;
#undef BUILD
	return b->oom ? N4J_ENOMEM : 0;
}

int n4j_cmd_backup_retention(int argc, char **argv, FILE *out, FILE *diag)
{
	struct opts o = {0};
	bool help = false;
	int rc = parse_args(argc, argv, &o, out, diag, &help);
	if (rc || help)
		return rc;

	int64_t now;
	if (o.now) {
		if (!parse_rfc3339(o.now, &now))
			return fail(diag, "--now: '%.40s' is not an RFC 3339 time", o.now);
	} else {
		now = (int64_t)time(NULL);
	}
	int64_t started = INT64_MAX; /* no --started: no artifact counts as this run's */
	if (o.started) {
		char *s;
		size_t sl;
		struct n4j_error err = {0};
		if (n4j_read_file(o.started, 64, &s, &sl, &err) != 0)
			return fail(diag, "--started: %s", err.msg);
		char *end;
		errno = 0;
		long long v = strtoll(s, &end, 10);
		while (*end == '\n' || *end == '\r' || *end == ' ')
			end++;
		bool ok = !errno && end != s && *end == '\0' && v >= 0;
		free(s);
		if (!ok)
			return fail(diag, "--started: %s does not hold epoch seconds", o.started);
		started = v;
	}

	/* Inspect first: without it nothing may be pruned, and nothing needs listing. */
	char *ij = NULL;
	size_t il = 0;
	struct n4j_error err = {0};
	if (n4j_read_file(o.inspect, INSPECT_MAX, &ij, &il, &err) != 0)
		return fail(diag, "inspect output unreadable, nothing pruned: %s", err.msg);

	struct n4j_store *st = NULL;
	struct n4j_artifact *listed = NULL;
	size_t n_listed = 0;
	struct cand *c = NULL;
	struct cand **order = NULL, **written = NULL;
	struct n4j_artifact *per = NULL;
	bool *keep = NULL;
	struct n4j_buf rep;
	n4j_buf_init(&rep);
	int ret = N4J_EXIT_INTERNAL;
	if (n4j_store_open(o.target, &st, &err) != 0) {
		fail(diag, "opening the target: %s", err.msg);
		goto out;
	}
	if (n4j_store_list(st, &listed, &n_listed, &err) != 0) {
		fail(diag, "listing the target: %s", err.msg);
		goto out;
	}
	c = calloc(n_listed ? n_listed : 1, sizeof(*c));
	order = calloc(n_listed ? n_listed : 1, sizeof(*order));
	written = calloc(n_listed ? n_listed : 1, sizeof(*written));
	per = calloc(n_listed ? n_listed : 1, sizeof(*per));
	keep = calloc(n_listed ? n_listed : 1, sizeof(*keep));
	if (!c || !order || !written || !per || !keep) {
		fail(diag, "out of memory");
		goto out;
	}
	size_t nc = 0;
	for (size_t i = 0; i < n_listed; i++) {
		const char *d;
		size_t dl;
		int64_t t;
		if (n4j_artifact_parse_name(listed[i].name, &d, &dl, &t) != 0)
			continue; /* not an artifact: never touched */
		for (size_t k = 0; k < o.n_dbs; k++) {
			if (strlen(o.dbs[k]) != dl || strncmp(o.dbs[k], d, dl) != 0)
				continue;
			c[nc].a = listed[i];
			c[nc].a.database = o.dbs[k];
			c[nc].a.time = t;
			c[nc].a.full = false;
			c[nc].a.inspected = false;
			c[nc].db = k;
			nc++;
			break;
		}
	}
	/* Merge into a plain array (the planner's type), then copy back. */
	for (size_t i = 0; i < nc; i++)
		per[i] = c[i].a;
	if (n4j_inspect_merge(ij, il, per, nc, &err) != 0) {
		fail(diag, "inspect output malformed, nothing pruned: %s", err.msg);
		goto out;
	}
	for (size_t i = 0; i < nc; i++)
		c[i].a = per[i];

	size_t n_pruned = 0;
	for (size_t k = 0; k < o.n_dbs; k++) {
		size_t m = 0;
		for (size_t i = 0; i < nc; i++)
			if (c[i].db == k)
				per[m++] = c[i].a;
		if (n4j_retention_plan(&o.r, per, m, now, keep, &err) != 0) {
			fail(diag, "planning %s: %s", o.dbs[k], err.msg);
			goto out;
		}
		size_t j = 0;
		for (size_t i = 0; i < nc; i++)
			if (c[i].db == k) {
				c[i].pruned = !keep[j++];
				if (c[i].pruned)
					order[n_pruned++] = &c[i];
			}
	}
	qsort(order, n_pruned, sizeof(*order), by_time);
	for (size_t i = 0; i < n_pruned; i++) {
		const struct n4j_artifact *a = &order[i]->a;
		fprintf(diag, "backup-retention: %s %s (%s, %s, %lld bytes)\n",
			o.dry_run ? "would delete" : "deleting", a->name, a->database,
			a->full ? "full" : "diff", (long long)a->size_bytes);
		if (o.dry_run)
			continue;
		if (n4j_store_delete(st, a->name, &err) != 0) {
			fail(diag, "deleting %s failed after %zu of %zu deletions: %s", a->name, i,
			     n_pruned, err.msg);
			goto out;
		}
	}

	size_t n_written = 0;
	int64_t bytes = 0;
	for (size_t i = 0; i < nc; i++)
		if (c[i].a.time >= started && !c[i].pruned) {
			written[n_written++] = &c[i];
			if (c[i].a.size_bytes > 0)
				bytes += c[i].a.size_bytes;
		}
	qsort(written, n_written, sizeof(*written), by_time);
	if (write_report(&rep, &o, written, n_written, order, n_pruned, bytes, nc - n_pruned)) {
		fail(diag, "out of memory");
		goto out;
	}
	FILE *f = fopen(o.report, "w");
	if (!f) {
		fail(diag, "--report %s: %s", o.report, strerror(errno));
		goto out;
	}
	bool wok = fwrite(rep.data, 1, rep.len, f) == rep.len;
	if (fclose(f) != 0 || !wok) {
		fail(diag, "--report %s: write failed", o.report);
		goto out;
	}
	fprintf(out, "%s\n", n4j_buf_cstr(&rep));
	fprintf(diag, "backup-retention: kept %zu, %s %zu\n", nc - n_pruned,
		o.dry_run ? "would prune" : "pruned", n_pruned);
	ret = N4J_EXIT_OK;
out:
	free(ij);
	free(c);
	free(order);
	free(written);
	free(per);
	free(keep);
	free(listed);
	n4j_store_close(st);
	n4j_buf_free(&rep);
	return ret;
}
