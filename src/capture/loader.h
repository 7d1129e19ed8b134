/* Loads the kernel programs, shares their maps, attaches them. */
#ifndef AT_CAPTURE_LOADER_H
#define AT_CAPTURE_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agenttrail/events.h"

struct proc_bpf;
struct file_bpf;
struct net_bpf;
struct sysexit_bpf;
struct tls_bpf;
struct guard_bpf;
struct guard_lsm_bpf;
struct bpf_link;

struct loader_opts {
	size_t ringbuf_bytes;     /* power of two, >= 4096 */
	bool watch_comms;         /* --comm given: start sessions at exec */
	bool no_payload;          /* do not capture plain-HTTP socket payloads */
	uint64_t comm_session_base;
	bool verbose;             /* libbpf debug output on stderr */
	bool guard;               /* a policy is enforced: labels move, hooks attach */
	bool guard_entry;         /* ...and it has file/exec rules (fanotify needs
				   * open flags and argv from syscall entry): the
				   * programs are loaded, loader_attach_guard_entry()
				   * attaches them */
	bool tls_follows_exec;    /* TLS uprobes are attached as programs start:
				   * an exec wakes the reader at once */
};

struct loader {
	struct proc_bpf *proc;
	struct file_bpf *file;
	struct net_bpf *net;
	struct sysexit_bpf *sysexit;
	struct tls_bpf *tls;       /* uprobe programs, attached per binary by capture/tls.c */
	struct guard_bpf *guard;   /* connect/send enforcement (policy given) */
	struct guard_lsm_bpf *guard_lsm; /* file/exec in the kernel, if BPF-LSM loads */
	char guard_lsm_why[160];   /* why not, for messages */
	struct bpf_link *guard_links[14]; /* 4 cgroup hooks, 6 syscall entries, 4 exits */
	bool guard_entry;
	bool guard_hook_signals;  /* the cgroup hooks can bpf_send_signal */
	bool btf_walk;            /* paths are walked with BTF-typed loads */
	int events_fd;
	int tracked_fd;
	uint64_t *tracked_bits;   /* the kernel's tracked_bits, mapped shared */
	size_t tracked_bits_len;
	int cgroups_fd;
	int drops_fd;
	int comms_fd;
	int nr_cpus;
	char missing[512];        /* tracepoints absent on this kernel, for --stats/doctor */
};

/* Open, load and attach everything. On failure writes a human-readable
 * message (with the likely cause) into err and returns -1. */
int loader_open(struct loader *l, const struct loader_opts *o, char *err, size_t errlen);
void loader_close(struct loader *l);
/*
 * Detaching a syscall tracepoint waits for an RCU grace period each, under
 * one kernel mutex: ~50 programs take seconds. This hands the detach to a
 * background child that holds the last references, so the caller can exit
 * at once; the child releases them after the caller is gone. The caller's
 * own references and memory are released before this returns. Falls back
 * to loader_close() if it cannot fork.
 */
void loader_close_deferred(struct loader *l);
/* Attach the guard's syscall-entry programs (open flags, exec argv), which
 * the fanotify backend needs; idempotent. 0, or -1 with a message. */
int loader_attach_guard_entry(struct loader *l, char *err, size_t errlen);

int loader_track(struct loader *l, pid_t pid, uint64_t session);
int loader_untrack(struct loader *l, pid_t pid);
/* TCP sockets of a session whose close has not been seen yet. With remove,
 * their entries are dropped (the session is over). Returns the count. */
int loader_session_sockets(struct loader *l, uint64_t session, bool remove);
int loader_add_session_cgroup(struct loader *l, uint64_t cgroup_id, uint64_t session);
int loader_del_session_cgroup(struct loader *l, uint64_t cgroup_id);
int loader_watch_comm(struct loader *l, const char *name);
/* Is pid still in the tracked map? (1 yes, 0 no, -1 error) */
int loader_is_tracked(struct loader *l, pid_t pid);
/* The session process pid belongs to, or 0. */
uint64_t loader_session_of(struct loader *l, pid_t pid);
/* Tell the payload capture to copy nothing of stream k before offset until. */
int loader_stream_skip(struct loader *l, const struct at_stream_key *k, uint64_t until);
/* The payload capture's offset of stream k (bytes seen), 0 when unknown. */
uint64_t loader_stream_offset(struct loader *l, const struct at_stream_key *k);
/* Sum the per-CPU loss counters into out[AT_LOSS__MAX]. */
int loader_read_drops(struct loader *l, uint64_t out[AT_LOSS__MAX]);
/* Exec records so far that woke the reader at once, and that did not. */
int loader_exec_wakes(struct loader *l, uint64_t *at_once, uint64_t *later);
/* The kernel's run time and run count of all loaded programs, counted only
 * while sysctl kernel.bpf_stats_enabled is 1 (0 and 0 otherwise). */
void loader_prog_time(const struct loader *l, uint64_t *ns, uint64_t *runs);
/*
 * The executable (or library) kdev, ino (the kernel's names: at_exe_key)
 * has been looked at for TLS, as it is now (size, change time): an exec
 * of it, while unchanged, needs no forced wakeup (include/agenttrail/
 * events.h). 0, or libbpf's -errno.
 */
int loader_exe_known(struct loader *l, uint32_t kdev, uint64_t ino, uint64_t size,
		     int64_t ctime_sec, uint32_t ctime_nsec);
/* The kernel's dev_t (MKDEV: major << 20 | minor) of user space's st_dev. */
uint32_t loader_kernel_dev(uint64_t st_dev);
/* The path of cgroup id is known: an exec in it needs no forced wakeup. */
int loader_cgroup_known(struct loader *l, uint64_t cgroup_id);

/* Can BPF-LSM programs load and attach here? (loads and drops the guard's
 * LSM object; why says why not) */
bool loader_lsm_available(char *why, size_t len);

/* Make sure tracefs is mounted (syscall tracepoints need it); returns the
 * mount point or NULL. */
const char *tracefs_ensure(void);
bool tracepoint_exists(const char *category, const char *name);

#endif
