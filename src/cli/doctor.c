/*
 * agenttrail doctor: what this kernel really supports, measured by loading
 * and attaching a trivial program of each kind, and what each missing piece
 * costs the user.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "capture/cgroup.h"
#include "capture/loader.h"
#include "cli/commands.h"
#include "guard/seccomp_notify.h"
#include "probe.skel.h"

struct probe_result {
	const char *name;      /* program name in probe.bpf.c */
	const char *label;
	const char *used_for;
	const char *cost;      /* what the user loses without it */
	int ok;
	char detail[160];
};

static int silent(enum libbpf_print_level l, const char *f, va_list ap)
{
	(void)l;
	(void)f;
	(void)ap;
	return 0;
}

static void read_first_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");

	buf[0] = '\0';
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

static struct bpf_link *attach_one(struct bpf_program *prog, const char *cgdir, char *why, size_t len)
{
	const char *name = bpf_program__name(prog);
	struct bpf_link *link = NULL;

	if (!strcmp(name, "probe_connect4")) {
		int fd = open(cgdir, O_RDONLY | O_DIRECTORY);

		if (fd < 0) {
			snprintf(why, len, "no cgroup to attach to: %s", strerror(errno));
			return NULL;
		}
		link = bpf_program__attach_cgroup(prog, fd);
		close(fd);
	} else if (!strcmp(name, "probe_uprobe")) {
		LIBBPF_OPTS(bpf_uprobe_opts, uo, .func_name = "main");
		char exe[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

		if (n <= 0) {
			snprintf(why, len, "cannot find own executable");
			return NULL;
		}
		exe[n] = '\0';
		link = bpf_program__attach_uprobe_opts(prog, getpid(), exe, 0, &uo);
	} else {
		link = bpf_program__attach(prog);
	}
	if (!link)
		snprintf(why, len, "attach refused: %s", strerror(errno));
	return link;
}

/* Load exactly one program of the probe object and try to attach it. */
static void run_probe(struct probe_result *r, const char *cgdir)
{
	struct probe_bpf *skel = probe_bpf__open();
	struct bpf_program *prog, *want = NULL;
	struct bpf_link *link;
	int err;

	r->ok = 0;
	if (!skel) {
		snprintf(r->detail, sizeof(r->detail), "cannot open probe object: %s", strerror(errno));
		return;
	}
	bpf_object__for_each_program(prog, skel->obj) {
		int me = !strcmp(bpf_program__name(prog), r->name);

		bpf_program__set_autoload(prog, me);
		if (me)
			want = prog;
	}
	if (!want) {
		snprintf(r->detail, sizeof(r->detail), "no such probe");
		goto out;
	}
	err = probe_bpf__load(skel);
	if (err) {
		snprintf(r->detail, sizeof(r->detail), "load refused: %s", strerror(-err));
		goto out;
	}
	link = attach_one(want, cgdir, r->detail, sizeof(r->detail));
	if (link) {
		r->ok = 1;
		snprintf(r->detail, sizeof(r->detail), "loads and attaches");
		bpf_link__destroy(link);
	}
out:
	probe_bpf__destroy(skel);
}

static bool lsm_active(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; *p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		if (len == n && !strncmp(p, name, n))
			return true;
		if (!comma)
			break;
		p = comma + 1;
	}
	return false;
}

/* fanotify permission events: the file/exec backend on every kernel here */
static bool fanotify_perm_works(void)
{
	int fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

struct ladder_row {
	const char *op;
	const char *how;
};

/* What enforces each operation here, as agenttrail is built today. */
static size_t ladder(bool sockaddr, bool fan, bool lsm, bool hook_signal, struct ladder_row *out)
{
	size_t n = 0;

	out[n++] = (struct ladder_row){ "connect, send",
		sockaddr ? "cgroup sock_addr hooks, in the kernel (EPERM)" : "observed only" };
	out[n++] = (struct ladder_row){ "exec",
		lsm ? "BPF-LSM bprm_check_security for rules naming files by path; fanotify "
		      "FAN_OPEN_EXEC_PERM for command patterns (EPERM)"
		    : fan ? "fanotify FAN_OPEN_EXEC_PERM, decided in user space (EPERM)" : "observed only" };
	out[n++] = (struct ladder_row){ "open, read, write",
		lsm ? "BPF-LSM file_open for rules naming files by path; fanotify FAN_OPEN_PERM "
		      "for the rest (EPERM)"
		    : fan ? "fanotify FAN_OPEN_PERM, decided in user space (EPERM)" : "observed only" };
	out[n++] = (struct ladder_row){ "unlink, rename",
		lsm ? "BPF-LSM path_unlink / path_rename, in the kernel (EPERM)"
		    : snotify_available()
			  ? "seccomp user notification for the tree 'run' starts, decided in user "
			    "space (EPERM); observed only in attached sessions"
			  : "observed only: reported after the fact (needs BPF-LSM or seccomp "
			    "user notification)" };
	out[n++] = (struct ladder_row){ "kill effect",
		hook_signal ? "bpf_send_signal from the cgroup hook; SIGKILL after a fanotify denial"
			    : "bpf_send_signal at the refused syscall's exit; SIGKILL after a fanotify denial" };
	out[n++] = (struct ladder_row){ "BPF-LSM",
		lsm ? "loads here: used for file and exec rules it can express"
		    : "refused by this kernel; fanotify is used" };
	return n;
}

int cmd_doctor(int argc, char **argv)
{
	struct probe_result probes[] = {
		{ "probe_tracepoint", "tracepoints", "syscall capture (files, network, DNS)",
		  "no file/network capture", 0, "" },
		{ "probe_tp_btf", "BTF tracepoints (tp_btf)", "process lineage, socket close",
		  "no process tree, no byte counts", 0, "" },
		{ "probe_fentry", "fentry/fexit", "not required (tracepoints are used)",
		  "none: agenttrail does not need fentry", 0, "" },
		{ "probe_lsm", "BPF-LSM", "in-kernel blocking of open/exec",
		  "file/exec blocking falls back to fanotify permission events", 0, "" },
		{ "probe_kprobe", "kprobes", "not required", "none: agenttrail does not need kprobes", 0, "" },
		{ "probe_connect4", "cgroup sock_addr", "in-kernel blocking of connect/send",
		  "network rules can only be observed", 0, "" },
		{ "probe_uprobe", "uprobes", "TLS plaintext capture",
		  "no LLM traffic capture", 0, "" },
	};
	const size_t np = sizeof(probes) / sizeof(probes[0]);
	char lockdown[256], lsm[512], cg2[1024] = "", cgdir[1200] = "", rel[128];
	const char *tfs;
	struct utsname u;
	struct stat st;
	bool json = false, btf;
	int rb_ok, fd;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("Usage: agenttrail doctor [--json]\n\n"
			       "Load and attach a trivial eBPF program of every kind agenttrail may use,\n"
			       "and report what works on this kernel and what a missing piece costs.\n");
			return 0;
		} else {
			fprintf(stderr, "agenttrail doctor: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	libbpf_set_print(silent);
	uname(&u);
	btf = stat("/sys/kernel/btf/vmlinux", &st) == 0;
	/* lockdown and the LSM list live in securityfs; mount it if absent */
	if (stat("/sys/kernel/security/lsm", &st) != 0)
		mount("securityfs", "/sys/kernel/security", "securityfs", 0, NULL);
	read_first_line("/sys/kernel/security/lockdown", lockdown, sizeof(lockdown));
	read_first_line("/sys/kernel/security/lsm", lsm, sizeof(lsm));
	cgroup2_mount(cg2, sizeof(cg2));
	tfs = tracefs_ensure();
	fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "probe_rb", 0, 0, 4096, NULL);
	rb_ok = fd >= 0;
	if (fd >= 0)
		close(fd);
	if (cg2[0]) {
		snprintf(cgdir, sizeof(cgdir), "%s/agenttrail-doctor-%d", cg2, (int)getpid());
		if (mkdir(cgdir, 0755))
			cgdir[0] = '\0';
	}
	for (size_t i = 0; i < np; i++)
		run_probe(&probes[i], cgdir[0] ? cgdir : "/nonexistent");
	/* An LSM program can load and attach while the bpf LSM is not in the
	 * active list, and then never runs: only the list says it is live. */
	if (probes[3].ok && !lsm_active(lsm, "bpf")) {
		probes[3].ok = 0;
		snprintf(probes[3].detail, sizeof(probes[3].detail),
			 "loads, but 'bpf' is not in the active LSM list (boot with lsm=...,bpf)");
	}
	if (cgdir[0])
		rmdir(cgdir);
	snprintf(rel, sizeof(rel), "%s", u.release);

	if (json) {
		json_t *o = json_object(), *arr = json_array();

		json_object_set_new(o, "kernel", json_string(rel));
		json_object_set_new(o, "machine", json_string(u.machine));
		json_object_set_new(o, "btf", json_boolean(btf));
		json_object_set_new(o, "lockdown", json_string(lockdown));
		json_object_set_new(o, "lsm", json_string(lsm));
		json_object_set_new(o, "cgroup2", cg2[0] ? json_string(cg2) : json_null());
		json_object_set_new(o, "tracefs", tfs ? json_string(tfs) : json_null());
		json_object_set_new(o, "ringbuf", json_boolean(rb_ok));
		json_object_set_new(o, "root", json_boolean(geteuid() == 0));
		for (size_t i = 0; i < np; i++)
			json_array_append_new(arr, json_pack("{s:s, s:b, s:s, s:s, s:s}", "feature",
							     probes[i].label, "ok", probes[i].ok, "detail",
							     probes[i].detail, "used_for", probes[i].used_for,
							     "cost_if_missing", probes[i].cost));
		json_object_set_new(o, "probes", arr);
		{
			struct ladder_row rows[8];
			size_t nr = ladder(probes[5].ok, fanotify_perm_works(), probes[3].ok,
					   libbpf_probe_bpf_helper(BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
								   BPF_FUNC_send_signal, NULL) == 1,
					   rows);
			json_t *lad = json_object();

			for (size_t i = 0; i < nr; i++)
				json_object_set_new(lad, rows[i].op, json_string(rows[i].how));
			json_object_set_new(o, "enforcement", lad);
		}
		json_dumpf(o, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(o);
		return 0;
	}

	printf("agenttrail doctor\n\n");
	printf("  %-26s %s (%s)\n", "kernel", rel, u.machine);
	printf("  %-26s %s\n", "BTF", btf ? "yes, /sys/kernel/btf/vmlinux" : "MISSING: CO-RE programs cannot load");
	printf("  %-26s %s\n", "lockdown", lockdown[0] ? lockdown : "(unknown)");
	printf("  %-26s %s\n", "active LSMs", lsm[0] ? lsm : "(unknown)");
	printf("  %-26s %s\n", "cgroup v2", cg2[0] ? cg2 : "MISSING: sessions tracked by lineage only");
	printf("  %-26s %s\n", "tracefs", tfs ? tfs : "MISSING: syscall tracepoints cannot attach");
	printf("  %-26s %s\n", "ring buffer", rb_ok ? "yes" : "MISSING: no event transport");
	printf("  %-26s %s\n\n", "running as root", geteuid() == 0 ? "yes" : "no (results below may be wrong)");
	printf("  %-26s %-6s %s\n", "program type / hook", "works", "detail");
	for (size_t i = 0; i < np; i++) {
		printf("  %-26s %-6s %s\n", probes[i].label, probes[i].ok ? "yes" : "no", probes[i].detail);
		printf("  %-26s %-6s used for: %s", "", "", probes[i].used_for);
		if (!probes[i].ok)
			printf("; without it: %s", probes[i].cost);
		printf("\n");
	}
	printf("\nCapture on this kernel:\n");
	printf("  process tree  %s\n", probes[1].ok ? "yes (tp_btf sched_process_fork/exec/exit)" : "NO");
	printf("  files         %s\n", probes[0].ok ? "yes (syscall tracepoints, paths resolved in kernel)" : "NO");
	printf("  network, DNS  %s\n", probes[0].ok && probes[1].ok ? "yes (syscall tracepoints, inet_sock_set_state)" : "NO");
	printf("Enforcement on this kernel (agenttrail run --policy):\n");
	{
		struct ladder_row rows[8];
		size_t nr = ladder(probes[5].ok, fanotify_perm_works(), probes[3].ok,
				   libbpf_probe_bpf_helper(BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
							   BPF_FUNC_send_signal, NULL) == 1,
				   rows);

		for (size_t i = 0; i < nr; i++)
			printf("  %-18s %s\n", rows[i].op, rows[i].how);
	}
	return 0;
}
