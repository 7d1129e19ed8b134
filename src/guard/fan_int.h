/* Shared between the fanotify backend's marks and thread (fan.c) and its
 * decisions (fan_decide.c). */
#ifndef AT_GUARD_FAN_INT_H
#define AT_GUARD_FAN_INT_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/fanotify.h>
#include <sys/stat.h>

#include "agenttrail/guard.h"
#include "policy/policy.h"

struct fan;

#define FAN_DRAIN_WAIT_MS 250   /* longest wait for the recorder to catch up */
#define FAN_FILE_OPS (POL_OP_OPEN | POL_OP_READ | POL_OP_WRITE)
/* no permission event exists for these: observed from the recorded events */
#define FAN_OBSERVED_OPS (POL_OP_UNLINK | POL_OP_RENAME)

/* What one permission event is about. */
struct subject {
	uint32_t tid, tgid;
	uint32_t flags;           /* open flags asked for */
	bool flags_known;
	struct at_proc proc;
	struct pol_labelset labels; /* policy ids */
	char comm[32];            /* "" until known */
	char exe[PATH_MAX];       /* exec: the executable; open: the process's */
	char path[PATH_MAX];      /* the file */
	struct stat st;
	char *argv[AT_EXEC_ARGC_MAX];
	size_t argc;
	struct at_exec_req req;
	bool first_event;          /* exec: the file asked for, not its interpreter */
};

/* FAN_ALLOW or FAN_DENY for one permission event (the responder thread). */
uint32_t fan_decide(struct fan *f, const struct fanotify_event_metadata *m, struct subject *s);
/* An unlink or rename a session process asks for (the seccomp backend's
 * thread, before the kernel does it): paths[] the name, or a rename's old
 * and new names; sts[k] the file at paths[k] when there is one, else NULL.
 * s holds tid, tgid, proc and exe. Returns the effect that refuses it (0:
 * none; notify rules are left to the recorded event), having queued the
 * violation and, for kill, sent SIGKILL. */
enum pol_effect fan_judge_unlink_rename(struct fan *f, struct subject *s, unsigned op,
					const char *const paths[2], const struct stat *const sts[2]);
/* unlink/rename rules against a recorded event (the recorder's thread). */
void fan_observe_unlink_rename(struct fan *f, const json_t *ev, unsigned op);
/* Remember that rule `rule` names the file of st (hard links, renames). */
void fan_add_prot(struct fan *f, const struct stat *st, uint32_t rule);

#endif
