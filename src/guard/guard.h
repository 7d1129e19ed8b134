/*
 * The guard: a checked policy, enforced. It writes the compiled tables into
 * the kernel maps, binds file and executable labels to inodes, binds domain
 * patterns to the addresses the session's DNS answers give, turns kernel
 * decisions into violation events with their formatted reason, and reloads
 * a changed policy without losing the labels processes and files carry.
 */
#ifndef AT_GUARD_GUARD_H
#define AT_GUARD_GUARD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"
#include "policy/tables.h"

struct loader;
struct ev_ctx;

struct guard {
	struct policy *pol;
	struct pol_tables t;
	char *path;               /* the policy file, for reloads */
	struct pol_env env;
	/* label id in the kernel of each policy label (stable across reloads:
	 * a label keeps its bit while its name stays in the policy) */
	unsigned kid[POL_MAX_LABELS];
	char *kname[POL_MAX_LABELS]; /* kernel bit -> label name, NULL if free */
	int fd_eps, fd_ports, fd_ep_labels, fd_connect, fd_send, fd_conf;
	int fd_flows, fd_inodes, fd_procs, fd_domains;
	/* BPF-LSM backend (-1 when this kernel refuses it) */
	int fd_lsm_self, fd_lsm_children, fd_lsm_rules;
	bool lsm_rule[POL_MAX_RULES];  /* rule decided by the LSM programs */
	size_t lsm_full;          /* LSM-shaped rules left to fanotify: a file's entry was full */
	/* names the session's DNS answers bound, replayed after a reload */
	struct guard_bound { char name[256]; uint8_t addr[16]; } *bound;
	size_t nbound, capbound;
	size_t files_bound;       /* inodes given labels from path globs */
	size_t subtrees;          /* directories among them (SUBTREE) */
	int fd_subtrees, fd_subtree_cache;
	size_t files_skipped;     /* beyond the walk limit */
	uint64_t violations;
	bool quiet;
	bool tool_reason;         /* tell refused programs why, on their stderr */
};

/*
 * What "~" and the default workspace mean: the home of the user the session
 * runs for (SUDO_USER when agenttrail was started with sudo, else $HOME,
 * else the password database) and the current directory.
 */
int guard_env(struct pol_env *env, char *home, size_t hlen, char *ws, size_t wlen);

/* Load and check the policy at path (diagnostics printed to stderr), or
 * NULL. */
struct policy *guard_load_policy(const char *path, const struct pol_env *env, bool quiet);

/* Take ownership of pol, build the tables and write them to the loader's
 * maps. Returns 0, or -1 with a message. */
int guard_open(struct guard *g, struct loader *l, struct policy *pol, const char *path,
	       const struct pol_env *env, bool quiet, char *err, size_t errlen);
/* Re-read the policy file; on any error the running policy stays. */
int guard_reload(struct guard *g, char *err, size_t errlen);
void guard_close(struct guard *g);

/* A DNS answer seen in a session: name -> addr (16 bytes, v4-mapped). */
void guard_dns_answer(struct guard *g, const char *name, const uint8_t addr[16]);
/* A DNS record (struct at_dns) from the kernel: binds its answers. */
void guard_dns_record(struct guard *g, const void *data, size_t size);

/* A kernel violation record -> the public event (NULL if malformed). */
json_t *guard_violation_json(struct guard *g, struct ev_ctx *c, const void *data, size_t size);

/* The labels process tgid carries now (the kernel's map), as policy
 * label ids. */
void guard_proc_labels(const struct guard *g, uint32_t tgid, struct pol_labelset *out);

/* "A, B" for the labels of s (as long as fits in out), and each name
 * appended to the JSON array names (optional). */
void guard_labels_text(const struct policy *p, const struct pol_labelset *s, char *out,
		       size_t len, json_t *names);

/* Delete every entry of a hash map (keys up to 64 bytes). */
void guard_clear_map(int fd, size_t keysize);

/* Format a rule's reason template. */
void guard_format_reason(const char *tmpl, const char *rule, const char *op, const char *comm,
			 uint32_t pid, const char *exe, const char *target, const char *labels,
			 char *out, size_t len);

#endif
