/* The Neo4jBackup rules (ids B1.. of docs/api.md), mirroring crds/neo4jbackups.yaml. */
#include <stdio.h>
#include <string.h>

#include "api/internal.h"

/* CEL: self.matches('^[^[:space:]]+([[:space:]]+[^[:space:]]+){4}$') && !self.contains('TZ') */
static bool cron_ok(const char *s)
{
	if (strstr(s, "TZ"))
		return false;
	int fields = 0;
	bool in_field = false;
	for (const char *c = s; *c; c++) {
		bool ws = *c == ' ' || *c == '\t' || *c == '\n' || *c == '\r' || *c == '\v' ||
			  *c == '\f';
		if (ws) {
			if (fields == 0)
				return false; /* leading whitespace */
			in_field = false;
		} else if (!in_field) {
			fields++;
			in_field = true;
		}
	}
	return fields == 5 && in_field; /* no trailing whitespace */
}

/* 'UTC' or ^[A-Z][A-Za-z_+-]*(/[A-Za-z0-9_+-]+)+$ */
static bool tz_ok(const char *s)
{
	if (strcmp(s, "UTC") == 0)
		return true;
	if (!(*s >= 'A' && *s <= 'Z'))
		return false;
	const char *c = s + 1;
	for (; *c && *c != '/'; c++)
		if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || *c == '_' ||
		      *c == '+' || *c == '-'))
			return false;
	int segs = 0;
	while (*c == '/') {
		c++;
		const char *start = c;
		for (; *c && *c != '/'; c++)
			if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
			      (*c >= '0' && *c <= '9') || *c == '_' || *c == '+' || *c == '-'))
				return false;
		if (c == start)
			return false;
		segs++;
	}
	return segs > 0 && *c == '\0';
}

static bool prefixed(const char *s, const char *prefix)
{
	return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

int n4j_backup_rules(const cJSON *doc, struct n4j_problems *p)
{
	const cJSON *spec = n4j_jget(doc, "spec");
	if (!cJSON_IsObject(spec))
		return 0;
	static const char *const kinds[] = {"pvc", "s3", "gcs", "azure"};
	if (n4j_jhas(spec, "target")) {
		int n = 0;
		for (int i = 0; i < 4; i++) {
			char path[32];
			snprintf(path, sizeof(path), "target.%s", kinds[i]);
			n += n4j_jhas(spec, path);
		}
		if (n != 1)
			N4J_PROBLEM("spec.target",
				    "target needs exactly one of pvc, s3, gcs or azure");
	}
	const char *sched = n4j_jstr(spec, "schedule");
	if (sched && !cron_ok(sched))
		N4J_PROBLEM("spec.schedule",
			    "schedule must be a 5-field cron expression without TZ= or CRON_TZ=");
	const char *tz = n4j_jstr(spec, "timeZone");
	if (tz && !tz_ok(tz))
		N4J_PROBLEM("spec.timeZone",
			    "timeZone must be an IANA name such as Europe/Berlin or UTC");
	if (tz && !n4j_jhas(spec, "schedule"))
		N4J_PROBLEM("spec.timeZone", "timeZone requires schedule");
	if (n4j_jbool(spec, "suspend", false) && !n4j_jhas(spec, "schedule"))
		N4J_PROBLEM("spec.suspend", "suspend requires schedule");
	const char *uri;
	if ((uri = n4j_jstr(spec, "target.s3.uri")) && !prefixed(uri, "s3://"))
		N4J_PROBLEM("spec.target.s3.uri", "s3 uri must start with s3://");
	if ((uri = n4j_jstr(spec, "target.gcs.uri")) && !prefixed(uri, "gs://"))
		N4J_PROBLEM("spec.target.gcs.uri", "gcs uri must start with gs://");
	if ((uri = n4j_jstr(spec, "target.azure.uri")) && !prefixed(uri, "azb://"))
		N4J_PROBLEM("spec.target.azure.uri", "azure uri must start with azb://");
	const cJSON *dbs = n4j_jarr(spec, "databases"), *d, *e;
	bool dup = false;
	cJSON_ArrayForEach(d, dbs)
	{
		for (e = dbs->child; e != d; e = e->next)
			dup |= cJSON_Compare(d, e, true);
	}
	if (dup)
		N4J_PROBLEM("spec.databases", "databases must be unique");
	const char *cluster = n4j_jstr(spec, "clusterRef.name");
	if (cluster && !n4j_dns_label_ok(cluster, 63))
		N4J_PROBLEM("spec.clusterRef.name", "clusterRef.name must be a DNS-1123 name");
	return 0;
}
