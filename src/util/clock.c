/* The one monotonic clock, wall clock and sleep of every layer. */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "util/util.h"

int64_t n4j_now_ns(void)
{
	struct timespec ts;
	/* CLOCK_MONOTONIC cannot fail on Linux for a valid pointer; it never jumps with NTP
	 * steps or date changes, so every timeout and lease decision is measured on it. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t n4j_now_ms(void)
{
	return n4j_now_ns() / 1000000LL;
}

int64_t n4j_deadline_ms(int64_t timeout_ms)
{
	return n4j_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
}

int64_t n4j_ms_left(int64_t deadline_ms)
{
	int64_t left = deadline_ms - n4j_now_ms();
	return left > 0 ? left : 0;
}

void n4j_sleep_ms(int64_t ms)
{
	if (ms <= 0)
		return;
	struct timespec ts = {.tv_sec = (time_t)(ms / 1000),
			      .tv_nsec = (long)(ms % 1000) * 1000000L};
	/* A signal handler must not shorten a backoff: sleep the rest. */
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int64_t n4j_wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void n4j_format_time(int64_t wall_ns, bool micro, char *out, size_t size)
{
	time_t secs = (time_t)(wall_ns / 1000000000LL);
	struct tm tm;
	gmtime_r(&secs, &tm);
	char base[32];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	if (micro)
		snprintf(out, size, "%s.%06dZ", base, (int)((wall_ns % 1000000000LL) / 1000));
	else
		snprintf(out, size, "%sZ", base);
}

bool n4j_parse_time(const char *s, double *out)
{
	int y, mo, d, h, mi, sec, n = 0;
	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
	    n != 19)
		return false;
	const char *p = s + n;
	double frac = 0;
	if (*p == '.') {
		double scale = 0.1;
		p++;
		if (*p < '0' || *p > '9')
			return false;
		while (*p >= '0' && *p <= '9') {
			frac += (*p - '0') * scale;
			scale /= 10;
			p++;
		}
	}
	long offset = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om, m = 0;
		if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &m) != 2 || m != 5)
			return false;
		offset = (oh * 3600L + om * 60L) * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return false;
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return false;
	struct tm tm = {.tm_year = y - 1900,
			.tm_mon = mo - 1,
			.tm_mday = d,
			.tm_hour = h,
			.tm_min = mi,
			.tm_sec = sec};
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return false;
	*out = (double)(t - offset) + frac;
	return true;
}
