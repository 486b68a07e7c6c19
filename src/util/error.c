#include <stdio.h>

#include "util/util.h"

int n4j_err(struct n4j_error *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

const char *n4j_strerror(int code)
{
	switch (code) {
	case N4J_OK:
		return "ok";
	case N4J_EINVAL:
		return "invalid input";
	case N4J_ENOMEM:
		return "out of memory";
	case N4J_EIO:
		return "I/O error";
	case N4J_EPARSE:
		return "parse error";
	case N4J_ENOTFOUND:
		return "not found";
	case N4J_ERANGE:
		return "out of range";
	case N4J_ELIMIT:
		return "limit exceeded";
	default:
		return "unknown error";
	}
}
