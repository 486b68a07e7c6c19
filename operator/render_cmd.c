/* `neo4j-operator render`: files → validated CRs → objects on stdout. */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "operator/cli.h"
#include "render/render.h"

#define MAX_FILES      64
#define MAX_BACKUP_DBS 64
#define MAX_INPUT      (16u << 20)

const char *n4j_render_version(void)
{
	return N4J_RENDER_VERSION;
}

struct input {
	const char *file;
	int index; /* document number within the file, from 1 */
	const cJSON *doc;
	enum n4j_kind kind;
	struct n4j_cluster cluster;
	struct n4j_backup backup;
	bool ok;
};

struct render_run {
	struct n4j_arena *arena;
	struct n4j_schemas *schemas;
	cJSON *parsed[MAX_FILES];
	const char *parsed_file[MAX_FILES];
	size_t n_parsed;
	struct input *inputs;
	size_t n_inputs;
	FILE *diag;
	int problems;
	bool defaults_only; /* `defaults`: print the defaulted CRs instead of rendering */
};

static const char *kind_name(enum n4j_kind k)
{
	return k == N4J_CLUSTER ? N4J_KIND_CLUSTER : N4J_KIND_BACKUP;
}

static void report(struct render_run *r, const struct input *in, const struct n4j_problems *p)
{
	const cJSON *nm = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(in->doc, "metadata"), "name");
	const char *name = cJSON_IsString(nm) ? nm->valuestring : NULL;
	for (size_t i = 0; i < p->n; i++) {
		if (name)
			fprintf(r->diag, "%s: %s/%s: %s: %s\n", in->file, kind_name(in->kind), name,
				p->items[i].path, p->items[i].message);
		else
			fprintf(r->diag, "%s: %s (document %d): %s: %s\n", in->file,
				kind_name(in->kind), in->index, p->items[i].path,
				p->items[i].message);
	}
	r->problems += (int)p->n;
}

static int read_inputs(struct render_run *r, const char **files, size_t n_files)
{
	size_t total = 0;
	for (size_t f = 0; f < n_files; f++) {
		char *buf;
		size_t len;
		struct n4j_error err = {0};
		if (n4j_read_file(files[f], MAX_INPUT, &buf, &len, &err)) {
			fprintf(r->diag, "%s\n", err.msg);
			r->problems++;
			continue;
		}
		cJSON *docs;
		int rc = n4j_yaml_parse(buf, len, &docs, &err);
		free(buf);
		if (rc) {
			fprintf(r->diag, "%s: %s\n", files[f], err.msg);
			r->problems++;
			continue;
		}
		r->parsed_file[r->n_parsed] = files[f];
		r->parsed[r->n_parsed++] = docs;
		total += (size_t)cJSON_GetArraySize(docs);
	}
	r->inputs = n4j_arena_calloc(r->arena, total + 1, sizeof(*r->inputs));
	if (!r->inputs)
		return N4J_ENOMEM;
	for (size_t f = 0; f < r->n_parsed; f++) {
		int idx = 0;
		const cJSON *d;
		cJSON_ArrayForEach(d, r->parsed[f])
		{
			struct input *in = &r->inputs[r->n_inputs++];
			in->file = r->parsed_file[f];
			in->index = ++idx;
			in->doc = d;
			in->kind = n4j_kind_of(d);
			if (!cJSON_IsObject(d)) {
				fprintf(r->diag,
					"%s: document %d: parse error: a Kubernetes object must be "
					"a "
					"mapping, not a %s\n",
					in->file, in->index, cJSON_IsArray(d) ? "list" : "scalar");
				r->problems++;
			} else if (in->kind == N4J_KIND_UNKNOWN) {
				const cJSON *av = cJSON_GetObjectItemCaseSensitive(d, "apiVersion");
				const cJSON *k = cJSON_GetObjectItemCaseSensitive(d, "kind");
				fprintf(r->diag,
					"%s: document %d: apiVersion/kind: \"%.64s/%.64s\" is not "
					"%s %s or %s\n",
					in->file, in->index,
					cJSON_IsString(av) ? av->valuestring : "(none)",
					cJSON_IsString(k) ? k->valuestring : "(none)",
					N4J_API_VERSION, N4J_KIND_CLUSTER, N4J_KIND_BACKUP);
				r->problems++;
			}
		}
	}
	return 0;
}

/*
 * An input without a Neo4jCluster or Neo4jBackup is an error, as `kubectl apply` reports
 * "no objects passed to apply": an emptied file or a wrong path must not pass as a
 * successful render of nothing. Every file read is named.
 */
static void no_custom_resource(struct render_run *r, const char *cmd)
{
	for (size_t i = 0; i < r->n_inputs; i++)
		if (r->inputs[i].kind == N4J_CLUSTER || r->inputs[i].kind == N4J_BACKUP)
			return;
	for (size_t f = 0; f < r->n_parsed; f++) {
		fprintf(r->diag, "%s: no %s or %s in the input (no objects passed to %s)\n",
			r->parsed_file[f], N4J_KIND_CLUSTER, N4J_KIND_BACKUP, cmd);
		r->problems++;
	}
}

static struct input *find_cluster(struct render_run *r, const char *ns, const char *name)
{
	for (size_t i = 0; i < r->n_inputs; i++) {
		struct input *in = &r->inputs[i];
		if (in->kind == N4J_CLUSTER && in->ok && strcmp(in->cluster.meta.name, name) == 0 &&
		    strcmp(in->cluster.meta.namespace_, ns) == 0)
			return in;
	}
	return NULL;
}

static int load_all(struct render_run *r)
{
	/* Clusters first: a backup needs its cluster, wherever it appears in the input. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < r->n_inputs; i++) {
			struct input *in = &r->inputs[i];
			if (in->kind != (pass == 0 ? N4J_CLUSTER : N4J_BACKUP))
				continue;
			struct n4j_problems p;
			struct n4j_error err = {0};
			n4j_problems_init(&p, r->arena);
			int rc = pass == 0 ? n4j_cluster_load(r->arena, r->schemas, in->doc,
							      &in->cluster, &p, &err)
					   : n4j_backup_load(r->arena, r->schemas, in->doc,
							     &in->backup, &p, &err);
			if (rc == 0 && pass == 1 && !r->defaults_only) {
				const struct n4j_backup *b = &in->backup;
				struct input *c =
					find_cluster(r, b->meta.namespace_, b->spec.cluster);
				if (!c)
					rc = n4j_problem_add(
						&p, "spec.clusterRef.name",
						"Neo4jCluster %s/%s is not in the input; render it "
						"together with its cluster (add -f CLUSTER.yaml)",
						b->meta.namespace_, b->spec.cluster);
				else
					rc = n4j_backup_check_cluster(b, &c->cluster, &p);
				if (rc == 0 && p.n)
					rc = N4J_EINVAL;
			}
			if (p.n) {
				report(r, in, &p);
			} else if (rc == N4J_ENOMEM) {
				return rc;
			} else if (rc) {
				fprintf(r->diag, "%s: document %d: %s\n", in->file, in->index,
					err.msg);
				r->problems++;
			}
			in->ok = rc == 0;
		}
	}
	return 0;
}

/*
 * A cluster restored from a Neo4jBackup (spec.restore.backupRef) reads the seed with that
 * backup's endpoint and region, as the controller does: taken from the Neo4jBackup when it
 * is in the input (offline there is no other place to look it up).
 */
static void seed_facts(const struct render_run *r, const struct n4j_cluster *c,
		       struct n4j_render_facts *f)
{
	const char *ref = c->spec.restore.backup_ref;
	if (!c->spec.restore.present || !ref)
		return;
	for (size_t i = 0; i < r->n_inputs; i++) {
		const struct input *in = &r->inputs[i];
		if (in->kind != N4J_BACKUP || !in->ok || strcmp(in->backup.meta.name, ref) != 0 ||
		    strcmp(in->backup.meta.namespace_, c->meta.namespace_) != 0)
			continue;
		f->seed_endpoint = in->backup.spec.target.endpoint;
		f->seed_region = in->backup.spec.target.region;
	}
}

static int render_all(struct render_run *r, const struct n4j_render_facts *facts, cJSON *out)
{
	for (size_t i = 0; i < r->n_inputs; i++) {
		struct input *in = &r->inputs[i];
		struct n4j_error err = {0};
		int rc = 0;
		if (r->defaults_only) {
			const cJSON *j =
				in->kind == N4J_CLUSTER ? in->cluster.json : in->backup.json;
			cJSON *copy = cJSON_Duplicate(j, true);
			if (!copy)
				return N4J_ENOMEM;
			cJSON_AddItemToArray(out, copy);
		} else if (in->kind == N4J_CLUSTER) {
			struct n4j_render_facts cf = *facts;
			seed_facts(r, &in->cluster, &cf);
			rc = n4j_render_cluster(&in->cluster, &cf, out, &err);
		} else if (in->kind == N4J_BACKUP) {
			struct input *c = find_cluster(r, in->backup.meta.namespace_,
						       in->backup.spec.cluster);
			rc = n4j_render_backup(&in->backup, &c->cluster, facts, out, &err);
		}
		if (rc) {
			fprintf(r->diag, "%s: document %d: render failed: %s\n", in->file,
				in->index, err.msg);
			return rc;
		}
	}
	return 0;
}

static int usage_error(FILE *diag, const char *msg)
{
	fprintf(diag, "neo4j-operator: %s (see neo4j-operator --help)\n", msg);
	return N4J_EXIT_INVALID;
}

int n4j_cmd_render(int argc, char **argv, FILE *out, FILE *diag)
{
	const char *files[MAX_FILES];
	size_t n_files = 0;
	const char *format = "yaml";
	struct n4j_render_facts facts;
	n4j_render_facts_default(&facts);
	const char *dbs[MAX_BACKUP_DBS];
	size_t n_dbs = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool has_val = i + 1 < argc;
		if ((strcmp(a, "-f") == 0 || strcmp(a, "--filename") == 0) && has_val) {
			if (n_files == MAX_FILES)
				return usage_error(diag, "too many files");
			files[n_files++] = argv[++i];
		} else if ((strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) && has_val) {
			format = argv[++i];
		} else if (strcmp(a, "--cluster-domain") == 0 && has_val) {
			facts.cluster_domain = argv[++i];
		} else if (strcmp(a, "--operator-namespace") == 0 && has_val) {
			facts.operator_namespace = argv[++i];
		} else if (strcmp(a, "--no-cert-manager") == 0) {
			facts.has_cert_manager = false;
		} else if (strcmp(a, "--no-service-monitor") == 0) {
			facts.has_service_monitor = false;
		} else if (strcmp(a, "--operator-image") == 0 && has_val) {
			facts.operator_image = argv[++i];
		} else if (strcmp(a, "--backup-database") == 0 && has_val) {
			/* As the controller expands them from the cluster's status.databases. */
			if (n_dbs == MAX_BACKUP_DBS)
				return usage_error(diag, "too many --backup-database");
			dbs[n_dbs++] = argv[++i];
			facts.backup_databases = dbs;
			facts.n_backup_databases = n_dbs;
		} else {
			fprintf(diag, "neo4j-operator %s: unexpected argument '%s'\n", argv[0], a);
			return usage_error(diag, "usage: render|defaults -f FILE [-o yaml|json]");
		}
	}
	if (n_files == 0)
		return usage_error(diag, "no input: give -f FILE");
	if (strcmp(format, "yaml") != 0 && strcmp(format, "json") != 0)
		return usage_error(diag, "-o must be yaml or json");

	struct render_run r = {.diag = diag, .defaults_only = strcmp(argv[0], "defaults") == 0};
	struct n4j_error err = {0};
	int exit_code = N4J_EXIT_OK;
	cJSON *objects = NULL;
	struct n4j_buf text;
	n4j_buf_init(&text);
	r.arena = n4j_arena_new();
	if (!r.arena || n4j_schemas_load(&r.schemas, &err)) {
		fprintf(diag, "neo4j-operator: loading the embedded CRDs failed: %s\n", err.msg);
		exit_code = N4J_EXIT_INTERNAL;
		goto done;
	}
	if (read_inputs(&r, files, n_files)) {
		exit_code = N4J_EXIT_INTERNAL;
		goto done;
	}
	no_custom_resource(&r, argv[0]);
	if (load_all(&r)) {
		exit_code = N4J_EXIT_INTERNAL;
		goto done;
	}
	if (r.problems) {
		exit_code = N4J_EXIT_INVALID;
		goto done;
	}
	objects = cJSON_CreateArray();
	if (!objects || render_all(&r, &facts, objects)) {
		exit_code = N4J_EXIT_INTERNAL;
		goto done;
	}
	int rc = strcmp(format, "json") == 0 ? n4j_emit_json_list(objects, &text)
					     : n4j_emit_yaml(objects, &text);
	if (rc || !n4j_buf_cstr(&text)) {
		fprintf(diag, "neo4j-operator: output failed: %s\n", n4j_strerror(rc));
		exit_code = N4J_EXIT_INTERNAL;
		goto done;
	}
	if (fwrite(text.data, 1, text.len, out) != text.len || fflush(out) != 0) {
		fprintf(diag, "neo4j-operator: writing the output failed\n");
		exit_code = N4J_EXIT_INTERNAL;
	}
done:
	n4j_buf_free(&text);
	cJSON_Delete(objects);
	for (size_t i = 0; i < r.n_parsed; i++)
		cJSON_Delete(r.parsed[i]);
	n4j_schemas_free(r.schemas);
	n4j_arena_free(r.arena);
	return exit_code;
}
