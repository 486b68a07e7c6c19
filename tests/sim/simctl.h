/* The simulator tests' side of the control socket: one command, the whole reply. */
#ifndef N4J_SIMCTL_H
#define N4J_SIMCTL_H

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* 0, or -1 when unreachable or the reply starts with "error". */
static int sim_ctl(const char *path, const char *cmd, char *out, size_t outlen)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un su = {.sun_family = AF_UNIX};
	snprintf(su.sun_path, sizeof su.sun_path, "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&su, sizeof su)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	char line[256];
	int n = snprintf(line, sizeof line, "%s\n", cmd);
	if (write(fd, line, (size_t)n) != n) {
		close(fd);
		return -1;
	}
	size_t got = 0;
	ssize_t r;
	while (got < outlen - 1 && (r = read(fd, out + got, outlen - 1 - got)) > 0)
		got += (size_t)r;
	out[got] = '\0';
	close(fd);
	return strncmp(out, "error", 5) == 0 ? -1 : 0;
}

#endif
