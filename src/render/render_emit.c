/*
 * Output: block-style YAML documents and a JSON v1 List.
 *
 * The YAML must read back to the same values under both YAML 1.2 (our own
 * parser, most tools) and YAML 1.1 (kubectl's sigs.k8s.io/yaml reads `yes`,
 * `on`, `1_000` or `1:20` as non-strings), so a string is written plain only
 * when it cannot be mistaken for anything else in either; otherwise it is
 * double-quoted, or a literal block for clean multi-line text.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "render/render_internal.h"

static void indent(struct n4j_buf *b, int n)
{
	for (int i = 0; i < n; i++)
		n4j_buf_putc(b, ' ');
}

/* Words YAML 1.1 or 1.2 resolve to a bool or null, in any of their spellings. */
static bool reserved_word(const char *s)
{
	static const char *const words[] = {"true", "false", "yes",  "no", "on",  "off",
					    "y",    "n",     "null", "~",  "nan", "inf"};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasecmp(s, words[i]) == 0)
			return true;
	return false;
}

static bool plain_ok(const char *s)
{
	size_t len = strlen(s);
	if (!len || reserved_word(s))
		return false;
	/*
	 * Anything that might start a number (digits, signs, a dot: 1e3, .5,
	 * 0x1f, 1:20, 2001-12-14) or an indicator is quoted; this also quotes
	 * harmless strings such as "2Gi", which is fine.
	 */
	if (strchr("0123456789+-.?:,[]{}#&*!|>'\"%@`~<= \t", s[0]))
		return false;
	if (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == ':')
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p >= 0x7f)
			return false; /* control characters; non-ASCII quoted to be safe */
		if (*p == ':' && (p[1] == ' ' || p[1] == '\0'))
			return false;
		if (*p == '#' && p > (const unsigned char *)s && p[-1] == ' ')
			return false;
	}
	return true;
}

static void double_quoted(struct n4j_buf *b, const char *s)
{
	n4j_buf_putc(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			n4j_buf_puts(b, "\\\"");
			break;
		case '\\':
			n4j_buf_puts(b, "\\\\");
			break;
		case '\n':
			n4j_buf_puts(b, "\\n");
			break;
		case '\t':
			n4j_buf_puts(b, "\\t");
			break;
		case '\r':
			n4j_buf_puts(b, "\\r");
			break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				n4j_buf_printf(b, "\\x%02x", *p);
			} else if (p[0] == 0xc2 && p[1] == 0x85) {
				/* NEL, LS and PS are line breaks to YAML 1.1 readers. */
				n4j_buf_puts(b, "\\N");
				p++;
			} else if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
				n4j_buf_puts(b, p[2] == 0xa8 ? "\\L" : "\\P");
				p += 2;
			} else {
				n4j_buf_putc(b, (char)*p);
			}
		}
	}
	n4j_buf_putc(b, '"');
}

/*
 * A literal block (`|`) reads back byte for byte when every line is printable
 * ASCII without trailing blanks, the first line does not start with a blank
 * (that would need an indentation indicator), and the text ends in at most
 * one newline (`|` keeps one, `|-` none).
 */
static bool literal_ok(const char *s)
{
	size_t len = strlen(s);
	if (!strchr(s, '\n') || s[0] == ' ' || s[0] == '\n')
		return false;
	if (len >= 2 && s[len - 1] == '\n' && s[len - 2] == '\n')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n') {
			if (i > 0 && s[i - 1] == ' ')
				return false;
			continue;
		}
		if (c < 0x20 || c >= 0x7f)
			return false; /* tabs included: some readers reject them there */
	}
	return s[len - 1] != ' ';
}

static void literal(struct n4j_buf *b, const char *s, int ind)
{
	size_t len = strlen(s);
	n4j_buf_puts(b, s[len - 1] == '\n' ? "|\n" : "|-\n");
	const char *p = s;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (n) /* blank lines carry no indentation, so they have no trailing blanks */
			indent(b, ind);
		n4j_buf_append(b, p, n);
		n4j_buf_putc(b, '\n');
		if (!nl)
			break;
		p = nl + 1;
	}
}

static void scalar_string(struct n4j_buf *b, const char *s)
{
	if (plain_ok(s))
		n4j_buf_puts(b, s);
	else
		double_quoted(b, s);
}

static void number(struct n4j_buf *b, double d)
{
	if (!isfinite(d)) {
		n4j_buf_puts(b, "null"); /* as cJSON prints it: JSON has no NaN */
	} else if (d == floor(d) && fabs(d) < 1e18) {
		n4j_buf_printf(b, "%.0f", d);
	} else {
		/* %.17g round-trips a double; force a dot or exponent-with-dot for 1.1. */
		char tmp[64];
		snprintf(tmp, sizeof(tmp), "%.17g", d);
		if (!strchr(tmp, '.')) {
			char *e = strchr(tmp, 'e');
			if (e) {
				char rest[64];
				snprintf(rest, sizeof(rest), "%s", e);
				snprintf(e, sizeof(tmp) - (size_t)(e - tmp), ".0%s", rest);
			}
		}
		n4j_buf_puts(b, tmp);
	}
}

static bool is_empty_collection(const cJSON *v)
{
	return (cJSON_IsObject(v) || cJSON_IsArray(v)) && !v->child;
}

static void emit_map(struct n4j_buf *b, const cJSON *obj, int ind, bool first_inline);
static void emit_seq(struct n4j_buf *b, const cJSON *arr, int ind, bool first_inline);

/* A value after "key:" or "- ": scalars inline, collections on the next lines. */
static void emit_inline_scalar(struct n4j_buf *b, const cJSON *v, int ind)
{
	if (cJSON_IsString(v)) {
		const char *s = v->valuestring ? v->valuestring : "";
		if (literal_ok(s))
			literal(b, s, ind);
		else {
			scalar_string(b, s);
			n4j_buf_putc(b, '\n');
		}
		return;
	}
	if (cJSON_IsNumber(v))
		number(b, v->valuedouble);
	else if (cJSON_IsTrue(v))
		n4j_buf_puts(b, "true");
	else if (cJSON_IsFalse(v))
		n4j_buf_puts(b, "false");
	else if (cJSON_IsObject(v))
		n4j_buf_puts(b, "{}");
	else if (cJSON_IsArray(v))
		n4j_buf_puts(b, "[]");
	else
		n4j_buf_puts(b, "null");
	n4j_buf_putc(b, '\n');
}

static void emit_map(struct n4j_buf *b, const cJSON *obj, int ind, bool first_inline)
{
	bool first = true;
	for (const cJSON *v = obj->child; v; v = v->next) {
		if (!(first && first_inline))
			indent(b, ind);
		first = false;
		scalar_string(b, v->string ? v->string : "");
		n4j_buf_putc(b, ':');
		if (cJSON_IsObject(v) && !is_empty_collection(v)) {
			n4j_buf_putc(b, '\n');
			emit_map(b, v, ind + 2, false);
		} else if (cJSON_IsArray(v) && !is_empty_collection(v)) {
			/* kubectl's style: a sequence under a key is not indented further. */
			n4j_buf_putc(b, '\n');
			emit_seq(b, v, ind, false);
		} else {
			n4j_buf_putc(b, ' ');
			emit_inline_scalar(b, v, ind + 2);
		}
	}
}

static void emit_seq(struct n4j_buf *b, const cJSON *arr, int ind, bool first_inline)
{
	bool first = true;
	for (const cJSON *v = arr->child; v; v = v->next) {
		if (!(first && first_inline))
			indent(b, ind);
		first = false;
		n4j_buf_puts(b, "- ");
		if (cJSON_IsObject(v) && !is_empty_collection(v))
			emit_map(b, v, ind + 2, true);
		else if (cJSON_IsArray(v) && !is_empty_collection(v))
			emit_seq(b, v, ind + 2, true);
		else
			emit_inline_scalar(b, v, ind + 2);
	}
}

int n4j_emit_yaml(const cJSON *list, struct n4j_buf *out)
{
	if (!cJSON_IsArray(list) || !out)
		return N4J_EINVAL;
	for (const cJSON *o = list->child; o; o = o->next) {
		n4j_buf_puts(out, "---\n");
		if (cJSON_IsObject(o) && o->child)
			emit_map(out, o, 0, false);
		else
			emit_inline_scalar(out, o, 2);
	}
	return out->oom ? N4J_ENOMEM : 0;
}

int n4j_emit_json_list(const cJSON *list, struct n4j_buf *out)
{
	if (!cJSON_IsArray(list) || !out)
		return N4J_EINVAL;
	cJSON *l = cJSON_CreateObject();
	if (!l)
		return N4J_ENOMEM;
	/* A reference to the items, so the (possibly large) list is not copied. */
	cJSON *items = cJSON_CreateArrayReference(list->child);
	if (!cJSON_AddStringToObject(l, "apiVersion", "v1") ||
	    !cJSON_AddStringToObject(l, "kind", "List") || !items ||
	    !cJSON_AddItemToObject(l, "items", items)) {
		/* Deleting a reference leaves the referenced items alone. */
		if (items && !cJSON_GetObjectItemCaseSensitive(l, "items"))
			cJSON_Delete(items);
		cJSON_Delete(l);
		return N4J_ENOMEM;
	}
	char *s = cJSON_Print(l);
	cJSON_Delete(l);
	if (!s)
		return N4J_ENOMEM;
	n4j_buf_puts(out, s);
	n4j_buf_putc(out, '\n');
	cJSON_free(s);
	return out->oom ? N4J_ENOMEM : 0;
}
