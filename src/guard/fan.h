/*
 * The fanotify backend: file and exec rules on kernels without BPF-LSM.
 *
 * Permission events (FAN_OPEN_PERM, FAN_OPEN_EXEC_PERM) stop the opening
 * thread until agenttrail answers. A dedicated thread answers them, so the
 * recorder's own file activity can never wait on itself. What fanotify does
 * not say comes from the kernel maps, never guessed: session membership
 * (tracked), the flags the open asked for and the argv of the exec
 * (captured at syscall entry by guard.bpf.c), the process's labels.
 * Threads outside every session are answered at once.
 *
 * Marks go only where the policy needs them: inodes and directories under
 * the paths rules name (so hard links and symlinks to a protected file are
 * caught by its inode), whole filesystems only for exec rules and for
 * rules whose paths match anywhere.
 */
#ifndef AT_GUARD_FAN_H
#define AT_GUARD_FAN_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct guard;
struct loader;
struct causal;

struct fan_prot {
	uint64_t ino;
	uint32_t dev;
	uint32_t rule;
};

struct fan {
	int fd;                   /* fanotify group */
	int wake_fd;              /* eventfd: the responder asks for a drain */
	int stop_fd;              /* eventfd: stop the responder */
	pthread_t thread;
	bool running;
	struct guard *g;
	int fd_open_reqs, fd_exec_reqs, fd_exec_lost, fd_tracked, fd_procs;
	int64_t mono_to_wall_ns;
	/* everything below is shared with the responder: under mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_rwlock_t pol_lock; /* the policy and these tables, vs reload */
	struct causal *causal;
	uint64_t drain_req, drain_done;
	json_t *queue;            /* violation events for the recorder */
	struct fan_prot *prot;    /* inodes the paths of rules matched */
	size_t nprot, capprot;
	uint64_t decisions, denied, overflows;
	/* the responder's own: exec requests whose first event it has seen */
	struct { uint32_t tid; uint64_t ts; } seen_exec[64];
	unsigned seen_next;
	size_t marks;
	bool seccomp;             /* unlink/rename stopped by the seccomp backend */
};

struct policy;

/* Does the policy need this backend (file or exec rules)? */
bool fan_needed(const struct policy *p);
/* ...after the LSM backend took what it can (guard_open done)? */
bool fan_needed_now(const struct guard *g);
/* Set up marks for g's policy and start the responder. */
int fan_open(struct fan *f, struct guard *g, struct loader *l, char *err, size_t errlen);
void fan_close(struct fan *f);
/* The policy was replaced (guard_reload succeeded): marks and causal state
 * are rebuilt. Call with the policy lock held and the new policy in g. */
int fan_policy_changed(struct fan *f, char *err, size_t errlen);
/* Hold while the guard's policy is replaced (and fan_policy_changed runs). */
void fan_lock_policy(struct fan *f);
void fan_unlock_policy(struct fan *f);

/* Main thread: a recorded event (exec, exit, file writes) for after/since. */
void fan_observe(struct fan *f, const json_t *ev);
/* Main thread: the eventfd to poll. When it is readable: req =
 * fan_drain_begin(), drain the ring, then fan_drained(req). */
int fan_wake_fd(const struct fan *f);
uint64_t fan_drain_begin(struct fan *f);
void fan_drained(struct fan *f, uint64_t req);
/* Main thread: take the queued violation events (a JSON array, or NULL). */
json_t *fan_take_violations(struct fan *f);

#endif
