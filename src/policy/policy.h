/*
 * Policies: YAML -> checked intermediate form (this header) -> kernel tables
 * (policy/tables.h). The syntax and semantics are documented in
 * docs/policy.md; this is the form every later stage reads.
 *
 * Everything here is resolved: label names are ids, label expressions are in
 * disjunctive normal form, `~` and `{workspace}` are expanded, endpoint
 * patterns are parsed, `@LABEL` references are replaced by the label's
 * endpoint patterns. Each element keeps the file:line:col it came from so
 * that later stages (the table compiler, `check`) can point at it.
 */
#ifndef AT_POLICY_POLICY_H
#define AT_POLICY_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define POL_MAX_LABELS 256   /* label ids 0..255: a 256-bit set in the kernel */
#define POL_MAX_RULES 1024
#define POL_MAX_TERMS 8      /* conjunctions in one rule's DNF (when ∧ ¬unless) */
#define POL_NAME_MAX 64

struct pol_pos {
	unsigned line;           /* 1-based; 0 when unknown */
	unsigned col;            /* 1-based */
};

/* A set of label ids. */
struct pol_labelset {
	uint64_t w[POL_MAX_LABELS / 64];
};

static inline void pol_set_add(struct pol_labelset *s, unsigned id)
{
	s->w[id / 64] |= 1ull << (id % 64);
}

static inline bool pol_set_has(const struct pol_labelset *s, unsigned id)
{
	return s->w[id / 64] >> (id % 64) & 1;
}

/* One conjunction: every label in `all` present and none of `none`. */
struct pol_term {
	struct pol_labelset all;
	struct pol_labelset none;
};

/* A label expression in DNF: true if any term holds. nterms == 0 means
 * "false"; a single term with empty sets means "true". */
struct pol_dnf {
	unsigned nterms;
	struct pol_term t[POL_MAX_TERMS];
};

/*
 * A network endpoint pattern: "*", "host.example.com", "*.example.com",
 * "10.0.0.0/8", "1.2.3.4", "[2001:db8::/32]", each with an optional
 * ":PORT", ":LO-HI" or ":*". IPv4 is stored v4-mapped (::ffff:a.b.c.d/96+n)
 * so that v4-mapped IPv6 destinations match IPv4 patterns.
 */
enum pol_ep_kind { POL_EP_ANY, POL_EP_CIDR, POL_EP_DOMAIN };

struct pol_endpoint {
	enum pol_ep_kind kind;
	uint8_t addr[16];        /* CIDR: network address (v4-mapped for IPv4) */
	unsigned prefix;         /* CIDR: prefix length over the 128-bit form */
	char *domain;            /* DOMAIN: lower case, no trailing dot */
	bool wildcard;           /* DOMAIN: "*.example.com" matches subdomains only */
	uint16_t port_lo;        /* 0..65535; any port is 0-65535 */
	uint16_t port_hi;
	char *text;              /* as written, for messages */
	struct pol_pos pos;
};

/* An endpoint set: in `in` and not in `except`. */
struct pol_endpoints {
	struct pol_endpoint *in;
	size_t nin;
	struct pol_endpoint *except;
	size_t nexcept;
};

/*
 * A path glob, absolute after expansion ("~" -> the session user's home,
 * "{workspace}" -> the workspace). "*" and "?" stay within a component,
 * "**" as a whole component matches zero or more components, "[...]" is a
 * character class. A relative pattern from the file (no leading "/", "~"
 * or "{workspace}") is made relative to the workspace, except patterns
 * starting with "**", which match at any depth anywhere.
 */
struct pol_glob {
	char *pattern;           /* expanded */
	char *text;              /* as written */
	struct pol_pos pos;
};

struct pol_globs {
	struct pol_glob *v;
	size_t n;
};

/*
 * A command pattern such as "git commit" or "rm -r*": words[0] matches the
 * executable (its basename, or its full path if the word contains '/');
 * the remaining words match, in order, a subsequence of argv[1..] (each
 * word a glob over one argument), so "git commit" matches
 * "git -c x=y commit -m msg".
 */
struct pol_command {
	char **words;
	size_t nwords;
	char *text;
	struct pol_pos pos;
};

struct pol_commands {
	struct pol_command *v;
	size_t n;
};

enum pol_op {
	POL_OP_EXEC = 1u << 0,
	POL_OP_OPEN = 1u << 1,    /* any open */
	POL_OP_READ = 1u << 2,    /* open for reading */
	POL_OP_WRITE = 1u << 3,   /* open for writing, creat, truncate */
	POL_OP_UNLINK = 1u << 4,
	POL_OP_RENAME = 1u << 5,  /* target paths match the old or the new name */
	POL_OP_CONNECT = 1u << 6,
	POL_OP_SEND = 1u << 7,    /* datagrams (sendto/sendmsg with an address) */
};

enum pol_effect { POL_BLOCK = 1, POL_KILL, POL_NOTIFY };

/*
 * "after" condition: a process matching `commands` exec'd earlier in this
 * session (and exited with `exit_code` when has_exit), and - when `since`
 * is non-empty - no write to a path matching `since` happened after that
 * exec started.
 */
struct pol_after {
	struct pol_commands commands;
	bool has_exit;
	int exit_code;
	struct pol_globs since;
	struct pol_pos pos;
};

struct pol_label {
	char name[POL_NAME_MAX];
	char *description;
	struct pol_globs files;        /* data in these files carries the label */
	struct pol_globs executables;  /* processes that exec these carry it */
	struct pol_endpoints endpoints;/* data received from these carries it */
	struct pol_pos pos;
};

struct pol_rule {
	char name[POL_NAME_MAX];       /* unique; "rule-N" when not given */
	unsigned ops;                  /* enum pol_op bits */
	/* target: which applies depends on ops (exec: commands/paths; file ops:
	 * paths; connect/send: endpoints). An empty target matches everything
	 * of that kind. */
	struct pol_commands commands;  /* exec */
	struct pol_globs paths;        /* exec (executable path), file ops */
	struct pol_globs paths_except;
	struct pol_globs operands_outside; /* exec: fires only if an operand
					    * resolves outside all of these */
	struct pol_endpoints endpoints;/* connect, send */
	struct pol_dnf when;           /* over the subject's labels, ∧ ¬(unless labels) */
	struct pol_after *after;       /* unless-after conditions (any satisfies) */
	size_t nafter;
	enum pol_effect effect;
	char *reason;                  /* template; never empty */
	struct pol_pos pos;
};

/* declassify/endorse: what an approved executable's writes carry. */
struct pol_flow {
	struct pol_globs executables;
	struct pol_labelset remove;    /* declassify */
	struct pol_labelset add;       /* endorse */
	struct pol_pos pos;
};

struct policy {
	char *file;                    /* as given, for messages */
	char *workspace;               /* absolute */
	char *home;                    /* absolute, what "~" expanded to */
	struct pol_label *labels;      /* id = index */
	size_t nlabels;
	struct pol_rule *rules;
	size_t nrules;
	struct pol_flow *flows;
	size_t nflows;
};

/* Diagnostics: "FILE:LINE:COL: error: MSG" / "warning: MSG". */
enum pol_severity { POL_ERROR, POL_WARNING };

struct pol_diag {
	enum pol_severity sev;
	struct pol_pos pos;
	char msg[256];
};

struct pol_diags {
	struct pol_diag *v;
	size_t n;
	size_t nerrors;
};

struct pol_env {
	const char *home;              /* "~" (required) */
	const char *workspace;         /* default for a policy without one */
};

/*
 * Parse and check a policy. Returns the policy, or NULL when there are
 * errors (all of them in d, with positions; warnings too). `name` is used
 * in messages. Never prints.
 */
struct policy *policy_parse(const char *name, const char *text, size_t len,
			    const struct pol_env *env, struct pol_diags *d);
struct policy *policy_load(const char *path, const struct pol_env *env, struct pol_diags *d);
void policy_free(struct policy *p);
void pol_diags_print(const struct pol_diags *d, const char *file, FILE *f);
void pol_diags_free(struct pol_diags *d);

/* Matching, shared by every stage (user-space decisions, tests). */
bool pol_glob_match(const char *pattern, const char *path);
bool pol_command_match(const struct pol_command *c, const char *exe,
		       char *const *argv, size_t argc);
bool pol_endpoint_match(const struct pol_endpoint *e, const uint8_t addr[16],
			uint16_t port, const char *domain);
bool pol_dnf_eval(const struct pol_dnf *d, const struct pol_labelset *s);
/* Cut s before a last character that a bounded copy left incomplete
 * (so that it stays valid UTF-8 when it was before the cut). */
void pol_utf8_trim(char *s);
/* Lexically absolute: cwd + arg, "." and ".." folded (no symlinks read). */
void pol_absolute(const char *cwd, const char *arg, char *out, size_t len);
/* A rule's operands_outside condition for argv run in cwd: true when the
 * rule has none, or when an operand (not an option) resolves outside all
 * of its globs. */
bool pol_operands_outside(const struct pol_rule *r, const char *cwd, char *const *argv,
			  size_t argc);

const char *pol_op_name(unsigned op);
const char *pol_effect_name(enum pol_effect e);

#endif
