/* The reason on the refused program's stderr. See feedback.h. */
#include "guard/feedback.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

int feedback_to_stderr(pid_t pid, const char *rule, const char *reason)
{
	char line[2304];
	int pidfd, fd, n, rc = -1;

	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return -1;
	fd = (int)syscall(SYS_pidfd_getfd, pidfd, 2, 0);
	close(pidfd);
	if (fd < 0)
		return -1;
	n = snprintf(line, sizeof(line), "agenttrail: refused by policy rule '%s': %s\n", rule,
		     reason);
	if (n > (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 1;
	/* our copy of the descriptor: never wait on a reader that is not reading */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0 && write(fd, line, (size_t)n) == n)
		rc = 0;
	close(fd);
	return rc;
}
