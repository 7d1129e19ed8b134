/* agenttrail policy reload: ask running enforcers to re-read their policy. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: agenttrail policy reload [--pid PID]\n"
		"\n"
		"Send SIGHUP to every running 'agenttrail run --policy' (or to PID): each\n"
		"re-reads its policy file; a policy with errors is refused and the running one\n"
		"stays (the reason goes to that agenttrail's stderr). Labels that processes and\n"
		"files carry are kept.\n");
}

/* Is pid an 'agenttrail run ... --policy ...'? Fills the policy path. */
static bool is_enforcer(pid_t pid, char *policy, size_t len)
{
	char path[64], buf[8192];
	bool run = false, found = false;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (n == 0 || !strstr(buf, "agenttrail"))
		return false;
	for (size_t off = strlen(buf) + 1; off < n; off += strlen(buf + off) + 1) {
		const char *a = buf + off;

		if (!strcmp(a, "--"))
			break;
		if (!strcmp(a, "run"))
			run = true;
		if (!strcmp(a, "--policy") && off + strlen(a) + 1 < n) {
			snprintf(policy, len, "%s", a + strlen(a) + 1);
			found = true;
		} else if (!strncmp(a, "--policy=", 9)) {
			snprintf(policy, len, "%s", a + 9);
			found = true;
		}
	}
	return run && found;
}

static int reload(pid_t only)
{
	char policy[4096];
	struct dirent *de;
	int sent = 0;
	DIR *d;

	if (only > 0) {
		if (!is_enforcer(only, policy, sizeof(policy))) {
			fprintf(stderr, "agenttrail policy reload: %d is not an 'agenttrail run --policy'\n",
				(int)only);
			return 1;
		}
		if (kill(only, SIGHUP)) {
			fprintf(stderr, "agenttrail policy reload: %d: %s\n", (int)only, strerror(errno));
			return 1;
		}
		printf("reload sent to %d (%s)\n", (int)only, policy);
		return 0;
	}
	d = opendir("/proc");
	if (!d) {
		perror("agenttrail policy reload: /proc");
		return 1;
	}
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0 || pid == getpid() || !is_enforcer((pid_t)pid, policy, sizeof(policy)))
			continue;
		if (kill((pid_t)pid, SIGHUP)) {
			fprintf(stderr, "agenttrail policy reload: %ld: %s\n", pid, strerror(errno));
			continue;
		}
		printf("reload sent to %ld (%s)\n", pid, policy);
		sent++;
	}
	closedir(d);
	if (!sent) {
		fprintf(stderr, "agenttrail policy reload: no running 'agenttrail run --policy'\n");
		return 1;
	}
	return 0;
}

int cmd_policy(int argc, char **argv)
{
	pid_t only = 0;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "reload")) {
		fprintf(stderr, "agenttrail policy: unknown action '%s'\n", argv[1]);
		usage(stderr);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--pid") && i + 1 < argc) {
			char *end;

			only = (pid_t)strtol(argv[++i], &end, 10);
			if (*end || only <= 0) {
				fprintf(stderr, "agenttrail policy reload: --pid: not a pid\n");
				return 2;
			}
		} else {
			usage(stderr);
			return 2;
		}
	}
	return reload(only);
}
