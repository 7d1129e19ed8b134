/*
 * The BPF-LSM backend's tables: which rules it takes and which files name
 * them (include/agenttrail/guard.h, bpf/guard_lsm.bpf.c). A rule goes to
 * the LSM when every target can be put by inode: an exact path (the file,
 * and its name in its directory for a file created later), "DIR" + "/" +
 * "**" for an existing DIR (everything below it, now or later), or "DIR" +
 * "/" + "*" (its direct children); on exec, open, read, write, unlink or
 * rename; with no command, operand or causal condition. The rest stays with
 * fanotify (or, for unlink/rename, is reported after the fact).
 */
#ifndef AT_GUARD_LSM_H
#define AT_GUARD_LSM_H

#include <stdbool.h>
#include <stddef.h>

struct guard;
struct pol_rule;

/* Can the LSM tables express this rule (given the files that exist now)? */
bool lsm_rule_capable(const struct pol_rule *r);
/* Write the tables for g's policy; marks g->lsm_rule[]. 0, or -1 + err. */
int lsm_install(struct guard *g, char *err, size_t errlen);

#endif
