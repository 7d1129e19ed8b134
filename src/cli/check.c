/* agenttrail check: validate a policy and say how each rule is enforced here. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "capture/loader.h"
#include "guard/guard.h"
#include "guard/lsm.h"
#include "guard/seccomp_notify.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: agenttrail check [OPTIONS] POLICY.yaml\n"
		"\n"
		"Parse and check a policy (docs/policy.md). Errors and warnings are printed as\n"
		"FILE:LINE:COL: error|warning: MESSAGE. For each rule and operation, says which\n"
		"mechanism enforces it on this kernel, or that it can only be observed here.\n"
		"Exit status: 0 valid, 1 errors, 2 usage.\n"
		"\n"
		"  -q, --quiet   print only diagnostics\n"
		"  -h, --help    this help\n");
}

/*
 * The enforcement ladder (docs/policy.md, "Enforcement on this kernel"):
 * connect and datagram send in the kernel by cgroup sock_addr hooks; file
 * and exec rules whose paths name files by inode by BPF-LSM where it loads;
 * the other exec and open/read/write rules by fanotify permission events
 * decided in user space; unlink and rename without BPF-LSM by the seccomp
 * filter `run` gives its command, decided in user space, else only
 * observed. Said per rule, never silently dropped.
 */
static const char *mechanism(unsigned op, enum pol_effect e, bool lsm, bool seccomp)
{
	bool kill = e == POL_KILL, notify = e == POL_NOTIFY;

	if (lsm && op != POL_OP_CONNECT && op != POL_OP_SEND)
		return kill ? "kernel: BPF-LSM (EPERM, then SIGKILL)"
		       : notify ? "kernel: BPF-LSM (reported)" : "kernel: BPF-LSM (EPERM)";
	switch (op) {
	case POL_OP_CONNECT:
	case POL_OP_SEND:
		return kill ? "kernel: cgroup sock_addr hook (refused, then SIGKILL)"
		       : notify ? "kernel: cgroup sock_addr hook (reported)"
				: "kernel: cgroup sock_addr hook (EPERM)";
	case POL_OP_EXEC:
		return kill ? "fanotify exec permission event (refused, then SIGKILL)"
		       : notify ? "fanotify exec permission event (reported)"
				: "fanotify exec permission event (EPERM)";
	case POL_OP_OPEN:
	case POL_OP_READ:
	case POL_OP_WRITE:
		return kill ? "fanotify open permission event (refused, then SIGKILL)"
		       : notify ? "fanotify open permission event (reported)"
				: "fanotify open permission event (EPERM)";
	default:
		if (seccomp && !notify)
			return kill ? "seccomp user notification, decided in user space, for the tree "
				      "'run' starts (refused, then SIGKILL); observed only in attached "
				      "sessions"
				    : "seccomp user notification, decided in user space, for the tree "
				      "'run' starts (EPERM); observed only in attached sessions";
		return kill ? "OBSERVED ONLY here (no BPF-LSM): reported after the fact, then SIGKILL"
		       : notify ? "reported after the fact (the recorded event)"
				: "OBSERVED ONLY here (no BPF-LSM): reported after the fact, not refused";
	}
}

int cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char home[4096], ws[4096];
	struct pol_env env;
	struct policy *p;
	bool quiet = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'q':
			quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	if (guard_env(&env, home, sizeof(home), ws, sizeof(ws))) {
		fprintf(stderr, "agenttrail check: cannot tell the home directory or the workspace\n");
		return 2;
	}
	p = guard_load_policy(argv[optind], &env, false);
	if (!p)
		return 1;
	/* what only the kernel tables bound (distinct endpoint patterns) */
	{
		struct pol_tables t;
		char err[300];

		if (tables_build(&t, p, err, sizeof(err))) {
			if (err[0] >= '0' && err[0] <= '9')
				fprintf(stderr, "%s:%s\n", argv[optind], err);
			else
				fprintf(stderr, "%s: error: %s\n", argv[optind], err);
			policy_free(p);
			return 1;
		}
		tables_free(&t);
	}
	if (!quiet) {
		char why[160];
		bool lsm = loader_lsm_available(why, sizeof(why));
		bool seccomp = snotify_available();

		printf("%s: valid: %zu labels, %zu rules, %zu flows (~ = %s, workspace = %s)\n",
		       argv[optind], p->nlabels, p->nrules, p->nflows, p->home, p->workspace);
		for (size_t i = 0; i < p->nrules; i++) {
			const struct pol_rule *r = &p->rules[i];

			printf("  rule %s (%s:%u):\n", r->name, argv[optind], r->pos.line);
			for (unsigned op = 1; op <= POL_OP_SEND; op <<= 1)
				if (r->ops & op)
					printf("    %-8s %s\n", pol_op_name(op),
					       mechanism(op, r->effect, lsm && lsm_rule_capable(r),
							 seccomp));
		}
	}
	policy_free(p);
	return 0;
}
