/*
 * Kubernetes resource quantities, parsed exactly (no floating point): the
 * mantissa is kept as an integer with a decimal scale, then multiplied out in
 * 128-bit arithmetic and checked against int64.
 */
#include <string.h>

#include "util/util.h"

typedef __int128 i128;

static const i128 LIMIT = (i128)INT64_MAX;

static int mul_check(i128 *v, i128 m)
{
	if (*v != 0 && m != 0 && (*v > LIMIT * 1000 / m))
		return N4J_ERANGE;
	*v *= m;
	return 0;
}

int n4j_quantity_parse(const char *s, int64_t *milli)
{
	if (!s || !*s)
		return N4J_EINVAL;
	const char *p = s;
	int sign = 1;
	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;

	i128 mant = 0;
	int scale = 0; /* digits after the point */
	int digits = 0;
	bool point = false;
	for (; *p; p++) {
		if (*p >= '0' && *p <= '9') {
			digits++;
			if (mant > LIMIT * 1000) {
				/* Beyond any representable value; trailing fraction digits are harmless. */
				if (!point)
					return N4J_ERANGE;
				continue;
			}
			mant = mant * 10 + (*p - '0');
			if (point)
				scale++;
		} else if (*p == '.' && !point) {
			point = true;
		} else {
			break;
		}
	}
	if (digits == 0)
		return N4J_EINVAL;

	/* value = mant * 10^-scale * 2^bin * 10^dec ; we want value*1000 */
	int dec = 3, bin = 0;
	const char *suf = p;
	if (*suf == '\0') {
	} else if (suf[1] == 'i' && suf[2] == '\0' && strchr("KMGTPE", suf[0])) {
		bin = 10 * (int)(strchr("KMGTPE", suf[0]) - "KMGTPE" + 1);
	} else if (suf[1] == '\0' && strchr("mkMGTPE", suf[0])) {
		static const char sfx[] = "mkMGTPE";
		static const int exp10[] = {-3, 3, 6, 9, 12, 15, 18};
		dec += exp10[strchr(sfx, suf[0]) - sfx];
	} else if (suf[0] == 'e' || suf[0] == 'E') {
		const char *e = suf + 1;
		int esign = 1, ev = 0, edigits = 0;
		if (*e == '+' || *e == '-')
			esign = *e++ == '-' ? -1 : 1;
		for (; *e >= '0' && *e <= '9'; e++) {
			if (ev > 100)
				return N4J_ERANGE;
			ev = ev * 10 + (*e - '0');
			edigits++;
		}
		if (!edigits || *e)
			return N4J_EINVAL;
		dec += esign * ev;
	} else {
		return N4J_EINVAL;
	}

	dec -= scale;
	i128 v = mant;
	for (int i = 0; i < bin; i++)
		if (mul_check(&v, 2))
			return N4J_ERANGE;
	for (; dec > 0; dec--)
		if (mul_check(&v, 10))
			return N4J_ERANGE;
	bool frac = false;
	for (; dec < 0; dec++) {
		if (v % 10)
			frac = true;
		v /= 10;
	}
	if (frac)
		v += 1; /* Kubernetes rounds up to the smallest unit it keeps */
	if (v > LIMIT)
		return N4J_ERANGE;
	*milli = (int64_t)v * sign;
	return 0;
}

int n4j_quantity_bytes(const char *s, int64_t *bytes)
{
	int64_t m;
	int rc = n4j_quantity_parse(s, &m);
	if (rc)
		return rc;
	*bytes = m / 1000 + (m % 1000 > 0);
	return 0;
}
