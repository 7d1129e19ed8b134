/*
 * The reason, told to the refused program itself: one line on its own
 * stderr (taken with pidfd_getfd), so that whatever runs it - an agent's
 * shell tool, a script - shows the agent why, with no hook installed.
 */
#ifndef AT_GUARD_FEEDBACK_H
#define AT_GUARD_FEEDBACK_H

#include <sys/types.h>

/* Write "agenttrail: refused by policy rule 'RULE': REASON\n" to pid's
 * fd 2. Returns 0, or -1 (the process is gone, has no stderr, or the
 * kernel lacks pidfd_getfd) - never blocks on a full pipe. */
int feedback_to_stderr(pid_t pid, const char *rule, const char *reason);

#endif
