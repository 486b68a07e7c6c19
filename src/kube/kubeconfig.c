/* kubeconfig: parse, resolve relative paths, merge several files, pick a context. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kube/internal.h"

char *n4j_kube_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

int n4j_kube_b64decode(const char *in, char **out, size_t *out_len)
{
	size_t n = strlen(in);
	char *o = malloc(n / 4 * 3 + 4);
	if (!o)
		return N4J_ENOMEM;
	uint32_t acc = 0;
	int bits = 0;
	size_t len = 0;
	bool pad = false;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)in[i];
		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == '=') {
			pad = true;
			continue;
		}
		int v = b64val(c);
		if (v < 0 || pad) {
			free(o);
			return N4J_EINVAL;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			o[len++] = (char)((acc >> bits) & 0xff);
		}
	}
	o[len] = '\0';
	*out = o;
	if (out_len)
		*out_len = len;
	return 0;
}

/* ---- document helpers ---- */

static const char *str_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool bool_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsTrue(v) || (cJSON_IsString(v) && strcmp(v->valuestring, "true") == 0);
}

/* The `section` (cluster/user/context) of the entry called name in list `list`. */
static const cJSON *named(const cJSON *doc, const char *list, const char *section, const char *name)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(doc, list))
	{
		const char *n = str_of(e, "name");
		if (n && strcmp(n, name) == 0) {
			const cJSON *s = cJSON_GetObjectItemCaseSensitive(e, section);
			return cJSON_IsObject(s) ? s : NULL;
		}
	}
	return NULL;
}

static char *join_path(const char *dir, const char *p)
{
	if (!p)
		return NULL;
	if (p[0] == '/' || !dir || !dir[0])
		return strdup(p);
	size_t n = strlen(dir) + strlen(p) + 2;
	char *r = malloc(n);
	if (r)
		snprintf(r, n, "%s/%s", dir, p);
	return r;
}

/* Reads a PEM from `key-data` (base64) or, failing that, the file at `key`. */
static int pem_of(const cJSON *o, const char *key, const char *base_dir, const char *what,
		  char **out, struct n4j_error *err)
{
	char datakey[64];
	snprintf(datakey, sizeof(datakey), "%s-data", key);
	const char *data = str_of(o, datakey);
	if (data && data[0]) {
		int rc = n4j_kube_b64decode(data, out, NULL);
		if (rc == N4J_ENOMEM)
			return n4j_err(err, rc, "kubeconfig: out of memory");
		if (rc)
			return n4j_err(err, N4J_EINVAL, "kubeconfig: %s.%s is not valid base64",
				       what, datakey);
		return 0;
	}
	const char *path = str_of(o, key);
	if (!path || !path[0])
		return 0;
	char *full = join_path(base_dir, path);
	if (!full)
		return n4j_err(err, N4J_ENOMEM, "kubeconfig: out of memory");
	size_t len;
	struct n4j_error e2 = {0};
	int rc = n4j_read_file(full, N4J_KUBE_FILE_MAX, out, &len, &e2);
	if (rc)
		n4j_err(err, rc, "kubeconfig: %s.%s: %s", what, key, e2.msg);
	free(full);
	return rc;
}

int n4j_kube_read_token(const char *path, char **out, struct n4j_error *err)
{
	char *t;
	size_t len;
	struct n4j_error e2 = {0};
	int rc = n4j_read_file(path, 64 * 1024, &t, &len, &e2);
	if (rc)
		return n4j_err(err, rc, "token file: %s", e2.msg);
	while (len > 0 && (t[len - 1] == '\n' || t[len - 1] == '\r' || t[len - 1] == ' ' ||
			   t[len - 1] == '\t'))
		t[--len] = '\0';
	size_t lead = strspn(t, " \t\r\n");
	if (lead) {
		memmove(t, t + lead, len - lead + 1);
		len -= lead;
	}
	if (len == 0 || strlen(t) != len) {
		n4j_wipe(t, len);
		free(t);
		return n4j_err(err, N4J_EINVAL, "token file %s is empty or not text", path);
	}
	*out = t;
	return 0;
}

static int parse_exec(const cJSON *x, const char *base_dir, struct n4j_kube_exec **out,
		      struct n4j_error *err)
{
	const char *cmd = str_of(x, "command");
	const char *api = str_of(x, "apiVersion");
	if (!cmd || !cmd[0])
		return n4j_err(err, N4J_EINVAL, "kubeconfig: user.exec.command is required");
	if (!api || (strcmp(api, "client.authentication.k8s.io/v1") != 0 &&
		     strcmp(api, "client.authentication.k8s.io/v1beta1") != 0))
		return n4j_err(err, N4J_EINVAL,
			       "kubeconfig: user.exec.apiVersion must be "
			       "client.authentication.k8s.io/v1 or v1beta1");
	struct n4j_kube_exec *e = calloc(1, sizeof(*e));
	if (!e)
		return n4j_err(err, N4J_ENOMEM, "kubeconfig: out of memory");
	*out = e;
	/* kubectl: a command with a slash is relative to the kubeconfig; a bare name uses PATH. */
	e->command = strchr(cmd, '/') ? join_path(base_dir, cmd) : strdup(cmd);
	e->api_version = strdup(api);
	if (!e->command || !e->api_version)
		return n4j_err(err, N4J_ENOMEM, "kubeconfig: out of memory");
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(x, "args");
	if (args && !cJSON_IsArray(args) && !cJSON_IsNull(args))
		return n4j_err(err, N4J_EINVAL, "kubeconfig: user.exec.args must be a list");
	int na = cJSON_GetArraySize(args);
	if (na > 0) {
		e->args = calloc((size_t)na, sizeof(char *));
		if (!e->args)
			return n4j_err(err, N4J_ENOMEM, "kubeconfig: out of memory");
		const cJSON *a;
		cJSON_ArrayForEach(a, args)
		{
			if (!cJSON_IsString(a))
				return n4j_err(err, N4J_EINVAL,
					       "kubeconfig: user.exec.args[%zu] must be a string",
					       e->n_args);
			if (!(e->args[e->n_args++] = strdup(a->valuestring)))
				return n4j_err(err, N4J_ENOMEM, "kubeconfig: out of memory");
		}
	}
	const cJSON *env = cJSON_GetObjectItemCaseSensitive(x, "env");
	if (env && !cJSON_IsArray(env) && !cJSON_IsNull(env))
		return n4j_err(err, N4J_EINVAL, "kubeconfig: user.exec.env must be a list");
	int ne = cJSON_GetArraySize(env);
	if (ne > 0) {
		e->env = calloc((size_t)ne, sizeof(char *));
		if (!e->env)
			return n4j_err(err, N4J_ENOMEM, "kubeconfig: out of memory");
		const cJSON *v;
		cJSON_ArrayForEach(v, env)
		{
			const char *n = str_of(v, "name"), *val = str_of(v, "value");
			if (!n || !n[0] || strchr(n, '=') || !val)
				return n4j_err(
					err, N4J_EINVAL,
					"kubeconfig: user.exec.env[%zu] needs a name and a value",
					e->n_env);
			size_t len = strlen(n) + strlen(val) + 2;
			char *s = malloc(len);
			if (!s)
				return n4j_err(err, N4J_ENOMEM, "kubeconfig: out of memory");
			snprintf(s, len, "%s=%s", n, val);
			e->env[e->n_env++] = s;
		}
	}
	return 0;
}

static int parse_user(const cJSON *u, const char *base_dir, struct n4j_kube_config *c,
		      struct n4j_error *err)
{
	if (cJSON_GetObjectItemCaseSensitive(u, "auth-provider"))
		return n4j_err(
			err, N4J_EINVAL,
			"kubeconfig: user.auth-provider (legacy, removed from kubectl) is not "
			"supported: use an exec credential plugin instead");
	if (str_of(u, "username") || str_of(u, "password"))
		return n4j_err(err, N4J_EINVAL,
			       "kubeconfig: user.username/password (basic auth) is not supported");
	int rc = pem_of(u, "client-certificate", base_dir, "user", &c->client_cert_pem, err);
	if (!rc)
		rc = pem_of(u, "client-key", base_dir, "user", &c->client_key_pem, err);
	if (rc)
		return rc;
	if (!c->client_cert_pem != !c->client_key_pem)
		return n4j_err(err, N4J_EINVAL,
			       "kubeconfig: user needs both client-certificate and client-key");
	const char *tok = str_of(u, "token");
	if (tok && tok[0] && !(c->token = strdup(tok)))
		return n4j_err(err, N4J_ENOMEM, "kubeconfig: out of memory");
	const char *tf = str_of(u, "tokenFile");
	if (tf && tf[0]) {
		if (!(c->token_file = join_path(base_dir, tf)))
			return n4j_err(err, N4J_ENOMEM, "kubeconfig: out of memory");
		/* tokenFile beats token; read now so a missing file is reported at load time. */
		char *t = NULL;
		rc = n4j_kube_read_token(c->token_file, &t, err);
		if (rc)
			return rc;
		n4j_wipe_free(c->token);
		c->token = t;
	}
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(u, "exec");
	if (x && !cJSON_IsNull(x)) {
		if (!cJSON_IsObject(x))
			return n4j_err(err, N4J_EINVAL, "kubeconfig: user.exec must be a mapping");
		rc = parse_exec(x, base_dir, &c->exec, err);
	}
	return rc;
}

static int parse_cluster(const cJSON *cl, const char *base_dir, struct n4j_kube_config *c,
			 struct n4j_error *err)
{
	const char *server = str_of(cl, "server");
	if (!server || !server[0])
		return n4j_err(err, N4J_EINVAL, "kubeconfig: cluster.server is required");
	if (strncmp(server, "https://", 8) != 0 || !server[8])
		return n4j_err(err, N4J_EINVAL,
			       "kubeconfig: cluster.server must be an https:// URL (got a %s one)",
			       strncmp(server, "http://", 7) == 0 ? "plain http" : "malformed");
	if (str_of(cl, "proxy-url"))
		return n4j_err(err, N4J_EINVAL, "kubeconfig: cluster.proxy-url is not supported");
	if (!(c->server = strdup(server)))
		return n4j_err(err, N4J_ENOMEM, "kubeconfig: out of memory");
	size_t n = strlen(c->server);
	while (n > 8 && c->server[n - 1] == '/')
		c->server[--n] = '\0';
	const char *sni = str_of(cl, "tls-server-name");
	if (sni && sni[0] && !(c->tls_server_name = strdup(sni)))
		return n4j_err(err, N4J_ENOMEM, "kubeconfig: out of memory");
	c->insecure_skip_verify = bool_of(cl, "insecure-skip-tls-verify");
	return pem_of(cl, "certificate-authority", base_dir, "cluster", &c->ca_pem, err);
}

int n4j_kubeconfig_from_doc(const cJSON *doc, const char *base_dir, const char *context,
			    struct n4j_kube_config **out, struct n4j_error *err)
{
	*out = NULL;
	if (!cJSON_IsObject(doc))
		return n4j_err(err, N4J_EINVAL, "kubeconfig: not a mapping");
	const char *ctxname = context && context[0] ? context : str_of(doc, "current-context");
	if (!ctxname || !ctxname[0])
		return n4j_err(err, N4J_EINVAL,
			       "kubeconfig: no current-context is set and no context was given");
	const cJSON *ctx = named(doc, "contexts", "context", ctxname);
	if (!ctx)
		return n4j_err(err, N4J_ENOTFOUND, "kubeconfig: context \"%.100s\" not found",
			       ctxname);
	const char *clname = str_of(ctx, "cluster"), *uname = str_of(ctx, "user");
	if (!clname || !clname[0])
		return n4j_err(err, N4J_EINVAL, "kubeconfig: context \"%.100s\" names no cluster",
			       ctxname);
	const cJSON *cl = named(doc, "clusters", "cluster", clname);
	if (!cl)
		return n4j_err(err, N4J_ENOTFOUND, "kubeconfig: cluster \"%.100s\" not found",
			       clname);
	const cJSON *u = NULL;
	if (uname && uname[0]) {
		u = named(doc, "users", "user", uname);
		if (!u)
			return n4j_err(err, N4J_ENOTFOUND, "kubeconfig: user \"%.100s\" not found",
				       uname);
	}
	struct n4j_kube_config *c = calloc(1, sizeof(*c));
	if (!c)
		return n4j_err(err, N4J_ENOMEM, "kubeconfig: out of memory");
	int rc = parse_cluster(cl, base_dir, c, err);
	if (!rc && u)
		rc = parse_user(u, base_dir, c, err);
	if (!rc) {
		const char *ns = str_of(ctx, "namespace");
		c->namespace_ = strdup(ns && ns[0] ? ns : "default");
		c->context_name = strdup(ctxname);
		if (!c->namespace_ || !c->context_name)
			rc = n4j_err(err, N4J_ENOMEM, "kubeconfig: out of memory");
	}
	if (rc) {
		n4j_kube_config_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

int n4j_kube_yaml_parse(const char *text, size_t len, cJSON **out, struct n4j_error *err)
{
	cJSON *docs = NULL;
	*out = NULL;
	struct n4j_error perr = {0};
	int rc = n4j_yaml_parse(text, len, &docs, &perr);
	if (rc)
		return n4j_err(err, rc, "kubeconfig: %s", perr.msg);
	if (cJSON_GetArraySize(docs) > 1) {
		cJSON_Delete(docs);
		return n4j_err(err, N4J_EINVAL, "kubeconfig: more than one YAML document");
	}
	*out = cJSON_GetArraySize(docs) ? cJSON_DetachItemFromArray(docs, 0) : cJSON_CreateObject();
	cJSON_Delete(docs);
	return *out ? 0 : n4j_err(err, N4J_ENOMEM, "out of memory");
}

int n4j_kubeconfig_parse(const char *text, size_t len, const char *base_dir, const char *context,
			 struct n4j_kube_config **out, struct n4j_error *err)
{
	cJSON *doc = NULL;
	*out = NULL;
	int rc = n4j_kube_yaml_parse(text, len, &doc, err);
	if (rc)
		return rc;
	rc = n4j_kubeconfig_from_doc(doc, base_dir, context, out, err);
	n4j_json_wipe_delete(doc); /* users[].user.token */
	return rc;
}

/* ---- merging (kubectl's rules: the first file to define a name wins) ---- */

/* Rewrites relative paths of one file's document to absolute ones (relative to its dir). */
static int absolutize(cJSON *doc, const char *dir)
{
	static const struct {
		const char *list, *section, *key;
	} fields[] = {
		{"clusters", "cluster", "certificate-authority"},
		{"users", "user", "client-certificate"},
		{"users", "user", "client-key"},
		{"users", "user", "tokenFile"},
	};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		cJSON *e;
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(doc, fields[i].list))
		{
			cJSON *s = cJSON_GetObjectItemCaseSensitive(e, fields[i].section);
			cJSON *v = cJSON_GetObjectItemCaseSensitive(s, fields[i].key);
			if (!cJSON_IsString(v) || !v->valuestring[0] || v->valuestring[0] == '/')
				continue;
			char *p = join_path(dir, v->valuestring);
			if (!p || !cJSON_ReplaceItemInObjectCaseSensitive(s, fields[i].key,
									  cJSON_CreateString(p))) {
				free(p);
				return N4J_ENOMEM;
			}
			free(p);
		}
	}
	cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(doc, "users"))
	{
		cJSON *x = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(e, "user"), "exec");
		cJSON *v = cJSON_GetObjectItemCaseSensitive(x, "command");
		if (!cJSON_IsString(v) || v->valuestring[0] == '/' || !strchr(v->valuestring, '/'))
			continue;
		char *p = join_path(dir, v->valuestring);
		if (!p ||
		    !cJSON_ReplaceItemInObjectCaseSensitive(x, "command", cJSON_CreateString(p))) {
			free(p);
			return N4J_ENOMEM;
		}
		free(p);
	}
	return 0;
}

static int merge_into(cJSON *merged, cJSON *doc)
{
	static const char *lists[] = {"clusters", "users", "contexts"};
	for (size_t i = 0; i < 3; i++) {
		cJSON *dst = cJSON_GetObjectItemCaseSensitive(merged, lists[i]);
		cJSON *src = cJSON_GetObjectItemCaseSensitive(doc, lists[i]);
		if (!cJSON_IsArray(src))
			continue;
		while (cJSON_GetArraySize(src) > 0) {
			cJSON *e = cJSON_DetachItemFromArray(src, 0);
			const char *n = str_of(e, "name");
			bool dup = !n;
			const cJSON *x;
			cJSON_ArrayForEach(x, dst)
			{
				const char *m = str_of(x, "name");
				if (n && m && strcmp(n, m) == 0)
					dup = true;
			}
			if (dup)
				cJSON_Delete(e);
			else
				cJSON_AddItemToArray(dst, e);
		}
	}
	const char *cur = str_of(doc, "current-context");
	if (cur && cur[0] && !str_of(merged, "current-context") &&
	    !cJSON_AddStringToObject(merged, "current-context", cur))
		return N4J_ENOMEM;
	return 0;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

int n4j_kube_config_load(const char *paths, const char *context, struct n4j_kube_config **out,
			 struct n4j_error *err)
{
	*out = NULL;
	char *owned = NULL;
	if (!paths || !paths[0])
		paths = getenv("KUBECONFIG");
	if (!paths || !paths[0]) {
		const char *home = getenv("HOME");
		if (!home || !home[0])
			return n4j_err(err, N4J_EINVAL,
				       "kubeconfig: neither KUBECONFIG nor HOME is set");
		size_t n = strlen(home) + 16;
		if (!(owned = malloc(n)))
			return n4j_err(err, N4J_ENOMEM, "kubeconfig: out of memory");
		snprintf(owned, n, "%s/.kube/config", home);
		paths = owned;
	}
	char *list = strdup(paths);
	cJSON *merged = cJSON_CreateObject();
	int rc = 0;
	if (!list || !merged || !cJSON_AddArrayToObject(merged, "clusters") ||
	    !cJSON_AddArrayToObject(merged, "users") || !cJSON_AddArrayToObject(merged, "contexts"))
		rc = n4j_err(err, N4J_ENOMEM, "kubeconfig: out of memory");
	int nfiles = 0;
	char *save = NULL;
	for (char *p = rc ? NULL : strtok_r(list, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
		if (!p[0])
			continue;
		char *text;
		size_t len;
		struct n4j_error e2 = {0};
		int r = n4j_read_file(p, N4J_KUBE_FILE_MAX, &text, &len, &e2);
		if (r) {
			/* kubectl skips missing files of a list; an unreadable one is an error. */
			if (access(p, F_OK) != 0 && errno == ENOENT)
				continue;
			rc = n4j_err(err, r, "kubeconfig: %s", e2.msg);
			break;
		}
		cJSON *doc = NULL;
		r = n4j_kube_yaml_parse(text, len, &doc, &e2);
		n4j_wipe(text, len);
		free(text);
		if (!r && !cJSON_IsObject(doc))
			r = n4j_err(&e2, N4J_EINVAL, "not a mapping");
		if (r) {
			n4j_json_wipe_delete(doc);
			rc = n4j_err(err, r, "%s: %s", p, e2.msg);
			break;
		}
		char *dir = dir_of(p);
		r = dir ? absolutize(doc, dir) : N4J_ENOMEM;
		if (!r)
			r = merge_into(merged, doc);
		free(dir);
		n4j_json_wipe_delete(doc);
		if (r) {
			rc = n4j_err(err, r, "kubeconfig: out of memory");
			break;
		}
		nfiles++;
	}
	if (!rc && nfiles == 0)
		rc = n4j_err(err, N4J_ENOTFOUND, "kubeconfig: none of the files exists: %.300s",
			     paths);
	if (!rc)
		rc = n4j_kubeconfig_from_doc(merged, NULL, context, out, err);
	n4j_json_wipe_delete(merged);
	free(list);
	free(owned);
	return rc;
}
