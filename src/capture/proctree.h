/* Attaching to running processes: a pid and all its descendants. */
#ifndef AT_CAPTURE_PROCTREE_H
#define AT_CAPTURE_PROCTREE_H

#include <stdint.h>
#include <sys/types.h>

struct loader;
struct pidset;

/* Parent pid of pid from /proc/PID/stat, or -1. */
pid_t proc_ppid(pid_t pid);

/*
 * Track pid and every existing descendant in the kernel map and in live.
 * The /proc walk runs twice so that children forked during the first walk
 * are caught (after the first walk the kernel tracks new forks itself).
 * Returns the number of processes tracked, or -1.
 */
int proctree_track(struct loader *l, struct pidset *live, pid_t pid, uint64_t session);

#endif
