/* agenttrail: the independent side-effect layer for AI agents. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/report.h"
#include "model/json_pool.h"

static void usage(FILE *f)
{
	fprintf(f,
		"agenttrail %s - record what an AI agent's process tree really does, and enforce policies on it\n"
		"\n"
		"Usage: agenttrail COMMAND [OPTIONS]\n"
		"\n"
		"Commands:\n"
		"  record    run a command (or attach to a process) and record its process tree:\n"
		"            processes, files, network, DNS -> SQLite store and/or JSONL\n"
		"  run       record a command and enforce a policy on it (--policy FILE)\n"
		"  check     validate a policy and say how each rule is enforced here\n"
		"  policy    'policy reload': running enforcers re-read their policy\n"
		"  hook      the agents' hooks: tell Claude Code, Codex or Gemini CLI why a tool\n"
		"            call is refused ('hook install claude --project DIR')\n"
		"  report    read the store: sessions, tree, files, net, summary\n"
		"  doctor    what this kernel supports and how agenttrail will use it\n"
		"  version   print the version\n"
		"\n"
		"'agenttrail COMMAND --help' explains each command.\n",
		AT_VERSION);
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	/* Before any jansson value exists. Not under AddressSanitizer, which
	 * must see each jansson block freed and reused by malloc itself. */
#ifndef __SANITIZE_ADDRESS__
	json_pool_install();
#endif
	if (!cmd || !strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(cmd ? stdout : stderr);
		return cmd ? 0 : 2;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("agenttrail %s\n", AT_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "record"))
		return cmd_record(argc - 1, argv + 1);
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "check"))
		return cmd_check(argc - 1, argv + 1);
	if (!strcmp(cmd, "policy"))
		return cmd_policy(argc - 1, argv + 1);
	if (!strcmp(cmd, "hook"))
		return cmd_hook(argc - 1, argv + 1);
	if (!strcmp(cmd, "report"))
		return cmd_report(argc - 1, argv + 1);
	if (!strcmp(cmd, "doctor"))
		return cmd_doctor(argc - 1, argv + 1);
	fprintf(stderr, "agenttrail: unknown command '%s'\n\n", cmd);
	usage(stderr);
	return 2;
}
