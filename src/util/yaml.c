/*
 * YAML (and JSON, which libyaml reads as flow YAML) to cJSON, with the
 * scalar typing kubectl applies (sigs.k8s.io/yaml on top of go-yaml v2):
 * unquoted yes/no/on/off/y/n are booleans, as in YAML 1.1. A user who writes
 * `acceptLicenseAgreement: yes` gets the same type error here as from the
 * apiserver, with a hint, instead of a render that kubectl would then reject.
 *
 * Anchors and aliases are refused: a few hundred bytes of aliases can expand
 * into gigabytes ("billion laughs"), and no CR needs them.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "util/util.h"

struct frame {
	cJSON *node;
	char *pending_key; /* mapping: key waiting for its value */
};

struct parser {
	yaml_parser_t yp;
	struct frame stack[N4J_MAX_DEPTH + 1];
	int depth;
	cJSON *doc;
	struct n4j_error *err;
};

static cJSON *scalar_value(struct parser *ps, const yaml_event_t *ev);

static bool is_one_of(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

static const char *const TRUE_WORDS[] = {"true", "True", "TRUE", "yes", "Yes", "YES",
					 "y",    "Y",    "on",   "On",  "ON",  NULL};
static const char *const FALSE_WORDS[] = {"false", "False", "FALSE", "no",  "No",  "NO",
					  "n",     "N",     "off",   "Off", "OFF", NULL};
static const char *const NULL_WORDS[] = {"", "~", "null", "Null", "NULL", NULL};

/* Decimal integer or float in JSON/YAML form; anything else stays a string. */
static bool parse_number(const char *s, double *out)
{
	const char *p = s;
	if (*p == '+' || *p == '-')
		p++;
	if (!*p)
		return false;
	bool digits = false, dot = false, exp = false;
	for (; *p; p++) {
		if (*p >= '0' && *p <= '9') {
			digits = true;
		} else if (*p == '.' && !dot && !exp) {
			dot = true;
		} else if ((*p == 'e' || *p == 'E') && digits && !exp) {
			exp = true;
			if (p[1] == '+' || p[1] == '-')
				p++;
			if (!(p[1] >= '0' && p[1] <= '9'))
				return false;
		} else {
			return false;
		}
	}
	if (!digits)
		return false;
	errno = 0;
	char *end;
	double v = strtod(s, &end);
	if (*end)
		return false;
	*out = v;
	return true;
}

static int scalar_node(struct parser *ps, const yaml_event_t *ev, cJSON **out)
{
	*out = scalar_value(ps, ev);
	if (*out)
		return 0;
	return ps->err && ps->err->code ? ps->err->code
					: n4j_err(ps->err, N4J_ENOMEM, "out of memory");
}

static cJSON *scalar_value(struct parser *ps, const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;
	const char *tag = (const char *)ev->data.scalar.tag;
	bool plain =
		ev->data.scalar.plain_implicit && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	if (tag && strcmp(tag, YAML_STR_TAG) == 0)
		return cJSON_CreateString(v);
	if (tag && strcmp(tag, "!") != 0) {
		n4j_err(ps->err, N4J_EPARSE, "parse error: line %zu: unsupported tag %.64s",
			ev->start_mark.line + 1, tag);
		return NULL;
	}
	if (!plain)
		return cJSON_CreateString(v);
	if (is_one_of(v, NULL_WORDS))
		return cJSON_CreateNull();
	if (is_one_of(v, TRUE_WORDS))
		return cJSON_CreateTrue();
	if (is_one_of(v, FALSE_WORDS))
		return cJSON_CreateFalse();
	double d;
	if (parse_number(v, &d)) {
		if (!isfinite(d)) {
			n4j_err(ps->err, N4J_ERANGE, "parse error: line %zu: number out of range",
				ev->start_mark.line + 1);
			return NULL;
		}
		return cJSON_CreateNumber(d);
	}
	return cJSON_CreateString(v);
}

/* Attaches a finished node to its parent (or makes it the document). */
static int attach(struct parser *ps, cJSON *node, const yaml_event_t *ev)
{
	if (ps->depth == 0) {
		ps->doc = node;
		return 0;
	}
	struct frame *f = &ps->stack[ps->depth - 1];
	if (cJSON_IsArray(f->node)) {
		cJSON_AddItemToArray(f->node, node);
		return 0;
	}
	if (!f->pending_key) {
		/* This node is a key: only scalars can be keys in JSON. */
		if (cJSON_IsArray(node) || cJSON_IsObject(node)) {
			cJSON_Delete(node);
			return n4j_err(ps->err, N4J_EPARSE,
				       "parse error: line %zu: a mapping key must be a scalar",
				       ev->start_mark.line + 1);
		}
		char numbuf[64];
		const char *k;
		if (cJSON_IsString(node)) {
			k = node->valuestring;
		} else if (cJSON_IsNumber(node)) {
			snprintf(numbuf, sizeof(numbuf), "%.17g", node->valuedouble);
			k = numbuf;
		} else if (cJSON_IsBool(node)) {
			k = cJSON_IsTrue(node) ? "true" : "false";
		} else {
			k = "null";
		}
		if (cJSON_GetObjectItemCaseSensitive(f->node, k)) {
			int rc = n4j_err(ps->err, N4J_EPARSE,
					 "parse error: line %zu: duplicate key \"%.64s\"",
					 ev->start_mark.line + 1, k);
			cJSON_Delete(node);
			return rc;
		}
		f->pending_key = strdup(k);
		cJSON_Delete(node);
		if (!f->pending_key)
			return n4j_err(ps->err, N4J_ENOMEM, "out of memory");
		return 0;
	}
	cJSON_AddItemToObject(f->node, f->pending_key, node);
	free(f->pending_key);
	f->pending_key = NULL;
	return 0;
}

static void unwind(struct parser *ps)
{
	/* Open containers are attached to their parent only when they close, so each is separate. */
	for (int i = 0; i < ps->depth; i++) {
		free(ps->stack[i].pending_key);
		cJSON_Delete(ps->stack[i].node);
	}
	ps->depth = 0;
	cJSON_Delete(ps->doc);
	ps->doc = NULL;
}

static int push(struct parser *ps, cJSON *node, const yaml_event_t *ev)
{
	if (!node)
		return n4j_err(ps->err, N4J_ENOMEM, "out of memory");
	if (ps->depth >= N4J_MAX_DEPTH) {
		cJSON_Delete(node);
		return n4j_err(ps->err, N4J_ELIMIT, "parse error: line %zu: nested deeper than %d",
			       ev->start_mark.line + 1, N4J_MAX_DEPTH);
	}
	ps->stack[ps->depth].node = node;
	ps->stack[ps->depth].pending_key = NULL;
	ps->depth++;
	return 0;
}

static int pop(struct parser *ps, const yaml_event_t *ev)
{
	ps->depth--;
	cJSON *node = ps->stack[ps->depth].node;
	free(ps->stack[ps->depth].pending_key);
	ps->stack[ps->depth].pending_key = NULL;
	int rc = attach(ps, node, ev);
	if (rc) {
		/* attach freed node; make sure unwind does not free it again */
		ps->stack[ps->depth].node = NULL;
	}
	return rc;
}

int n4j_yaml_parse(const char *buf, size_t len, cJSON **docs, struct n4j_error *err)
{
	*docs = NULL;
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
	if (len > (size_t)N4J_MAX_DOC_BYTES * 4)
		return n4j_err(err, N4J_ELIMIT, "input larger than %u bytes",
			       N4J_MAX_DOC_BYTES * 4);
	cJSON *out = cJSON_CreateArray();
	if (!out)
		return n4j_err(err, N4J_ENOMEM, "out of memory");
	struct parser ps;
	memset(&ps, 0, sizeof(ps));
	ps.err = err;
	if (!yaml_parser_initialize(&ps.yp)) {
		cJSON_Delete(out);
		return n4j_err(err, N4J_ENOMEM, "out of memory");
	}
	yaml_parser_set_input_string(&ps.yp, (const unsigned char *)buf, len);

	int rc = 0;
	size_t doc_start = 0;
	for (bool done = false; !done && rc == 0;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&ps.yp, &ev)) {
			rc = n4j_err(err, N4J_EPARSE, "parse error: line %zu column %zu: %s",
				     ps.yp.problem_mark.line + 1, ps.yp.problem_mark.column + 1,
				     ps.yp.problem ? ps.yp.problem : "malformed YAML");
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			doc_start = ev.start_mark.index;
			break;
		case YAML_DOCUMENT_END_EVENT:
			if (ev.end_mark.index - doc_start > N4J_MAX_DOC_BYTES) {
				rc = n4j_err(err, N4J_ELIMIT, "document larger than %u bytes",
					     N4J_MAX_DOC_BYTES);
				break;
			}
			if (ps.doc && !cJSON_IsNull(ps.doc))
				cJSON_AddItemToArray(out, ps.doc);
			else
				cJSON_Delete(ps.doc);
			ps.doc = NULL;
			break;
		case YAML_ALIAS_EVENT:
			rc = n4j_err(err, N4J_EPARSE,
				     "parse error: line %zu: YAML aliases are not supported",
				     ev.start_mark.line + 1);
			break;
		case YAML_SCALAR_EVENT: {
			if (ev.data.scalar.anchor) {
				rc = n4j_err(
					err, N4J_EPARSE,
					"parse error: line %zu: YAML anchors are not supported",
					ev.start_mark.line + 1);
				break;
			}
			cJSON *n;
			rc = scalar_node(&ps, &ev, &n);
			if (rc == 0)
				rc = attach(&ps, n, &ev);
			break;
		}
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT: {
			const yaml_char_t *anchor = ev.type == YAML_SEQUENCE_START_EVENT
							    ? ev.data.sequence_start.anchor
							    : ev.data.mapping_start.anchor;
			if (anchor) {
				rc = n4j_err(
					err, N4J_EPARSE,
					"parse error: line %zu: YAML anchors are not supported",
					ev.start_mark.line + 1);
				break;
			}
			rc = push(&ps,
				  ev.type == YAML_SEQUENCE_START_EVENT ? cJSON_CreateArray()
								       : cJSON_CreateObject(),
				  &ev);
			break;
		}
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			rc = pop(&ps, &ev);
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	if (rc) {
		unwind(&ps);
		yaml_parser_delete(&ps.yp);
		cJSON_Delete(out);
		if (err && err->code == 0)
			err->code = rc;
		return rc;
	}
	yaml_parser_delete(&ps.yp);
	*docs = out;
	return 0;
}
