/* SPDX-License-Identifier: MIT */
/*
 * The guard's kernel tables, shared by bpf/labels.bpf.h, bpf/guard.bpf.c and
 * user space (src/policy/tables.c fills them, src/guard/ reads them).
 *
 * Labels are a 256-bit set. A process's labels live in proc_labels (by
 * tgid), a file's in inode_labels (by device and inode, so hard links,
 * renames and every path spelling of a file are one entry). Endpoint
 * patterns are bits too: an LPM trie maps an address to the set of patterns
 * whose address part contains it (each entry already holds the bits of the
 * wider prefixes above it), and a pattern's port range is checked after.
 */
#ifndef AGENTTRAIL_GUARD_H
#define AGENTTRAIL_GUARD_H

#include "agenttrail/events.h"

#define AT_LABEL_WORDS 4           /* 256 labels */
#define AT_EP_WORDS 4              /* 256 endpoint patterns */
#define AT_GUARD_TERMS 8           /* conjunctions per rule */
#define AT_GUARD_RULES 1024        /* rules per operation table */
#define AT_GUARD_FLOWS 64          /* declassify/endorse entries */
#define AT_GUARD_INODES 262144     /* labelled files */
#define AT_GUARD_EPS 65536         /* LPM entries (CIDRs and DNS-bound addresses) */
#define AT_VIOL_FIRED 4            /* rules reported per decision */

struct at_labels {
	__u64 w[AT_LABEL_WORDS];
};

struct at_epset {
	__u64 w[AT_EP_WORDS];
};

/* Operations (same bits as enum pol_op). */
#define AT_OP_EXEC    (1u << 0)
#define AT_OP_OPEN    (1u << 1)
#define AT_OP_READ    (1u << 2)
#define AT_OP_WRITE   (1u << 3)
#define AT_OP_UNLINK  (1u << 4)
#define AT_OP_RENAME  (1u << 5)
#define AT_OP_CONNECT (1u << 6)
#define AT_OP_SEND    (1u << 7)

/* Effects (same values as enum pol_effect). */
#define AT_EFF_BLOCK  1
#define AT_EFF_KILL   2
#define AT_EFF_NOTIFY 3

/* Who decided (at_violation.mech). */
#define AT_MECH_CGROUP   1 /* cgroup sock_addr hook, in the kernel */
#define AT_MECH_LSM      2 /* BPF-LSM, in the kernel */
#define AT_MECH_FANOTIFY 3 /* fanotify permission event, user space */
#define AT_MECH_TRACE    4 /* tracepoint: kill or notify only */

/* proc_labels value */
struct at_plabels {
	struct at_labels l;
	__u32 flow;        /* 1 + index into guard_flows applied to this
			    * process's writes (declassify/endorse), 0 none */
	__u32 _pad;
};

struct at_inode_key {
	__u64 ino;
	__u32 dev;         /* s_dev, as the kernel encodes it */
	__u32 _pad;
};

/* inode_labels value */
struct at_inode_val {
	struct at_labels data;   /* carried by the file's contents */
	struct at_labels exec;   /* gained by a process that execs it */
	__u32 flow;              /* executable: 1 + flow index, 0 none */
	__u32 flags;
};

#define AT_INODE_SUBTREE (1u << 0) /* a directory: files and directories
				    * created in it get its data labels and
				    * this flag */

/* A declassify/endorse entry: labels removed from / added to the writes
 * of a process that exec'd an approved executable. */
struct at_flow {
	struct at_labels remove;
	struct at_labels add;
};

/* LPM key over the 128-bit address (IPv4 v4-mapped). */
struct at_ep_key {
	__u32 prefixlen;
	__u8 addr[16];
};

/*
 * Domain patterns, bound in the kernel as the session's DNS answers arrive
 * (bpf/dnsbind.bpf.h): guard_domains maps the hash of a name (lower case,
 * no trailing dot) to the pattern bits of "name" (exact) and "*.name"
 * (wild, for strict subdomains). The hash runs over the name's characters
 * from the last to the first, so that one pass over a queried name gives the
 * hash of each of its suffixes:
 *   h = AT_DNS_HASH_SEED; for c in reversed(name): h = (h ^ c) * AT_DNS_HASH_MUL
 */
#define AT_DNS_HASH_SEED 0xcbf29ce484222325ULL
#define AT_DNS_HASH_MUL 0x100000001b3ULL
#define AT_GUARD_DOMAINS 4096

struct at_domain_bits {
	struct at_epset exact;
	struct at_epset wild;
};

/* Port range of each endpoint pattern, by pattern bit. */
struct at_ep_port {
	__u16 lo;
	__u16 hi;
};

/*
 * A rule as the kernel evaluates it. The subject's labels L satisfy the
 * rule when some term i < nterms has all[i] ⊆ L and none[i] ∩ L = ∅.
 * Endpoint rules also need the destination's pattern bits E with
 * E ∩ ep_in ≠ ∅ and E ∩ ep_except = ∅.
 */
struct at_rule {
	__u32 id;          /* index in the policy */
	__u32 ops;
	__u8 effect;
	__u8 nterms;
	__u16 flags;
	__u32 _pad;
	struct at_epset ep_in;
	struct at_epset ep_except;
	struct at_labels all[AT_GUARD_TERMS];
	struct at_labels none[AT_GUARD_TERMS];
};

#define AT_RULE_NEEDS_USER (1u << 0) /* target or condition only user space
				      * can evaluate (commands, after) */

/* A label carried by data received from endpoints (guard_ep_labels). */
struct at_ep_label {
	__u32 label;
	__u32 _pad;
	struct at_epset in;
	struct at_epset except;
};

/* guard_conf array: counts and switches (one element). */
struct at_guard_conf {
	__u32 nconnect;    /* rules in guard_connect */
	__u32 nsend;       /* rules in guard_send */
	__u32 nep_labels;  /* entries in guard_ep_labels */
	__u32 enabled;     /* 0: allow everything (no policy loaded yet) */
	struct at_epset port_any; /* endpoint patterns that take any port */
};

/*
 * What fanotify cannot tell user space, captured at syscall entry by
 * guard.bpf.c for session processes only, keyed by thread id: the flags an
 * open asked for (the event's own fd is opened with agenttrail's flags) and
 * the argv of an exec (not yet in the new image when the permission event
 * comes). Entries are removed at syscall exit.
 */
struct at_open_req {
	__u32 tgid;
	__u32 flags;
};

#define AT_EXEC_ARGS_MAX 4096  /* bytes of argv kept for exec decisions */
#define AT_EXEC_ARGC_MAX 64    /* arguments kept */

struct at_exec_req {
	__u64 ts;          /* when the exec was asked for: tells its first
			    * permission event (the file asked for) from the
			    * interpreter's */
	__u32 tgid;
	__u32 argc;        /* strings in buf */
	__u32 len;         /* bytes used in buf (NUL-separated) */
	__u32 truncated;
	char buf[AT_EXEC_ARGS_MAX * 2]; /* twice the room: bounded copies */
};

/* A decision, as an event (AT_EV_VIOLATION). */
struct at_violation {
	struct at_hdr h;
	__u32 rules[AT_VIOL_FIRED]; /* policy rule ids; nrules used */
	__u8 nrules;
	__u8 op;           /* one AT_OP_* bit index (0..7) */
	__u8 effect;       /* strongest effect applied */
	__u8 mech;         /* AT_MECH_* */
	__s32 err;         /* errno given to the caller (block), 0 otherwise */
	__u16 family;
	__u16 port;        /* host order */
	__u16 sotype;
	__u16 _pad;
	__u8 addr[16];
	struct at_labels labels; /* the subject's labels at the decision */
	__u16 path_len;    /* file rules (LSM): bytes of path in data, with NUL */
	__u16 name_len;    /* ...and of a last component to join to it */
	__u32 _pad2;
	char data[];       /* path, name */
};

/*
 * The BPF-LSM backend's tables (bpf/guard_lsm.bpf.c). A file or directory
 * named by a rule's paths has an entry listing the rules that name it:
 * lsm_self by its own inode (a file; a directory with AT_LSM_SUBTREE for
 * "DIR" + "/" + "**": everything below it, at any depth, now or later),
 * lsm_children by a directory's inode for its direct children (any name,
 * "DIR" + "/" + "*", or one name: a file that may not exist yet). Rules
 * whose targets cannot be put this way stay with fanotify.
 */
#define AT_LSM_SLOTS 8
#define AT_LSM_ANY_NAME (1u << 0)
#define AT_LSM_SUBTREE (1u << 1)
#define AT_LSM_ENTRIES 65536

struct at_lsm_ref {
	__u16 rule;        /* index into lsm_rules */
	__u16 flags;
	__u32 name_hash;   /* lsm_children without AT_LSM_ANY_NAME: FNV-1a of the name */
};

struct at_lsm_entry {
	__u32 n;
	__u32 _pad;
	struct at_lsm_ref r[AT_LSM_SLOTS];
};

#define AT_FNV32_SEED 0x811c9dc5u
#define AT_FNV32_MUL 0x01000193u

#endif /* AGENTTRAIL_GUARD_H */
