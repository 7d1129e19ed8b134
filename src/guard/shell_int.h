/* SPDX-License-Identifier: MIT */
/*
 * Shared by the parts of the static reader of shell command lines (see
 * shell.h): the words, with their quoting and the substitutions in them
 * (shell_lex.c); the commands a wrapper or a shell runs in turn
 * (shell_wrap.c); the command lists, redirections, here-documents and the
 * words kept within their budget (shell.c).
 *
 * None of it is API (that is shell.h). The functions declared below are
 * shared between the files, hence their sh_ prefix; the smallest helpers,
 * which every part uses to read characters, are inline here.
 */
#ifndef AT_GUARD_SHELL_INT_H
#define AT_GUARD_SHELL_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "guard/shell.h"

#define HEREDOC_MAX 16             /* here-documents pending on one line */

/* One reading: the result, and the budgets shared by all its levels. */
struct ctx {
	struct sh_script *out;
	const char *home;       /* NULL: ~ and $HOME stay as written */
	size_t home_len;
	size_t bytes_left;      /* word bytes we may still hold */
	size_t peek_left;       /* bytes the arithmetic look-ahead may still scan */
	size_t nested_left;     /* bytes of nested texts we may still read */
	bool oom;
};

/* A word being built. A discarding one takes nothing: it is for words
 * whose text nobody keeps, but whose substitutions must still be read. */
struct buf {
	char *p;
	size_t n, cap;
	bool discard;
};

/* A here-document whose body is still to come, after the next newline. */
struct heredoc {
	char *delim;
	bool strip_tabs;        /* <<- */
	bool quoted;            /* quotes in the delimiter: a literal body */
	bool script;            /* the body is the script of a shell (bash <<EOF) */
};

/* A lexer over one text: the command line, or one read again (`...`, bash -c). */
struct lx {
	struct ctx *cx;
	const char *s;
	size_t len, pos;        /* reading s[pos..len) */
	unsigned depth;
	unsigned literal;       /* > 0: nothing expanded, nothing read inside */
	bool in_array;          /* reading the words of NAME=(...) */
	unsigned in_subst;      /* $( and <( open on this text */
	size_t subshells_to;    /* "((" before here: subshells (a look-ahead said) */
	struct heredoc hd[HEREDOC_MAX];
	size_t nhd;
};

/* A lexed word: its text after quote removal and its raw extent. */
struct word {
	struct buf b;
	size_t start, end;
	bool procsubst;         /* nothing but a <(...) or >(...) */
};

static inline void set_truncated(struct ctx *cx)
{
	cx->out->truncated = true;
}

/* --- characters and positions ----------------------------------------------- */

/* Characters that end an unquoted word. A NUL is taken as a blank. */
static inline bool is_meta(int c)
{
	switch (c) {
	case ' ': case '\t': case '\n': case '\0':
	case ';': case '&': case '|': case '(': case ')': case '<': case '>':
		return true;
	}
	return false;
}

static inline bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static inline bool is_name_start(int c)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline bool is_name_char(int c)
{
	return is_name_start(c) || is_digit(c);
}

/* The character k after the current one, or -1 past the end. */
static inline int ch(const struct lx *l, size_t k)
{
	if (k >= l->len - l->pos)
		return -1;
	return (unsigned char)l->s[l->pos + k];
}

static inline bool at_end(const struct lx *l)
{
	return l->pos >= l->len || l->cx->oom;
}

static inline void advance(struct lx *l, size_t k)
{
	l->pos = k < l->len - l->pos ? l->pos + k : l->len;
}

/* --- shell.c: the words kept, within the byte budget ------------------------- */

void sh_buf_add(struct ctx *cx, struct buf *b, const char *p, size_t n);
void sh_buf_addc(struct ctx *cx, struct buf *b, char c);
char *sh_buf_take(struct ctx *cx, struct buf *b);
void sh_buf_drop(struct ctx *cx, struct buf *b);
void sh_free_word(struct ctx *cx, char *w);
void sh_free_words(struct ctx *cx, char **v, size_t n);
char *sh_dup_word(struct ctx *cx, const char *s);

/* --- shell.c: command lists and here-documents ------------------------------- */

void sh_parse_list(struct lx *l, bool until_paren);
void sh_parse_text(struct ctx *cx, const char *s, size_t n, unsigned depth);
void sh_read_heredocs(struct lx *l);

/* --- shell_lex.c: words ------------------------------------------------------ */

void sh_skip_blanks(struct lx *l);
void sh_skip_comment(struct lx *l);
size_t sh_assign_prefix(const char *p, size_t n);
bool sh_raw_is(const struct lx *l, const struct word *w, const char *kw);
bool sh_raw_has_any(const struct lx *l, const struct word *w, const char *chars);
void sh_lx_init(struct lx *l, struct ctx *cx, const char *s, size_t from, size_t to,
		unsigned depth);
void sh_lx_release(struct lx *l);
bool sh_can_nest(const struct lx *l);
void sh_scan_range(struct lx *l, size_t from, size_t to, unsigned depth);
bool sh_command_arith(struct lx *l);
void sh_lex_word(struct lx *l, struct word *w);

/* --- shell_wrap.c: what a command runs in turn ------------------------------- */

bool sh_in_list(const char *const *list, const char *s, size_t n);
void sh_nested(struct ctx *cx, const char *s, unsigned depth);
bool sh_reads_script(char **argv, size_t argc);
void sh_emit(struct ctx *cx, char **argv, size_t argc, unsigned depth);

#endif
