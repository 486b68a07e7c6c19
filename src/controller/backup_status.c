/*
 * The pure half of the Neo4jBackup status: a Job and its pods as one run (result, the
 * retention report of contract §C, the failure's reason and message), the history merged
 * with the live one so that runs outlive their Jobs (the CronJob keeps only 3 + 3), the
 * overdue rule, and the status patch that is sent only when something changed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/internal.h"

/* ---- the retention report (contract §C) --------------------------------------------- */

#define REPORT_MAX      4096 /* the kubelet keeps 4096 bytes of a termination message */
#define REPORT_LIST_MAX 128

static const char *jstr(const cJSON *o, const char *k)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

/* A non-negative integer JSON number, or -1. */
static int64_t jint(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9.0e15 ||
	    v->valuedouble != (double)(int64_t)v->valuedouble)
		return -1;
	return (int64_t)v->valuedouble;
}

static int str_list(struct n4j_arena *a, const cJSON *arr, const char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!arr)
		return 0;
	if (!cJSON_IsArray(arr))
		return N4J_EPARSE;
	size_t len = (size_t)cJSON_GetArraySize(arr);
	if (len > REPORT_LIST_MAX)
		len = REPORT_LIST_MAX;
	*out = n4j_arena_calloc(a, len + 1, sizeof(**out));
	if (!*out)
		return N4J_ENOMEM;
	const cJSON *it;
	cJSON_ArrayForEach(it, arr)
	{
		if (*n == len)
			break;
		if (!cJSON_IsString(it) || !*it->valuestring || strlen(it->valuestring) > 253)
			return N4J_EPARSE;
		if (!((*out)[(*n)++] = n4j_arena_strdup(a, it->valuestring)))
			return N4J_ENOMEM;
	}
	return 0;
}

int ctl_backup_report_parse(struct n4j_arena *a, const char *msg, size_t len,
			    struct ctl_backup_report *out, struct n4j_error *err)
{
	memset(out, 0, sizeof(*out));
	if (!msg || !len)
		return n4j_err(err, N4J_EPARSE, "retention report: empty");
	if (len > REPORT_MAX)
		return n4j_err(err, N4J_ELIMIT, "retention report: longer than %d bytes",
			       REPORT_MAX);
	/* The message may end with a newline, and be the log tail of a failed tool: the
	 * report is the last line that parses. */
	cJSON *j = cJSON_ParseWithLength(msg, len);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return n4j_err(err, N4J_EPARSE, "retention report: not a JSON object");
	}
	int rc = ctl_arena_json(a, j);
	if (rc)
		return n4j_err(err, rc, "retention report: out of memory");
	if (jint(j, "v") != 1)
		return n4j_err(err, N4J_EPARSE, "retention report: version is not 1");
	out->bytes = jint(j, "bytes");
	int64_t kept = jint(j, "kept"), pruned = jint(j, "prunedCount");
	out->kept = kept > 1000000 ? 1000000 : (int)kept;
	out->pruned_count = pruned > 1000000 ? 1000000 : (int)pruned;
	if ((rc = str_list(a, cJSON_GetObjectItemCaseSensitive(j, "databases"), &out->databases,
			   &out->n_databases)) ||
	    (rc = str_list(a, cJSON_GetObjectItemCaseSensitive(j, "pruned"), &out->pruned,
			   &out->n_pruned)))
		return n4j_err(err, rc, "retention report: %s",
			       rc == N4J_ENOMEM ? "out of memory" : "a list is not of names");
	const cJSON *arts = cJSON_GetObjectItemCaseSensitive(j, "artifacts");
	if (arts && !cJSON_IsArray(arts))
		return n4j_err(err, N4J_EPARSE, "retention report: artifacts is not a list");
	size_t n = arts ? (size_t)cJSON_GetArraySize(arts) : 0;
	if (n > REPORT_LIST_MAX)
		n = REPORT_LIST_MAX;
	out->artifacts = n4j_arena_calloc(a, n + 1, sizeof(*out->artifacts));
	if (!out->artifacts)
		return n4j_err(err, N4J_ENOMEM, "retention report: out of memory");
	const cJSON *it;
	cJSON_ArrayForEach(it, arts)
	{
		if (out->n_artifacts == n)
			break;
		const char *name = jstr(it, "name"), *db = jstr(it, "database");
		if (!name || !*name || strlen(name) > 253 || (db && strlen(db) > 253))
			return n4j_err(err, N4J_EPARSE,
				       "retention report: an artifact has no name");
		struct n4j_backup_artifact *d = &out->artifacts[out->n_artifacts++];
		d->name = n4j_arena_strdup(a, name);
		d->database = db ? n4j_arena_strdup(a, db) : NULL;
		d->size_bytes = jint(it, "sizeBytes");
		d->full = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "full"));
		if (!d->name || (db && !d->database))
			return n4j_err(err, N4J_ENOMEM, "retention report: out of memory");
	}
	return 0;
}

/* ---- a Job as a run ----------------------------------------------------------------- */

static const cJSON *job_condition(const cJSON *job, const char *type)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, CTL_JGET(job, "status", "conditions"))
	{
		const char *t = jstr(c, "type"), *s = jstr(c, "status");
		if (t && s && strcmp(t, type) == 0 && strcmp(s, "True") == 0)
			return c;
	}
	return NULL;
}

/* The terminated state of container `name` among a pod's (init) container statuses. */
static const cJSON *terminated(const cJSON *pod, const char *list, const char *name)
{
	const cJSON *cs;
	cJSON_ArrayForEach(cs, CTL_JGET(pod, "status", list))
	{
		const char *n = jstr(cs, "name");
		if (n && strcmp(n, name) == 0)
			return CTL_JGET(cs, "state", "terminated");
	}
	return NULL;
}

static int exit_code(const cJSON *term)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(term, "exitCode");
	return cJSON_IsNumber(c) ? (int)c->valuedouble : 0;
}

/* The last CTL_FAILURE_MSG_MAX bytes of a message (the end of a log says why), on a
 * UTF-8 boundary, without trailing blanks. Never NULL. */
static const char *message_tail(struct n4j_arena *a, const char *m)
{
	if (!m)
		return "";
	size_t n = strlen(m);
	while (n && (m[n - 1] == '\n' || m[n - 1] == ' ' || m[n - 1] == '\r' || m[n - 1] == '\t'))
		n--;
	const char *s = m;
	if (n > CTL_FAILURE_MSG_MAX) {
		s = m + n - CTL_FAILURE_MSG_MAX;
		while (s < m + n && ((unsigned char)*s & 0xC0) == 0x80)
			s++;
		/* Whole lines read better: start after a line break near the cut. */
		const char *nl = memchr(s, '\n', CTL_FAILURE_MSG_MAX / 4);
		if (nl && nl + 1 < m + n)
			s = nl + 1;
	}
	char *out = n4j_arena_strndup(a, s, (size_t)(m + n - s));
	return out ? out : "";
}

/* Newest first by creationTimestamp, then name: the last attempt says the most. */
static const cJSON *newest_pod(const cJSON *const *pods, size_t n, bool failed_only)
{
	const cJSON *best = NULL;
	for (size_t i = 0; i < n; i++) {
		const char *ph = jstr(cJSON_GetObjectItemCaseSensitive(pods[i], "status"), "phase");
		if (failed_only && !(ph && strcmp(ph, "Failed") == 0))
			continue;
		const char *t =
			cJSON_GetStringValue(CTL_JGET(pods[i], "metadata", "creationTimestamp"));
		const char *bt =
			best ? cJSON_GetStringValue(CTL_JGET(best, "metadata", "creationTimestamp"))
			     : NULL;
		const char *nm = cJSON_GetStringValue(CTL_JGET(pods[i], "metadata", "name"));
		const char *bn =
			best ? cJSON_GetStringValue(CTL_JGET(best, "metadata", "name")) : NULL;
		int c = !best ? 1 : strcmp(t ? t : "", bt ? bt : "");
		if (c > 0 || (c == 0 && best && strcmp(nm ? nm : "", bn ? bn : "") > 0))
			best = pods[i];
	}
	return best;
}

/* The backup container's script says "VerifyFailed: …" when only the consistency check of
 * the new backup failed (render_backup.c); the log tail is the termination message. */
static bool verify_failure(const cJSON *term)
{
	const char *m = jstr(term, "message");
	return m && strstr(m, "VerifyFailed:");
}

static int failure_of(struct n4j_arena *a, const cJSON *job, const cJSON *const *pods,
		      size_t n_pods, struct ctl_run_obs *out)
{
	const cJSON *failed = job_condition(job, "Failed");
	const char *jreason = jstr(failed, "reason");
	if (jreason && strcmp(jreason, "DeadlineExceeded") == 0) {
		out->reason = "DeadlineExceeded";
		out->run.message = message_tail(a, jstr(failed, "message"));
		return 0;
	}
	const cJSON *pod = newest_pod(pods, n_pods, true);
	const cJSON *bt = pod ? terminated(pod, "initContainerStatuses", "backup") : NULL;
	const cJSON *rt = pod ? terminated(pod, "containerStatuses", "retention") : NULL;
	if (bt && exit_code(bt) != 0) {
		out->reason = verify_failure(bt) ? "VerifyFailed" : "BackupFailed";
		out->run.message = message_tail(a, jstr(bt, "message"));
		if (!*out->run.message)
			out->run.message = n4j_arena_printf(
				a, "the backup container exited with %d", exit_code(bt));
	} else if (rt && exit_code(rt) != 0) {
		out->reason = "RetentionFailed";
		out->run.message = message_tail(a, jstr(rt, "message"));
		if (!*out->run.message)
			out->run.message = n4j_arena_printf(
				a, "the retention container exited with %d", exit_code(rt));
	} else {
		/* No pod left to ask (or it never ran a container): the Job's own words. */
		out->reason = "BackupFailed";
		out->run.message = message_tail(a, jstr(failed, "message") ? jstr(failed, "message")
									   : jreason);
	}
	return out->run.message ? 0 : N4J_ENOMEM;
}

int ctl_backup_run_of(struct n4j_arena *a, const cJSON *job, const cJSON *const *pods,
		      size_t n_pods, struct ctl_run_obs *out)
{
	memset(out, 0, sizeof(*out));
	out->finished_s = -1;
	out->run.size_bytes = out->run.pruned = -1; /* unknown: omitted */
	out->run.name = cJSON_GetStringValue(CTL_JGET(job, "metadata", "name"));
	out->run.start_time = cJSON_GetStringValue(CTL_JGET(job, "status", "startTime"));
	const cJSON *complete = job_condition(job, "Complete");
	const cJSON *failed = job_condition(job, "Failed");
	if (!complete && !failed)
		return 0;
	out->finished = true;
	out->succeeded = complete != NULL;
	out->run.result = complete ? "Succeeded" : "Failed";
	const char *done =
		complete ? cJSON_GetStringValue(CTL_JGET(job, "status", "completionTime")) : NULL;
	if (!done)
		done = jstr(complete ? complete : failed, "lastTransitionTime");
	out->run.completion_time = done;
	int64_t ms = ctl_parse_time_ms(done);
	out->finished_s = ms < 0 ? -1 : ms / 1000;
	if (!complete)
		return failure_of(a, job, pods, n_pods, out);
	/* Succeeded: what the retention report says was written and pruned. */
	const cJSON *pod = newest_pod(pods, n_pods, false);
	const cJSON *rt = pod ? terminated(pod, "containerStatuses", "retention") : NULL;
	const char *msg = jstr(rt, "message");
	struct ctl_backup_report rep;
	struct n4j_error err = {0};
	if (!msg || ctl_backup_report_parse(a, msg, strlen(msg), &rep, &err)) {
		out->run.message = msg ? "the retention report could not be read"
				       : "no retention report (the Job's pod is gone)";
		return 0;
	}
	out->run.databases = rep.databases;
	out->run.n_databases = rep.n_databases;
	out->run.artifacts = rep.artifacts;
	out->run.n_artifacts = rep.n_artifacts;
	out->run.size_bytes = rep.bytes >= 0 ? rep.bytes : -1;
	out->run.pruned = rep.pruned_count >= 0 ? rep.pruned_count : -1;
	out->run.message =
		n4j_arena_printf(a, "%zu artifact%s written; %d kept, %d pruned", rep.n_artifacts,
				 rep.n_artifacts == 1 ? "" : "s", rep.kept > 0 ? rep.kept : 0,
				 rep.pruned_count > 0 ? rep.pruned_count : 0);
	return out->run.message ? 0 : N4J_ENOMEM;
}

/* ---- history ---------------------------------------------------------------------- */

static int cmp_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

/* Newest first: RFC 3339 UTC times of one format compare as strings. */
static int run_order(const void *pa, const void *pb)
{
	const struct n4j_backup_run *a = pa, *b = pb;
	int c = cmp_str(b->completion_time, a->completion_time);
	if (!c)
		c = cmp_str(b->start_time, a->start_time);
	if (!c)
		c = cmp_str(b->name, a->name);
	return c;
}

int ctl_backup_history_merge(struct n4j_arena *a, const struct n4j_backup_run *prev, size_t n_prev,
			     const struct n4j_backup_run *seen, size_t n_seen,
			     struct n4j_backup_run **out, size_t *n_out)
{
	*out = n4j_arena_calloc(a, n_prev + n_seen + 1, sizeof(**out));
	*n_out = 0;
	if (!*out)
		return N4J_ENOMEM;
	struct n4j_backup_run *r = *out;
	size_t n = 0;
	for (size_t i = 0; i < n_seen; i++) {
		bool dup = !seen[i].name;
		for (size_t k = 0; k < n && !dup; k++)
			dup = cmp_str(r[k].name, seen[i].name) == 0;
		if (!dup)
			r[n++] = seen[i];
	}
	for (size_t i = 0; i < n_prev; i++) {
		bool dup = !prev[i].name;
		for (size_t k = 0; k < n && !dup; k++)
			dup = cmp_str(r[k].name, prev[i].name) == 0;
		if (!dup)
			r[n++] = prev[i];
	}
	qsort(r, n, sizeof(*r), run_order);
	*n_out = n < N4J_BACKUP_HISTORY_MAX ? n : N4J_BACKUP_HISTORY_MAX;
	return 0;
}

/* ---- overdue ---------------------------------------------------------------------- */

bool ctl_backup_overdue(const struct ctl_cron *c, const struct ctl_zone *z, int64_t since_s,
			int64_t now_s, int64_t *due_s, int64_t *deadline_s)
{
	*due_s = *deadline_s = -1;
	int64_t due = ctl_cron_next(c, z, since_s);
	if (due < 0)
		return false;
	int64_t after = ctl_cron_next(c, z, due);
	if (after < 0)
		return false;
	*due_s = due;
	*deadline_s = after; /* due + one period */
	return after < now_s;
}

/* ---- the status write ------------------------------------------------------------- */

int ctl_backup_status_patch(const cJSON *live_status, const struct n4j_backup_status *st,
			    cJSON **patch, bool *changed, struct n4j_error *err)
{
	*patch = NULL;
	*changed = false;
	cJSON *want = NULL;
	int rc = n4j_backup_status_json(st, &want, err);
	return rc ? rc : ctl_status_patch_json(live_status, want, patch, changed, err);
}
