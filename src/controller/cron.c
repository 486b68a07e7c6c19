/*
 * The schedule of a backup CronJob, computed as the Kubernetes CronJob controller computes
 * it, so that status.nextScheduleTime and the overdue judgement agree with the runs that
 * really happen: a 5-field schedule parsed as robfig/cron's ParseStandard does, and its
 * next fire time found by a port of robfig/cron v3's SpecSchedule.Next, which walks the
 * local time of the zone with Go's time arithmetic. Its DST behaviour follows from that
 * walk: a local time that does not exist (spring forward) is skipped, not moved; a local
 * time that happens twice (fall back) fires twice.
 *
 * Zones come from the TZif files (v1, v2, v3) under $ZONEINFO or /usr/share/zoneinfo, read
 * here (never through setenv(TZ)/localtime: the operator is multi-threaded), including
 * the POSIX TZ rule of the footer for instants after the table's last transition.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "controller/internal.h"

/* ---- civil calendar (proleptic Gregorian; days since 1970-01-01) --------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = floor_div(y, 400);
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static bool leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t y, int m)
{
	static const int n[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && leap(y) ? 29 : n[m - 1];
}

/* ---- zones ----------------------------------------------------------------------- */

#define ZONE_MAX_TRANS 100000
#define ZONE_MAX_TYPES 256

/* One side of a POSIX TZ rule: Jn, n or Mm.w.d, with the local time of the change. */
struct tz_rule {
	char kind; /* 'J', 'N' (zero-based day) or 'M' */
	int a, b, c;
	int32_t time; /* seconds after local midnight; may be negative or > 24 h (v3) */
};

struct ctl_zone {
	size_t n_trans;
	int64_t *trans; /* ascending instants */
	uint8_t *idx;   /* type of each transition */
	size_t n_types;
	int32_t *utoff;
	bool *isdst;
	/* The footer rule (after the last transition): std, and dst when dst_set. */
	bool has_rule, dst_set;
	int32_t std_off, dst_off;
	struct tz_rule start, end;
};

void ctl_zone_free(struct ctl_zone *z)
{
	if (!z)
		return;
	free(z->trans);
	free(z->idx);
	free(z->utoff);
	free(z->isdst);
	free(z);
}

static struct ctl_zone *zone_utc(void)
{
	struct ctl_zone *z = calloc(1, sizeof(*z));
	if (z) {
		z->has_rule = true;
		z->std_off = 0;
	}
	return z;
}

/* ---- the POSIX TZ string of the footer --------------------------------------------- */

static const char *tz_name(const char *p)
{
	if (*p == '<') {
		const char *e = strchr(p, '>');
		return e ? e + 1 : NULL;
	}
	const char *s = p;
	while (isalpha((unsigned char)*p))
		p++;
	return p - s >= 3 ? p : NULL;
}

/* [+-]hh[:mm[:ss]] into seconds; hours up to 167 (v3 times). */
static const char *tz_num(const char *p, int32_t *out, int max_hours)
{
	int sign = 1;
	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	if (!isdigit((unsigned char)*p))
		return NULL;
	int32_t v[3] = {0, 0, 0};
	for (int i = 0; i < 3; i++) {
		if (i && *p != ':')
			break;
		if (i)
			p++;
		if (!isdigit((unsigned char)*p))
			return NULL;
		int n = 0, digits = 0;
		while (isdigit((unsigned char)*p) && digits < 3) {
			n = n * 10 + (*p++ - '0');
			digits++;
		}
		if (isdigit((unsigned char)*p) || (i == 0 && n > max_hours) || (i && n > 59))
			return NULL;
		v[i] = n;
	}
	*out = sign * (v[0] * 3600 + v[1] * 60 + v[2]);
	return p;
}

static const char *tz_int(const char *p, int *out, int lo, int hi)
{
	if (!isdigit((unsigned char)*p))
		return NULL;
	int n = 0;
	while (isdigit((unsigned char)*p)) {
		n = n * 10 + (*p++ - '0');
		if (n > hi)
			return NULL;
	}
	if (n < lo)
		return NULL;
	*out = n;
	return p;
}

static const char *tz_rule(const char *p, struct tz_rule *r)
{
	memset(r, 0, sizeof(*r));
	if (*p == 'M') {
		r->kind = 'M';
		if (!(p = tz_int(p + 1, &r->a, 1, 12)) || *p++ != '.' ||
		    !(p = tz_int(p, &r->b, 1, 5)) || *p++ != '.' || !(p = tz_int(p, &r->c, 0, 6)))
			return NULL;
	} else if (*p == 'J') {
		r->kind = 'J';
		if (!(p = tz_int(p + 1, &r->a, 1, 365)))
			return NULL;
	} else {
		r->kind = 'N';
		if (!(p = tz_int(p, &r->a, 0, 365)))
			return NULL;
	}
	r->time = 7200;
	if (*p == '/' && !(p = tz_num(p + 1, &r->time, 167)))
		return NULL;
	return p;
}

/* Parses "CET-1CEST,M3.5.0,M10.5.0/3" (POSIX signs: west of Greenwich is positive). */
static bool tz_parse(struct ctl_zone *z, const char *s)
{
	const char *p = tz_name(s);
	int32_t off;
	if (!p || !(p = tz_num(p, &off, 24)))
		return false;
	z->std_off = -off;
	z->has_rule = true;
	if (!*p)
		return true;
	if (!(p = tz_name(p)))
		return false;
	z->dst_set = true;
	z->dst_off = z->std_off + 3600;
	if (*p && *p != ',') {
		if (!(p = tz_num(p, &off, 24)))
			return false;
		z->dst_off = -off;
	}
	if (*p != ',') {
		/* No rule: POSIX's default is US rules; tzdata never writes that. */
		return false;
	}
	if (!(p = tz_rule(p + 1, &z->start)) || *p++ != ',' || !(p = tz_rule(p, &z->end)))
		return false;
	return *p == '\0';
}

/* The instant (UTC) of rule r in year y, whose local time has offset off. */
static int64_t rule_instant(const struct tz_rule *r, int64_t y, int32_t off)
{
	int64_t day;
	if (r->kind == 'J') {
		int n = r->a; /* 1..365, February 29 never counted */
		if (leap(y) && n >= 60)
			n++;
		day = days_from_civil(y, 1, 1) + n - 1;
	} else if (r->kind == 'N') {
		day = days_from_civil(y, 1, 1) + r->a;
	} else {
		int64_t first = days_from_civil(y, r->a, 1);
		int wd = (int)((first % 7 + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
		int d = 1 + (r->c - wd + 7) % 7 + (r->b - 1) * 7;
		while (d > month_days(y, r->a))
			d -= 7;
		day = first + d - 1;
	}
	return day * 86400 + r->time - off;
}

/* The footer's offset at t and the period [*start, *end) it holds. */
static int32_t rule_lookup(const struct ctl_zone *z, int64_t t, int64_t *start, int64_t *end)
{
	if (!z->dst_set) {
		*start = INT64_MIN;
		*end = INT64_MAX;
		return z->std_off;
	}
	int64_t y;
	int m, d;
	civil_from_days(floor_div(t + z->std_off, 86400), &y, &m, &d);
	/* The changes of the years around t, in order; the one at or before t rules. */
	int64_t ch[6];
	int32_t after[6];
	int n = 0;
	for (int64_t yy = y - 1; yy <= y + 1; yy++) {
		int64_t s = rule_instant(&z->start, yy, z->std_off);
		int64_t e = rule_instant(&z->end, yy, z->dst_off);
		ch[n] = s;
		after[n++] = z->dst_off;
		ch[n] = e;
		after[n++] = z->std_off;
	}
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && ch[j] < ch[j - 1]; j--) {
			int64_t tc = ch[j];
			ch[j] = ch[j - 1];
			ch[j - 1] = tc;
			int32_t ta = after[j];
			after[j] = after[j - 1];
			after[j - 1] = ta;
		}
	int k = -1;
	for (int i = 0; i < n && ch[i] <= t; i++)
		k = i;
	if (k < 0) { /* not reached for real rules: three years span t */
		*start = INT64_MIN;
		*end = ch[0];
		return after[n - 1];
	}
	*start = ch[k];
	*end = k + 1 < n ? ch[k + 1] : INT64_MAX;
	return after[k];
}

int32_t ctl_zone_offset(const struct ctl_zone *z, int64_t t, int64_t *start, int64_t *end)
{
	int64_t s0, e0;
	if (!start)
		start = &s0;
	if (!end)
		end = &e0;
	if (!z->n_trans || t < z->trans[0]) {
		*start = INT64_MIN;
		*end = z->n_trans ? z->trans[0] : INT64_MAX;
		if (!z->n_trans && z->has_rule)
			return rule_lookup(z, t, start, end);
		/* Before the first transition: the first standard-time type, as Go does. */
		for (size_t i = 0; i < z->n_types; i++)
			if (!z->isdst[i])
				return z->utoff[i];
		return z->n_types ? z->utoff[0] : 0;
	}
	size_t lo = 0, hi = z->n_trans; /* the last transition <= t */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (z->trans[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	if (lo + 1 == z->n_trans && z->has_rule) {
		int32_t off = rule_lookup(z, t, start, end);
		if (*start < z->trans[lo])
			*start = z->trans[lo];
		return off;
	}
	*start = z->trans[lo];
	*end = lo + 1 < z->n_trans ? z->trans[lo + 1] : INT64_MAX;
	return z->utoff[z->idx[lo]];
}

/* ---- TZif ----------------------------------------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_hdr {
	char version;
	uint32_t isut, isstd, leap, time, type, chars;
};

static bool tzif_header(const unsigned char *p, size_t len, struct tzif_hdr *h)
{
	if (len < 44 || memcmp(p, "TZif", 4) != 0)
		return false;
	h->version = (char)p[4];
	h->isut = be32(p + 20);
	h->isstd = be32(p + 24);
	h->leap = be32(p + 28);
	h->time = be32(p + 32);
	h->type = be32(p + 36);
	h->chars = be32(p + 40);
	return h->time <= ZONE_MAX_TRANS && h->type >= 1 && h->type <= ZONE_MAX_TYPES &&
	       h->chars <= 65536 && h->leap <= 65536 && (h->isut == 0 || h->isut == h->type) &&
	       (h->isstd == 0 || h->isstd == h->type);
}

static size_t tzif_block(const struct tzif_hdr *h, size_t tsize)
{
	return (size_t)h->time * tsize + h->time + (size_t)h->type * 6 + h->chars +
	       (size_t)h->leap * (tsize + 4) + h->isstd + h->isut;
}

int ctl_zone_parse(const unsigned char *data, size_t len, struct ctl_zone **out,
		   struct n4j_error *err)
{
	*out = NULL;
	struct tzif_hdr h;
	if (!tzif_header(data, len, &h))
		return n4j_err(err, N4J_EPARSE, "time zone: not a TZif file");
	size_t tsize = 4;
	const unsigned char *p = data + 44;
	size_t left = len - 44;
	if (h.version >= '2') {
		size_t skip = tzif_block(&h, 4);
		if (skip > left || !tzif_header(p + skip, left - skip, &h))
			return n4j_err(err, N4J_EPARSE, "time zone: truncated TZif file");
		p += skip + 44;
		left -= skip + 44;
		tsize = 8;
	}
	size_t block = tzif_block(&h, tsize);
	if (block > left)
		return n4j_err(err, N4J_EPARSE, "time zone: truncated TZif file");
	struct ctl_zone *z = calloc(1, sizeof(*z));
	if (!z)
		return n4j_err(err, N4J_ENOMEM, "time zone: out of memory");
	z->n_trans = h.time;
	z->n_types = h.type;
	z->trans = calloc(h.time + 1, sizeof(*z->trans));
	z->idx = calloc(h.time + 1, 1);
	z->utoff = calloc(h.type, sizeof(*z->utoff));
	z->isdst = calloc(h.type, sizeof(*z->isdst));
	if (!z->trans || !z->idx || !z->utoff || !z->isdst) {
		ctl_zone_free(z);
		return n4j_err(err, N4J_ENOMEM, "time zone: out of memory");
	}
	for (size_t i = 0; i < h.time; i++) {
		z->trans[i] = tsize == 8 ? be64(p + i * 8) : (int32_t)be32(p + i * 4);
		if (i && z->trans[i] <= z->trans[i - 1]) {
			ctl_zone_free(z);
			return n4j_err(err, N4J_EPARSE, "time zone: transitions out of order");
		}
	}
	p += (size_t)h.time * tsize;
	for (size_t i = 0; i < h.time; i++) {
		if (p[i] >= h.type) {
			ctl_zone_free(z);
			return n4j_err(err, N4J_EPARSE, "time zone: bad type index");
		}
		z->idx[i] = p[i];
	}
	p += h.time;
	for (size_t i = 0; i < h.type; i++) {
		int32_t off = (int32_t)be32(p + i * 6);
		if (off < -25 * 3600 || off > 26 * 3600 || p[i * 6 + 4] > 1) {
			ctl_zone_free(z);
			return n4j_err(err, N4J_EPARSE, "time zone: bad local time type");
		}
		z->utoff[i] = off;
		z->isdst[i] = p[i * 6 + 4];
	}
	p += block - (size_t)h.time * tsize - h.time;
	left -= block;
	/* v2+: the footer "\n<POSIX TZ>\n" rules after the last transition. */
	if (tsize == 8 && left >= 2 && p[0] == '\n') {
		const unsigned char *nl = memchr(p + 1, '\n', left - 1);
		size_t n = nl ? (size_t)(nl - p - 1) : 0;
		char tz[128];
		if (nl && n > 0 && n < sizeof(tz)) {
			memcpy(tz, p + 1, n);
			tz[n] = '\0';
			struct ctl_zone probe = *z;
			if (tz_parse(&probe, tz)) {
				z->has_rule = true;
				z->dst_set = probe.dst_set;
				z->std_off = probe.std_off;
				z->dst_off = probe.dst_off;
				z->start = probe.start;
				z->end = probe.end;
			}
		}
	}
	*out = z;
	return 0;
}

static bool zone_name_ok(const char *n)
{
	if (!*n || *n == '/' || strlen(n) > 200 || strstr(n, ".."))
		return false;
	for (const char *p = n; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("/_+-", *p))
			return false;
	return true;
}

int ctl_zone_load(const char *name, struct ctl_zone **out, struct n4j_error *err)
{
	*out = NULL;
	if (!name || !*name || strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0) {
		*out = zone_utc();
		return *out ? 0 : n4j_err(err, N4J_ENOMEM, "time zone: out of memory");
	}
	if (!zone_name_ok(name))
		return n4j_err(err, N4J_EINVAL, "time zone %s: not a zone name", name);
	const char *dir = getenv("ZONEINFO");
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
	char *data = NULL;
	size_t len = 0;
	int rc = n4j_read_file(path, 1 << 20, &data, &len, err);
	if (rc)
		return n4j_err(err, rc == N4J_ENOMEM ? rc : N4J_ENOTFOUND, "unknown time zone %s",
			       name);
	rc = ctl_zone_parse((const unsigned char *)data, len, out, err);
	free(data);
	return rc;
}

/* ---- Go's local time arithmetic ------------------------------------------------------ */

struct local {
	int64_t y;
	int mon, d, h, mi, s, wday;
};

static struct local local_of(const struct ctl_zone *z, int64_t t)
{
	int64_t lt = t + ctl_zone_offset(z, t, NULL, NULL);
	int64_t days = floor_div(lt, 86400);
	int64_t secs = lt - days * 86400;
	struct local l;
	civil_from_days(days, &l.y, &l.mon, &l.d);
	l.h = (int)(secs / 3600);
	l.mi = (int)(secs / 60 % 60);
	l.s = (int)(secs % 60);
	l.wday = (int)((days % 7 + 7 + 4) % 7);
	return l;
}

/* time.Date(y, mon, d, h, mi, s, 0, zone): fields normalised, and for a local time that
 * does not exist or exists twice, the offset Go picks. */
static int64_t go_date(const struct ctl_zone *z, int64_t y, int64_t mon, int64_t d, int64_t h,
		       int64_t mi, int64_t s)
{
	int64_t m0 = mon - 1;
	y += floor_div(m0, 12);
	m0 -= floor_div(m0, 12) * 12;
	int64_t unix =
		(days_from_civil(y, (int)m0 + 1, 1) + d - 1) * 86400 + h * 3600 + mi * 60 + s;
	int64_t start, end;
	int32_t off = ctl_zone_offset(z, unix, &start, &end);
	if (off != 0) {
		int64_t utc = unix - off;
		if (utc < start || utc >= end)
			off = ctl_zone_offset(z, utc, NULL, NULL);
		unix -= off;
	}
	return unix;
}

/* ---- the schedule --------------------------------------------------------------------- */

#define STAR_BIT (1ULL << 63)

struct bounds {
	int min, max;
	const char *const *names; /* names[i] is value min + i */
};

static const char *const MONTHS[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul",
				     "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const DAYS[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

static bool field_value(const char *s, size_t n, const struct bounds *b, int *out)
{
	for (size_t i = 0; b->names && b->names[i]; i++)
		if (n == strlen(b->names[i]) && strncasecmp(s, b->names[i], n) == 0) {
			*out = b->min + (int)i;
			return true;
		}
	if (!n || n > 9)
		return false;
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/* One comma-separated item: "*", "?", "a", "a-b", each with an optional "/step". */
static bool parse_range(const char *s, size_t n, const struct bounds *b, uint64_t *bits)
{
	const char *slash = memchr(s, '/', n);
	size_t rn = slash ? (size_t)(slash - s) : n;
	int lo, hi, step = 1;
	uint64_t extra = 0;
	bool single = false;
	if ((rn == 1 && (*s == '*' || *s == '?'))) {
		lo = b->min;
		hi = b->max;
		extra = STAR_BIT;
	} else {
		const char *dash = memchr(s, '-', rn);
		if (!field_value(s, dash ? (size_t)(dash - s) : rn, b, &lo))
			return false;
		if (dash) {
			if (!field_value(dash + 1, rn - (size_t)(dash + 1 - s), b, &hi))
				return false;
		} else {
			hi = lo;
			single = true;
		}
	}
	if (slash) {
		if (!field_value(slash + 1, n - rn - 1, &(struct bounds){0, 0, NULL}, &step) ||
		    step <= 0)
			return false;
		if (single) /* "N/step" means "N-max/step" */
			hi = b->max;
		if (step > 1)
			extra = 0;
	}
	if (lo < b->min || hi > b->max || lo > hi)
		return false;
	for (int v = lo; v <= hi; v += step)
		*bits |= 1ULL << v;
	*bits |= extra;
	return true;
}

static bool parse_field(const char *s, size_t n, const struct bounds *b, uint64_t *bits)
{
	*bits = 0;
	while (n) {
		const char *comma = memchr(s, ',', n);
		size_t k = comma ? (size_t)(comma - s) : n;
		if (!k || !parse_range(s, k, b, bits))
			return false;
		s += k;
		n -= k;
		if (comma) {
			s++;
			n--;
			if (!n)
				return false;
		}
	}
	return *bits != 0;
}

int ctl_cron_parse(const char *spec, struct ctl_cron *out, struct n4j_error *err)
{
	memset(out, 0, sizeof(*out));
	static const struct {
		const char *name, *expr;
	} descriptors[] = {
		{"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
		{"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
		{"@hourly", "0 * * * *"},
	};
	if (!spec)
		return n4j_err(err, N4J_EINVAL, "schedule: empty");
	for (size_t i = 0; i < sizeof(descriptors) / sizeof(descriptors[0]); i++)
		if (strcmp(spec, descriptors[i].name) == 0)
			spec = descriptors[i].expr;
	static const struct bounds bnd[5] = {
		{0, 59, NULL}, {0, 23, NULL}, {1, 31, NULL}, {1, 12, MONTHS}, {0, 6, DAYS},
	};
	uint64_t *bits[5] = {&out->minute, &out->hour, &out->dom, &out->month, &out->dow};
	const char *p = spec;
	for (int f = 0; f < 5; f++) {
		while (*p == ' ' || *p == '\t')
			p++;
		size_t n = strcspn(p, " \t");
		if (!n || !parse_field(p, n, &bnd[f], bits[f]))
			return n4j_err(err, N4J_EINVAL,
				       "schedule %s: field %d is not a valid cron field", spec,
				       f + 1);
		p += n;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p)
		return n4j_err(err, N4J_EINVAL, "schedule %s: expected exactly 5 fields", spec);
	return 0;
}

static bool day_matches(const struct ctl_cron *c, const struct local *l)
{
	bool dom = (c->dom >> l->d) & 1, dow = (c->dow >> l->wday) & 1;
	if ((c->dom & STAR_BIT) || (c->dow & STAR_BIT))
		return dom && dow;
	return dom || dow;
}

int64_t ctl_cron_next(const struct ctl_cron *c, const struct ctl_zone *z, int64_t t)
{
	t += 1; /* the earliest possible time: the upcoming second */
	bool added = false;
	/* Real zones need a few hundred steps; a corrupt zone file must not loop forever. */
	long steps = 0;
#define STEP()                                                                                     \
	do {                                                                                       \
		if (++steps > 1000000)                                                             \
			return -1;                                                                 \
	} while (0)
	struct local l = local_of(z, t);
	int64_t year_limit = l.y + 5;
wrap:
	STEP();
	l = local_of(z, t);
	if (l.y > year_limit)
		return -1;
	while (!((c->month >> l.mon) & 1)) {
		STEP();
		if (!added) {
			added = true;
			t = go_date(z, l.y, l.mon, 1, 0, 0, 0);
			l = local_of(z, t);
		}
		t = go_date(z, l.y, l.mon + 1, l.d, l.h, l.mi, l.s); /* AddDate(0, 1, 0) */
		l = local_of(z, t);
		if (l.mon == 1)
			goto wrap;
	}
	while (!day_matches(c, &l)) {
		STEP();
		if (!added) {
			added = true;
			t = go_date(z, l.y, l.mon, l.d, 0, 0, 0);
			l = local_of(z, t);
		}
		t = go_date(z, l.y, l.mon, l.d + 1, l.h, l.mi, l.s); /* AddDate(0, 0, 1) */
		l = local_of(z, t);
		/* Midnight may not exist (DST at 00:00): back to the day's first hour. */
		if (l.h != 0)
			t += l.h > 12 ? (int64_t)(24 - l.h) * 3600 : -(int64_t)l.h * 3600;
		l = local_of(z, t);
		if (l.d == 1)
			goto wrap;
	}
	while (!((c->hour >> l.h) & 1)) {
		STEP();
		if (!added) {
			added = true;
			t = go_date(z, l.y, l.mon, l.d, l.h, 0, 0);
		}
		t += 3600;
		l = local_of(z, t);
		if (l.h == 0)
			goto wrap;
	}
	while (!((c->minute >> l.mi) & 1)) {
		STEP();
		if (!added) {
			added = true;
			t -= ((t % 60) + 60) % 60;
		}
		t += 60;
		l = local_of(z, t);
		if (l.mi == 0)
			goto wrap;
	}
	/* Seconds: ParseStandard fixes them at 0. */
	if (l.s != 0) {
		added = true;
		t += 60 - l.s; /* robfig steps one second at a time to the next :00 */
		goto wrap;
	}
#undef STEP
	return t;
}
