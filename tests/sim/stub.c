/*
 * n4j-bolt-stub: a scripted Bolt server for error paths (after testkit's boltstub; ideas,
 * not code). Usage: n4j-bolt-stub [--timeout S] ADDR:PORT SCRIPT
 * Prints "READY ADDR:PORT" once listening. Exit 0 = the script ran to its end, 1 = script
 * mismatch (logged as "Script mismatch"), 2 = global timeout, 3 = usage/script error.
 * See tests/sim/README.md for the script language.
 */
#include "simio.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum op { OP_CLIENT, OP_SERVER, OP_SPLIT, OP_JMP, OP_END };

struct instr {
	enum op op;
	int a, b;        /* SPLIT targets (a first) / JMP target */
	char text[8192]; /* message line, e.g. RUN "q" {} {} or <SLEEP> 1 */
	int line;
};

static struct instr prog[1024];
static int nprog;
static uint16_t bolt_version = N4J_BOLT_V(5, 8);
static int manifest_mode = -1; /* -1 auto */
static char raw_handshake[256];
static bool allow_restart, auto_reset;
static long global_timeout_ms = 30000;

static int emit(enum op op, const char *text, int line)
{
	if (nprog >= (int)(sizeof prog / sizeof prog[0]))
		return -1;
	struct instr *in = &prog[nprog];
	in->op = op;
	in->line = line;
	snprintf(in->text, sizeof in->text, "%s", text ? text : "");
	return nprog++;
}

/* block stack for {? {* {+ */
struct open_block {
	char kind;
	int start; /* first instruction of the body (or the SPLIT for ? and *) */
};

static int parse_script(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "stub: cannot open %s\n", path);
		return -1;
	}
	char line[8192];
	struct open_block stack[32];
	int depth = 0, lineno = 0;
	enum op last = OP_END;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		char *s = line;
		while (isspace((unsigned char)*s))
			s++;
		if (!*s || *s == '#')
			continue;
		if (strncmp(s, "!:", 2) == 0) {
			char *v = s + 2;
			while (*v == ' ')
				v++;
			int maj, min;
			if (sscanf(v, "BOLT %d.%d", &maj, &min) == 2)
				bolt_version = N4J_BOLT_V(maj, min);
			else if (strncmp(v, "HANDSHAKE_MANIFEST", 18) == 0)
				manifest_mode = atoi(v + 18);
			else if (strncmp(v, "HANDSHAKE ", 10) == 0)
				snprintf(raw_handshake, sizeof raw_handshake, "%s", v + 10);
			else if (strcmp(v, "ALLOW RESTART") == 0)
				allow_restart = true;
			else if (strcmp(v, "AUTO RESET") == 0)
				auto_reset = true;
			continue;
		}
		if (s[0] == '{' && (s[1] == '?' || s[1] == '*' || s[1] == '+')) {
			if (depth == 32)
				goto bad;
			stack[depth].kind = s[1];
			stack[depth].start = s[1] == '+' ? nprog : emit(OP_SPLIT, NULL, lineno);
			depth++;
			continue;
		}
		if ((s[0] == '?' || s[0] == '*' || s[0] == '+') && s[1] == '}') {
			if (depth == 0 || stack[depth - 1].kind != s[0])
				goto bad;
			struct open_block *b = &stack[--depth];
			if (b->kind == '?') {
				prog[b->start].a = b->start + 1;
				prog[b->start].b = nprog;
			} else if (b->kind == '*') {
				emit(OP_JMP, NULL, lineno);
				prog[nprog - 1].a = b->start;
				prog[b->start].a = b->start + 1;
				prog[b->start].b = nprog;
			} else {
				int sp = emit(OP_SPLIT, NULL, lineno);
				prog[sp].a = b->start;
				prog[sp].b = nprog;
			}
			continue;
		}
		char kind = 0;
		if (s[1] == ':' && strchr("CSA?*+", s[0])) {
			kind = s[0];
			s += 2;
			while (*s == ' ')
				s++;
		} else if (last == OP_CLIENT || last == OP_SERVER) {
			kind = last == OP_CLIENT ? 'C' : 'S';
		} else {
			goto bad;
		}
		switch (kind) {
		case 'C':
			emit(OP_CLIENT, s, lineno);
			last = OP_CLIENT;
			break;
		case 'S':
			emit(OP_SERVER, s, lineno);
			last = OP_SERVER;
			break;
		case 'A':
			emit(OP_CLIENT, s, lineno);
			if (strncmp(s, "GOODBYE", 7) != 0) /* GOODBYE never gets a reply */
				emit(OP_SERVER, "SUCCESS {}", lineno);
			last = OP_END;
			break;
		default: { /* ? * + : optional/repeated client line auto-answered SUCCESS {} */
			int start = kind == '+' ? nprog : emit(OP_SPLIT, NULL, lineno);
			emit(OP_CLIENT, s, lineno);
			if (strncmp(s, "GOODBYE", 7) != 0)
				emit(OP_SERVER, "SUCCESS {}", lineno);
			if (kind == '?') {
				prog[start].a = start + 1;
				prog[start].b = nprog;
			} else if (kind == '*') {
				emit(OP_JMP, NULL, lineno);
				prog[nprog - 1].a = start;
				prog[start].a = start + 1;
				prog[start].b = nprog;
			} else {
				int sp = emit(OP_SPLIT, NULL, lineno);
				prog[sp].a = start;
				prog[sp].b = nprog;
			}
			last = OP_END;
		}
		}
	}
	fclose(f);
	if (depth)
		return -1;
	emit(OP_END, NULL, lineno);
	return 0;
bad:
	fclose(f);
	fprintf(stderr, "stub: %s:%d: cannot parse \"%s\"\n", path, lineno, line);
	return -1;
}

/* ---- JSON <-> values ----------------------------------------------------------- */

static int hexval(char c)
{
	return isdigit((unsigned char)c) ? c - '0' : (toupper((unsigned char)c) - 'A' + 10) & 15;
}

static int json_to_value(struct n4j_arena *a, const cJSON *j, struct n4j_bolt_value *out)
{
	if (cJSON_IsNull(j)) {
		*out = n4j_bolt_null();
	} else if (cJSON_IsBool(j)) {
		*out = n4j_bolt_bool(cJSON_IsTrue(j));
	} else if (cJSON_IsNumber(j)) {
		double d = j->valuedouble;
		if (d == (double)(int64_t)d && d > -9.2e18 && d < 9.2e18)
			*out = n4j_bolt_int((int64_t)d);
		else
			*out = n4j_bolt_float(d);
	} else if (cJSON_IsString(j)) {
		*out = n4j_bolt_str(n4j_arena_strdup(a, j->valuestring));
	} else if (cJSON_IsArray(j)) {
		int n = cJSON_GetArraySize(j);
		struct n4j_bolt_value *l = n4j_bolt_list_new(a, (uint32_t)n);
		int i = 0;
		const cJSON *it;
		cJSON_ArrayForEach(it, j)
		{
			if (json_to_value(a, it, &l->u.list.items[i++]))
				return -1;
		}
		*out = *l;
	} else if (cJSON_IsObject(j)) {
		int n = cJSON_GetArraySize(j);
		const cJSON *c = j->child;
		/* typed forms: {"Z": "1"} Int, {"R": "1.5"} Float, {"#": "DE AD"} Bytes */
		if (n == 1 && cJSON_IsString(c) && strcmp(c->string, "Z") == 0) {
			*out = n4j_bolt_int(strtoll(c->valuestring, NULL, 10));
			return 0;
		}
		if (n == 1 && cJSON_IsString(c) && strcmp(c->string, "R") == 0) {
			*out = n4j_bolt_float(strtod(c->valuestring, NULL));
			return 0;
		}
		if (n == 1 && cJSON_IsString(c) && strcmp(c->string, "#") == 0) {
			const char *h = c->valuestring;
			char *b = n4j_arena_alloc(a, strlen(h) / 2 + 1);
			uint32_t k = 0;
			for (; h[0] && h[1]; h++) {
				if (*h == ' ')
					continue;
				b[k++] = (char)(hexval(h[0]) << 4 | hexval(h[1]));
				h++;
			}
			*out = n4j_bolt_bytes(b, k);
			return 0;
		}
		struct n4j_bolt_value *m = n4j_bolt_map_new(a, (uint32_t)n);
		int i = 0;
		const cJSON *it;
		cJSON_ArrayForEach(it, j)
		{
			m->u.map.pairs[i].key = n4j_bolt_str(n4j_arena_strdup(a, it->string));
			if (json_to_value(a, it, &m->u.map.pairs[i].value))
				return -1;
			i++;
		}
		*out = *m;
	} else {
		return -1;
	}
	return 0;
}

static bool match(const cJSON *p, const struct n4j_bolt_value *v)
{
	if (cJSON_IsString(p) && strcmp(p->valuestring, "*") == 0)
		return true;
	if (cJSON_IsNull(p))
		return v->type == N4J_BOLT_NULL;
	if (cJSON_IsBool(p))
		return v->type == N4J_BOLT_BOOL && v->u.b == (bool)cJSON_IsTrue(p);
	if (cJSON_IsNumber(p))
		return (v->type == N4J_BOLT_INT && (double)v->u.i == p->valuedouble) ||
		       (v->type == N4J_BOLT_FLOAT && v->u.f == p->valuedouble);
	if (cJSON_IsString(p))
		return v->type == N4J_BOLT_STRING && strcmp(v->u.s.data, p->valuestring) == 0;
	if (cJSON_IsArray(p)) {
		if (v->type != N4J_BOLT_LIST || (int)v->u.list.len != cJSON_GetArraySize(p))
			return false;
		uint32_t i = 0;
		const cJSON *it;
		cJSON_ArrayForEach(it, p) if (!match(it, &v->u.list.items[i++])) return false;
		return true;
	}
	if (cJSON_IsObject(p)) {
		if (v->type != N4J_BOLT_MAP)
			return false;
		uint32_t required = 0;
		const cJSON *it;
		cJSON_ArrayForEach(it, p)
		{
			const char *k = it->string;
			char key[256];
			bool optional = k[0] == '[' && k[strlen(k) - 1] == ']';
			snprintf(key, sizeof key, "%.*s",
				 optional ? (int)strlen(k) - 2 : (int)strlen(k),
				 optional ? k + 1 : k);
			const struct n4j_bolt_value *x = n4j_bolt_map_get(v, key);
			if (!x) {
				if (!optional)
					return false;
				continue;
			}
			required++;
			if (!match(it, x))
				return false;
		}
		return required == v->u.map.len; /* no unexpected keys */
	}
	return false;
}

/* Splits "NAME json json ..." into a signature and parsed fields (owned by *arr). */
static int parse_msg(const char *text, int *sig, cJSON **arr)
{
	char name[32];
	int n = 0;
	while (text[n] && !isspace((unsigned char)text[n]) && n < 31) {
		name[n] = text[n];
		n++;
	}
	name[n] = '\0';
	*sig = sim_msg_sig(name);
	if (*sig < 0)
		return -1;
	*arr = cJSON_CreateArray();
	const char *p = text + n;
	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		const char *end = NULL;
		cJSON *j = cJSON_ParseWithOpts(p, &end, false);
		if (!j) {
			cJSON_Delete(*arr);
			return -1;
		}
		cJSON_AddItemToArray(*arr, j);
		p = end;
	}
	return 0;
}

static bool client_matches(const struct instr *in, const struct n4j_bolt_value *msg)
{
	int sig;
	cJSON *arr;
	if (parse_msg(in->text, &sig, &arr))
		return false;
	bool ok = sig == msg->u.st.tag;
	int nf = cJSON_GetArraySize(arr);
	/* a bare "NAME" line matches any fields */
	if (ok && nf > 0) {
		ok = nf == msg->u.st.len;
		for (int i = 0; ok && i < nf; i++)
			ok = match(cJSON_GetArrayItem(arr, i), &msg->u.st.fields[i]);
	}
	cJSON_Delete(arr);
	return ok;
}

static void log_msg(const char *dir, const struct n4j_bolt_value *m)
{
	struct n4j_buf b;
	n4j_buf_init(&b);
	for (uint8_t i = 0; i < m->u.st.len; i++) {
		n4j_buf_putc(&b, ' ');
		n4j_bolt_value_print(&b, &m->u.st.fields[i]);
	}
	fprintf(stderr, "stub %s %s%.400s\n", dir, sim_msg_name(m->u.st.tag), n4j_buf_cstr(&b));
	n4j_buf_free(&b);
}

/* Runs server lines from pc; returns the new pc, or -1 when <EXIT> closed the connection. */
static int play(struct sconn *s, int pc)
{
	for (;;) {
		struct instr *in = &prog[pc];
		if (in->op == OP_JMP) {
			pc = in->a;
			continue;
		}
		if (in->op != OP_SERVER)
			return pc;
		const char *t = in->text;
		if (strncmp(t, "<NOOP>", 6) == 0) {
			sconn_write(s, "\0\0", 2);
		} else if (strncmp(t, "<SLEEP>", 7) == 0) {
			sim_sleep_ms((long)(atof(t + 7) * 1000));
		} else if (strncmp(t, "<EXIT>", 6) == 0) {
			fprintf(stderr, "stub: <EXIT>\n");
			return -1;
		} else if (strncmp(t, "<RAW>", 5) == 0) {
			uint8_t raw[4096];
			size_t n = 0;
			for (const char *h = t + 5; h[0] && h[1] && n < sizeof raw; h++) {
				if (isspace((unsigned char)*h))
					continue;
				raw[n++] = (uint8_t)(hexval(h[0]) << 4 | hexval(h[1]));
				h++;
			}
			sconn_write(s, raw, n);
		} else {
			int sig;
			cJSON *arr;
			if (parse_msg(t, &sig, &arr) == 0) {
				struct n4j_arena *a = n4j_arena_new();
				struct n4j_bolt_value f[16];
				int nf = cJSON_GetArraySize(arr);
				for (int i = 0; i < nf && i < 16; i++)
					json_to_value(a, cJSON_GetArrayItem(arr, i), &f[i]);
				struct n4j_bolt_value m = {.type = N4J_BOLT_STRUCT,
							   .u.st = {(uint8_t)sig, (uint8_t)nf, f}};
				log_msg("S:", &m);
				sconn_send(s, (uint8_t)sig, (uint8_t)nf, f);
				n4j_arena_free(a);
				cJSON_Delete(arr);
			} else {
				fprintf(stderr, "stub: line %d: bad server line\n", in->line);
			}
		}
		pc++;
	}
}

/* First CLIENT instruction reachable from pc (SPLIT order) that matches msg; -1 if none.
 * *end_ok is set when END is reachable (the client may stop here). */
static int find(int pc, const struct n4j_bolt_value *msg, bool *end_ok, int *seen, int mark)
{
	if (pc < 0 || pc >= nprog || seen[pc] == mark)
		return -1;
	seen[pc] = mark;
	struct instr *in = &prog[pc];
	switch (in->op) {
	case OP_CLIENT:
		return msg && client_matches(in, msg) ? pc : -1;
	case OP_SPLIT: {
		int r = find(in->a, msg, end_ok, seen, mark);
		return r >= 0 ? r : find(in->b, msg, end_ok, seen, mark);
	}
	case OP_JMP:
		return find(in->a, msg, end_ok, seen, mark);
	case OP_END:
		*end_ok = true;
		return -1;
	case OP_SERVER:
		return -1; /* a skippable block must start with a client line */
	}
	return -1;
}

static int handshake(struct sconn *s)
{
	uint8_t req[20];
	int rc = sconn_read_handshake(s, req, 10000);
	if (rc) {
		fprintf(stderr, "stub: bad or missing handshake\n");
		return -1;
	}
	if (raw_handshake[0]) {
		uint8_t raw[256];
		size_t n = 0;
		for (const char *h = raw_handshake; h[0] && h[1]; h++) {
			if (isspace((unsigned char)*h))
				continue;
			raw[n++] = (uint8_t)(hexval(h[0]) << 4 | hexval(h[1]));
			h++;
		}
		sconn_write(s, raw, n);
		if (n >= 4 && raw[2] == 1 && raw[3] == 0xFF) {
			uint8_t reply[5];
			if (sconn_read_exact(s, reply, 5, 10000))
				return -1;
			fprintf(stderr, "stub: manifest reply %02X %02X %02X %02X %02X\n", reply[0],
				reply[1], reply[2], reply[3], reply[4]);
			s->version = N4J_BOLT_V(reply[3], reply[2]);
		} else if (n == 4) {
			s->version = N4J_BOLT_V(raw[3], raw[2]);
		}
		return s->version ? 0 : -1;
	}
	bool manifest;
	uint16_t v = sim_pick_version(req, bolt_version, &manifest);
	if (v != bolt_version) {
		fprintf(stderr, "stub: client does not offer the script's version\n");
		sconn_write(s, "\0\0\0\0", 4);
		return -1;
	}
	bool use_manifest = manifest && (manifest_mode == 1 ||
					 (manifest_mode < 0 && bolt_version >= N4J_BOLT_V(5, 7)));
	if (use_manifest) {
		uint8_t m[] = {0, 0, 1, 0xFF, 1, 0, (uint8_t)v, (uint8_t)v, (uint8_t)(v >> 8), 0};
		sconn_write(s, m, sizeof m);
		uint8_t reply[5];
		if (sconn_read_exact(s, reply, 5, 10000) || N4J_BOLT_V(reply[3], reply[2]) != v) {
			fprintf(stderr, "stub: bad manifest reply\n");
			return -1;
		}
	} else {
		uint8_t r[4] = {0, 0, (uint8_t)v, (uint8_t)(v >> 8)};
		sconn_write(s, r, 4);
	}
	s->version = v;
	return 0;
}

/* One connection through the script: 0 success, 1 mismatch. */
static int serve(int fd)
{
	struct sconn s;
	sconn_init(&s, fd, "stub");
	int result = 1;
	static int seen[1024];
	static int mark;
	if (handshake(&s))
		goto out;
	int pc = play(&s, 0);
	for (;;) {
		if (pc < 0) {
			result = 0;
			break;
		}
		bool end_ok = false;
		find(pc, NULL, &end_ok, seen, ++mark);
		if (prog[pc].op == OP_END) {
			result = 0;
			break;
		}
		struct n4j_arena *a = n4j_arena_new();
		struct n4j_bolt_value msg;
		int rc = sconn_recv(&s, a, &msg, (int)global_timeout_ms);
		if (rc) {
			n4j_arena_free(a);
			if (rc == -1 && end_ok) {
				result = 0; /* the client left where the script may end */
				break;
			}
			fprintf(stderr, "stub: %s while the script expects more (line %d)\n",
				rc == -2 ? "timeout" : "client closed/garbage", prog[pc].line);
			result = rc == -2 ? 2 : 1;
			break;
		}
		log_msg("C:", &msg);
		end_ok = false;
		int hit = find(pc, &msg, &end_ok, seen, ++mark);
		if (hit < 0 && auto_reset && msg.u.st.tag == 0x0F) {
			struct n4j_bolt_value empty = {.type = N4J_BOLT_MAP};
			sconn_send(&s, 0x70, 1, &empty);
			n4j_arena_free(a);
			continue;
		}
		n4j_arena_free(a);
		if (hit < 0) {
			fprintf(stderr, "stub: Script mismatch near line %d\n", prog[pc].line);
			result = 1;
			break;
		}
		pc = play(&s, hit + 1);
	}
out:
	shutdown(s.fd, SHUT_RDWR);
	sconn_close(&s);
	return result;
}

static void on_alarm(int sig)
{
	(void)sig;
	static const char m[] = "stub: global timeout\n";
	ssize_t w = write(2, m, sizeof m - 1);
	(void)w;
	_exit(2);
}

int main(int argc, char **argv)
{
	int i = 1;
	if (i + 1 < argc && strcmp(argv[i], "--timeout") == 0) {
		global_timeout_ms = (long)(atof(argv[i + 1]) * 1000);
		i += 2;
	}
	if (argc - i != 2) {
		fprintf(stderr, "usage: n4j-bolt-stub [--timeout S] ADDR:PORT SCRIPT\n");
		return 3;
	}
	if (parse_script(argv[i + 1]))
		return 3;
	int lfd = sim_listen(argv[i]);
	if (lfd < 0) {
		fprintf(stderr, "stub: cannot listen on %s\n", argv[i]);
		return 3;
	}
	signal(SIGALRM, on_alarm);
	alarm((unsigned)((global_timeout_ms + 999) / 1000));
	printf("READY %s\n", argv[i]);
	fflush(stdout);
	int rc;
	do {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			return 1;
		rc = serve(fd);
		fprintf(stderr, "stub: connection done (%d)\n", rc);
	} while (allow_restart && rc == 0);
	close(lfd);
	return rc;
}
