/*
 * process_* metrics as the Prometheus client libraries export them on Linux, read from
 * /proc/self at scrape time. A file that cannot be read leaves its families out rather
 * than report a zero that looks real.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "server/internal.h"

/* Reads a small /proc file whole; false when it cannot. */
static bool read_small(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	size_t n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = '\0';
	return n > 0;
}

/* btime from /proc/stat: the boot time in seconds since the epoch. */
static bool boot_time(double *out)
{
	FILE *f = fopen("/proc/stat", "re");
	if (!f)
		return false;
	char line[256];
	bool ok = false;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v;
		if (sscanf(line, "btime %llu", &v) == 1) {
			*out = (double)v;
			ok = true;
			break;
		}
	}
	fclose(f);
	return ok;
}

static long open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	long n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own descriptor, open while we count */
}

void n4j_metrics_process(struct n4j_metrics_writer *w)
{
	long page = sysconf(_SC_PAGESIZE), tck = sysconf(_SC_CLK_TCK);
	char buf[1024];

	if (read_small("/proc/self/statm", buf, sizeof(buf))) {
		unsigned long long size, resident;
		if (sscanf(buf, "%llu %llu", &size, &resident) == 2 && page > 0) {
			srv_metrics_gauge(w, "process_virtual_memory_bytes", N4J_GAUGE,
					  "Virtual memory size in bytes.",
					  (double)size * (double)page);
			srv_metrics_gauge(w, "process_resident_memory_bytes", N4J_GAUGE,
					  "Resident memory size in bytes.",
					  (double)resident * (double)page);
		}
	}

	/* The command name (field 2) may hold spaces and parentheses: fields are counted
	 * from the last ')'. utime and stime are fields 14 and 15, starttime 22. */
	const char *rp = read_small("/proc/self/stat", buf, sizeof(buf)) ? strrchr(buf, ')') : NULL;
	if (rp && tck > 0) {
		unsigned long long utime = 0, stime = 0, start = 0;
		int n = sscanf(rp + 1,
			       " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d "
			       "%*d %*d %*d %llu",
			       &utime, &stime, &start);
		if (n == 3) {
			srv_metrics_gauge(w, "process_cpu_seconds_total", N4J_COUNTER,
					  "Total user and system CPU time spent in seconds.",
					  (double)(utime + stime) / (double)tck);
			double btime;
			if (boot_time(&btime))
				srv_metrics_gauge(
					w, "process_start_time_seconds", N4J_GAUGE,
					"Start time of the process since unix epoch in seconds.",
					btime + (double)start / (double)tck);
		}
	}

	long fds = open_fds();
	if (fds >= 0)
		srv_metrics_gauge(w, "process_open_fds", N4J_GAUGE,
				  "Number of open file descriptors.", (double)fds);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		srv_metrics_gauge(
			w, "process_max_fds", N4J_GAUGE, "Maximum number of open file descriptors.",
			rl.rlim_cur == RLIM_INFINITY ? (double)INFINITY : (double)rl.rlim_cur);
}
