/* agenttrail record: flags -> struct rec_opts -> recorder_run(). */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "model/recorder.h"
#include "sinks/store.h"

static void run_usage(FILE *f)
{
	fprintf(f,
		"Usage: agenttrail run --policy FILE [RECORD OPTIONS] -- COMMAND [ARGS...]\n"
		"\n"
		"Record COMMAND's process tree (as 'agenttrail record') and enforce the policy\n"
		"FILE on it: labels move with the data in the kernel, connect and send are\n"
		"decided in the kernel (cgroup hooks), every decision is a 'violation' event\n"
		"and a line on stderr. See docs/policy.md; 'agenttrail check FILE' first.\n"
		"\n"
		"Enforcement:\n"
		"      --policy FILE      the policy (YAML); SIGHUP reloads it, keeping every\n"
		"                         label processes and files carry\n"
		"      --no-stderr-reason do not print decisions on agenttrail's stderr\n"
		"      --no-tool-reason   do not write the reason to the refused program's own\n"
		"                         stderr (by default one line: the rule and its reason)\n"
		"\n"
		"The agents' hooks ('agenttrail hook install claude|codex|gemini') ask this\n"
		"agenttrail over its control socket (see 'record --help', Hooks).\n"
		"\n"
		"Every option of 'agenttrail record' applies ('agenttrail record --help').\n");
}

static void usage(FILE *f)
{
	const char *db = at_default_db_path();

	fprintf(f,
		"Usage: agenttrail record [OPTIONS] -- COMMAND [ARGS...]\n"
		"       agenttrail record [OPTIONS] --pid PID\n"
		"       agenttrail record [OPTIONS] --comm NAME [--comm NAME...]\n"
		"\n"
		"Record what a process tree does - processes, files, network, DNS - with eBPF,\n"
		"scoped in the kernel to the session (descendants of the root, or processes in\n"
		"the session's cgroup). Nothing outside the session is recorded.\n"
		"\n"
		"Session:\n"
		"  -- COMMAND ARGS     run COMMAND as the session root; exit with its status\n"
		"  -p, --pid PID       attach to a running process and its descendants\n"
		"  -c, --comm NAME     start a session for each new process named NAME\n"
		"                      (comm or executable basename); runs until Ctrl-C\n"
		"  -f, --follow        after the root exits, keep recording daemons it left\n"
		"                      (by default recording ends when the root's tree is gone;\n"
		"                      processes that detached with setsid do not hold it open)\n"
		"      --no-cgroup     do not create a session cgroup (lineage tracking only)\n"
		"  -d, --duration SEC  stop after SEC seconds\n"
		"      --ready-file F  create file F once capture is live (for scripts); it holds\n"
		"                      \"cpu_s USER SYSTEM\", the CPU time start-up took\n"
		"\n"
		"Output:\n"
		"      --db FILE       SQLite store (default: %s;\n"
		"                      env AGENTTRAIL_DB overrides the default)\n"
		"      --no-db         do not write the store\n"
		"  -j, --jsonl FILE    also stream one JSON object per event to FILE ('-': stdout)\n"
		"\n"
		"HTTP and LLM traffic (plaintext from TLS libraries, and plain HTTP on sockets):\n"
		"      --no-tls        do not attach uprobes to TLS libraries\n"
		"                      (binaries found to have none are remembered in\n"
		"                      /var/cache/agenttrail/tls-no-library; env\n"
		"                      AGENTTRAIL_TLS_CACHE names another file, '' none)\n"
		"      --no-payload    capture no HTTP payload at all (no http/llm_call records)\n"
		"      --no-redact     keep credentials and secret-looking strings in captured\n"
		"                      traffic (by default they become [REDACTED:tag] first)\n"
		"      --max-body MB   bytes kept per HTTP body, in MiB (default 16)\n"
		"\n"
		"Findings (tool calls are tied to their effects; see docs/findings.md):\n"
		"      --credential GLOB  also treat files matching GLOB as credentials\n"
		"                      (repeatable; a GLOB without '/' matches file names)\n"
		"\n"
		"Hooks (the agents' hooks ask over a unix socket; see 'agenttrail hook --help'):\n"
		"      --control-socket PATH  where it listens (default /run/agenttrail/PID.sock;\n"
		"                      its path is in the command's environment as\n"
		"                      AGENTTRAIL_SOCKET); mode 0600, peers known by SO_PEERCRED\n"
		"      --control-group GROUP  make it 0660 and owned by GROUP\n"
		"      --no-control    no control socket\n"
		"\n"
		"Capture:\n"
		"      --ringbuf-mb N  kernel ring buffer size in MiB, a power of two (default 64)\n"
		"  -s, --stats         print per-kind event and loss counts, and agenttrail's own\n"
		"                      CPU time, at the end\n"
		"  -q, --quiet         no progress messages\n"
		"  -v, --verbose       libbpf and decoder diagnostics on stderr\n"
		"  -h, --help          this help\n"
		"\n"
		"Ctrl-C (or SIGTERM) finishes the recording: events already captured are\n"
		"written, the session is closed in the store, and a signal sent to agenttrail\n"
		"alone is passed on to COMMAND. A second Ctrl-C stops at once.\n",
		db ? db : "(none)");
}

static int parse_ulong(const char *s, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno || end == s || *end || s[0] == '-' ? -1 : 0;
}

static int record_main(int argc, char **argv, bool run_mode)
{
	const char *me = run_mode ? "agenttrail run" : "agenttrail record";
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "comm", required_argument, NULL, 'c' },
		{ "follow", no_argument, NULL, 'f' },
		{ "no-cgroup", no_argument, NULL, 'G' },
		{ "duration", required_argument, NULL, 'd' },
		{ "db", required_argument, NULL, 'D' },
		{ "no-db", no_argument, NULL, 'N' },
		{ "jsonl", required_argument, NULL, 'j' },
		{ "ringbuf-mb", required_argument, NULL, 'R' },
		{ "stats", no_argument, NULL, 's' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "ready-file", required_argument, NULL, 'Y' },
		{ "no-tls", no_argument, NULL, 'T' },
		{ "no-payload", no_argument, NULL, 'P' },
		{ "no-redact", no_argument, NULL, 'X' },
		{ "max-body", required_argument, NULL, 'B' },
		{ "credential", required_argument, NULL, 'C' },
		{ "policy", required_argument, NULL, 'L' },
		{ "no-stderr-reason", no_argument, NULL, 'E' },
		{ "no-tool-reason", no_argument, NULL, 'F' },
		{ "control-socket", required_argument, NULL, 'K' },
		{ "control-group", required_argument, NULL, 'J' },
		{ "no-control", no_argument, NULL, 'O' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct rec_opts o = { .ringbuf_bytes = 64u << 20, .control_group = (gid_t)-1 };
	char *comms[64], *creds[64];
	unsigned long v;
	int c;

	o.comms = comms;
	o.credentials = creds;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+p:c:fd:j:sqvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_ulong(optarg, &v) || v == 0 || v > 4194304) {
				fprintf(stderr, "%s: --pid: not a pid: %s\n", me, optarg);
				return 2;
			}
			o.attach_pid = (pid_t)v;
			break;
		case 'c':
			if (o.ncomms == sizeof(comms) / sizeof(comms[0])) {
				fprintf(stderr, "%s: too many --comm (max 64)\n", me);
				return 2;
			}
			if (!optarg[0]) {
				fprintf(stderr, "%s: --comm: empty name\n", me);
				return 2;
			}
			comms[o.ncomms++] = optarg;
			break;
		case 'f':
			o.follow = true;
			break;
		case 'G':
			o.no_cgroup = true;
			break;
		case 'd': {
			char *end;

			o.duration_s = strtod(optarg, &end);
			if (end == optarg || *end || o.duration_s <= 0) {
				fprintf(stderr, "%s: --duration: not a positive number: %s\n", me,
					optarg);
				return 2;
			}
			break;
		}
		case 'D':
			if (!optarg[0]) {
				fprintf(stderr, "%s: --db: empty path\n", me);
				return 2;
			}
			o.db = optarg;
			break;
		case 'N':
			o.db = "";
			break;
		case 'T':
			o.no_tls = true;
			break;
		case 'P':
			o.no_payload = true;
			break;
		case 'X':
			o.no_redact = true;
			break;
		case 'C':
			if (o.ncredentials == sizeof(creds) / sizeof(creds[0]) || !optarg[0]) {
				fprintf(stderr, "%s: --credential: empty, or more than 64\n", me);
				return 2;
			}
			creds[o.ncredentials++] = optarg;
			break;
		case 'B':
			if (parse_ulong(optarg, &v) || v == 0 || v > 4096) {
				fprintf(stderr, "%s: --max-body: MiB from 1 to 4096\n", me);
				return 2;
			}
			o.max_body = (size_t)v << 20;
			break;
		case 'Y':
			o.ready_file = optarg;
			break;
		case 'L':
			o.policy = optarg;
			break;
		case 'E':
			o.no_stderr_reason = true;
			break;
		case 'F':
			o.no_tool_reason = true;
			break;
		case 'K':
			o.control_socket = optarg;
			break;
		case 'J': {
			struct group *gr = getgrnam(optarg);

			if (gr) {
				o.control_group = gr->gr_gid;
			} else if (parse_ulong(optarg, &v) == 0 && v < (unsigned long)(gid_t)-1) {
				o.control_group = (gid_t)v;
			} else {
				fprintf(stderr, "%s: --control-group: no group %s\n", me, optarg);
				return 2;
			}
			break;
		}
		case 'O':
			o.no_control = true;
			break;
		case 'j':
			o.jsonl = optarg;
			break;
		case 'R':
			if (parse_ulong(optarg, &v) || v == 0 || v > 1024 || (v & (v - 1))) {
				fprintf(stderr, "%s: --ringbuf-mb: a power of two from 1 to 1024\n", me);
				return 2;
			}
			o.ringbuf_bytes = v << 20;
			break;
		case 's':
			o.stats = true;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'h':
			(run_mode ? run_usage : usage)(stdout);
			return 0;
		default:
			(run_mode ? run_usage : usage)(stderr);
			return 2;
		}
	}
	if (optind < argc)
		o.argv = argv + optind;
	if (!!o.argv + (o.attach_pid > 0) + (o.ncomms > 0) != 1) {
		fprintf(stderr, "%s: give exactly one of: -- COMMAND, --pid PID, --comm NAME\n"
				"Try '%s --help'.\n", me, me);
		return 2;
	}
	if (run_mode && !o.policy) {
		fprintf(stderr, "agenttrail run: --policy FILE is required (or use 'agenttrail record')\n");
		return 2;
	}
	if (geteuid() != 0)
		fprintf(stderr, "%s: not running as root; loading eBPF programs will likely fail\n", me);
	return recorder_run(&o);
}

int cmd_record(int argc, char **argv)
{
	return record_main(argc, argv, false);
}

int cmd_run(int argc, char **argv)
{
	return record_main(argc, argv, true);
}
