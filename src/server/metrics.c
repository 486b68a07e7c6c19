/*
 * The Prometheus text exposition writer (format 0.0.4): one HELP and one TYPE line per
 * family, then its samples; histograms as cumulative _bucket{le=…} lines ending in +Inf,
 * then _sum and _count. A mistake of the caller (bad metric or label name, a family
 * announced twice, a sample outside a family) drops what it concerns and is counted,
 * so one bug cannot make the whole scrape unparsable (Prometheus rejects the scrape).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/internal.h"

#define MAX_NAME 200

struct n4j_metrics_writer {
	struct n4j_buf *out;
	char family[MAX_NAME + 1];
	enum n4j_metric_type type;
	bool open; /* a valid family is current: samples go to it */
	size_t dropped;
	/* Families announced so far: a repeat would make a second HELP/TYPE pair. */
	char **seen;
	size_t n_seen, cap_seen;
};

struct n4j_metrics_writer *n4j_metrics_writer_new(struct n4j_buf *out)
{
	struct n4j_metrics_writer *w = calloc(1, sizeof(*w));
	if (w)
		w->out = out;
	return w;
}

void n4j_metrics_writer_free(struct n4j_metrics_writer *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n_seen; i++)
		free(w->seen[i]);
	free(w->seen);
	free(w);
}

size_t n4j_metrics_writer_dropped(const struct n4j_metrics_writer *w)
{
	return w ? w->dropped : 0;
}

static bool name_ok(const char *s, bool colon)
{
	if (!s || !*s || strlen(s) > MAX_NAME)
		return false;
	for (size_t i = 0; s[i]; i++) {
		char c = s[i];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
			     (colon && c == ':');
		if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
			return false;
	}
	return true;
}

/* Label names: no colon, and the "__" prefix is reserved for Prometheus itself. */
static bool label_name_ok(const char *s)
{
	return name_ok(s, false) && strncmp(s, "__", 2) != 0;
}

void srv_format_double(double v, char *out, size_t size)
{
	if (isnan(v)) {
		snprintf(out, size, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(out, size, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	/* Integral values print as integers ("3", not "3e+00"); others with the fewest
	 * digits that read back exactly, as Go (and so Prometheus' own exporters) do. */
	if (v == floor(v) && fabs(v) < 1e15) {
		snprintf(out, size, "%.0f", v);
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(out, size, "%.*g", prec, v);
		if (strtod(out, NULL) == v)
			return;
	}
}

static void put_double(struct n4j_buf *b, double v)
{
	char s[40];
	srv_format_double(v, s, sizeof(s));
	n4j_buf_puts(b, s);
}

/* Label values: backslash, double quote and newline escaped (the format's three). */
static void put_label_value(struct n4j_buf *b, const char *v)
{
	for (const char *p = v ? v : ""; *p; p++) {
		if (*p == '\\')
			n4j_buf_puts(b, "\\\\");
		else if (*p == '"')
			n4j_buf_puts(b, "\\\"");
		else if (*p == '\n')
			n4j_buf_puts(b, "\\n");
		else
			n4j_buf_putc(b, *p);
	}
}

/* HELP text: backslash and newline escaped. */
static void put_help(struct n4j_buf *b, const char *v)
{
	for (const char *p = v ? v : ""; *p; p++) {
		if (*p == '\\')
			n4j_buf_puts(b, "\\\\");
		else if (*p == '\n')
			n4j_buf_puts(b, "\\n");
		else
			n4j_buf_putc(b, *p);
	}
}

static bool labels_ok(const char *const *labels, bool histogram)
{
	for (size_t i = 0; labels && labels[i]; i += 2) {
		if (!label_name_ok(labels[i]) || !labels[i + 1])
			return false;
		if (histogram && strcmp(labels[i], "le") == 0)
			return false;
		for (size_t j = 0; j < i; j += 2)
			if (strcmp(labels[j], labels[i]) == 0)
				return false;
	}
	return true;
}

/* name{labels[,le="…"]} */
static void put_series(struct n4j_buf *b, const char *name, const char *suffix,
		       const char *const *labels, const char *le)
{
	n4j_buf_puts(b, name);
	n4j_buf_puts(b, suffix);
	bool any = (labels && labels[0]) || le;
	if (!any)
		return;
	n4j_buf_putc(b, '{');
	bool first = true;
	for (size_t i = 0; labels && labels[i]; i += 2) {
		if (!first)
			n4j_buf_putc(b, ',');
		first = false;
		n4j_buf_puts(b, labels[i]);
		n4j_buf_puts(b, "=\"");
		put_label_value(b, labels[i + 1]);
		n4j_buf_putc(b, '"');
	}
	if (le) {
		if (!first)
			n4j_buf_putc(b, ',');
		n4j_buf_puts(b, "le=\"");
		n4j_buf_puts(b, le);
		n4j_buf_putc(b, '"');
	}
	n4j_buf_putc(b, '}');
}

static bool remember(struct n4j_metrics_writer *w, const char *name)
{
	for (size_t i = 0; i < w->n_seen; i++)
		if (strcmp(w->seen[i], name) == 0)
			return false;
	if (w->n_seen == w->cap_seen) {
		size_t cap = w->cap_seen ? w->cap_seen * 2 : 64;
		char **n = realloc(w->seen, cap * sizeof(*n));
		if (!n)
			return false;
		w->seen = n;
		w->cap_seen = cap;
	}
	char *copy = strdup(name);
	if (!copy)
		return false;
	w->seen[w->n_seen++] = copy;
	return true;
}

void n4j_metrics_family(struct n4j_metrics_writer *w, const char *name, enum n4j_metric_type t,
			const char *help)
{
	if (!w)
		return;
	w->open = false;
	if (!name_ok(name, true) || (t != N4J_COUNTER && t != N4J_GAUGE && t != N4J_HISTOGRAM) ||
	    !remember(w, name)) {
		w->dropped++;
		return;
	}
	snprintf(w->family, sizeof(w->family), "%s", name);
	w->type = t;
	w->open = true;
	n4j_buf_puts(w->out, "# HELP ");
	n4j_buf_puts(w->out, name);
	n4j_buf_putc(w->out, ' ');
	put_help(w->out, help);
	n4j_buf_puts(w->out, "\n# TYPE ");
	n4j_buf_puts(w->out, name);
	n4j_buf_puts(w->out, t == N4J_COUNTER ? " counter\n"
			     : t == N4J_GAUGE ? " gauge\n"
					      : " histogram\n");
}

void n4j_metrics_sample(struct n4j_metrics_writer *w, const char *const *labels, double value)
{
	if (!w)
		return;
	if (!w->open || w->type == N4J_HISTOGRAM || !labels_ok(labels, false)) {
		w->dropped++;
		return;
	}
	put_series(w->out, w->family, "", labels, NULL);
	n4j_buf_putc(w->out, ' ');
	put_double(w->out, value);
	n4j_buf_putc(w->out, '\n');
}

static void put_count(struct n4j_buf *b, uint64_t v)
{
	n4j_buf_printf(b, " %llu\n", (unsigned long long)v);
}

void n4j_metrics_histogram(struct n4j_metrics_writer *w, const char *const *labels,
			   const struct n4j_histogram_snapshot *h)
{
	if (!w)
		return;
	if (!w->open || w->type != N4J_HISTOGRAM || !h || h->n > N4J_HIST_MAX_BUCKETS ||
	    !labels_ok(labels, true)) {
		w->dropped++;
		return;
	}
	/* A snapshot read while observations land may lag by one between buckets: clamp so
	 * the buckets never decrease (Prometheus' histogram functions assume they don't). */
	uint64_t run = 0;
	double prev = -INFINITY;
	for (size_t i = 0; i < h->n; i++) {
		if (!(h->bounds[i] > prev)) /* unsorted or NaN bounds: a caller bug */
			continue;
		prev = h->bounds[i];
		if (h->cumulative[i] > run)
			run = h->cumulative[i];
		char le[40];
		srv_format_double(h->bounds[i], le, sizeof(le));
		put_series(w->out, w->family, "_bucket", labels, le);
		put_count(w->out, run);
	}
	uint64_t count = h->count > run ? h->count : run;
	put_series(w->out, w->family, "_bucket", labels, "+Inf");
	put_count(w->out, count);
	put_series(w->out, w->family, "_sum", labels, NULL);
	n4j_buf_putc(w->out, ' ');
	put_double(w->out, h->sum);
	n4j_buf_putc(w->out, '\n');
	put_series(w->out, w->family, "_count", labels, NULL);
	put_count(w->out, count);
}

void srv_metrics_gauge(struct n4j_metrics_writer *w, const char *name, enum n4j_metric_type t,
		       const char *help, double value)
{
	n4j_metrics_family(w, name, t, help);
	n4j_metrics_sample(w, NULL, value);
}
