/* SPDX-License-Identifier: MIT */
/*
 * The words of a shell command line (see shell.c): where a word ends, its
 * quoting removed, ~ and $HOME expanded, and the substitutions in it read
 * on the way - $(...), `...`, <(...), >(...), arithmetic, ${...} - by
 * handing their text back to the command list reader one level deeper.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "guard/shell_int.h"

static void lex_dollar(struct lx *l, struct buf *b, bool in_dq);
static void lex_backquote(struct lx *l, struct buf *b);

/* --- characters and positions --------------------------------------------- */

void sh_skip_blanks(struct lx *l)
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
void sh_skip_comment(struct lx *l)
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
size_t sh_assign_prefix(const char *p, size_t n)
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
bool sh_raw_is(const struct lx *l, const struct word *w, const char *kw)
{
	size_t n = strlen(kw);

	return w->end - w->start == n && memcmp(l->s + w->start, kw, n) == 0;
}

bool sh_raw_has_any(const struct lx *l, const struct word *w, const char *chars)
{
	for (size_t i = w->start; i < w->end; i++)
		if (l->s[i] != '\0' && strchr(chars, l->s[i]))
			return true;
	return false;
}

/* --- lexers over a text ------------------------------------------------- */

void sh_lx_init(struct lx *l, struct ctx *cx, const char *s, size_t from, size_t to,
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
void sh_lx_release(struct lx *l)
{
	for (size_t i = 0; i < l->nhd; i++)
		sh_free_word(l->cx, l->hd[i].delim);
	l->nhd = 0;
}

/* May we read one level further down? If not, something is left unread. */
bool sh_can_nest(const struct lx *l)
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
void sh_scan_range(struct lx *l, size_t from, size_t to, unsigned depth)
{
	struct lx v;

	sh_lx_init(&v, l->cx, l->s, from, to, depth);
	v.literal = l->literal;
	scan_expansions(&v);
	sh_lx_release(&v);
}

/* --- substitutions ------------------------------------------------------ */

/* "$(", "<(" or ">(" at pos: the commands inside, and the raw text. */
static void lex_subst(struct lx *l, struct buf *b)
{
	size_t start = l->pos;

	l->pos += 2;
	if (sh_can_nest(l)) {
		l->depth++;
		l->in_subst++;
		sh_parse_list(l, true);
		l->in_subst--;
		l->depth--;
	} else {
		skip_balanced(l);
	}
	sh_buf_add(l->cx, b, l->s + start, l->pos - start);
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
	if (sh_can_nest(l))
		sh_scan_range(l, from, to, l->depth + 1);
}

/* "$(" at pos: arithmetic $((...)) or a command substitution. */
static void lex_dollar_paren(struct lx *l, struct buf *b)
{
	size_t start = l->pos, inner, end;

	if (ch(l, 2) == '(' && arith_peek(l, start + 3, &inner, &end)) {
		arith_body(l, start + 3, inner);
		l->pos = end;
		sh_buf_add(l->cx, b, l->s + start, end - start);
		return;
	}
	lex_subst(l, b);
}

/* "((" at a command's start: an arithmetic command? If so, it is read. */
bool sh_command_arith(struct lx *l)
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

	inner.discard = !sh_can_nest(l);
	l->pos++;
	while (!at_end(l)) {
		int c = ch(l, 0), n = ch(l, 1);

		if (c == '`') {
			l->pos++;
			break;
		}
		if (c == '\\' && (n == '$' || n == '`' || n == '\\')) {
			sh_buf_addc(cx, &inner, (char)n);
			l->pos += 2;
			continue;
		}
		sh_buf_addc(cx, &inner, (char)c);
		l->pos++;
	}
	if (!inner.discard && !cx->oom)
		sh_parse_text(cx, inner.p ? inner.p : "", inner.n, l->depth + 1);
	sh_buf_drop(cx, &inner);
	sh_buf_add(cx, b, l->s + start, l->pos - start);
}

/* --- quoting and parameters ------------------------------------------------ */

static bool add_home(struct lx *l, struct buf *b)
{
	if (!l->cx->home || l->literal)
		return false;
	sh_buf_add(l->cx, b, l->cx->home, l->cx->home_len);
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
	sh_buf_add(cx, b, u, n);
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
		sh_buf_addc(cx, b, to[p - from]);
		l->pos++;
		return;
	}
	if (c >= '0' && c <= '7') {
		take_digits(l, 8, 3, &v);
		sh_buf_addc(cx, b, (char)(v & 0xff));
		return;
	}
	l->pos++;
	if ((c == 'x' && take_digits(l, 16, 2, &v)) || (c == 'u' && take_digits(l, 16, 4, &v)) ||
	    (c == 'U' && take_digits(l, 16, 8, &v))) {
		if (c == 'x')
			sh_buf_addc(cx, b, (char)v);
		else
			add_utf8(cx, b, v);
		return;
	}
	if (c == 'c' && !at_end(l)) {
		sh_buf_addc(cx, b, (char)(ch(l, 0) & 0x1f));
		l->pos++;
		return;
	}
	sh_buf_addc(cx, b, '\\');
	sh_buf_addc(cx, b, (char)c);
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
		sh_buf_addc(l->cx, b, (char)c);
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
		sh_buf_add(l->cx, b, l->s + from, l->len - from);
		l->pos = l->len;
		return;
	}
	sh_buf_add(l->cx, b, l->s + from, (size_t)(q - l->s) - from);
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
				sh_buf_addc(cx, b, (char)n);
				l->pos += 2;
			} else {
				sh_buf_addc(cx, b, '\\');
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
		sh_buf_addc(cx, b, (char)c);
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
	sh_buf_add(l->cx, b, l->s + start, i - start);
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
			sh_buf_add(l->cx, b, l->s + start, 7);
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
	sh_buf_add(l->cx, b, l->s + start, l->pos - start);
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
		sh_buf_addc(l->cx, b, '$');
		l->pos++;
	}
}

/* --- words --------------------------------------------------------------- */

/* NAME=(a b c): the array's words belong to the assignment word. */
static void lex_array(struct lx *l, struct word *w)
{
	struct ctx *cx = l->cx;

	sh_buf_addc(cx, &w->b, '(');
	l->pos++;
	l->in_array = true;
	while (!at_end(l)) {
		struct word e = { 0 };
		int c;

		sh_skip_blanks(l);
		c = ch(l, 0);
		if (c < 0)
			break;
		if (c == ')') {
			sh_buf_addc(cx, &w->b, ')');
			l->pos++;
			break;
		}
		if (c == '\n') {
			l->pos++;
			sh_read_heredocs(l);
			continue;
		}
		if (c == '#') {
			sh_skip_comment(l);
			continue;
		}
		if (is_meta(c) && !((c == '<' || c == '>') && ch(l, 1) == '(')) {
			l->pos++;       /* a syntax error to bash; go on */
			continue;
		}
		e.b.discard = w->b.discard;
		sh_lex_word(l, &e);
		sh_buf_add(cx, &w->b, e.b.p ? e.b.p : "", e.b.n);
		sh_buf_addc(cx, &w->b, ' ');
		sh_buf_drop(cx, &e.b);
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
		sh_buf_addc(l->cx, b, (char)n);
		l->pos += 2;
	} else {
		sh_buf_addc(l->cx, b, '\\');
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
void sh_lex_word(struct lx *l, struct word *w)
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
			   sh_assign_prefix(l->s + w->start, l->pos - w->start) ==
				   l->pos - w->start) {
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
		sh_buf_addc(cx, &w->b, (char)c);
		l->pos++;
	}
	w->end = l->pos;
	w->procsubst = after_subst && after_subst == l->pos;
}
