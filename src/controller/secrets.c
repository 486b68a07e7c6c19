/*
 * The admin Secret (DESIGN §2, §8.16): read by name, never listed or watched. A generated
 * one is created once with a random password and never rewritten; a user's one is only
 * read. The password leaves this file only to the Bolt handle; every copy is wiped.
 */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "controller/internal.h"

/* 64 characters: a random byte's low 6 bits pick one without bias. No '/', no newline. */
static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int ctl_password_generate(char out[CTL_PASSWORD_LEN + 1])
{
	unsigned char raw[CTL_PASSWORD_LEN];
	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		out[0] = '\0';
		return N4J_EIO;
	}
	for (size_t i = 0; i < CTL_PASSWORD_LEN; i++)
		out[i] = alphabet[raw[i] & 63];
	out[CTL_PASSWORD_LEN] = '\0';
	n4j_wipe(raw, sizeof(raw));
	return 0;
}

char *ctl_secret_value(const cJSON *secret, const char *key)
{
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(secret, "data");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(data, key);
	if (!cJSON_IsString(v))
		return NULL;
	size_t len = strlen(v->valuestring);
	if (len % 4)
		return NULL;
	char *out = malloc(len / 4 * 3 + 1);
	if (!out)
		return NULL;
	int n = len ? EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)v->valuestring,
				      (int)len)
		    : 0;
	if (n < 0) {
		n4j_wipe_free(out);
		return NULL;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	for (size_t i = len; i > 0 && v->valuestring[i - 1] == '='; i--)
		n--;
	out[n] = '\0';
	/* A password with a NUL inside cannot be passed on: treat it as absent. */
	if (strlen(out) != (size_t)n) {
		n4j_wipe(out, (size_t)n);
		free(out);
		return NULL;
	}
	return out;
}

/* data: {key: base64(pw)} added to obj (a copy of the rendered Secret, or a patch). */
static int add_data(cJSON *obj, const char *key, const char *pw)
{
	unsigned char b64[((CTL_PASSWORD_LEN + 2) / 3) * 4 + 1];
	EVP_EncodeBlock(b64, (const unsigned char *)pw, (int)strlen(pw));
	cJSON *data = cJSON_AddObjectToObject(obj, "data");
	int rc = data && cJSON_AddStringToObject(data, key, (const char *)b64) ? 0 : N4J_ENOMEM;
	n4j_wipe(b64, sizeof(b64));
	return rc;
}

static int fill_generated(struct n4j_controller *c, const struct n4j_cluster *cl,
			  const cJSON *rendered, bool exists, char **password,
			  struct n4j_kube_error *e)
{
	char pw[CTL_PASSWORD_LEN + 1];
	int rc = ctl_password_generate(pw);
	if (rc)
		return n4j_err(&e->base, rc, "admin Secret: no random bytes");
	const char *key = cl->spec.admin_secret_key;
	cJSON *body = exists ? cJSON_CreateObject() : cJSON_Duplicate(rendered, true);
	if (!body || add_data(body, key, pw)) {
		n4j_wipe(pw, sizeof(pw));
		n4j_json_wipe_delete(body);
		return n4j_err(&e->base, N4J_ENOMEM, "admin Secret: out of memory");
	}
	cJSON *resp = NULL;
	/* Never server-side applied: an apply without data would take the data away. */
	rc = exists ? n4j_kube_merge_patch(c->cfg.kube, &N4J_RES_SECRETS, cl->meta.namespace_,
					   cl->spec.admin_secret, NULL, body, &resp, e)
		    : n4j_kube_create(c->cfg.kube, &N4J_RES_SECRETS, cl->meta.namespace_, body,
				      &resp, e);
	n4j_json_wipe_delete(body);
	n4j_json_wipe_delete(resp);
	if (!rc) {
		*password = strdup(pw);
		if (!*password)
			rc = n4j_err(&e->base, N4J_ENOMEM, "admin Secret: out of memory");
		else
			n4j_log_info(CTL, "generated the admin password",
				     N4J_STR("namespace", cl->meta.namespace_),
				     N4J_STR("name", cl->spec.admin_secret));
	}
	n4j_wipe(pw, sizeof(pw));
	return rc;
}

int ctl_admin_password(struct n4j_controller *c, const struct n4j_cluster *cl,
		       const cJSON *rendered, char **password, enum ctl_secret_result *res,
		       struct n4j_kube_error *e)
{
	*password = NULL;
	*res = CTL_SECRET_OK;
	const struct n4j_cluster_spec *s = &cl->spec;
	cJSON *sec = NULL;
	int rc = n4j_kube_get(c->cfg.kube, &N4J_RES_SECRETS, cl->meta.namespace_, s->admin_secret,
			      &sec, e);
	if (rc && e->reason != N4J_KUBE_NOT_FOUND)
		return rc;
	bool exists = rc == 0;
	if (exists) {
		*password = ctl_secret_value(sec, s->admin_secret_key);
		/* The pod reads it with $(cat …), which drops trailing newlines (an edited
		 * Secret often ends with one, helm-charts #178): log in with what Neo4j got. */
		for (size_t n = *password ? strlen(*password) : 0;
		     n > 0 && (*password)[n - 1] == '\n'; n--)
			(*password)[n - 1] = '\0';
		if (*password && !**password) {
			n4j_wipe_free(*password);
			*password = NULL;
		}
		const char *gen = ctl_annotation(sec, N4J_ANN_GENERATED_PW);
		bool ours = gen && strcmp(gen, "true") == 0;
		n4j_json_wipe_delete(sec);
		if (*password)
			return 0;
		/* Our generated Secret without its key (e.g. applied from `render`): fill it
		 * once; a user's Secret is never written. */
		if (!(s->admin_secret_generated && ours)) {
			*res = CTL_SECRET_NO_KEY;
			return 0;
		}
	}
	if (!s->admin_secret_generated) {
		*res = CTL_SECRET_MISSING;
		return 0;
	}
	if (!rendered)
		return n4j_err(&e->base, N4J_EINVAL, "admin Secret: not rendered");
	rc = fill_generated(c, cl, rendered, exists, password, e);
	if (rc && !exists && e->reason == N4J_KUBE_ALREADY_EXISTS) {
		/* Created meanwhile (a previous reconcile whose answer was lost): read it. */
		if (!(rc = n4j_kube_get(c->cfg.kube, &N4J_RES_SECRETS, cl->meta.namespace_,
					s->admin_secret, &sec, e))) {
			*password = ctl_secret_value(sec, s->admin_secret_key);
			n4j_json_wipe_delete(sec);
			if (!*password)
				*res = CTL_SECRET_NO_KEY;
		}
	}
	return rc;
}
