/* SPDX-License-Identifier: MIT */
/* Internal to the report: text helpers, tables, query context, views. */
#ifndef AGENTTRAIL_CLI_REPORT_FMT_H
#define AGENTTRAIL_CLI_REPORT_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <jansson.h>
#include <sqlite3.h>

#include "cli/report.h"

/* ---- growable string ---------------------------------------------------- */
struct sbuf {
	char *p;      /* NUL-terminated once anything was added */
	size_t len;
	size_t cap;
	bool failed;  /* an allocation failed: every later add fails too */
};

void sb_init(struct sbuf *b);
int sb_addn(struct sbuf *b, const char *s, size_t n);
int sb_add(struct sbuf *b, const char *s);
int sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *sb_str(const struct sbuf *b);  /* "" when empty */
void sb_free(struct sbuf *b);

/* ---- aligned tables ------------------------------------------------------ */
struct table {
	size_t ncols;
	const char *align;  /* one 'l' or 'r' per column */
	size_t indent;      /* spaces before aligned rows */
	size_t nrows;
	size_t cap;
	char **cells;       /* nrows * ncols, NULL for empty */
	bool *line;         /* row is one free line in cells[0], not aligned */
};

int table_init(struct table *t, size_t ncols, const char *align, size_t indent);
/* cells: ncols strings (NULL = empty), copied */
int table_add(struct table *t, const char *const *cells);
int table_add_line(struct table *t, const char *text);
/* columns two spaces apart; lines longer than width (if > 0) shortened */
int table_print(const struct table *t, FILE *out, int width);
void table_free(struct table *t);

/* ---- formatting ------------------------------------------------------ */
size_t u8_len(const char *s);  /* code points */
int fmt_duration(char *buf, size_t len, long long ns);
int fmt_bytes(char *buf, size_t len, long long n);
int fmt_local_time(char *buf, size_t len, long long ns_since_epoch);
/* "0", "1", "SIGKILL", "SIGSEGV+core", or "-" when nothing is known */
int fmt_exit(char *buf, size_t len, bool has_code, long long code,
	     long long sig, bool core);
const char *signal_name(long long sig); /* "SIGKILL"; NULL if unknown */
/* a JSON array of strings -> shell words (malloc'd); NULL if not an array
 * or out of memory */
char *argv_shell(const json_t *argv);
int shell_quote(struct sbuf *b, const char *word);

/* ---- queries --------------------------------------------------------- */
struct report_ctx {
	sqlite3 *db;
	const struct report_opts *o;
	long long session;   /* resolved */
	FILE *out;
	char *err;
	size_t errlen;
};

int rq_fail(struct report_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* prepare sql; ?1, when present, is bound to the session */
int rq_prepare(struct report_ctx *c, const char *sql, sqlite3_stmt **st);
/* step: 1 row, 0 done, -1 error (message set) */
int rq_step(struct report_ctx *c, sqlite3_stmt *st);
const char *col_text(sqlite3_stmt *st, int i);          /* NULL for NULL */
bool col_null(sqlite3_stmt *st, int i);
json_t *col_json(sqlite3_stmt *st, int i);              /* scalar as JSON */
json_t *col_json_text(sqlite3_stmt *st, int i);         /* JSON text parsed */
/* set o[k] = v (stolen); -1 if v is NULL or the set fails */
int jset(json_t *o, const char *k, json_t *v);
int print_json(struct report_ctx *c, json_t *doc);      /* steals doc */
int write_out(struct report_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- views (report_views.c) ------------------------------------------ */
int view_tree(struct report_ctx *c);
int view_files(struct report_ctx *c);
int view_net(struct report_ctx *c);
/* report_llm.c */
int view_llm(struct report_ctx *c);
/* report_timeline.c */
int view_timeline(struct report_ctx *c);
int view_findings(struct report_ctx *c);
int view_violations(struct report_ctx *c);

#endif /* AGENTTRAIL_CLI_REPORT_FMT_H */
