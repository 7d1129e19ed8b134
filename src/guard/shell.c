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
 *
 * This file holds the command lists, the redirections and here-documents,
 * and the words kept within their budget; the words themselves are lexed
 * in shell_lex.c, and the commands that wrappers and shells run in turn
 * are found in shell_wrap.c (what they share: shell_int.h).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guard/shell_int.h"

#define CASE_MAX 32                /* case ... esac nested within one list */
#define WORD_BYTES_MAX (16u << 20) /* bytes of words held at any time */
#define NESTED_EXTRA (64u << 10)   /* nested text budget: 8 * input + this */

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
void sh_buf_add(struct ctx *cx, struct buf *b, const char *p, size_t n)
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

void sh_buf_addc(struct ctx *cx, struct buf *b, char c)
{
	sh_buf_add(cx, b, &c, 1);
}

/* The text, as an allocated string ("" if nothing was added); the buffer
 * is left empty. NULL only when out of memory. */
char *sh_buf_take(struct ctx *cx, struct buf *b)
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

void sh_buf_drop(struct ctx *cx, struct buf *b)
{
	cx->bytes_left += b->n;
	free(b->p);
	b->p = NULL;
	b->n = b->cap = 0;
}

/* Free a word taken from a buffer, giving its bytes back to the budget. */
void sh_free_word(struct ctx *cx, char *w)
{
	if (!w)
		return;
	cx->bytes_left += strlen(w);
	free(w);
}

void sh_free_words(struct ctx *cx, char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sh_free_word(cx, v[i]);
}

char *sh_dup_word(struct ctx *cx, const char *s)
{
	struct buf b = { 0 };

	sh_buf_add(cx, &b, s, strlen(s));
	return sh_buf_take(cx, &b);
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
		sh_buf_drop(l->cx, &w->b);
		return;
	}
	if (o->nredirs >= SH_MAX_REDIRS) {
		set_truncated(l->cx);
		sh_buf_drop(l->cx, &w->b);
		return;
	}
	path = sh_buf_take(l->cx, &w->b);
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
		sh_buf_drop(l->cx, &w->b);
		return;
	}
	h = &l->hd[l->nhd];
	h->quoted = sh_raw_has_any(l, w, "'\"\\");
	h->strip_tabs = strip_tabs;
	h->script = false;
	h->delim = sh_buf_take(l->cx, &w->b);
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
	sh_skip_blanks(l);
	c = ch(l, 0);
	if (c < 0 || (is_meta(c) && !((c == '<' || c == '>') && ch(l, 1) == '(')))
		return;         /* no target: a syntax error to bash */
	if (kind == R_HEREDOC || kind == R_HEREDOC_TABS) {
		l->literal++;   /* a delimiter is not expanded */
		sh_lex_word(l, &w);
		l->literal--;
		add_heredoc(l, &w, kind == R_HEREDOC_TABS);
		return;
	}
	sh_lex_word(l, &w);
	switch (kind) {
	case R_HERESTRING:
		sh_free_word(l->cx, *herestring);
		*herestring = sh_buf_take(l->cx, &w.b);
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
	sh_buf_drop(l->cx, &w.b);
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

	if (!sh_can_nest(l))
		return;
	sh_lx_init(&v, l->cx, l->s, from, to, l->depth + 1);
	sh_parse_list(&v, false);
	sh_lx_release(&v);
}

/* Just after a newline: the bodies of the here-documents started on the
 * line. They are not commands (but for a shell's script), but an unquoted
 * one's substitutions run. */
void sh_read_heredocs(struct lx *l)
{
	for (size_t i = 0; i < l->nhd; i++) {
		struct heredoc *h = &l->hd[i];
		size_t from = l->pos, to = skip_heredoc(l, h);

		if (h->script)
			parse_range(l, from, to);
		else if (!h->quoted)
			sh_scan_range(l, from, to, l->depth);
		sh_free_word(l->cx, h->delim);
		h->delim = NULL;
	}
	l->nhd = 0;
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

	if (!p->argc || !sh_reads_script(p->argv, p->argc))
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
		sh_emit(l->cx, p->argv, p->argc, l->depth);
	if (script && p->herestring && !l->cx->oom)
		sh_nested(l->cx, p->herestring, l->depth);
	sh_free_word(l->cx, p->herestring);
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

		sh_skip_blanks(l);
		c = ch(l, 0);
		if (c < 0)
			return;
		if (c == '\n') {
			l->pos++;
			sh_read_heredocs(l);
			continue;
		}
		if (is_meta(c)) {
			l->pos++;
			continue;
		}
		sh_lex_word(l, &w);
		if (sh_raw_is(l, &w, "]]"))
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

	if (sh_raw_is(l, w, "for") || sh_raw_is(l, w, "select"))
		p->mode = M_HEADER;
	else if (sh_raw_is(l, w, "case"))
		p->mode = M_CASE_WORD;
	else if (sh_raw_is(l, w, "function"))
		p->mode = M_FUNC_NAME;
	else if (sh_raw_is(l, w, "[["))
		skip_dbracket(l);
	else if (sh_raw_is(l, w, "esac") && p->ncases)
		p->ncases--;
}

/* The first word of a command: a reserved word, an assignment or a
 * function's name is no program. Returns whether it was one of those. */
static bool command_word(struct list *p, struct word *w)
{
	struct lx *l = p->l;
	const char *raw = l->s + w->start;
	size_t n = w->end - w->start;

	if (sh_in_list(RESERVED, raw, n)) {
		reserved(p, w);
		return true;
	}
	if (sh_assign_prefix(raw, n))
		return true;
	return !sh_raw_has_any(l, w, "'\"\\$`") && function_parens(l);
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
	sh_lex_word(l, &w);
	if (sh_raw_is(l, &w, "esac"))
		p->ncases--;
}

static void on_word(struct list *p)
{
	struct lx *l = p->l;
	struct ctx *cx = l->cx;
	struct word w = { 0 };
	char *s;

	w.b.discard = p->mode != M_CMD || p->argc >= SH_MAX_WORDS;
	sh_lex_word(l, &w);
	if (w.end == w.start) {
		l->pos++;       /* cannot happen; but never loop */
		sh_buf_drop(cx, &w.b);
		return;
	}
	switch (p->mode) {
	case M_HEADER:
		if (sh_raw_is(l, &w, "do"))
			p->mode = M_CMD;
		return;
	case M_CASE_WORD:
		if (sh_raw_is(l, &w, "in")) {
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
		sh_buf_drop(cx, &w.b);
		return;
	}
	s = sh_buf_take(cx, &w.b);
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
	    sh_command_arith(l))
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
	sh_read_heredocs(l);
	if (p->mode == M_CASE_WORD || in_patterns(p))
		return;
	end_command(p);
}

/*
 * A command list: up to the end of the text, or (until_paren) up to the
 * ')' that closes the "$(" or "<(" before it, which is read.
 */
void sh_parse_list(struct lx *l, bool until_paren)
{
	struct list p;
	size_t op;

	memset(&p, 0, sizeof(p));
	p.l = l;
	p.hd_mark = l->nhd;
	while (!at_end(l)) {
		int c;

		sh_skip_blanks(l);
		c = ch(l, 0);
		if (c < 0 || l->cx->oom)
			break;
		if (c == '#') {
			sh_skip_comment(l);
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
void sh_parse_text(struct ctx *cx, const char *s, size_t n, unsigned depth)
{
	struct lx l;

	if (n > cx->nested_left) {
		set_truncated(cx);
		return;
	}
	cx->nested_left -= n;
	sh_lx_init(&l, cx, s, 0, n, depth);
	sh_parse_list(&l, false);
	sh_lx_release(&l);
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
	sh_lx_init(&l, &cx, src ? src : "", 0, len, 0);
	sh_parse_list(&l, false);
	sh_lx_release(&l);
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
