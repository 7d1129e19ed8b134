/*
 * Loader: opens the three kernel objects (proc, file, net), makes them share
 * one set of maps, loads and attaches them.
 *
 * The proc object is loaded first and owns the shared maps; the others reuse
 * its map fds by name before they load. Programs whose tracepoint does not
 * exist on the running kernel (e.g. fchmodat2 before 6.6) are not loaded and
 * are listed in loader.missing, never silently ignored.
 *
 * This file opens, loads, attaches and closes, once per recording. The
 * calls made on the maps while recording (tracking, session cgroups,
 * streams, counters) are in loader_maps.c.
 */
#include "capture/loader.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "capture/cgroup.h"
#include "file.skel.h"
#include "guard.skel.h"
#include "guard_lsm.skel.h"
#include "net.skel.h"
#include "proc.skel.h"
#include "sysexit.skel.h"
#include "tls.skel.h"

#define TRACEFS_MAGIC_NR 0x74726163

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

static int verbose_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	return vfprintf(stderr, fmt, ap);
}

const char *tracefs_ensure(void)
{
	static const char *const candidates[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };
	struct statfs sfs;

	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
		if (statfs(candidates[i], &sfs) == 0 && sfs.f_type == TRACEFS_MAGIC_NR)
			return candidates[i];
	}
	/* Not mounted: mount it where the kernel expects it. */
	if (mount("tracefs", candidates[0], "tracefs", 0, NULL) == 0)
		return candidates[0];
	return NULL;
}

bool tracepoint_exists(const char *category, const char *name)
{
	const char *tfs = tracefs_ensure();
	char path[512];
	struct stat st;

	if (!tfs)
		return false;
	snprintf(path, sizeof(path), "%s/events/%s/%s", tfs, category, name);
	return stat(path, &st) == 0;
}

/*
 * Whether the kernel has kfunc name. bpf_rdonly_cast (6.2+) lets the path
 * walk read dentries with plain loads (bpf/path.bpf.h, btf_walk); without
 * it the walk reads each field with a helper call.
 */
static bool kernel_has_kfunc(const char *name)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	bool found;

	if (!vmlinux)
		return false;
	found = btf__find_by_name_kind(vmlinux, name, BTF_KIND_FUNC) > 0;
	btf__free(vmlinux);
	return found;
}

/* Reuse every map of obj that the primary object also has (same name). */
static int share_maps(struct bpf_object *obj, struct bpf_object *primary, char *err, size_t errlen)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj) {
		const char *name = bpf_map__name(map);
		struct bpf_map *owner;

		if (strchr(name, '.'))  /* .rodata, .bss: per object */
			continue;
		owner = bpf_object__find_map_by_name(primary, name);
		if (!owner)
			continue;
		if (bpf_map__reuse_fd(map, bpf_map__fd(owner))) {
			snprintf(err, errlen, "cannot share map %s: %s", name, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Do not load tracepoint programs whose tracepoint this kernel lacks. */
static void skip_missing_tracepoints(struct bpf_object *obj, struct loader *l)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj) {
		const char *sec = bpf_program__section_name(prog);
		char cat[64], name[128];

		if (sscanf(sec, "tracepoint/%63[^/]/%127s", cat, name) != 2)
			continue;
		if (tracepoint_exists(cat, name))
			continue;
		bpf_program__set_autoload(prog, false);
		if (strlen(l->missing) + strlen(name) + 2 < sizeof(l->missing)) {
			if (l->missing[0])
				strcat(l->missing, " ");
			strcat(l->missing, name);
		}
	}
}

/* Syscall handlers are named sx_NAME, or sxp_NAME for those that record
 * only a socket's bytes (bpf/common.bpf.h: SYSCALL_EXIT, PAYLOAD_EXIT). */
static const struct {
	const char *name;
	long nr;
} syscalls[] = {
	{ "open", SYS_open },         { "openat", SYS_openat },     { "openat2", SYS_openat2 },
	{ "creat", SYS_creat },       { "unlink", SYS_unlink },     { "unlinkat", SYS_unlinkat },
	{ "rmdir", SYS_rmdir },
	{ "rename", SYS_rename },     { "renameat", SYS_renameat }, { "renameat2", SYS_renameat2 },
	{ "mkdir", SYS_mkdir },       { "mkdirat", SYS_mkdirat },   { "chmod", SYS_chmod },
	{ "fchmodat", SYS_fchmodat },
	{ "fchmodat2", 452 },  /* x86_64, Linux 6.6; older headers lack it */
	{ "connect", SYS_connect },   { "accept", SYS_accept },     { "accept4", SYS_accept4 },
	{ "bind", SYS_bind },         { "listen", SYS_listen },     { "sendto", SYS_sendto },
	{ "recvfrom", SYS_recvfrom }, { "recvmsg", SYS_recvmsg },   { "read", SYS_read },
	{ "write", SYS_write },       { "writev", SYS_writev },     { "readv", SYS_readv },
	{ "sendmsg", SYS_sendmsg },   { "mmap", SYS_mmap },
	/* label moves only (bpf/file.bpf.c LABEL_EXIT) */
	{ "pread64", SYS_pread64 },   { "preadv", SYS_preadv },     { "preadv2", SYS_preadv2 },
	{ "pwrite64", SYS_pwrite64 }, { "pwritev", SYS_pwritev },   { "pwritev2", SYS_pwritev2 },
	{ "copy_file_range", SYS_copy_file_range },                 { "sendfile64", SYS_sendfile },
	{ "splice", SYS_splice },     { "tee", SYS_tee },
	{ "execve", SYS_execve },     { "execveat", SYS_execveat },
	{ "io_uring_setup", SYS_io_uring_setup },
};

/* The syscall a handler is for, or -1 for any other program; *how gets
 * its bits of hooked[] (include/agenttrail/events.h, AT_SX_*). */
static long syscall_nr(const char *prog_name, __u8 *how)
{
	size_t skip;

	if (strncmp(prog_name, "sx_", 3) == 0) {
		skip = 3;
		*how = AT_SX_HOOKED;
	} else if (strncmp(prog_name, "sxp_", 4) == 0) {
		skip = 4;
		*how = AT_SX_HOOKED | AT_SX_PAYLOAD;
	} else {
		return -1;
	}
	for (size_t i = 0; i < sizeof(syscalls) / sizeof(syscalls[0]); i++)
		if (!strcmp(prog_name + skip, syscalls[i].name))
			return syscalls[i].nr;
	return -1;
}

/* Mark the syscalls obj has handlers for in hooked[]. Handlers are
 * tail-call targets, never attached: their section names a hook (the
 * dispatcher's, which a tail call requires), so libbpf would attach them
 * all to sys_exit unless told not to. */
static int collect_handlers(struct bpf_object *obj, volatile __u8 *hooked, char *err, size_t errlen)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj) {
		const char *name = bpf_program__name(prog);
		__u8 how = 0;
		long nr;

		if (strncmp(name, "sx_", 3) != 0 && strncmp(name, "sxp_", 4) != 0)
			continue;
		nr = syscall_nr(name, &how);
		if (nr < 0 || nr >= AT_SYSCALL_SLOTS) {
			snprintf(err, errlen, "handler %s: unknown syscall", name);
			return -1;
		}
		hooked[nr] = how;
		bpf_program__set_autoattach(prog, false);
	}
	return 0;
}

/* Put obj's loaded handlers into the dispatcher's table. */
static int register_handlers(struct bpf_object *obj, int table_fd, char *err, size_t errlen)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj) {
		__u8 how;
		long nr = syscall_nr(bpf_program__name(prog), &how);
		__u32 key;
		int fd;

		if (nr < 0)
			continue;
		key = (__u32)nr;
		fd = bpf_program__fd(prog);
		if (bpf_map_update_elem(table_fd, &key, &fd, BPF_ANY)) {
			snprintf(err, errlen, "cannot register %s: %s", bpf_program__name(prog),
				 strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int set_entries(struct bpf_map *map, uint32_t n, char *err, size_t errlen)
{
	if (bpf_map__set_max_entries(map, n)) {
		snprintf(err, errlen, "cannot size map %s: %s", bpf_map__name(map), strerror(errno));
		return -1;
	}
	return 0;
}

static int fail(char *err, size_t errlen, const char *what, int e)
{
	const char *hint = "";

	if (e == EPERM || e == EACCES)
		hint = " (agenttrail needs root, or CAP_BPF + CAP_PERFMON + CAP_SYS_RESOURCE)";
	else if (e == ENOENT || e == ESRCH)
		hint = " (a tracepoint or kernel type is missing; run 'agenttrail doctor')";
	snprintf(err, errlen, "%s: %s%s", what, strerror(e), hint);
	return -1;
}

/*
 * The LSM programs, where the kernel lets them load and attach (not on the
 * host here: lockdown refuses BPF-LSM). Not an error when it does not:
 * file and exec rules then all go to fanotify.
 */
static void load_guard_lsm(struct loader *l)
{
	char err[160];
	int e;

	l->guard_lsm = guard_lsm_bpf__open();
	if (!l->guard_lsm) {
		snprintf(l->guard_lsm_why, sizeof(l->guard_lsm_why), "open: %s", strerror(errno));
		return;
	}
	l->guard_lsm->rodata->guard_labels = true;
	l->guard_lsm->rodata->btf_walk = l->btf_walk;
	if (share_maps(l->guard_lsm->obj, l->proc->obj, err, sizeof(err))) {
		snprintf(l->guard_lsm_why, sizeof(l->guard_lsm_why), "%s", err);
		goto drop;
	}
	if ((e = guard_lsm_bpf__load(l->guard_lsm)) != 0) {
		snprintf(l->guard_lsm_why, sizeof(l->guard_lsm_why), "the kernel refuses BPF-LSM "
			 "programs (%s)", strerror(-e));
		goto drop;
	}
	if ((e = guard_lsm_bpf__attach(l->guard_lsm)) != 0) {
		snprintf(l->guard_lsm_why, sizeof(l->guard_lsm_why), "BPF-LSM attach refused (%s); "
			 "is 'bpf' in the kernel's lsm= list?", strerror(-e));
		goto drop;
	}
	return;
drop:
	guard_lsm_bpf__destroy(l->guard_lsm);
	l->guard_lsm = NULL;
}

/* The guard's cgroup hooks share the label maps with proc, file and net. */
bool loader_lsm_available(char *why, size_t len)
{
	struct guard_lsm_bpf *s;
	int e;

	libbpf_set_print(quiet_print);
	s = guard_lsm_bpf__open();
	if (!s) {
		snprintf(why, len, "cannot open the LSM programs");
		return false;
	}
	if ((e = guard_lsm_bpf__load(s)) != 0) {
		snprintf(why, len, "the kernel refuses BPF-LSM programs (%s)", strerror(-e));
		guard_lsm_bpf__destroy(s);
		return false;
	}
	if ((e = guard_lsm_bpf__attach(s)) != 0) {
		snprintf(why, len, "BPF-LSM attach refused (%s)", strerror(-e));
		guard_lsm_bpf__destroy(s);
		return false;
	}
	guard_lsm_bpf__destroy(s);
	why[0] = '\0';
	return true;
}

static int load_guard(struct loader *l, char *err, size_t errlen)
{
	int e;

	l->guard = guard_bpf__open();
	if (!l->guard)
		return fail(err, errlen, "open guard programs", errno);
	l->guard->rodata->guard_labels = true;
	l->guard->rodata->btf_walk = l->btf_walk;
	l->guard_hook_signals = libbpf_probe_bpf_helper(BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
							BPF_FUNC_send_signal, NULL) == 1;
	l->guard->rodata->hook_can_signal = l->guard_hook_signals;
	skip_missing_tracepoints(l->guard->obj, l);
	if (l->guard_hook_signals) {
		bpf_program__set_autoload(l->guard->progs.guard_exit_connect, false);
		bpf_program__set_autoload(l->guard->progs.guard_exit_sendto, false);
		bpf_program__set_autoload(l->guard->progs.guard_exit_sendmsg, false);
		bpf_program__set_autoload(l->guard->progs.guard_exit_sendmmsg, false);
	}
	if (share_maps(l->guard->obj, l->proc->obj, err, errlen))
		return -1;
	if ((e = guard_bpf__load(l->guard)) != 0)
		return fail(err, errlen, "load guard programs", -e);
	load_guard_lsm(l);
	return 0;
}

/*
 * On the root of the cgroup v2 hierarchy: every process of the machine
 * passes through the hooks, so leaving the session's cgroup leaves nothing
 * behind; processes outside every session cost one lookup.
 */
static int attach_guard(struct loader *l, char *err, size_t errlen)
{
	struct bpf_program *progs[] = {
		l->guard->progs.guard_connect4, l->guard->progs.guard_connect6,
		l->guard->progs.guard_sendmsg4, l->guard->progs.guard_sendmsg6,
	};
	char root[512];
	int fd;

	if (cgroup2_mount(root, sizeof(root)))
		return fail(err, errlen, "no cgroup v2 hierarchy for the connect/send hooks", ENOENT);
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return fail(err, errlen, "open the cgroup v2 root", errno);
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		struct bpf_link *link = bpf_program__attach_cgroup(progs[i], fd);

		if (!link) {
			int e = errno;

			close(fd);
			return fail(err, errlen, "attach the connect/send hooks to the cgroup root", e);
		}
		l->guard_links[i] = link;
	}
	close(fd);
	/* kills the connect/send hooks cannot send themselves */
	struct bpf_program *exits[] = {
		l->guard->progs.guard_exit_connect, l->guard->progs.guard_exit_sendto,
		l->guard->progs.guard_exit_sendmsg, l->guard->progs.guard_exit_sendmmsg,
	};
	for (size_t i = 0; i < sizeof(exits) / sizeof(exits[0]); i++) {
		struct bpf_link *link;

		if (!bpf_program__autoload(exits[i]))
			continue;
		link = bpf_program__attach(exits[i]);
		if (!link)
			return fail(err, errlen, "attach the guard's kill tracepoints", errno);
		l->guard_links[10 + i] = link;
	}
	return 0;
}

/*
 * Open flags and exec argv for fanotify's decisions, from syscall entry:
 * per-syscall tracepoints, which every process of the machine passes
 * (about 0.2 us per open outside any session), so they are attached only
 * once the guard knows fanotify decides something - not when BPF-LSM
 * takes every file and exec rule.
 */
int loader_attach_guard_entry(struct loader *l, char *err, size_t errlen)
{
	if (!l->guard || !l->guard_entry)
		return fail(err, errlen, "the guard's syscall-entry programs were not loaded", ENOENT);
	struct bpf_program *entry[] = {
		l->guard->progs.guard_enter_openat, l->guard->progs.guard_enter_open,
		l->guard->progs.guard_enter_creat, l->guard->progs.guard_enter_openat2,
		l->guard->progs.guard_enter_execve, l->guard->progs.guard_enter_execveat,
	};
	for (size_t i = 0; i < sizeof(entry) / sizeof(entry[0]); i++) {
		struct bpf_link *link;

		if (!bpf_program__autoload(entry[i]) || l->guard_links[4 + i])
			continue;
		link = bpf_program__attach(entry[i]);
		if (!link)
			return fail(err, errlen, "attach the guard's syscall-entry programs", errno);
		l->guard_links[4 + i] = link;
	}
	return 0;
}

/*
 * The programs' bitmap of tracked tgids (tracked_bits in bpf/common.bpf.h),
 * mapped so that loader_track sets a bit before the table entry, as the
 * programs do, with an atomic operation: other bits of the same word change
 * under it from the kernel.
 */
static int map_tracked_bits(struct loader *l, char *err, size_t errlen)
{
	const struct bpf_map *map = l->proc->maps.tracked_bits;
	size_t len = (size_t)bpf_map__value_size(map) * bpf_map__max_entries(map);
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(map), 0);

	if (p == MAP_FAILED)
		return fail(err, errlen, "map the tracked-process bitmap", errno);
	l->tracked_bits = p;
	l->tracked_bits_len = len;
	return 0;
}

int loader_open(struct loader *l, const struct loader_opts *o, char *err, size_t errlen)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	int e;

	memset(l, 0, sizeof(*l));
	l->events_fd = l->tracked_fd = l->cgroups_fd = l->drops_fd = l->comms_fd = -1;
	libbpf_set_print(o->verbose ? verbose_print : quiet_print);
	/* Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK. */
	if (setrlimit(RLIMIT_MEMLOCK, &rl) && errno != EPERM)
		return fail(err, errlen, "setrlimit(RLIMIT_MEMLOCK)", errno);
	if (!tracefs_ensure())
		return fail(err, errlen, "tracefs is not mounted and cannot be mounted", errno);

	l->nr_cpus = libbpf_num_possible_cpus();
	if (l->nr_cpus <= 0)
		return fail(err, errlen, "cannot count CPUs", -l->nr_cpus);

	l->proc = proc_bpf__open();
	if (!l->proc)
		return fail(err, errlen, "open proc programs", errno);
	l->proc->rodata->watch_comms_enabled = o->watch_comms;
	l->proc->rodata->exec_wakes_tls = o->tls_follows_exec;
	l->proc->rodata->guard_labels = o->guard;
	l->btf_walk = kernel_has_kfunc("bpf_rdonly_cast");
	l->proc->rodata->btf_walk = l->btf_walk;
	l->proc->bss->next_session = o->comm_session_base;
	if (set_entries(l->proc->maps.events, (uint32_t)o->ringbuf_bytes, err, errlen) ||
	    set_entries(l->proc->maps.exec_scratch, (uint32_t)l->nr_cpus, err, errlen))
		goto error;
	if ((e = proc_bpf__load(l->proc)) != 0) {
		fail(err, errlen, "load proc programs", -e);
		goto error;
	}

	l->file = file_bpf__open();
	if (!l->file) {
		fail(err, errlen, "open file programs", errno);
		goto error;
	}
	skip_missing_tracepoints(l->file->obj, l);
	l->file->rodata->guard_labels = o->guard;
	l->file->rodata->btf_walk = l->btf_walk;
	if (share_maps(l->file->obj, l->proc->obj, err, errlen) ||
	    set_entries(l->file->maps.file_scratch, (uint32_t)l->nr_cpus, err, errlen))
		goto error;
	if ((e = file_bpf__load(l->file)) != 0) {
		fail(err, errlen, "load file programs", -e);
		goto error;
	}

	l->net = net_bpf__open();
	if (!l->net) {
		fail(err, errlen, "open net programs", errno);
		goto error;
	}
	skip_missing_tracepoints(l->net->obj, l);
	l->net->rodata->capture_payload = !o->no_payload;
	l->net->rodata->guard_labels = o->guard;
	l->net->rodata->btf_walk = l->btf_walk;
	if (share_maps(l->net->obj, l->proc->obj, err, errlen))
		goto error;
	if ((e = net_bpf__load(l->net)) != 0) {
		fail(err, errlen, "load net programs", -e);
		goto error;
	}

	/* TLS uprobes share the payload maps with the socket handlers. */
	l->tls = tls_bpf__open();
	if (!l->tls) {
		fail(err, errlen, "open TLS programs", errno);
		goto error;
	}
	l->tls->rodata->btf_walk = l->btf_walk;
	if (share_maps(l->tls->obj, l->proc->obj, err, errlen) ||
	    share_maps(l->tls->obj, l->net->obj, err, errlen))
		goto error;
	if ((e = tls_bpf__load(l->tls)) != 0) {
		fail(err, errlen, "load TLS programs", -e);
		goto error;
	}

	l->guard_entry = o->guard_entry;
	if (o->guard && load_guard(l, err, errlen))
		goto error;

	/* The dispatcher learns which syscalls have handlers before it
	 * loads, then the handlers go into its tail-call table. */
	l->sysexit = sysexit_bpf__open();
	if (!l->sysexit) {
		fail(err, errlen, "open syscall dispatcher", errno);
		goto error;
	}
	l->sysexit->rodata->labels_move = o->guard;   /* as net's guard_labels */
	if (collect_handlers(l->file->obj, l->sysexit->rodata->hooked, err, errlen) ||
	    collect_handlers(l->net->obj, l->sysexit->rodata->hooked, err, errlen) ||
	    share_maps(l->sysexit->obj, l->proc->obj, err, errlen))
		goto error;
	if ((e = sysexit_bpf__load(l->sysexit)) != 0) {
		fail(err, errlen, "load syscall dispatcher", -e);
		goto error;
	}
	if (register_handlers(l->file->obj, bpf_map__fd(l->proc->maps.sys_exit_handlers), err,
			      errlen) ||
	    register_handlers(l->net->obj, bpf_map__fd(l->proc->maps.sys_exit_handlers), err,
			      errlen))
		goto error;

	if ((e = proc_bpf__attach(l->proc)) != 0) {
		fail(err, errlen, "attach proc programs", -e);
		goto error;
	}
	if ((e = file_bpf__attach(l->file)) != 0) {
		fail(err, errlen, "attach file programs", -e);
		goto error;
	}
	if ((e = net_bpf__attach(l->net)) != 0) {
		fail(err, errlen, "attach net programs", -e);
		goto error;
	}
	if ((e = sysexit_bpf__attach(l->sysexit)) != 0) {
		fail(err, errlen, "attach syscall dispatcher", -e);
		goto error;
	}
	if (o->guard && attach_guard(l, err, errlen))
		goto error;

	l->events_fd = bpf_map__fd(l->proc->maps.events);
	l->tracked_fd = bpf_map__fd(l->proc->maps.tracked);
	if (map_tracked_bits(l, err, errlen))
		goto error;
	l->cgroups_fd = bpf_map__fd(l->proc->maps.session_cgroups);
	l->drops_fd = bpf_map__fd(l->proc->maps.drops);
	l->comms_fd = bpf_map__fd(l->proc->maps.watch_comms);
	return 0;
error:
	loader_close(l);
	return -1;
}

/* The run counters the kernel keeps for obj's programs (only while
 * kernel.bpf_stats_enabled is 1); tail-called handlers count in the
 * program that called them. */
static void add_prog_time(struct bpf_object *obj, uint64_t *ns, uint64_t *runs)
{
	struct bpf_program *prog;

	if (!obj)
		return;
	bpf_object__for_each_program(prog, obj) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		memset(&info, 0, sizeof(info));
		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) != 0)
			continue;
		*ns += info.run_time_ns;
		*runs += info.run_cnt;
	}
}

void loader_prog_time(const struct loader *l, uint64_t *ns, uint64_t *runs)
{
	*ns = 0;
	*runs = 0;
	add_prog_time(l->proc ? l->proc->obj : NULL, ns, runs);
	add_prog_time(l->file ? l->file->obj : NULL, ns, runs);
	add_prog_time(l->net ? l->net->obj : NULL, ns, runs);
	add_prog_time(l->sysexit ? l->sysexit->obj : NULL, ns, runs);
	add_prog_time(l->tls ? l->tls->obj : NULL, ns, runs);
	add_prog_time(l->guard ? l->guard->obj : NULL, ns, runs);
	add_prog_time(l->guard_lsm ? l->guard_lsm->obj : NULL, ns, runs);
}

void loader_close(struct loader *l)
{
	if (l->tracked_bits) {
		munmap(l->tracked_bits, l->tracked_bits_len);
		l->tracked_bits = NULL;
	}
	for (size_t i = 0; i < sizeof(l->guard_links) / sizeof(l->guard_links[0]); i++) {
		bpf_link__destroy(l->guard_links[i]);
		l->guard_links[i] = NULL;
	}
	guard_bpf__destroy(l->guard);
	l->guard = NULL;
	guard_lsm_bpf__destroy(l->guard_lsm);
	l->guard_lsm = NULL;
	sysexit_bpf__destroy(l->sysexit);
	l->sysexit = NULL;
	tls_bpf__destroy(l->tls);
	l->tls = NULL;
	net_bpf__destroy(l->net);
	file_bpf__destroy(l->file);
	proc_bpf__destroy(l->proc);
	l->net = NULL;
	l->file = NULL;
	l->proc = NULL;
}

void loader_close_deferred(struct loader *l)
{
	int p[2];
	pid_t pid;
	char c;

	/* Enforcement ends with the recording, not when the child lets go. */
	for (size_t i = 0; i < sizeof(l->guard_links) / sizeof(l->guard_links[0]); i++)
		if (l->guard_links[i])
			bpf_link__detach(l->guard_links[i]);
	if (pipe2(p, O_CLOEXEC)) {
		loader_close(l);
		return;
	}
	fflush(NULL);   /* the child must not inherit unwritten output */
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		loader_close(l);
		return;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		/* Out of the caller's way: no terminal signals, no open pipes
		 * that a reader of our output would wait on. */
		setsid();
		signal(SIGINT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		close(p[1]);
		/* EOF once the parent (every other holder) has exited. */
		for (;;) {
			ssize_t n = read(p[0], &c, 1);

			if (n == 0 || (n < 0 && errno != EINTR))
				break;
		}
		loader_close(l);
		_exit(0);
	}
	/* Parent: releasing our references is quick while the child holds
	 * its own; keep the pipe's write end open until we exit. */
	close(p[0]);
	loader_close(l);
}
