/* SPDX-License-Identifier: MIT */
/* Text helpers of the report: strings, aligned tables, numbers, quoting,
 * and the small query/JSON helpers shared by the views. */
#include "cli/report_fmt.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------------ */
/* sbuf */

void sb_init(struct sbuf *b)
{
	memset(b, 0, sizeof(*b));
}

static int sb_reserve(struct sbuf *b, size_t more)
{
	size_t need;
	char *p;

	if (b->failed)
		return -1;
	if (more > SIZE_MAX / 2 - b->len - 1) {
		b->failed = true;
		return -1;
	}
	need = b->len + more + 1;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->failed = true;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

int sb_addn(struct sbuf *b, const char *s, size_t n)
{
	if (sb_reserve(b, n) != 0)
		return -1;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

int sb_add(struct sbuf *b, const char *s)
{
	return sb_addn(b, s, strlen(s));
}

int sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || sb_reserve(b, (size_t)n) != 0) {
		b->failed = true;
		return -1;
	}
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return -1;
	}
	b->len += (size_t)n;
	return 0;
}

const char *sb_str(const struct sbuf *b)
{
	return b->p ? b->p : "";
}

void sb_free(struct sbuf *b)
{
	free(b->p);
	sb_init(b);
}

/* ------------------------------------------------------------------------ */
/* UTF-8 widths: one column per code point (good enough for paths/argv) */

size_t u8_len(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

/* Bytes taken by the first ncp code points of s. */
static size_t u8_prefix(const char *s, size_t ncp)
{
	size_t i = 0, seen = 0;

	for (; s[i]; i++) {
		if (((unsigned char)s[i] & 0xC0) != 0x80) {
			if (seen == ncp)
				break;
			seen++;
		}
	}
	return i;
}

/* ------------------------------------------------------------------------ */
/* Tables */

int table_init(struct table *t, size_t ncols, const char *align, size_t indent)
{
	memset(t, 0, sizeof(*t));
	if (ncols == 0 || strlen(align) != ncols)
		return -1;
	t->ncols = ncols;
	t->align = align;
	t->indent = indent;
	return 0;
}

static int table_grow(struct table *t)
{
	size_t cap;
	char **cells;
	bool *line;

	if (t->nrows < t->cap)
		return 0;
	cap = t->cap ? t->cap * 2 : 16;
	if (cap > SIZE_MAX / (t->ncols * sizeof(char *)))
		return -1;
	cells = realloc(t->cells, cap * t->ncols * sizeof(char *));
	if (!cells)
		return -1;
	t->cells = cells;
	line = realloc(t->line, cap * sizeof(bool));
	if (!line)
		return -1;
	t->line = line;
	t->cap = cap;
	return 0;
}

int table_add(struct table *t, const char *const *cells)
{
	char **row;

	if (table_grow(t) != 0)
		return -1;
	row = t->cells + t->nrows * t->ncols;
	for (size_t j = 0; j < t->ncols; j++) {
		row[j] = NULL;
		if (cells[j] && cells[j][0] && !(row[j] = strdup(cells[j]))) {
			for (size_t k = 0; k < j; k++)
				free(row[k]);
			return -1;
		}
	}
	t->line[t->nrows++] = false;
	return 0;
}

int table_add_line(struct table *t, const char *text)
{
	const char *cells[t->ncols];

	for (size_t j = 0; j < t->ncols; j++)
		cells[j] = NULL;
	cells[0] = text;
	if (table_add(t, cells) != 0)
		return -1;
	t->line[t->nrows - 1] = true;
	return 0;
}

static int pad(struct sbuf *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (sb_addn(b, " ", 1) != 0)
			return -1;
	return 0;
}

static int put_line(FILE *out, const char *s, int width)
{
	size_t n = strlen(s);

	if (width > 0 && u8_len(s) > (size_t)width) {
		size_t keep = width > 3 ? (size_t)width - 3 : (size_t)width;

		n = u8_prefix(s, keep);
		if (fwrite(s, 1, n, out) != n || (width > 3 && fputs("...", out) == EOF))
			return -1;
	} else if (fwrite(s, 1, n, out) != n) {
		return -1;
	}
	return fputc('\n', out) == EOF ? -1 : 0;
}

static int format_row(const struct table *t, const size_t *widths, size_t r,
		      struct sbuf *b)
{
	char *const *row = t->cells + r * t->ncols;

	if (t->line[r])
		return row[0] ? sb_add(b, row[0]) : 0;
	if (pad(b, t->indent) != 0)
		return -1;
	for (size_t j = 0; j < t->ncols; j++) {
		const char *s = row[j] ? row[j] : "";
		size_t w = u8_len(s);
		bool last = j + 1 == t->ncols;

		if (j > 0 && sb_add(b, "  ") != 0)
			return -1;
		if (t->align[j] == 'r' && pad(b, widths[j] - w) != 0)
			return -1;
		if (sb_add(b, s) != 0)
			return -1;
		if (t->align[j] != 'r' && !last && pad(b, widths[j] - w) != 0)
			return -1;
	}
	while (b->len > 0 && b->p[b->len - 1] == ' ')
		b->p[--b->len] = '\0';
	return 0;
}

int table_print(const struct table *t, FILE *out, int width)
{
	size_t widths[t->ncols];
	int ret = 0;

	for (size_t j = 0; j < t->ncols; j++)
		widths[j] = 0;
	for (size_t r = 0; r < t->nrows; r++) {
		if (t->line[r])
			continue;
		for (size_t j = 0; j < t->ncols; j++) {
			const char *s = t->cells[r * t->ncols + j];
			size_t w = s ? u8_len(s) : 0;

			if (w > widths[j])
				widths[j] = w;
		}
	}
	for (size_t r = 0; r < t->nrows && ret == 0; r++) {
		struct sbuf b;

		sb_init(&b);
		if (format_row(t, widths, r, &b) != 0 || put_line(out, sb_str(&b), width) != 0)
			ret = -1;
		sb_free(&b);
	}
	return ret;
}

void table_free(struct table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->line);
	memset(t, 0, sizeof(*t));
}

/* ------------------------------------------------------------------------ */
/* Numbers and times */

static int ok_snprintf(int n, size_t len)
{
	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

int fmt_duration(char *buf, size_t len, long long ns)
{
	long long s = ns / 1000000000LL;

	if (ns < 0)
		return ok_snprintf(snprintf(buf, len, "-"), len);
	if (ns < 1000000LL)
		return ok_snprintf(snprintf(buf, len, "%lldus", ns / 1000), len);
	if (ns < 1000000000LL)
		return ok_snprintf(snprintf(buf, len, "%lldms", ns / 1000000), len);
	if (s < 60)
		return ok_snprintf(snprintf(buf, len, "%.2fs", (double)ns / 1e9), len);
	if (s < 3600)
		return ok_snprintf(snprintf(buf, len, "%lldm%02llds", s / 60, s % 60), len);
	return ok_snprintf(snprintf(buf, len, "%lldh%02lldm%02llds", s / 3600,
				    s / 60 % 60, s % 60), len);
}

int fmt_bytes(char *buf, size_t len, long long n)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)n;
	size_t u = 0;

	if (n < 1024)
		return ok_snprintf(snprintf(buf, len, "%lldB", n), len);
	v /= 1024.0;
	while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024.0;
		u++;
	}
	return ok_snprintf(snprintf(buf, len, "%.1f%s", v, units[u]), len);
}

int fmt_local_time(char *buf, size_t len, long long ns)
{
	time_t t = (time_t)(ns / 1000000000LL);
	struct tm tm;

	if (!localtime_r(&t, &tm) || strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		return ok_snprintf(snprintf(buf, len, "-"), len);
	return 0;
}

const char *signal_name(long long sig)
{
	static const char *const names[] = {
		NULL, "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP",
		"SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL", "SIGUSR1", "SIGSEGV",
		"SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT",
		"SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU",
		"SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF",
		"SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
	};

	if (sig <= 0 || sig >= (long long)(sizeof(names) / sizeof(names[0])))
		return NULL;
	return names[sig];
}

int fmt_exit(char *buf, size_t len, bool has_code, long long code,
	     long long sig, bool core)
{
	const char *core_s = core ? "+core" : "";

	if (sig > 0) {
		const char *name = signal_name(sig);

		if (name)
			return ok_snprintf(snprintf(buf, len, "%s%s", name, core_s), len);
		return ok_snprintf(snprintf(buf, len, "SIG%lld%s", sig, core_s), len);
	}
	if (has_code)
		return ok_snprintf(snprintf(buf, len, "%lld", code), len);
	return ok_snprintf(snprintf(buf, len, "-"), len);
}

/* ------------------------------------------------------------------------ */
/* Shell quoting */

static bool shell_safe(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch >= 0x80 ||
	       (ch && strchr("@%+=:,./-_", ch));
}

int shell_quote(struct sbuf *b, const char *w)
{
	bool safe = w[0] != '\0', control = false;

	for (const unsigned char *p = (const unsigned char *)w; *p; p++) {
		if (!shell_safe(*p))
			safe = false;
		if (*p < 0x20 || *p == 0x7f)
			control = true;
	}
	if (safe)
		return sb_add(b, w);
	if (!control) { /* 'it'\''s' */
		if (sb_add(b, "'") != 0)
			return -1;
		for (const char *p = w; *p; p++) {
			if (*p == '\'' ? sb_add(b, "'\\''") : sb_addn(b, p, 1))
				return -1;
		}
		return sb_add(b, "'");
	}
	/* $'...' keeps control characters visible and on one line */
	if (sb_add(b, "$'") != 0)
		return -1;
	for (const unsigned char *p = (const unsigned char *)w; *p; p++) {
		int rc;

		switch (*p) {
		case '\n': rc = sb_add(b, "\\n"); break;
		case '\t': rc = sb_add(b, "\\t"); break;
		case '\r': rc = sb_add(b, "\\r"); break;
		case '\'': rc = sb_add(b, "\\'"); break;
		case '\\': rc = sb_add(b, "\\\\"); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				rc = sb_printf(b, "\\x%02x", *p);
			else
				rc = sb_addn(b, (const char *)p, 1);
		}
		if (rc != 0)
			return -1;
	}
	return sb_add(b, "'");
}

char *argv_shell(const json_t *argv)
{
	struct sbuf b;
	size_t i;
	json_t *v;

	if (!json_is_array(argv))
		return NULL;
	sb_init(&b);
	if (sb_add(&b, "") != 0) /* "" for an empty argv, not NULL */
		goto fail;
	json_array_foreach(argv, i, v) {
		const char *s = json_string_value(v);

		if (i > 0 && sb_add(&b, " ") != 0)
			goto fail;
		if (shell_quote(&b, s ? s : "?") != 0)
			goto fail;
	}
	return b.p;
fail:
	sb_free(&b);
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Queries and JSON */

int rq_fail(struct report_ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->err && c->errlen) {
		va_start(ap, fmt);
		if (vsnprintf(c->err, c->errlen, fmt, ap) < 0)
			c->err[0] = '\0';
		va_end(ap);
	}
	return -1;
}

int rq_prepare(struct report_ctx *c, const char *sql, sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v2(c->db, sql, -1, st, NULL);

	if (rc != SQLITE_OK) {
		rq_fail(c, "query failed: %s", sqlite3_errmsg(c->db));
		(void)sqlite3_finalize(*st); /* NULL after a failed prepare */
		*st = NULL;
		return -1;
	}
	if (sqlite3_bind_parameter_count(*st) >= 1) {
		rc = sqlite3_bind_int64(*st, 1, c->session);
		if (rc != SQLITE_OK) {
			rq_fail(c, "query failed: %s", sqlite3_errmsg(c->db));
			(void)sqlite3_finalize(*st); /* nothing ran yet */
			*st = NULL;
			return -1;
		}
	}
	return 0;
}

int rq_step(struct report_ctx *c, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return rq_fail(c, "query failed: %s", sqlite3_errmsg(c->db));
}

bool col_null(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL;
}

const char *col_text(sqlite3_stmt *st, int i)
{
	if (col_null(st, i))
		return NULL;
	return (const char *)sqlite3_column_text(st, i);
}

json_t *col_json(sqlite3_stmt *st, int i)
{
	const char *s;
	json_t *v;

	switch (sqlite3_column_type(st, i)) {
	case SQLITE_INTEGER:
		return json_integer(sqlite3_column_int64(st, i));
	case SQLITE_FLOAT:
		return json_real(sqlite3_column_double(st, i));
	case SQLITE_TEXT:
		s = (const char *)sqlite3_column_text(st, i);
		if (!s)
			return NULL;
		v = json_stringn(s, (size_t)sqlite3_column_bytes(st, i));
		/* not UTF-8: keep the column readable rather than fail */
		return v ? v : json_string("(invalid UTF-8)");
	default:
		return json_null();
	}
}

json_t *col_json_text(sqlite3_stmt *st, int i)
{
	json_error_t jerr;
	json_t *v;

	if (sqlite3_column_type(st, i) != SQLITE_TEXT)
		return col_json(st, i);
	v = json_loads((const char *)sqlite3_column_text(st, i), JSON_DECODE_ANY, &jerr);
	return v ? v : col_json(st, i);
}

int jset(json_t *o, const char *k, json_t *v)
{
	if (!v)
		return -1;
	return json_object_set_new(o, k, v) == 0 ? 0 : -1;
}

int print_json(struct report_ctx *c, json_t *doc)
{
	int rc = json_dumpf(doc, c->out, JSON_INDENT(2));

	json_decref(doc);
	if (rc != 0 || fputc('\n', c->out) == EOF)
		return rq_fail(c, "writing the output failed");
	return 0;
}

int write_out(struct report_ctx *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vfprintf(c->out, fmt, ap);
	va_end(ap);
	return n < 0 ? rq_fail(c, "writing the output failed") : 0;
}
