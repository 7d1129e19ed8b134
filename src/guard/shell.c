/* SPDX-License-Identifier: MIT */
/*
 * A static reading of a shell command line: the programs it would run and
 * the files its redirections would open (see shell.h).
 *
 * One pass of recursive descent over the text. A command substitution
 * $(...) or a process substitution <(...) is read by the same command list
 * reader, on the same text, which returns at the matching ')'; the text of
 * `...`, of bash -c and eval strings is unescaped first and read as a text
 * of its own. Either way one level deeper: past SH_MAX_DEPTH levels the
 * text is skipped as a literal (paren counting, quotes skipped) and the
 * result is marked truncated.
 *
 * Time and memory stay linear-ish on hostile input:
 *  - each byte of a text is read once per level, and levels are bounded;
 *  - the only look-ahead (is "((" arithmetic or two subshells?) does not
 *    nest, is remembered where it failed, and has a total budget;
 *  - the texts read again (bash -c, `...`, eval) have a total budget;
 *  - the bytes of the words kept have a total budget (a long $HOME times
 *    many ~ would otherwise multiply the input);
 *  - counts are capped (commands, words, redirections, pending here-docs,
 *    nested case), and whatever does not fit is dropped and flagged.
 * Fixed-size state lives in the command list reader's frame, of which
 * there are at most SH_MAX_DEPTH + 1 on the stack.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guard/shell.h"

#define HEREDOC_MAX 16             /* here-documents pending on one line */
#define CASE_MAX 32                /* case ... esac nested within one list */
#define WORD_BYTES_MAX (16u << 20) /* bytes of words held at any time */
#define NESTED_EXTRA (64u << 10)   /* nested text budget: 8 * input + this */

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

struct heredoc {
	char *delim;
	bool strip_tabs;        /* <<- */
	bool quoted;            /* quotes in the delimiter: a literal body */
	bool script;            /* the body is the script of a shell (bash <<EOF) */
};

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

static void parse_list(struct lx *l, bool until_paren);
static void parse_text(struct ctx *cx, const char *s, size_t n, unsigned depth);
static void lex_word(struct lx *l, struct word *w);
static void lex_dollar(struct lx *l, struct buf *b, bool in_dq);
static void lex_backquote(struct lx *l, struct buf *b);
static void read_heredocs(struct lx *l);
static void emit(struct ctx *cx, char **argv, size_t argc, unsigned depth);

static void set_truncated(struct ctx *cx)
{
	cx->out->truncated = true;
}

/* --- buffers ------------------------------------------------------------ */

static bool buf_reserve(struct ctx *cx, struct buf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 32;
	char *p;

	while (cap < b->n + more + 1)
		cap *= 2;
	if (cap == b->cap)
		return true;
	p = realloc(b->p, cap);
	if (!p) {
		cx->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

/* Append p[0..n) within the byte budget. NULs are left out: the words
 * are C strings, and a NUL must not hide what follows it. */
static void buf_add(struct ctx *cx, struct buf *b, const char *p, size_t n)
{
	size_t before = b->n;

	if (b->discard || cx->oom || n == 0)
		return;
	if (n > cx->bytes_left) {
		n = cx->bytes_left;
		set_truncated(cx);
	}
	if (n == 0 || !buf_reserve(cx, b, n))
		return;
	for (size_t i = 0; i < n; i++)
		if (p[i] != '\0')
			b->p[b->n++] = p[i];
	b->p[b->n] = '\0';
	cx->bytes_left -= b->n - before;
}

static void buf_addc(struct ctx *cx, struct buf *b, char c)
{
	buf_add(cx, b, &c, 1);
}

/* The text, as an allocated string ("" if nothing was added); the buffer
 * is left empty. NULL only when out of memory. */
static char *buf_take(struct ctx *cx, struct buf *b)
{
	char *p = b->p;

	if (!p && !cx->oom) {
		p = calloc(1, 1);
		if (!p)
			cx->oom = true;
	}
	b->p = NULL;
	b->n = b->cap = 0;
	return p;
}

static void buf_drop(struct ctx *cx, struct buf *b)
{
	cx->bytes_left += b->n;
	free(b->p);
	b->p = NULL;
	b->n = b->cap = 0;
}

/* Free a word taken from a buffer, giving its bytes back to the budget. */
static void free_word(struct ctx *cx, char *w)
{
	if (!w)
		return;
	cx->bytes_left += strlen(w);
	free(w);
}

static void free_words(struct ctx *cx, char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free_word(cx, v[i]);
}

static char *dup_word(struct ctx *cx, const char *s)
{
	struct buf b = { 0 };

	buf_add(cx, &b, s, strlen(s));
	return buf_take(cx, &b);
}

/* --- characters and positions --------------------------------------------- */

/* Characters that end an unquoted word. A NUL is taken as a blank. */
static bool is_meta(int c)
{
	switch (c) {
	case ' ': case '\t': case '\n': case '\0':
	case ';': case '&': case '|': case '(': case ')': case '<': case '>':
		return true;
	}
	return false;
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_name_start(int c)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_name_char(int c)
{
	return is_name_start(c) || is_digit(c);
}

/* The character k after the current one, or -1 past the end. */
static int ch(const struct lx *l, size_t k)
{
	if (k >= l->len - l->pos)
		return -1;
	return (unsigned char)l->s[l->pos + k];
}

static bool at_end(const struct lx *l)
{
	return l->pos >= l->len || l->cx->oom;
}

static void advance(struct lx *l, size_t k)
{
	l->pos = k < l->len - l->pos ? l->pos + k : l->len;
}

static void skip_blanks(struct lx *l)
{
	while (!at_end(l)) {
		int c = ch(l, 0);

		if (c == ' ' || c == '\t' || c == '\0')
			l->pos++;
		else if (c == '\\' && ch(l, 1) == '\n')
			l->pos += 2;    /* a line continuation */
		else
			break;
	}
}

/* A comment runs up to the newline, which is left to end the command. */
static void skip_comment(struct lx *l)
{
	const char *nl = memchr(l->s + l->pos, '\n', l->len - l->pos);

	l->pos = nl ? (size_t)(nl - l->s) : l->len;
}

/* From the opening quote q at s[i] to just past its closing one (or the
 * end). A backslash escapes in double quotes and backquotes. */
static size_t quoted_end(const char *s, size_t len, size_t i, int q)
{
	for (i++; i < len; i++) {
		if (s[i] == '\\' && q != '\'') {
			i++;
			continue;
		}
		if ((unsigned char)s[i] == q)
			return i + 1;
	}
	return len;
}

/* The length of the NAME=, NAME+= or NAME[...]= that p[0..n) starts with;
 * 0 if it is no assignment. */
static size_t assign_prefix(const char *p, size_t n)
{
	size_t i = 0;

	if (n == 0 || !is_name_start((unsigned char)p[0]))
		return 0;
	while (i < n && is_name_char((unsigned char)p[i]))
		i++;
	if (i < n && p[i] == '[') {
		const char *q = memchr(p + i, ']', n - i);

		if (!q)
			return 0;
		i = (size_t)(q - p) + 1;
	}
	if (i + 1 < n && p[i] == '+' && p[i + 1] == '=')
		return i + 2;
	if (i < n && p[i] == '=')
		return i + 1;
	return 0;
}

/* Is the raw text of w exactly kw (unquoted, as reserved words must be)? */
static bool raw_is(const struct lx *l, const struct word *w, const char *kw)
{
	size_t n = strlen(kw);

	return w->end - w->start == n && memcmp(l->s + w->start, kw, n) == 0;
}

static bool raw_has_any(const struct lx *l, const struct word *w, const char *chars)
{
	for (size_t i = w->start; i < w->end; i++)
		if (l->s[i] != '\0' && strchr(chars, l->s[i]))
			return true;
	return false;
}

/* --- lexers over a text ------------------------------------------------- */

static void lx_init(struct lx *l, struct ctx *cx, const char *s, size_t from, size_t to,
		    unsigned depth)
{
	memset(l, 0, sizeof(*l));
	l->cx = cx;
	l->s = s;
	l->pos = from;
	l->len = to;
	l->depth = depth;
}

/* Here-documents still pending at the end of a text have no body. */
static void lx_release(struct lx *l)
{
	for (size_t i = 0; i < l->nhd; i++)
		free_word(l->cx, l->hd[i].delim);
	l->nhd = 0;
}

/* May we read one level further down? If not, something is left unread. */
static bool can_nest(const struct lx *l)
{
	if (l->literal)
		return false;
	if (l->depth < SH_MAX_DEPTH)
		return true;
	set_truncated(l->cx);
	return false;
}

/* Text that is not read, just passed: from after a "(" to after its ")". */
static void skip_balanced(struct lx *l)
{
	size_t level = 1;

	while (!at_end(l)) {
		int c = ch(l, 0);

		switch (c) {
		case '\\':
			advance(l, 2);
			continue;
		case '\'': case '"': case '`':
			l->pos = quoted_end(l->s, l->len, l->pos, c);
			continue;
		case '(':
			level++;
			break;
		case ')':
			if (--level == 0) {
				l->pos++;
				return;
			}
			break;
		}
		l->pos++;
	}
}

/* Text in which only \, $ and ` are special (arithmetic, an unquoted
 * here-document body): read the substitutions in it. */
static void scan_expansions(struct lx *l)
{
	struct buf junk = { .discard = true };

	while (!at_end(l)) {
		int c = ch(l, 0);

		if (c == '\\')
			advance(l, 2);
		else if (c == '$')
			lex_dollar(l, &junk, true);
		else if (c == '`')
			lex_backquote(l, &junk);
		else
			l->pos++;
	}
}

/* scan_expansions() over s[from..to) of l's text, at the given depth. */
static void scan_range(struct lx *l, size_t from, size_t to, unsigned depth)
{
	struct lx v;

	lx_init(&v, l->cx, l->s, from, to, depth);
	v.literal = l->literal;
	scan_expansions(&v);
	lx_release(&v);
}

/* --- substitutions ------------------------------------------------------ */

/* "$(", "<(" or ">(" at pos: the commands inside, and the raw text. */
static void lex_subst(struct lx *l, struct buf *b)
{
	size_t start = l->pos;

	l->pos += 2;
	if (can_nest(l)) {
		l->depth++;
		l->in_subst++;
		parse_list(l, true);
		l->in_subst--;
		l->depth--;
	} else {
		skip_balanced(l);
	}
	buf_add(l->cx, b, l->s + start, l->pos - start);
}

/*
 * After "((" (the text from `from` on): is it arithmetic, closed by "))"?
 * Bash tries that first, and falls back to subshells (or a command
 * substitution holding one: "$((cd x; ls) )") when the parenthesis that
 * closes the second "(" is not followed by the one closing the first.
 * Sets *end past the construct and *inner to the end of its contents; an
 * unclosed one runs to the end. The look-ahead does not nest and has a
 * total budget; past it, the answer is no (reading commands where there
 * are none only lists too much).
 */
static bool arith_peek(struct lx *l, size_t from, size_t *inner, size_t *end)
{
	struct ctx *cx = l->cx;
	const char *s = l->s;
	size_t i = from, level = 2;
	bool arith = true;

	while (i < l->len) {
		unsigned char c = (unsigned char)s[i];

		if (i - from >= cx->peek_left) {
			set_truncated(cx);
			arith = false;
			break;
		}
		if (c == '\\') {
			i += 2;
			continue;
		}
		if (c == '\'' || c == '"' || c == '`') {
			i = quoted_end(s, l->len, i, c);
			continue;
		}
		if (c == '(') {
			level++;
		} else if (c == ')' && level > 2) {
			level--;
		} else if (c == ')') {
			arith = i + 1 < l->len && s[i + 1] == ')';
			*inner = i;
			i += arith ? 2 : 1;
			goto out;
		}
		i++;
	}
	if (i > l->len)
		i = l->len;
	*inner = i;
out:
	cx->peek_left -= i - from < cx->peek_left ? i - from : cx->peek_left;
	*end = i;
	return arith;
}

/* The contents of an arithmetic expression: nothing runs there but the
 * command substitutions it holds. */
static void arith_body(struct lx *l, size_t from, size_t to)
{
	if (can_nest(l))
		scan_range(l, from, to, l->depth + 1);
}

/* "$(" at pos: arithmetic $((...)) or a command substitution. */
static void lex_dollar_paren(struct lx *l, struct buf *b)
{
	size_t start = l->pos, inner, end;

	if (ch(l, 2) == '(' && arith_peek(l, start + 3, &inner, &end)) {
		arith_body(l, start + 3, inner);
		l->pos = end;
		buf_add(l->cx, b, l->s + start, end - start);
		return;
	}
	lex_subst(l, b);
}

/* "((" at a command's start: an arithmetic command? If so, it is read. */
static bool command_arith(struct lx *l)
{
	size_t inner, end;

	if (l->pos < l->subshells_to)
		return false;   /* inside a "((" already found to be subshells */
	if (!arith_peek(l, l->pos + 2, &inner, &end)) {
		l->subshells_to = end;
		return false;
	}
	arith_body(l, l->pos + 2, inner);
	l->pos = end;
	return true;
}

/* `...`: unescape \$ \` \\, read the result as a text of its own. */
static void lex_backquote(struct lx *l, struct buf *b)
{
	struct ctx *cx = l->cx;
	struct buf inner = { 0 };
	size_t start = l->pos;

	inner.discard = !can_nest(l);
	l->pos++;
	while (!at_end(l)) {
		int c = ch(l, 0), n = ch(l, 1);

		if (c == '`') {
			l->pos++;
			break;
		}
		if (c == '\\' && (n == '$' || n == '`' || n == '\\')) {
			buf_addc(cx, &inner, (char)n);
			l->pos += 2;
			continue;
		}
		buf_addc(cx, &inner, (char)c);
		l->pos++;
	}
	if (!inner.discard && !cx->oom)
		parse_text(cx, inner.p ? inner.p : "", inner.n, l->depth + 1);
	buf_drop(cx, &inner);
	buf_add(cx, b, l->s + start, l->pos - start);
}

/* --- quoting and parameters ------------------------------------------------ */

static bool add_home(struct lx *l, struct buf *b)
{
	if (!l->cx->home || l->literal)
		return false;
	buf_add(l->cx, b, l->cx->home, l->cx->home_len);
	return true;
}

/* Up to max digits in the given base (8 or 16); how many there were. */
static size_t take_digits(struct lx *l, unsigned base, size_t max, unsigned long *v)
{
	size_t n = 0;

	*v = 0;
	while (n < max && !at_end(l)) {
		int c = ch(l, 0), d;

		if (c >= '0' && c <= '7')
			d = c - '0';
		else if (base == 16 && is_digit(c))
			d = c - '0';
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			break;
		*v = *v * base + (unsigned long)d;
		l->pos++;
		n++;
	}
	return n;
}

static void add_utf8(struct ctx *cx, struct buf *b, unsigned long v)
{
	char u[4];
	size_t n;

	if (v < 0x80) {
		u[0] = (char)v;
		n = 1;
	} else if (v < 0x800) {
		u[0] = (char)(0xc0 | (v >> 6));
		u[1] = (char)(0x80 | (v & 0x3f));
		n = 2;
	} else if (v < 0x10000) {
		u[0] = (char)(0xe0 | (v >> 12));
		u[1] = (char)(0x80 | ((v >> 6) & 0x3f));
		u[2] = (char)(0x80 | (v & 0x3f));
		n = 3;
	} else if (v < 0x110000) {
		u[0] = (char)(0xf0 | (v >> 18));
		u[1] = (char)(0x80 | ((v >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((v >> 6) & 0x3f));
		u[3] = (char)(0x80 | (v & 0x3f));
		n = 4;
	} else {
		return;
	}
	buf_add(cx, b, u, n);
}

/* The escape after a backslash in $'...' (pos just after the backslash). */
static void ansi_escape(struct lx *l, struct buf *b)
{
	static const char from[] = "abeEfnrtv\\'\"?";
	static const char to[] = "\a\b\033\033\f\n\r\t\v\\'\"?";
	struct ctx *cx = l->cx;
	int c = ch(l, 0);
	const char *p = c > 0 ? strchr(from, c) : NULL;
	unsigned long v;

	if (p) {
		buf_addc(cx, b, to[p - from]);
		l->pos++;
		return;
	}
	if (c >= '0' && c <= '7') {
		take_digits(l, 8, 3, &v);
		buf_addc(cx, b, (char)(v & 0xff));
		return;
	}
	l->pos++;
	if ((c == 'x' && take_digits(l, 16, 2, &v)) || (c == 'u' && take_digits(l, 16, 4, &v)) ||
	    (c == 'U' && take_digits(l, 16, 8, &v))) {
		if (c == 'x')
			buf_addc(cx, b, (char)v);
		else
			add_utf8(cx, b, v);
		return;
	}
	if (c == 'c' && !at_end(l)) {
		buf_addc(cx, b, (char)(ch(l, 0) & 0x1f));
		l->pos++;
		return;
	}
	buf_addc(cx, b, '\\');
	buf_addc(cx, b, (char)c);
}

/* $'...' at pos. A \0 or \x00 ends a C string: it is left out. */
static void lex_ansi(struct lx *l, struct buf *b)
{
	l->pos += 2;
	while (!at_end(l)) {
		int c = ch(l, 0);

		if (c == '\'') {
			l->pos++;
			return;
		}
		if (c == '\\' && ch(l, 1) >= 0) {
			l->pos++;
			ansi_escape(l, b);
			continue;
		}
		buf_addc(l->cx, b, (char)c);
		l->pos++;
	}
}

/* '...' at pos. */
static void lex_squote(struct lx *l, struct buf *b)
{
	const char *q;
	size_t from = l->pos + 1;

	q = memchr(l->s + from, '\'', l->len - from);
	if (!q) {
		buf_add(l->cx, b, l->s + from, l->len - from);
		l->pos = l->len;
		return;
	}
	buf_add(l->cx, b, l->s + from, (size_t)(q - l->s) - from);
	l->pos = (size_t)(q - l->s) + 1;
}

/* "..." at pos. */
static void lex_dquote(struct lx *l, struct buf *b)
{
	struct ctx *cx = l->cx;

	l->pos++;
	while (!at_end(l)) {
		int c = ch(l, 0), n = ch(l, 1);

		switch (c) {
		case '"':
			l->pos++;
			return;
		case '\\':
			if (n == '\n') {
				l->pos += 2;
			} else if (n == '$' || n == '`' || n == '"' || n == '\\') {
				buf_addc(cx, b, (char)n);
				l->pos += 2;
			} else {
				buf_addc(cx, b, '\\');
				l->pos++;
			}
			continue;
		case '$':
			lex_dollar(l, b, true);
			continue;
		case '`':
			lex_backquote(l, b);
			continue;
		}
		buf_addc(cx, b, (char)c);
		l->pos++;
	}
}

/* $NAME at pos: $HOME is expanded, any other stays as written. */
static void lex_variable(struct lx *l, struct buf *b)
{
	size_t start = l->pos, i = l->pos + 1;

	while (i < l->len && is_name_char((unsigned char)l->s[i]))
		i++;
	l->pos = i;
	if (i - start == 5 && memcmp(l->s + start + 1, "HOME", 4) == 0 && add_home(l, b))
		return;
	buf_add(l->cx, b, l->s + start, i - start);
}

/*
 * ${...} at pos: ${HOME} is expanded, anything else stays as written, but
 * the substitutions inside (${x:-$(cmd)}) are read. Nested ${ are counted,
 * not recursed into. Double quotes nest in it, as in "${x:-"}"}"; single
 * quotes quote only outside double quotes (bash pairs them in "${...}" as
 * well, where a POSIX sh does not: ending at the first '}' lists more).
 */
static void lex_braces(struct lx *l, struct buf *b, bool in_dq)
{
	struct buf junk = { .discard = true };
	size_t start = l->pos, level = 1;
	bool dq = false;

	if (l->len - l->pos >= 7 && memcmp(l->s + l->pos, "${HOME}", 7) == 0) {
		l->pos += 7;
		if (!add_home(l, b))
			buf_add(l->cx, b, l->s + start, 7);
		return;
	}
	l->pos += 2;
	while (!at_end(l)) {
		int c = ch(l, 0);

		if (c == '\\') {
			advance(l, 2);
		} else if (c == '\'' && !dq && !in_dq) {
			l->pos = quoted_end(l->s, l->len, l->pos, c);
		} else if (c == '"') {
			dq = !dq;
			l->pos++;
		} else if (c == '$' && ch(l, 1) == '{') {
			level++;
			l->pos += 2;
		} else if (c == '$') {
			lex_dollar(l, &junk, true);
		} else if (c == '`') {
			lex_backquote(l, &junk);
		} else {
			l->pos++;
			if (c == '}' && !dq && --level == 0)
				break;
		}
	}
	buf_add(l->cx, b, l->s + start, l->pos - start);
}

/* A '$' at pos, unquoted or in double quotes. */
static void lex_dollar(struct lx *l, struct buf *b, bool in_dq)
{
	int n = ch(l, 1);

	if (n == '\'' && !in_dq) {
		lex_ansi(l, b);
	} else if (n == '"' && !in_dq) {
		l->pos++;       /* $"...": a translated string, a double quote to us */
		lex_dquote(l, b);
	} else if (n == '(') {
		lex_dollar_paren(l, b);
	} else if (n == '{') {
		lex_braces(l, b, in_dq);
	} else if (is_name_start(n)) {
		lex_variable(l, b);
	} else {
		buf_addc(l->cx, b, '$');
		l->pos++;
	}
}

/* --- words --------------------------------------------------------------- */

/* NAME=(a b c): the array's words belong to the assignment word. */
static void lex_array(struct lx *l, struct word *w)
{
	struct ctx *cx = l->cx;

	buf_addc(cx, &w->b, '(');
	l->pos++;
	l->in_array = true;
	while (!at_end(l)) {
		struct word e = { 0 };
		int c;

		skip_blanks(l);
		c = ch(l, 0);
		if (c < 0)
			break;
		if (c == ')') {
			buf_addc(cx, &w->b, ')');
			l->pos++;
			break;
		}
		if (c == '\n') {
			l->pos++;
			read_heredocs(l);
			continue;
		}
		if (c == '#') {
			skip_comment(l);
			continue;
		}
		if (is_meta(c) && !((c == '<' || c == '>') && ch(l, 1) == '(')) {
			l->pos++;       /* a syntax error to bash; go on */
			continue;
		}
		e.b.discard = w->b.discard;
		lex_word(l, &e);
		buf_add(cx, &w->b, e.b.p ? e.b.p : "", e.b.n);
		buf_addc(cx, &w->b, ' ');
		buf_drop(cx, &e.b);
	}
	l->in_array = false;
}

/*
 * Does the '(' at pos open an extended glob group, as in @(a|b)? Not
 * after a '!' that starts the word: without extglob, bash reads "!(cmd)"
 * as a negated subshell and runs cmd; with it, a glob names the program,
 * which we cannot know. Reading the subshell lists more, not less.
 */
static bool opens_extglob(const struct lx *l, const struct word *w)
{
	char prev;

	if (l->pos <= w->start)
		return false;
	prev = l->s[l->pos - 1];
	if (prev == '!' && l->pos - 1 == w->start)
		return false;
	return prev != '\0' && strchr("?*+@!", prev) != NULL;
}

/* A backslash outside quotes, at pos. */
static void lex_backslash(struct lx *l, struct buf *b)
{
	int n = ch(l, 1);

	if (n == '\n') {
		l->pos += 2;    /* a line continuation */
	} else if (n >= 0) {
		buf_addc(l->cx, b, (char)n);
		l->pos += 2;
	} else {
		buf_addc(l->cx, b, '\\');
		l->pos++;
	}
}

/*
 * One word, from pos (which is not a metacharacter, but for "<(" / ">(")
 * up to the first unquoted metacharacter. Quote removal is done, ~ and
 * $HOME expanded, substitutions read. Inside an extended glob group the
 * '|' and parentheses belong to the word; blanks still end it, so that an
 * unclosed group cannot swallow the rest of the line.
 */
static void lex_word(struct lx *l, struct word *w)
{
	struct ctx *cx = l->cx;
	size_t groups = 0, after_subst = 0;
	int c0 = ch(l, 0), c1 = ch(l, 1);

	w->start = l->pos;
	w->procsubst = false;
	if ((c0 == '<' || c0 == '>') && c1 == '(') {
		lex_subst(l, &w->b);
		after_subst = l->pos;
	} else if (c0 == '~' && (c1 < 0 || c1 == '/' || is_meta(c1)) && add_home(l, &w->b)) {
		l->pos++;
	}
	while (!at_end(l)) {
		int c = ch(l, 0);

		if ((c == '(' && opens_extglob(l, w)) || (groups && (c == '(' || c == '|'))) {
			groups += c == '(';
		} else if (c == ')' && groups) {
			groups--;
		} else if (c == '(' && !l->in_array && w->start < l->pos &&
			   l->s[l->pos - 1] == '=' &&
			   assign_prefix(l->s + w->start, l->pos - w->start) == l->pos - w->start) {
			lex_array(l, w);
			continue;
		} else if (is_meta(c)) {
			break;
		} else if (c == '\\') {
			lex_backslash(l, &w->b);
			continue;
		} else if (c == '\'') {
			lex_squote(l, &w->b);
			continue;
		} else if (c == '"') {
			lex_dquote(l, &w->b);
			continue;
		} else if (c == '$') {
			lex_dollar(l, &w->b, false);
			continue;
		} else if (c == '`') {
			lex_backquote(l, &w->b);
			continue;
		}
		buf_addc(cx, &w->b, (char)c);
		l->pos++;
	}
	w->end = l->pos;
	w->procsubst = after_subst && after_subst == l->pos;
}

/* --- redirections and here-documents -------------------------------------- */

enum redir {
	R_READ,
	R_WRITE,
	R_RDWR,
	R_DUP_OUT,      /* >&word: a duplication, or a write of word */
	R_DUP_IN,       /* <&word */
	R_HEREDOC,
	R_HEREDOC_TABS,
	R_HERESTRING,
};

/* Does a redirection start at pos? *op: where its operator is (past an
 * "N" or "{name}" file descriptor). */
static bool at_redir(const struct lx *l, size_t *op)
{
	const char *s = l->s;
	size_t i = l->pos;

	if (i < l->len && is_digit((unsigned char)s[i])) {
		while (i < l->len && is_digit((unsigned char)s[i]))
			i++;
	} else if (i + 1 < l->len && s[i] == '{' && is_name_start((unsigned char)s[i + 1])) {
		size_t j = i + 1;

		while (j < l->len && is_name_char((unsigned char)s[j]))
			j++;
		if (j < l->len && s[j] == '}')
			i = j + 1;
	}
	*op = i;
	if (i >= l->len)
		return false;
	if (i == l->pos && i + 1 < l->len && s[i] == '&' && s[i + 1] == '>')
		return true;
	if (s[i] != '<' && s[i] != '>')
		return false;
	/* "<(" / ">(" is a process substitution, a word */
	return i != l->pos || i + 1 >= l->len || s[i + 1] != '(';
}

/* Reads the operator at pos; returns its kind. */
static enum redir redir_op(struct lx *l)
{
	int c = ch(l, 0), n = ch(l, 1), n2 = ch(l, 2);

	if (c == '&') {         /* &> and &>> */
		advance(l, n2 == '>' ? 3 : 2);
		return R_WRITE;
	}
	if (c == '<') {
		if (n == '<' && n2 == '<') {
			advance(l, 3);
			return R_HERESTRING;
		}
		if (n == '<') {
			advance(l, n2 == '-' ? 3 : 2);
			return n2 == '-' ? R_HEREDOC_TABS : R_HEREDOC;
		}
		advance(l, n == '>' || n == '&' ? 2 : 1);
		return n == '>' ? R_RDWR : n == '&' ? R_DUP_IN : R_READ;
	}
	/* '>': >, >>, >| and >& */
	advance(l, n == '>' || n == '|' || n == '&' ? 2 : 1);
	return n == '&' ? R_DUP_OUT : R_WRITE;
}

/* "1", "12-", "-": what >& and <& take as a file descriptor. */
static bool is_fd_word(const char *s)
{
	size_t i = 0;

	while (is_digit((unsigned char)s[i]))
		i++;
	if (s[i] == '-')
		i++;
	return i > 0 && s[i] == '\0';
}

static void add_redir(struct lx *l, struct word *w, unsigned access)
{
	struct sh_script *o = l->cx->out;
	char *path;

	if (w->procsubst) {
		buf_drop(l->cx, &w->b);
		return;
	}
	if (o->nredirs >= SH_MAX_REDIRS) {
		set_truncated(l->cx);
		buf_drop(l->cx, &w->b);
		return;
	}
	path = buf_take(l->cx, &w->b);
	if (!path)
		return;
	o->redirs[o->nredirs].path = path;
	o->redirs[o->nredirs].access = (enum sh_access)access;
	o->nredirs++;
}

/* The delimiter of a here-document, whose body starts after the next
 * newline. Quotes anywhere in it make the body literal. */
static void add_heredoc(struct lx *l, struct word *w, bool strip_tabs)
{
	struct heredoc *h;

	if (l->nhd >= HEREDOC_MAX) {
		/* its body will be read as commands: too much, not too little */
		set_truncated(l->cx);
		buf_drop(l->cx, &w->b);
		return;
	}
	h = &l->hd[l->nhd];
	h->quoted = raw_has_any(l, w, "'\"\\");
	h->strip_tabs = strip_tabs;
	h->script = false;
	h->delim = buf_take(l->cx, &w->b);
	if (h->delim)
		l->nhd++;
}

/* A redirection at pos, whose operator is at op. A here-string's text is
 * handed back in *herestring (the command may be a shell reading it). */
static void parse_redir(struct lx *l, size_t op, char **herestring)
{
	struct word w = { 0 };
	enum redir kind;
	int c;

	l->pos = op;
	kind = redir_op(l);
	skip_blanks(l);
	c = ch(l, 0);
	if (c < 0 || (is_meta(c) && !((c == '<' || c == '>') && ch(l, 1) == '(')))
		return;         /* no target: a syntax error to bash */
	if (kind == R_HEREDOC || kind == R_HEREDOC_TABS) {
		l->literal++;   /* a delimiter is not expanded */
		lex_word(l, &w);
		l->literal--;
		add_heredoc(l, &w, kind == R_HEREDOC_TABS);
		return;
	}
	lex_word(l, &w);
	switch (kind) {
	case R_HERESTRING:
		free_word(l->cx, *herestring);
		*herestring = buf_take(l->cx, &w.b);
		return;
	case R_READ:
		add_redir(l, &w, SH_READ);
		return;
	case R_WRITE:
		add_redir(l, &w, SH_WRITE);
		return;
	case R_RDWR:
		add_redir(l, &w, SH_READ | SH_WRITE);
		return;
	case R_DUP_OUT:
		/* bash: >&word with a word that is no fd writes to the file */
		if (!is_fd_word(w.b.p ? w.b.p : "")) {
			add_redir(l, &w, SH_WRITE);
			return;
		}
		break;
	default:
		break;
	}
	buf_drop(l->cx, &w.b);
}

/* Is the newline at s[eol] escaped, by an odd number of backslashes? */
static bool escaped_newline(const char *s, size_t from, size_t eol)
{
	size_t n = 0;

	while (eol - n > from && s[eol - n - 1] == '\\')
		n++;
	return n % 2 == 1;
}

/*
 * In a command substitution, bash also ends a here-document at a line that
 * starts with the delimiter and has a ')' after it, as in
 * "x=$(cat <<EOF\n...\nEOF)", and reads on from just after the delimiter:
 * otherwise what follows would pass for the body, unread.
 */
static bool ends_in_subst(const struct lx *l, const struct heredoc *h, size_t from, size_t eol)
{
	size_t dlen = strlen(h->delim);

	return l->in_subst && eol - from > dlen && memcmp(l->s + from, h->delim, dlen) == 0 &&
	       memchr(l->s + from + dlen, ')', eol - from - dlen);
}

/*
 * Past a here-document's body and its delimiter line, from pos; returns
 * where the body ends. Without a delimiter line it runs to the end. In an
 * unquoted one, bash joins a line ending in an escaped newline with the
 * next before comparing it with the delimiter ("EO\\\nF" ends <<EOF), so
 * we compare logical lines too.
 */
static size_t skip_heredoc(struct lx *l, const struct heredoc *h)
{
	size_t dlen = strlen(h->delim);

	while (l->pos < l->len) {
		size_t line = l->pos, matched = 0;
		bool same = true, joined = false;

		for (;;) {
			const char *nl = memchr(l->s + l->pos, '\n', l->len - l->pos);
			size_t from = l->pos, eol = nl ? (size_t)(nl - l->s) : l->len, end = eol;
			bool cont;

			if (h->strip_tabs && !joined)
				while (from < eol && l->s[from] == '\t')
					from++;
			cont = nl && !h->quoted && escaped_newline(l->s, from, eol);
			if (!joined && !cont && ends_in_subst(l, h, from, eol)) {
				l->pos = from + dlen;
				return line;
			}
			if (cont)
				end--;
			same = same && end - from <= dlen - matched &&
			       memcmp(l->s + from, h->delim + matched, end - from) == 0;
			if (same)
				matched += end - from;
			l->pos = nl ? eol + 1 : l->len;
			if (!cont)
				break;
			joined = true;
		}
		if (same && matched == dlen)
			return line;
	}
	return l->len;
}

/* A here-document that is a shell's script: read as commands. */
static void parse_range(struct lx *l, size_t from, size_t to)
{
	struct lx v;

	if (!can_nest(l))
		return;
	lx_init(&v, l->cx, l->s, from, to, l->depth + 1);
	parse_list(&v, false);
	lx_release(&v);
}

/* Just after a newline: the bodies of the here-documents started on the
 * line. They are not commands (but for a shell's script), but an unquoted
 * one's substitutions run. */
static void read_heredocs(struct lx *l)
{
	for (size_t i = 0; i < l->nhd; i++) {
		struct heredoc *h = &l->hd[i];
		size_t from = l->pos, to = skip_heredoc(l, h);

		if (h->script)
			parse_range(l, from, to);
		else if (!h->quoted)
			scan_range(l, from, to, l->depth);
		free_word(l->cx, h->delim);
		h->delim = NULL;
	}
	l->nhd = 0;
}

/* --- wrappers: the commands a command runs ---------------------------------- */

/* How a wrapper's options are read, up to the command it runs. */
struct wrapper {
	const char *name;
	const char *argopts;            /* short options taking an argument */
	const char *const *longargs;    /* long options taking the next word */
	const char *noexec;             /* short options with which nothing runs */
	char cmdopt;                    /* short option whose argument is a command line */
	const char *cmdlong;            /* the same, long */
	bool assignments;               /* NAME=VALUE words may come first */
	bool dash_option;               /* a lone "-" is an option (env) */
	unsigned operands;              /* words before the command (a duration) */
};

static const char *const env_long[] = { "unset", "chdir", "split-string", "argv0", NULL };
static const char *const sudo_long[] = { "user", "group", "close-from", "chdir", "host",
	"prompt", "role", "type", "other-user", "command-timeout", "chroot", NULL };
static const char *const nice_long[] = { "adjustment", NULL };
static const char *const stdbuf_long[] = { "input", "output", "error", NULL };
static const char *const timeout_long[] = { "signal", "kill-after", NULL };
static const char *const time_long[] = { "format", "output", NULL };
static const char *const xargs_long[] = { "arg-file", "delimiter", "max-args", "max-procs",
	"max-chars", "process-slot-var", NULL };
static const char *const none_long[] = { NULL };

static const struct wrapper WRAPPERS[] = {
	{ .name = "env", .argopts = "uCSaP", .longargs = env_long, .cmdopt = 'S',
	  .cmdlong = "split-string", .assignments = true, .dash_option = true },
	{ .name = "sudo", .argopts = "ugCDhprtUTR", .longargs = sudo_long, .noexec = "elvVK",
	  .assignments = true },
	{ .name = "doas", .argopts = "uC", .longargs = none_long, .noexec = "C" },
	{ .name = "nohup", .argopts = "", .longargs = none_long },
	{ .name = "time", .argopts = "fo", .longargs = time_long },
	{ .name = "command", .argopts = "", .longargs = none_long, .noexec = "vV" },
	{ .name = "exec", .argopts = "a", .longargs = none_long },
	{ .name = "nice", .argopts = "n", .longargs = nice_long },
	{ .name = "stdbuf", .argopts = "ioe", .longargs = stdbuf_long },
	{ .name = "timeout", .argopts = "sk", .longargs = timeout_long, .operands = 1 },
	{ .name = "setsid", .argopts = "", .longargs = none_long },
	{ .name = "xargs", .argopts = "adEILnPs", .longargs = xargs_long },
	{ .name = "chronic", .argopts = "", .longargs = none_long },
};

static const char *const SHELLS[] = { "bash", "sh", "dash", "zsh", "ksh", "ash", "mksh",
	"rbash", NULL };

static bool in_list(const char *const *list, const char *s, size_t n)
{
	for (; *list; list++)
		if (strlen(*list) == n && strncmp(*list, s, n) == 0)
			return true;
	return false;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash && slash[1] ? slash + 1 : path;
}

/* Read a command line found in a word (bash -c, eval, env -S). */
static void nested(struct ctx *cx, const char *s, unsigned depth)
{
	if (depth >= SH_MAX_DEPTH) {
		set_truncated(cx);
		return;
	}
	parse_text(cx, s, strlen(s), depth + 1);
}

/* argv[0..argc) once more, as the command a wrapper runs. */
static void emit_copy(struct ctx *cx, char *const *argv, size_t argc, unsigned depth)
{
	char *copy[SH_MAX_WORDS];

	if (argc == 0 || argc > SH_MAX_WORDS)
		return;
	if (depth >= SH_MAX_DEPTH) {
		set_truncated(cx);
		return;
	}
	for (size_t i = 0; i < argc; i++) {
		copy[i] = dup_word(cx, argv[i]);
		if (!copy[i]) {
			free_words(cx, copy, i);
			return;
		}
	}
	emit(cx, copy, argc, depth + 1);
}

/* Where a shell gets its script from. */
enum script_from {
	SCRIPT_STRING,  /* sh -c STRING */
	SCRIPT_STDIN,   /* sh, sh -s ARGS, sh - */
	SCRIPT_FILE,    /* sh FILE ARGS */
	SCRIPT_NONE,    /* sh -c and nothing after it */
};

/* Read a shell's options (-o and -O take an argument, -c and -s may be in
 * a cluster as in -lc); *at: the word after them. */
static enum script_from shell_args(char **argv, size_t argc, size_t *at)
{
	bool c = false, stdin_flag = false;
	size_t i = 1;

	while (i < argc) {
		const char *a = argv[i];

		if ((a[0] != '-' && a[0] != '+') || a[1] == '\0')
			break;
		i++;
		if (strcmp(a, "--") == 0)
			break;
		if (a[0] == '-' && a[1] == '-') {
			if (strcmp(a, "--rcfile") == 0 || strcmp(a, "--init-file") == 0)
				i++;
			continue;
		}
		for (size_t j = 1; a[j]; j++) {
			c |= a[0] == '-' && a[j] == 'c';
			stdin_flag |= a[0] == '-' && a[j] == 's';
			if (a[j] == 'o' || a[j] == 'O')
				i++;
		}
	}
	*at = i;
	if (c)
		return i < argc ? SCRIPT_STRING : SCRIPT_NONE;
	if (stdin_flag || i >= argc || strcmp(argv[i], "-") == 0)
		return SCRIPT_STDIN;
	return SCRIPT_FILE;
}

/* A long option of a wrapper at argv[i]; returns the index after it. */
static size_t wrapper_long(struct ctx *cx, const struct wrapper *w, char **argv, size_t argc,
			   size_t i, unsigned depth)
{
	const char *name = argv[i] + 2, *eq = strchr(name, '=');
	size_t n = eq ? (size_t)(eq - name) : strlen(name);
	bool cmd = w->cmdlong && strlen(w->cmdlong) == n && strncmp(name, w->cmdlong, n) == 0;

	if (eq) {
		if (cmd && cx)
			nested(cx, eq + 1, depth);
		return i + 1;
	}
	if (!in_list(w->longargs, name, n))
		return i + 1;
	if (cmd && cx && i + 1 < argc)
		nested(cx, argv[i + 1], depth);
	return i + 2;
}

/* Where the command a wrapper runs starts in argv (argc: none). With a
 * context, the command lines in its options (env -S) are read. */
static size_t wrapped_at(struct ctx *cx, const struct wrapper *w, char **argv, size_t argc,
			 unsigned depth)
{
	size_t i = 1;

	while (i < argc) {
		const char *a = argv[i];

		if (w->assignments && assign_prefix(a, strlen(a))) {
			i++;
			continue;
		}
		if (a[0] != '-' || (a[1] == '\0' && !w->dash_option))
			break;
		if (a[1] == '-' && a[2] == '\0') {
			i++;
			break;
		}
		if (a[1] == '-') {
			i = wrapper_long(cx, w, argv, argc, i, depth);
			continue;
		}
		for (size_t j = 1; a[j]; j++) {
			if (w->noexec && strchr(w->noexec, a[j]))
				return argc;
			if (strchr(w->argopts, a[j])) {
				const char *arg = a[j + 1] ? a + j + 1 : i + 1 < argc ? argv[i + 1] : NULL;

				if (!a[j + 1])
					i++;
				if (a[j] == w->cmdopt && arg && cx)
					nested(cx, arg, depth);
				break;
			}
		}
		i++;
	}
	if (i < argc)
		i += argc - i > w->operands ? w->operands : argc - i;
	return i < argc ? i : argc;
}

/* eval ARGS: the arguments, joined by blanks, are read again. */
static void unwrap_eval(struct ctx *cx, char **argv, size_t argc, unsigned depth)
{
	struct buf b = { 0 };

	for (size_t i = 1; i < argc; i++) {
		if (i > 1)
			buf_addc(cx, &b, ' ');
		buf_add(cx, &b, argv[i], strlen(argv[i]));
	}
	if (b.p && !cx->oom)
		nested(cx, b.p, depth);
	buf_drop(cx, &b);
}

/* find ... -exec CMD ARGS ; (also -execdir, -ok, -okdir, and with +). */
static void unwrap_find(struct ctx *cx, char **argv, size_t argc, unsigned depth)
{
	for (size_t i = 1; i < argc; i++) {
		size_t j;

		if (strcmp(argv[i], "-exec") && strcmp(argv[i], "-execdir") &&
		    strcmp(argv[i], "-ok") && strcmp(argv[i], "-okdir"))
			continue;
		for (j = i + 1; j < argc; j++)
			if (strcmp(argv[j], ";") == 0 || strcmp(argv[j], "+") == 0)
				break;
		emit_copy(cx, argv + i + 1, j - i - 1, depth);
		i = j;
	}
}

static const struct wrapper *find_wrapper(const char *name)
{
	for (size_t k = 0; k < sizeof(WRAPPERS) / sizeof(WRAPPERS[0]); k++)
		if (strcmp(name, WRAPPERS[k].name) == 0)
			return &WRAPPERS[k];
	return NULL;
}

/* Is argv a shell that reads its script from stdin, maybe under wrappers
 * (sudo bash -s)? Then a here-document or here-string is that script. */
static bool reads_script(char **argv, size_t argc)
{
	for (unsigned k = 0; k <= SH_MAX_DEPTH && argc; k++) {
		const char *name = base_name(argv[0]);
		const struct wrapper *w;
		size_t i;

		if (in_list(SHELLS, name, strlen(name)))
			return shell_args(argv, argc, &i) == SCRIPT_STDIN;
		w = find_wrapper(name);
		if (!w)
			return false;
		i = wrapped_at(NULL, w, argv, argc, 0);
		argv += i;
		argc -= i;
	}
	return false;
}

/* The commands that the command argv runs in turn, listed after it. */
static void unwrap(struct ctx *cx, char **argv, size_t argc, unsigned depth)
{
	const char *name = base_name(argv[0]);
	const struct wrapper *w;
	size_t i;

	if (cx->oom)
		return;
	if (in_list(SHELLS, name, strlen(name))) {
		if (shell_args(argv, argc, &i) == SCRIPT_STRING)
			nested(cx, argv[i], depth);
		return;
	}
	if (strcmp(name, "eval") == 0) {
		unwrap_eval(cx, argv, argc, depth);
		return;
	}
	if (strcmp(name, "find") == 0) {
		unwrap_find(cx, argv, argc, depth);
		return;
	}
	w = find_wrapper(name);
	if (w) {
		i = wrapped_at(cx, w, argv, argc, depth);
		emit_copy(cx, argv + i, argc - i, depth);
	}
}

/* A command is complete: keep it (it takes the words), then what it runs.
 * Past SH_MAX_CMDS it is dropped, but what it runs may still redirect. */
static void emit(struct ctx *cx, char **argv, size_t argc, unsigned depth)
{
	struct sh_script *o = cx->out;
	char **v;

	if (o->ncmds >= SH_MAX_CMDS) {
		set_truncated(cx);
		unwrap(cx, argv, argc, depth);
		free_words(cx, argv, argc);
		return;
	}
	v = malloc((argc + 1) * sizeof(*v));
	if (!v) {
		cx->oom = true;
		free_words(cx, argv, argc);
		return;
	}
	memcpy(v, argv, argc * sizeof(*v));
	v[argc] = NULL;
	o->cmds[o->ncmds].argv = v;
	o->cmds[o->ncmds].argc = argc;
	o->ncmds++;
	unwrap(cx, v, argc, depth);
}

/* --- command lists ------------------------------------------------------- */

enum mode {
	M_CMD,          /* a simple command */
	M_HEADER,       /* for/select NAME [in WORDS]: up to ';', newline or do */
	M_CASE_WORD,    /* case WORD: up to "in" */
	M_FUNC_NAME,    /* function NAME */
};

/* The state of one command list: a script, or the inside of a $(...). */
struct list {
	struct lx *l;
	enum mode mode;
	char *argv[SH_MAX_WORDS];
	size_t argc;
	size_t parens;          /* subshells open */
	size_t ncases;          /* case ... esac open (may pass CASE_MAX) */
	bool patterns[CASE_MAX]; /* per case: reading patterns, not commands */
	size_t hd_mark;         /* here-documents pending from before this command */
	char *herestring;       /* the command's <<< text */
};

static bool in_patterns(const struct list *p)
{
	return p->ncases && p->ncases <= CASE_MAX && p->patterns[p->ncases - 1];
}

static void set_patterns(struct list *p, bool on)
{
	if (p->ncases && p->ncases <= CASE_MAX)
		p->patterns[p->ncases - 1] = on;
}

/* If the command is a shell reading its script from stdin, the here-
 * documents it started are that script. Returns whether it is one. */
static bool mark_scripts(struct list *p)
{
	struct lx *l = p->l;

	if (!p->argc || !reads_script(p->argv, p->argc))
		return false;
	for (size_t i = p->hd_mark < l->nhd ? p->hd_mark : l->nhd; i < l->nhd; i++)
		l->hd[i].script = true;
	return true;
}

static void end_command(struct list *p)
{
	struct lx *l = p->l;
	bool script = mark_scripts(p);

	if (p->argc)
		emit(l->cx, p->argv, p->argc, l->depth);
	if (script && p->herestring && !l->cx->oom)
		nested(l->cx, p->herestring, l->depth);
	free_word(l->cx, p->herestring);
	p->herestring = NULL;
	p->argc = 0;
	p->mode = M_CMD;
	p->hd_mark = l->nhd;
}

/* "NAME ()" or "NAME ( )" of a function definition, at pos: read it. */
static bool function_parens(struct lx *l)
{
	size_t i = l->pos;

	while (i < l->len && (l->s[i] == ' ' || l->s[i] == '\t'))
		i++;
	if (i >= l->len || l->s[i] != '(')
		return false;
	for (i++; i < l->len && (l->s[i] == ' ' || l->s[i] == '\t'); i++)
		;
	if (i >= l->len || l->s[i] != ')')
		return false;
	l->pos = i + 1;
	return true;
}

/* [[ ... ]] is no command, and < > ( ) && || are no operators in it;
 * the substitutions in its words still run. */
static void skip_dbracket(struct lx *l)
{
	while (!at_end(l)) {
		struct word w = { .b.discard = true };
		int c;

		skip_blanks(l);
		c = ch(l, 0);
		if (c < 0)
			return;
		if (c == '\n') {
			l->pos++;
			read_heredocs(l);
			continue;
		}
		if (is_meta(c)) {
			l->pos++;
			continue;
		}
		lex_word(l, &w);
		if (raw_is(l, &w, "]]"))
			return;
	}
}

static const char *const RESERVED[] = { "if", "then", "else", "elif", "fi", "while", "until",
	"do", "done", "for", "select", "in", "case", "esac", "function", "!", "[[", "]]", "{",
	"}", "coproc", NULL };

/* A reserved word at a command's start. */
static void reserved(struct list *p, const struct word *w)
{
	struct lx *l = p->l;

	if (raw_is(l, w, "for") || raw_is(l, w, "select"))
		p->mode = M_HEADER;
	else if (raw_is(l, w, "case"))
		p->mode = M_CASE_WORD;
	else if (raw_is(l, w, "function"))
		p->mode = M_FUNC_NAME;
	else if (raw_is(l, w, "[["))
		skip_dbracket(l);
	else if (raw_is(l, w, "esac") && p->ncases)
		p->ncases--;
}

/* The first word of a command: a reserved word, an assignment or a
 * function's name is no program. Returns whether it was one of those. */
static bool command_word(struct list *p, struct word *w)
{
	struct lx *l = p->l;
	const char *raw = l->s + w->start;
	size_t n = w->end - w->start;

	if (in_list(RESERVED, raw, n)) {
		reserved(p, w);
		return true;
	}
	if (assign_prefix(raw, n))
		return true;
	return !raw_has_any(l, w, "'\"\\$`") && function_parens(l);
}

/* A word in a case's patterns: none of them is a command. */
static void case_pattern(struct list *p)
{
	struct lx *l = p->l;
	struct word w = { .b.discard = true };

	if (is_meta(ch(l, 0))) {
		l->pos++;       /* (, | and strays */
		return;
	}
	lex_word(l, &w);
	if (raw_is(l, &w, "esac"))
		p->ncases--;
}

static void on_word(struct list *p)
{
	struct lx *l = p->l;
	struct ctx *cx = l->cx;
	struct word w = { 0 };
	char *s;

	w.b.discard = p->mode != M_CMD || p->argc >= SH_MAX_WORDS;
	lex_word(l, &w);
	if (w.end == w.start) {
		l->pos++;       /* cannot happen; but never loop */
		buf_drop(cx, &w.b);
		return;
	}
	switch (p->mode) {
	case M_HEADER:
		if (raw_is(l, &w, "do"))
			p->mode = M_CMD;
		return;
	case M_CASE_WORD:
		if (raw_is(l, &w, "in")) {
			if (++p->ncases > CASE_MAX)
				set_truncated(cx);
			set_patterns(p, true);
			p->mode = M_CMD;
		}
		return;
	case M_FUNC_NAME:
		function_parens(l);
		p->mode = M_CMD;
		return;
	case M_CMD:
		break;
	}
	if ((p->argc == 0 && command_word(p, &w)) || p->argc >= SH_MAX_WORDS) {
		if (p->argc >= SH_MAX_WORDS)
			set_truncated(cx);
		buf_drop(cx, &w.b);
		return;
	}
	s = buf_take(cx, &w.b);
	if (s)
		p->argv[p->argc++] = s;
}

/* ; & && || | |& and the case terminators ;; ;& ;;& at pos. */
static void on_operator(struct list *p)
{
	struct lx *l = p->l;
	int c = ch(l, 0), n = ch(l, 1);
	bool case_next = false;

	if (c == ';' && n == ';') {
		advance(l, ch(l, 2) == '&' ? 3 : 2);
		case_next = true;
	} else if (c == ';' && n == '&') {
		advance(l, 2);
		case_next = true;
	} else if ((c == '&' && n == '&') || (c == '|' && (n == '|' || n == '&'))) {
		advance(l, 2);
	} else {
		advance(l, 1);
	}
	end_command(p);
	if (case_next)
		set_patterns(p, true);
}

/* '(' at pos: a subshell, or the arithmetic command "((...))". */
static void on_lparen(struct list *p)
{
	struct lx *l = p->l;

	if (ch(l, 1) == '(' && ((p->mode == M_CMD && p->argc == 0) || p->mode == M_HEADER) &&
	    command_arith(l))
		return;
	end_command(p);
	l->pos++;
	p->parens++;
}

/* ')' just read: ends patterns, a subshell or this list (returns true). */
static bool on_rparen(struct list *p, bool until_paren)
{
	if (in_patterns(p)) {
		set_patterns(p, false);
		return false;
	}
	end_command(p);
	if (p->parens) {
		p->parens--;
		return false;
	}
	return until_paren;
}

static void on_newline(struct list *p)
{
	struct lx *l = p->l;

	l->pos++;
	mark_scripts(p);        /* before the bodies are read */
	read_heredocs(l);
	if (p->mode == M_CASE_WORD || in_patterns(p))
		return;
	end_command(p);
}

/*
 * A command list: up to the end of the text, or (until_paren) up to the
 * ')' that closes the "$(" or "<(" before it, which is read.
 */
static void parse_list(struct lx *l, bool until_paren)
{
	struct list p;
	size_t op;

	memset(&p, 0, sizeof(p));
	p.l = l;
	p.hd_mark = l->nhd;
	while (!at_end(l)) {
		int c;

		skip_blanks(l);
		c = ch(l, 0);
		if (c < 0 || l->cx->oom)
			break;
		if (c == '#') {
			skip_comment(l);
		} else if (c == '\n') {
			on_newline(&p);
		} else if (c == ')') {
			l->pos++;
			if (on_rparen(&p, until_paren))
				break;
		} else if (in_patterns(&p)) {
			case_pattern(&p);
		} else if (c == '(') {
			on_lparen(&p);
		} else if (at_redir(l, &op)) {
			parse_redir(l, op, &p.herestring);
		} else if (c == ';' || c == '&' || c == '|') {
			on_operator(&p);
		} else {
			on_word(&p);
		}
	}
	end_command(&p);
}

/* A text of its own (`...`, bash -c, eval), within the nested budget. */
static void parse_text(struct ctx *cx, const char *s, size_t n, unsigned depth)
{
	struct lx l;

	if (n > cx->nested_left) {
		set_truncated(cx);
		return;
	}
	cx->nested_left -= n;
	lx_init(&l, cx, s, 0, n, depth);
	parse_list(&l, false);
	lx_release(&l);
}

/* --- the interface ----------------------------------------------------- */

int sh_parse(const char *src, size_t len, const char *home, struct sh_script *out)
{
	struct ctx cx = { 0 };
	struct lx l;

	memset(out, 0, sizeof(*out));
	out->cmds = calloc(SH_MAX_CMDS, sizeof(*out->cmds));
	out->redirs = calloc(SH_MAX_REDIRS, sizeof(*out->redirs));
	if (!out->cmds || !out->redirs) {
		sh_free(out);
		return -1;
	}
	if (!src)
		len = 0;
	if (len > SH_MAX_INPUT) {
		len = SH_MAX_INPUT;
		out->truncated = true;
	}
	cx.out = out;
	cx.home = home;
	cx.home_len = home ? strlen(home) : 0;
	cx.bytes_left = WORD_BYTES_MAX;
	cx.peek_left = 4 * len + 4096;
	cx.nested_left = 8 * len + NESTED_EXTRA;
	lx_init(&l, &cx, src ? src : "", 0, len, 0);
	parse_list(&l, false);
	lx_release(&l);
	if (cx.oom) {
		sh_free(out);
		return -1;
	}
	return 0;
}

void sh_free(struct sh_script *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->ncmds; i++) {
		for (size_t j = 0; j < s->cmds[i].argc; j++)
			free(s->cmds[i].argv[j]);
		free(s->cmds[i].argv);
	}
	for (size_t i = 0; i < s->nredirs; i++)
		free(s->redirs[i].path);
	free(s->cmds);
	free(s->redirs);
	memset(s, 0, sizeof(*s));
}
