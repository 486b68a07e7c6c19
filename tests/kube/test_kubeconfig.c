/* kubeconfig, in-cluster config and exec plugins: parsing, merging, credentials. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "kube/internal.h"

static char tmp[256];

static const char *tpath(const char *name)
{
	static char buf[4][512];
	static int i;
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmp, name);
	return buf[i];
}

static struct n4j_kube_config *parse(const char *text, const char *ctx, struct n4j_error *err)
{
	struct n4j_kube_config *c = NULL;
	memset(err, 0, sizeof(*err));
	int rc = n4j_kubeconfig_parse(text, strlen(text), tmp, ctx, &c, err);
	if (rc)
		return NULL;
	return c;
}

/* "Q0EK" = base64("CA\n") */
static const char *BASIC =
	"apiVersion: v1\n"
	"kind: Config\n"
	"current-context: one\n"
	"clusters:\n"
	"- name: c1\n"
	"  cluster:\n"
	"    server: https://127.0.0.1:6443/\n"
	"    certificate-authority-data: Q0EK\n"
	"    certificate-authority: missing-file-ignored.crt\n"
	"- name: c2\n"
	"  cluster: {server: \"https://[::1]:7443\", tls-server-name: kubernetes}\n"
	"users:\n"
	"- name: u1\n"
	"  user: {token: s3cret-token}\n"
	"- name: u2\n"
	"  user:\n"
	"    client-certificate-data: Q0VSVAo=\n"
	"    client-key-data: S0VZCg==\n"
	"contexts:\n"
	"- name: one\n"
	"  context: {cluster: c1, user: u1, namespace: db}\n"
	"- name: two\n"
	"  context: {cluster: c2, user: u2}\n";

static void test_basic(void)
{
	struct n4j_error err;
	struct n4j_kube_config *c = parse(BASIC, NULL, &err);
	CHECK(c != NULL);
	if (c) {
		CHECK_STR(c->server, "https://127.0.0.1:6443");
		CHECK_STR(c->ca_pem, "CA\n"); /* -data beats the (missing) path */
		CHECK_STR(c->token, "s3cret-token");
		CHECK_STR(c->namespace_, "db");
		CHECK_STR(c->context_name, "one");
		CHECK(!c->in_cluster && !c->insecure_skip_verify && !c->exec);
		n4j_kube_config_free(c);
	}
	c = parse(BASIC, "two", &err);
	CHECK(c != NULL);
	if (c) {
		CHECK_STR(c->server, "https://[::1]:7443");
		CHECK_STR(c->tls_server_name, "kubernetes");
		CHECK_STR(c->client_cert_pem, "CERT\n");
		CHECK_STR(c->client_key_pem, "KEY\n");
		CHECK(c->token == NULL);
		CHECK_STR(c->namespace_, "default");
		/* tls-server-name: the URL names it, CONNECT_TO dials the real address. */
		struct n4j_kube_client *cl = NULL;
		CHECK_INT(n4j_kube_client_new(c, NULL, &cl, &err), 0);
		if (cl) {
			CHECK_STR(cl->base_url, "https://kubernetes:7443");
			CHECK_STR(cl->connect_to, "kubernetes:7443:[::1]:7443");
			CHECK_INT(cl->opts.max_retries, 10);
			CHECK_INT(cl->opts.write_burst, 50);
			CHECK_INT(cl->opts.request_timeout_ms, 30000);
			n4j_kube_client_free(cl);
		}
		n4j_kube_config_free(c);
	}
	c = parse(BASIC, "three", &err);
	CHECK(c == NULL);
	CHECK_HAS(err.msg, "context \"three\" not found");
	/* JSON is YAML too. */
	c = parse(
		"{\"current-context\":\"x\",\"contexts\":[{\"name\":\"x\",\"context\":{\"cluster\":"
		"\"k\"}}],\"clusters\":[{\"name\":\"k\",\"cluster\":{\"server\":\"https://h\","
		"\"insecure-skip-tls-verify\":true}}]}",
		NULL, &err);
	CHECK(c != NULL);
	if (c) {
		CHECK(c->insecure_skip_verify);
		CHECK_STR(c->server, "https://h");
		n4j_kube_config_free(c);
	}
}

static void test_paths(void)
{
	CHECK_INT(mkdir(tpath("sub"), 0700), 0);
	write_text(tpath("sub/ca.crt"), "CAFILE\n");
	write_text(tpath("sub/c.crt"), "CRT\n");
	write_text(tpath("sub/c.key"), "KEY\n");
	write_text(tpath("sub/token"), "  file-token \n");
	const char *kc = "current-context: x\n"
			 "contexts: [{name: x, context: {cluster: k, user: u}}]\n"
			 "clusters: [{name: k, cluster: {server: 'https://h:1', "
			 "certificate-authority: sub/ca.crt}}]\n"
			 "users: [{name: u, user: {client-certificate: sub/c.crt, client-key: "
			 "sub/c.key, token: ignored, tokenFile: sub/token}}]\n";
	struct n4j_error err;
	struct n4j_kube_config *c = parse(kc, NULL, &err);
	CHECK(c != NULL);
	if (!c) {
		fprintf(stderr, "  %s\n", err.msg);
		return;
	}
	CHECK_STR(c->ca_pem, "CAFILE\n");
	CHECK_STR(c->client_cert_pem, "CRT\n");
	CHECK_STR(c->client_key_pem, "KEY\n");
	CHECK_STR(c->token, "file-token"); /* tokenFile beats token, trimmed */
	CHECK_STR(c->token_file, tpath("sub/token"));
	n4j_kube_config_free(c);
}

static void test_merge(void)
{
	mkdir(tpath("m2"), 0700);
	write_text(tpath("m2/ca.crt"), "CA2\n");
	write_text(tpath("m1.yaml"),
		   "current-context: a\n"
		   "contexts: [{name: a, context: {cluster: shared, user: ua}}]\n"
		   "clusters: [{name: shared, cluster: {server: 'https://first:1'}}]\n"
		   "users: [{name: ua, user: {token: ta}}]\n");
	write_text(tpath("m2/m2.yaml"),
		   "current-context: b\n"
		   "contexts: [{name: b, context: {cluster: own, user: ub, namespace: nb}},\n"
		   "           {name: a, context: {cluster: own, user: ub}}]\n"
		   "clusters: [{name: shared, cluster: {server: 'https://second:2'}},\n"
		   "           {name: own, cluster: {server: 'https://own:3', "
		   "certificate-authority: ca.crt}}]\n"
		   "users: [{name: ub, user: {token: tb}}]\n");
	char list[1200];
	snprintf(list, sizeof(list), "%s:%s:%s", tpath("m1.yaml"), tpath("absent.yaml"),
		 tpath("m2/m2.yaml"));
	struct n4j_error err = {0};
	struct n4j_kube_config *c = NULL;
	CHECK_INT(n4j_kube_config_load(list, NULL, &c, &err), 0);
	if (c) {
		CHECK_STR(c->context_name, "a"); /* the first current-context wins */
		CHECK_STR(c->server, "https://first:1");
		CHECK_STR(c->token, "ta");
		n4j_kube_config_free(c);
	}
	c = NULL;
	CHECK_INT(n4j_kube_config_load(list, "b", &c, &err), 0);
	if (c) {
		CHECK_STR(c->server, "https://own:3");
		CHECK_STR(c->ca_pem, "CA2\n"); /* relative to m2/, not to the first file */
		CHECK_STR(c->namespace_, "nb");
		CHECK_STR(c->token, "tb");
		n4j_kube_config_free(c);
	}
	/* Reversed order: the second file's definitions now win. */
	snprintf(list, sizeof(list), "%s:%s", tpath("m2/m2.yaml"), tpath("m1.yaml"));
	c = NULL;
	setenv("KUBECONFIG", list, 1);
	CHECK_INT(n4j_kube_config_load(NULL, NULL, &c, &err), 0);
	if (c) {
		CHECK_STR(c->context_name, "b");
		n4j_kube_config_free(c);
	}
	c = NULL;
	CHECK_INT(n4j_kube_config_load(NULL, "a", &c, &err), 0);
	if (c) {
		CHECK_STR(c->server, "https://own:3");
		CHECK_STR(c->token, "tb");
		n4j_kube_config_free(c);
	}
	/* auto: KUBECONFIG set → load, even in a pod. */
	setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	c = NULL;
	CHECK_INT(n4j_kube_config_auto(NULL, NULL, &c, &err), 0);
	CHECK(c && !c->in_cluster);
	n4j_kube_config_free(c);
	unsetenv("KUBECONFIG");
	c = NULL;
	CHECK(n4j_kube_config_auto(NULL, NULL, &c, &err) != 0); /* no SA files here */
	CHECK_HAS(err.msg, "in-cluster");
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	c = NULL;
	CHECK_INT(n4j_kube_config_load(tpath("absent.yaml"), NULL, &c, &err), N4J_ENOTFOUND);
	CHECK_HAS(err.msg, "none of the files exists");
}

static void test_invalid(void)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{"", "no current-context"},
		{"- a\n- b\n", "not a mapping"},
		{"a: [1, 2\n", "parse error"},
		{"a: &x [1]\nb: *x\n", "anchors"},
		{"current-context: x\n", "context \"x\" not found"},
		{"current-context: x\ncontexts: [{name: x, context: {cluster: k}}]\n",
		 "cluster \"k\" not found"},
		{"current-context: x\ncontexts: [{name: x, context: {user: u}}]\n",
		 "names no cluster"},
		{"current-context: x\ncontexts: [{name: x, context: {cluster: k}}]\n"
		 "clusters: [{name: k, cluster: {server: 'http://h'}}]\n",
		 "must be an https:// URL (got a plain http one)"},
		{"current-context: x\ncontexts: [{name: x, context: {cluster: k}}]\n"
		 "clusters: [{name: k, cluster: {}}]\n",
		 "cluster.server is required"},
		{"current-context: x\ncontexts: [{name: x, context: {cluster: k}}]\n"
		 "clusters: [{name: k, cluster: {server: 'https://h', "
		 "certificate-authority-data: '!!!'}}]\n",
		 "not valid base64"},
		{"current-context: x\ncontexts: [{name: x, context: {cluster: k}}]\n"
		 "clusters: [{name: k, cluster: {server: 'https://h', "
		 "certificate-authority: /nonexistent/ca.crt}}]\n",
		 "/nonexistent/ca.crt"},
		{"current-context: x\ncontexts: [{name: x, context: {cluster: k, user: u}}]\n"
		 "clusters: [{name: k, cluster: {server: 'https://h'}}]\n"
		 "users: [{name: u, user: {auth-provider: {name: gcp}}}]\n",
		 "auth-provider"},
		{"current-context: x\ncontexts: [{name: x, context: {cluster: k, user: u}}]\n"
		 "clusters: [{name: k, cluster: {server: 'https://h'}}]\n"
		 "users: [{name: u, user: {username: a, password: b}}]\n",
		 "basic auth"},
		{"current-context: x\ncontexts: [{name: x, context: {cluster: k, user: u}}]\n"
		 "clusters: [{name: k, cluster: {server: 'https://h'}}]\n"
		 "users: [{name: u, user: {client-certificate-data: Q0EK}}]\n",
		 "both client-certificate and client-key"},
		{"current-context: x\ncontexts: [{name: x, context: {cluster: k, user: u}}]\n"
		 "clusters: [{name: k, cluster: {server: 'https://h'}}]\n"
		 "users: [{name: u, user: {exec: {command: foo}}}]\n",
		 "exec.apiVersion"},
		{"current-context: x\ncontexts: [{name: x, context: {cluster: k, user: u}}]\n"
		 "clusters: [{name: k, cluster: {server: 'https://h'}}]\n"
		 "users: [{name: u, user: {tokenFile: /nonexistent/token}}]\n",
		 "/nonexistent/token"},
		{"current-context: x\ncontexts: [{name: x, context: {cluster: k}}]\n"
		 "clusters: [{name: k, cluster: {server: 'https://h', proxy-url: 'http://p'}}]\n",
		 "proxy-url"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct n4j_error err;
		struct n4j_kube_config *c = parse(cases[i].text, NULL, &err);
		CHECK(c == NULL);
		CHECK(err.code < 0);
		CHECK_HAS(err.msg, cases[i].want);
		n4j_kube_config_free(c);
	}
	/* Secrets never reach messages. */
	struct n4j_error err;
	parse("current-context: x\ncontexts: [{name: x, context: {cluster: k, user: u}}]\n"
	      "clusters: [{name: k, cluster: {server: 'https://h'}}]\n"
	      "users: [{name: u, user: {token: SECRETTOKEN, username: a}}]\n",
	      NULL, &err);
	CHECK(strstr(err.msg, "SECRETTOKEN") == NULL);
	/* Deep nesting is refused, not a stack overflow. */
	char deep[4000];
	size_t n = 0;
	for (int i = 0; i < 1000; i++)
		deep[n++] = '[';
	deep[n] = '\0';
	CHECK(parse(deep, NULL, &err) == NULL);
	CHECK(err.code == N4J_ELIMIT || err.code == N4J_EPARSE);
}

static int count_runs(const char *file)
{
	FILE *f = fopen(file, "r");
	int n = 0, ch;
	if (!f)
		return 0;
	while ((ch = fgetc(f)) != EOF)
		n += ch == '\n';
	fclose(f);
	return n;
}

static char *slurp(const char *path)
{
	char *t = NULL;
	size_t len;
	if (n4j_read_file(path, 1 << 20, &t, &len, NULL))
		return NULL;
	return t;
}

static void test_exec(void)
{
	/* A plugin that logs each run and what it was told, and returns a token whose
	 * expiry comes from its first argument (seconds from now). */
	char script[2048];
	snprintf(script, sizeof(script),
		 "#!/bin/sh\n"
		 "echo run >> '%s/runs'\n"
		 "printf '%%s' \"$KUBERNETES_EXEC_INFO\" > '%s/info'\n"
		 "printf '%%s' \"$PLUGIN_ENV\" > '%s/env'\n"
		 "exp=$(date -u -d \"@$(( $(date +%%s) + $1 ))\" +%%Y-%%m-%%dT%%H:%%M:%%SZ)\n"
		 "n=$(wc -l < '%s/runs')\n"
		 "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":"
		 "\"ExecCredential\",\"status\":{\"token\":\"tok-%%s\",\"expirationTimestamp\":"
		 "\"%%s\"}}' \"$n\" \"$exp\"\n",
		 tmp, tmp, tmp, tmp);
	write_text(tpath("plugin.sh"), script);
	chmod(tpath("plugin.sh"), 0700);
	char kc[2048];
	snprintf(kc, sizeof(kc),
		 "current-context: x\ncontexts: [{name: x, context: {cluster: k, user: u}}]\n"
		 "clusters: [{name: k, cluster: {server: 'https://127.0.0.1:1'}}]\n"
		 "users:\n- name: u\n  user:\n    exec:\n"
		 "      apiVersion: client.authentication.k8s.io/v1\n"
		 "      command: ./plugin.sh\n      args: ['%s']\n"
		 "      env: [{name: PLUGIN_ENV, value: from-kubeconfig}]\n"
		 "      interactiveMode: Never\n",
		 "3600");
	struct n4j_error err;
	struct n4j_kube_config *c = parse(kc, NULL, &err);
	CHECK(c && c->exec);
	if (!c)
		return;
	CHECK_STR(c->exec->command, tpath("./plugin.sh"));
	struct n4j_kube_client *cl = NULL;
	CHECK_INT(n4j_kube_client_new(c, NULL, &cl, &err), 0);
	if (!cl) {
		n4j_kube_config_free(c);
		return;
	}
	struct n4j_kube_creds cr;
	struct n4j_kube_error e;
	CHECK_INT(n4j_kube_creds_get(cl, &cr, &e), 0);
	CHECK_STR(cr.token, "tok-1");
	uint64_t gen = cr.generation;
	n4j_kube_creds_free(&cr);
	CHECK_INT(n4j_kube_creds_get(cl, &cr, &e), 0); /* cached until it expires */
	CHECK_STR(cr.token, "tok-1");
	n4j_kube_creds_free(&cr);
	CHECK_INT(count_runs(tpath("runs")), 1);
	char *info = slurp(tpath("info")), *env = slurp(tpath("env"));
	CHECK_HAS(info, "\"apiVersion\":\"client.authentication.k8s.io/v1\"");
	CHECK_HAS(info, "\"kind\":\"ExecCredential\"");
	CHECK_HAS(info, "\"interactive\":false");
	CHECK_STR(env, "from-kubeconfig");
	free(info);
	free(env);
	n4j_kube_creds_invalidate(cl, gen); /* a 401 re-runs the plugin */
	CHECK_INT(n4j_kube_creds_get(cl, &cr, &e), 0);
	CHECK_STR(cr.token, "tok-2");
	n4j_kube_creds_free(&cr);
	n4j_kube_client_free(cl);
	n4j_kube_config_free(c);

	/* Expired at once (5 s from now is inside the refresh margin): re-run every time. */
	snprintf(kc, sizeof(kc),
		 "current-context: x\ncontexts: [{name: x, context: {cluster: k, user: u}}]\n"
		 "clusters: [{name: k, cluster: {server: 'https://127.0.0.1:1'}}]\n"
		 "users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1beta1,"
		 " command: '%s', args: ['5']}}}]\n",
		 tpath("plugin.sh"));
	c = parse(kc, NULL, &err);
	cl = NULL;
	CHECK(c && n4j_kube_client_new(c, NULL, &cl, &err) == 0);
	if (cl) {
		CHECK_INT(n4j_kube_creds_get(cl, &cr, &e), 0);
		CHECK_STR(cr.token, "tok-3");
		n4j_kube_creds_free(&cr);
		CHECK_INT(n4j_kube_creds_get(cl, &cr, &e), 0);
		CHECK_STR(cr.token, "tok-4");
		n4j_kube_creds_free(&cr);
		info = slurp(tpath("info"));
		CHECK_HAS(info, "client.authentication.k8s.io/v1beta1");
		free(info);
		n4j_kube_client_free(cl);
	}
	n4j_kube_config_free(c);

	/* A failing plugin and a plugin printing garbage give clear errors. */
	write_text(tpath("bad.sh"), "#!/bin/sh\necho nope\nexit 3\n");
	chmod(tpath("bad.sh"), 0700);
	write_text(tpath("garbage.sh"), "#!/bin/sh\necho '{\"kind\":\"Other\"}'\n");
	chmod(tpath("garbage.sh"), 0700);
	const char *names[] = {"bad.sh", "garbage.sh", "does-not-exist.sh"};
	const char *want[] = {"exit status 3", "not an ExecCredential", "does-not-exist.sh"};
	for (int i = 0; i < 3; i++) {
		snprintf(kc, sizeof(kc),
			 "current-context: x\ncontexts: [{name: x, context: {cluster: k, user: "
			 "u}}]\n"
			 "clusters: [{name: k, cluster: {server: 'https://127.0.0.1:1'}}]\n"
			 "users: [{name: u, user: {exec: {apiVersion: "
			 "client.authentication.k8s.io/v1, command: '%s'}}}]\n",
			 tpath(names[i]));
		c = parse(kc, NULL, &err);
		cl = NULL;
		CHECK(c && n4j_kube_client_new(c, NULL, &cl, &err) == 0);
		if (cl) {
			CHECK(n4j_kube_creds_get(cl, &cr, &e) != 0);
			CHECK_INT(e.reason, N4J_KUBE_UNAUTHORIZED);
			CHECK_HAS(e.base.msg, want[i]);
			n4j_kube_client_free(cl);
		}
		n4j_kube_config_free(c);
	}
	/* ExecCredential parsing on its own. */
	struct n4j_exec_cred ec;
	const char *ok = "{\"kind\":\"ExecCredential\",\"status\":{\"clientCertificateData\":"
			 "\"-----BEGIN CERTIFICATE-----\",\"clientKeyData\":\"K\","
			 "\"expirationTimestamp\":\"2030-01-02T03:04:05.123+01:00\"}}";
	CHECK_INT(n4j_kube_exec_parse(ok, strlen(ok), &ec, &err), 0);
	CHECK_STR(ec.cert_pem, "-----BEGIN CERTIFICATE-----");
	CHECK_INT(ec.expires, 1893549845);
	n4j_exec_cred_free(&ec);
	const char *bad = "{\"kind\":\"ExecCredential\",\"status\":{}}";
	CHECK(n4j_kube_exec_parse(bad, strlen(bad), &ec, &err) != 0);
	CHECK_HAS(err.msg, "neither a token");
}

static void test_in_cluster(void)
{
	const char *root = tpath("sa");
	mkdir(root, 0700);
	struct n4j_error err;
	struct n4j_kube_config *c = NULL;
	unsetenv("KUBERNETES_SERVICE_HOST");
	CHECK_INT(n4j_kube_config_in_cluster(root, &c, &err), N4J_ENOTFOUND);
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "6443", 1);
	CHECK(n4j_kube_config_in_cluster(root, &c, &err) != 0); /* no token yet */
	write_text(tpath("sa/token"), "token-one\n");
	write_text(tpath("sa/ca.crt"), "SACA\n");
	write_text(tpath("sa/namespace"), "neo4j-system");
	CHECK_INT(n4j_kube_config_in_cluster(root, &c, &err), 0);
	if (!c)
		return;
	CHECK_STR(c->server, "https://[fd00::1]:6443");
	CHECK_STR(c->ca_pem, "SACA\n");
	CHECK_STR(c->namespace_, "neo4j-system");
	CHECK_STR(c->token, "token-one");
	CHECK(c->in_cluster && c->context_name == NULL);
	struct n4j_kube_client *cl = NULL;
	CHECK_INT(n4j_kube_client_new(c, NULL, &cl, &err), 0);
	if (cl) {
		struct n4j_kube_creds cr;
		struct n4j_kube_error e;
		CHECK_INT(n4j_kube_creds_get(cl, &cr, &e), 0);
		CHECK_STR(cr.token, "token-one");
		uint64_t gen = cr.generation;
		n4j_kube_creds_free(&cr);
		/* The kubelet rotates the token: not seen within the 60 s window ... */
		write_text(tpath("sa/token"), "token-two\n");
		CHECK_INT(n4j_kube_creds_get(cl, &cr, &e), 0);
		CHECK_STR(cr.token, "token-one");
		n4j_kube_creds_free(&cr);
		/* ... but after a 401 ... */
		n4j_kube_creds_invalidate(cl, gen);
		CHECK_INT(n4j_kube_creds_get(cl, &cr, &e), 0);
		CHECK_STR(cr.token, "token-two");
		n4j_kube_creds_free(&cr);
		/* ... and once the window has passed. */
		write_text(tpath("sa/token"), "token-three\n");
		cl->token_reread_s = 0;
		CHECK_INT(n4j_kube_creds_get(cl, &cr, &e), 0);
		CHECK_STR(cr.token, "token-three");
		n4j_kube_creds_free(&cr);
		/* A briefly missing file keeps the last token. */
		unlink(tpath("sa/token"));
		CHECK_INT(n4j_kube_creds_get(cl, &cr, &e), 0);
		CHECK_STR(cr.token, "token-three");
		n4j_kube_creds_free(&cr);
		n4j_kube_client_free(cl);
	}
	n4j_kube_config_free(c);
	setenv("KUBERNETES_SERVICE_PORT", "6443x", 1);
	c = NULL;
	CHECK_INT(n4j_kube_config_in_cluster(root, &c, &err), N4J_EINVAL);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
}

int main(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/n4j-kubeconfig-XXXXXX");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	unsetenv("KUBECONFIG");
	test_basic();
	test_paths();
	test_merge();
	test_invalid();
	test_exec();
	test_in_cluster();
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmp);
	TDONE();
}
