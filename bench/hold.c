// SPDX-License-Identifier: MIT
/*
 * hold - keeps a running agenttrail's BPF programs after it exits, and
 * attaches and detaches them again on command, in a millisecond.
 *
 *   hold PID
 *   hold --empty PID
 *
 * Why: what agenttrail costs a process outside every session is tens of ns
 * per syscall, and starting agenttrail takes seconds in which this VM's
 * speed drifts by more than that.  Holding the very programs agenttrail
 * loaded (with their maps and the settings its loader wrote into them) and
 * switching them on and off between chunks of a loop lets "loaded" and
 * "bare" take turns within milliseconds (bench/run --paired, "outside").
 *
 * Reads PID's BPF links from /proc/PID/fdinfo and takes a file descriptor
 * for the program of each raw tracepoint link (tp_btf and raw_tp) and each
 * link on the root cgroup.  Uprobe links are left behind: they fire only in
 * processes that call the TLS functions they are on.  Any other kind of link
 * is an error, since leaving it out would make "loaded" cheaper than it is.
 * With --empty it loads, for each such link, a program that does nothing on
 * the same hook instead (returns 0 on a tracepoint, "allow" on a cgroup
 * hook): the floor, what the kernel charges for the hooks themselves.
 * Prints "held N skipped M", then reads commands from stdin, one per line:
 *
 *   on    attach every held program where its link was
 *   off   detach them all
 *
 * and answers each with the same word, flushed.  "on" fails while PID still
 * exists: its own links would be attached too.  Exits at end of input,
 * which detaches everything.  Errors go to stderr and give exit status 1.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#define MAX_HELD 64
#define CGROUP2_MAGIC 0x63677270

struct held {
	int prog_fd;
	bool cgroup;            /* else a raw tracepoint */
	bool btf_typed;         /* tp_btf: the kernel knows the tracepoint */
	char tp_name[64];
	unsigned attach_type;   /* cgroup links */
	unsigned prog_id;       /* the traced process's program */
	int link_fd;            /* -1 while detached */
};

static void die(const char *what)
{
	fprintf(stderr, "hold: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void die_msg(const char *msg)
{
	fprintf(stderr, "hold: %s\n", msg);
	exit(1);
}

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

/* The value of "key:\t..." in an fdinfo text, into out; false if absent. */
static bool fdinfo_field(const char *text, const char *key, char *out, size_t outlen)
{
	size_t klen = strlen(key);
	const char *p = text;

	while ((p = strstr(p, key)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[klen] == ':') {
			p += klen + 1;
			p += strspn(p, " \t");
			size_t n = strcspn(p, "\n");
			if (n >= outlen)
				n = outlen - 1;
			memcpy(out, p, n);
			out[n] = '\0';
			return true;
		}
		p += klen;
	}
	return false;
}

static int prog_fd_by_id(unsigned id)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.prog_id = id;
	return (int)sys_bpf(BPF_PROG_GET_FD_BY_ID, &attr);
}

static unsigned prog_type(int fd)
{
	struct bpf_prog_info info;
	union bpf_attr attr;

	memset(&info, 0, sizeof(info));
	memset(&attr, 0, sizeof(attr));
	attr.info.bpf_fd = (unsigned)fd;
	attr.info.info_len = sizeof(info);
	attr.info.info = (uintptr_t)&info;
	if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr))
		die("BPF_OBJ_GET_INFO_BY_FD");
	return info.type;
}

/* Where the cgroup v2 hierarchy is mounted (/sys/fs/cgroup, or
 * /sys/fs/cgroup/unified on a hybrid system). */
static const char *cgroup2_root(void)
{
	static char root[1024];    /* found once; the mount does not move */
	char line[4096];
	FILE *f;

	if (root[0])
		return root;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		die("/proc/self/mountinfo");
	while (fgets(line, sizeof(line), f)) {
		const char *sep = strstr(line, " - ");

		if (sep && strncmp(sep + 3, "cgroup2 ", 8) == 0 &&
		    sscanf(line, "%*s %*s %*s %*s %1023s", root) == 1)
			break;
		root[0] = '\0';
	}
	fclose(f);
	if (!root[0])
		die_msg("no cgroup v2 hierarchy is mounted");
	return root;
}

/* The inode number of the cgroup v2 root is its cgroup id. */
static unsigned long long cgroup_root_id(void)
{
	struct statfs sfs;
	struct stat st;

	if (statfs(cgroup2_root(), &sfs) || stat(cgroup2_root(), &st))
		die(cgroup2_root());
	if (sfs.f_type != CGROUP2_MAGIC)
		die_msg("the cgroup2 mount is not a cgroup v2 hierarchy");
	return (unsigned long long)st.st_ino;
}

/* One link of the traced process: held (true), or skipped (false). */
static bool take_link(const char *text, struct held *h)
{
	char type[32], val[64];
	unsigned id;

	if (!fdinfo_field(text, "link_type", type, sizeof(type)))
		return false;
	if (strcmp(type, "perf") == 0 && fdinfo_field(text, "event_type", val, sizeof(val)) &&
	    (strcmp(val, "uprobe") == 0 || strcmp(val, "uretprobe") == 0))
		return false;
	if (!fdinfo_field(text, "prog_id", val, sizeof(val)) || sscanf(val, "%u", &id) != 1)
		die_msg("a link without a prog_id in fdinfo");
	memset(h, 0, sizeof(*h));
	h->link_fd = -1;
	if (strcmp(type, "raw_tracepoint") == 0) {
		if (!fdinfo_field(text, "tp_name", h->tp_name, sizeof(h->tp_name)))
			die_msg("a raw tracepoint link without a tp_name in fdinfo");
	} else if (strcmp(type, "cgroup") == 0) {
		unsigned long long cg;

		if (!fdinfo_field(text, "cgroup_id", val, sizeof(val)) ||
		    sscanf(val, "%llu", &cg) != 1 || cg != cgroup_root_id())
			die_msg("a cgroup link not on the root cgroup");
		if (!fdinfo_field(text, "attach_type", val, sizeof(val)) ||
		    sscanf(val, "%u", &h->attach_type) != 1)
			die_msg("a cgroup link without an attach_type in fdinfo");
		h->cgroup = true;
	} else {
		fprintf(stderr, "hold: cannot attach a %s link again\n", type);
		exit(1);
	}
	h->prog_id = id;
	return true;
}

/* The program agenttrail attached with this link. */
static void take_prog(struct held *h)
{
	h->prog_fd = prog_fd_by_id(h->prog_id);
	if (h->prog_fd < 0)
		die("BPF_PROG_GET_FD_BY_ID");
	h->btf_typed = prog_type(h->prog_fd) == BPF_PROG_TYPE_TRACING;
}

static bool sock_addr_hook(unsigned attach_type)
{
	switch (attach_type) {
	case BPF_CGROUP_INET4_CONNECT: case BPF_CGROUP_INET6_CONNECT:
	case BPF_CGROUP_UDP4_SENDMSG: case BPF_CGROUP_UDP6_SENDMSG:
	case BPF_CGROUP_UDP4_RECVMSG: case BPF_CGROUP_UDP6_RECVMSG:
	case BPF_CGROUP_INET4_BIND: case BPF_CGROUP_INET6_BIND:
	case BPF_CGROUP_INET4_GETPEERNAME: case BPF_CGROUP_INET6_GETPEERNAME:
	case BPF_CGROUP_INET4_GETSOCKNAME: case BPF_CGROUP_INET6_GETSOCKNAME:
		return true;
	default:
		return false;
	}
}

/* A program that does nothing, for the hook of this link: r0 = 0 (a
 * tracepoint's return is ignored) or 1 (a cgroup hook's "allow"); exit. */
static void load_empty(struct held *h)
{
	static char license[] = "GPL";
	struct bpf_insn insns[2];
	union bpf_attr attr;

	memset(insns, 0, sizeof(insns));
	insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;
	insns[0].dst_reg = BPF_REG_0;
	insns[0].imm = h->cgroup ? 1 : 0;
	insns[1].code = BPF_JMP | BPF_EXIT;
	memset(&attr, 0, sizeof(attr));
	if (h->cgroup) {
		if (!sock_addr_hook(h->attach_type)) {
			fprintf(stderr, "hold: no empty program for cgroup attach type %u\n",
				h->attach_type);
			exit(1);
		}
		attr.prog_type = BPF_PROG_TYPE_CGROUP_SOCK_ADDR;
		attr.expected_attach_type = h->attach_type;
	} else {
		attr.prog_type = BPF_PROG_TYPE_RAW_TRACEPOINT;
	}
	attr.insns = (uintptr_t)insns;
	attr.insn_cnt = 2;
	attr.license = (uintptr_t)license;
	h->prog_fd = (int)sys_bpf(BPF_PROG_LOAD, &attr);
	if (h->prog_fd < 0)
		die("BPF_PROG_LOAD (an empty program)");
	h->btf_typed = false;   /* attached by the tracepoint's name */
}

static int take_links(int pid, struct held *held, int *skipped)
{
	char dir[64], path[64 + 256], text[1024];
	struct dirent *d;
	int n = 0;
	DIR *dp;

	snprintf(dir, sizeof(dir), "/proc/%d/fdinfo", pid);
	dp = opendir(dir);
	if (!dp)
		die(dir);
	while ((d = readdir(dp)) != NULL) {
		ssize_t len;
		int fd;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;       /* closed since readdir */
		len = read(fd, text, sizeof(text) - 1);
		close(fd);
		if (len <= 0)
			continue;
		text[len] = '\0';
		if (!strstr(text, "link_type:"))
			continue;
		if (n == MAX_HELD)
			die_msg("more links than this program holds");
		if (take_link(text, &held[n]))
			n++;
		else
			(*skipped)++;
	}
	closedir(dp);
	return n;
}

static void attach(struct held *h, int cgroup_fd)
{
	union bpf_attr attr;
	long fd;

	memset(&attr, 0, sizeof(attr));
	if (h->cgroup) {
		attr.link_create.prog_fd = (unsigned)h->prog_fd;
		attr.link_create.target_fd = (unsigned)cgroup_fd;
		attr.link_create.attach_type = h->attach_type;
		fd = sys_bpf(BPF_LINK_CREATE, &attr);
	} else {
		/* a tp_btf program names its tracepoint itself */
		attr.raw_tracepoint.name = h->btf_typed ? 0 : (uintptr_t)h->tp_name;
		attr.raw_tracepoint.prog_fd = (unsigned)h->prog_fd;
		fd = sys_bpf(BPF_RAW_TRACEPOINT_OPEN, &attr);
	}
	if (fd < 0) {
		fprintf(stderr, "hold: attach %s: %s\n", h->cgroup ? "cgroup link" : h->tp_name,
			strerror(errno));
		exit(1);
	}
	h->link_fd = (int)fd;
}

int main(int argc, char **argv)
{
	struct held held[MAX_HELD];
	char line[64], proc[64];
	int pid, n, skipped = 0, cgroup_fd = -1;
	bool on = false, empty = argc == 3 && strcmp(argv[1], "--empty") == 0;

	if (argc != 2 + empty || (pid = atoi(argv[1 + empty])) <= 0) {
		fprintf(stderr, "usage: hold [--empty] PID   (then 'on' / 'off' lines on stdin)\n");
		return 2;
	}
	n = take_links(pid, held, &skipped);
	if (n == 0)
		die_msg("the process has no raw tracepoint or cgroup links");
	for (int i = 0; i < n; i++) {
		if (empty)
			load_empty(&held[i]);
		else
			take_prog(&held[i]);
	}
	for (int i = 0; i < n; i++)
		if (held[i].cgroup && cgroup_fd < 0 &&
		    (cgroup_fd = open(cgroup2_root(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			die(cgroup2_root());
	printf("held %d skipped %d\n", n, skipped);
	fflush(stdout);
	snprintf(proc, sizeof(proc), "/proc/%d", pid);
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = '\0';
		if (strcmp(line, "on") == 0) {
			if (access(proc, F_OK) == 0)
				die_msg("the process whose programs are held still exists");
			for (int i = 0; i < n && !on; i++)
				attach(&held[i], cgroup_fd);
			on = true;
		} else if (strcmp(line, "off") == 0) {
			for (int i = 0; i < n; i++)
				if (held[i].link_fd >= 0) {
					close(held[i].link_fd);
					held[i].link_fd = -1;
				}
			on = false;
		} else {
			fprintf(stderr, "hold: unknown command '%s'\n", line);
			return 1;
		}
		printf("%s\n", line);
		fflush(stdout);
	}
	return 0;
}
