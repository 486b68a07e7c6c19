/* Starts test servers (stub, simulator) as child processes and waits for "READY". */
#ifndef N4J_STUBRUN_H
#define N4J_STUBRUN_H

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* fork+exec argv; waits up to 10 s for a line starting with READY on stdout. pid or -1. */
static pid_t child_start(char *const argv[])
{
	int p[2];
	if (pipe(p))
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		/* N4J_CHILD_WRAPPER (e.g. "valgrind -q --error-exitcode=1") runs servers under
		 * a tool too */
		const char *wrap = getenv("N4J_CHILD_WRAPPER");
		if (wrap && *wrap) {
			char *sh[64] = {"/bin/sh", "-c", "exec $N4J_CHILD_WRAPPER \"$@\"", "sh"};
			int k = 4;
			for (int i = 0; argv[i] && k < 63; i++)
				sh[k++] = argv[i];
			sh[k] = NULL;
			execv(sh[0], sh);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	char buf[256];
	size_t n = 0;
	struct pollfd pf = {.fd = p[0], .events = POLLIN};
	while (n < sizeof buf - 1 && poll(&pf, 1, 10000) > 0) {
		ssize_t r = read(p[0], buf + n, sizeof buf - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
		if (strstr(buf, "READY") && strchr(buf, '\n'))
			break;
	}
	close(p[0]);
	buf[n] = '\0';
	if (!strstr(buf, "READY")) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	return pid;
}

/* Exit status within timeout_ms, else kills it and returns -1. */
static int child_wait(pid_t pid, int timeout_ms)
{
	for (int waited = 0;; waited += 20) {
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (waited >= timeout_ms)
			break;
		struct timespec ts = {0, 20 * 1000000};
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

static long mono_ms(void)
{
	return (long)n4j_now_ms();
}

#endif
