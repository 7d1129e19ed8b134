/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Evaluating one compiled rule (struct at_rule), shared by the cgroup hooks
 * (guard.bpf.c) and the LSM programs (guard_lsm.bpf.c).
 */
#ifndef AT_RULE_BPF_H
#define AT_RULE_BPF_H

#include "agenttrail/guard.h"

/* Do labels l satisfy the rule's condition (some term: all of `all`, none
 * of `none`)? */
static __always_inline bool rule_labels_hold(const struct at_rule *r, const struct at_labels *l)
{
	for (int t = 0; t < AT_GUARD_TERMS; t++) {
		const struct at_labels *all = &r->all[t], *none = &r->none[t];
		bool ok = true;

		if (t >= r->nterms)
			break;
		for (int i = 0; i < AT_LABEL_WORDS; i++)
			if ((l->w[i] & all->w[i]) != all->w[i] || (l->w[i] & none->w[i]))
				ok = false;
		if (ok)
			return true;
	}
	return false;
}

/* The stronger of two effects: kill > block > notify > nothing. */
static __always_inline __u8 rule_stronger(__u8 have, __u8 e)
{
	if (have == AT_EFF_KILL || e == AT_EFF_KILL)
		return AT_EFF_KILL;
	if (have == AT_EFF_BLOCK || e == AT_EFF_BLOCK)
		return AT_EFF_BLOCK;
	return e ? e : have;
}

#endif /* AT_RULE_BPF_H */
