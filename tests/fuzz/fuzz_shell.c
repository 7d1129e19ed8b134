/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the static reading of shell command lines
 * (src/guard/shell.c).
 *
 * Input: a command line, as it is (NULs and all). The first byte's low bit
 * picks whether ~ and $HOME expand. Besides the sanitizers, checked: the
 * counts stay within their bounds; every command has 1..SH_MAX_WORDS
 * words, none NULL, and a NULL after the last; every redirection has a
 * path and an access of read, write or both; no string holds more than
 * the input could give; sh_free leaves the script empty and may be called
 * again.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guard/shell.h"
#include "fuzz.h"

#define HOME "/home/fuzz"

/* A word is made of input bytes, expanded homes and raw substitution text
 * repeated once per nesting level and wrapper; this is a loose upper
 * bound that still catches a runaway copy. */
static size_t max_word(size_t size)
{
	return (size + 1) * (SH_MAX_DEPTH + 2) * (sizeof(HOME) + 1);
}

static void check_script(const struct sh_script *s, size_t size)
{
	CHECK(s->ncmds <= SH_MAX_CMDS);
	CHECK(s->nredirs <= SH_MAX_REDIRS);
	CHECK(s->ncmds == 0 || s->cmds);
	CHECK(s->nredirs == 0 || s->redirs);
	for (size_t i = 0; i < s->ncmds; i++) {
		const struct sh_cmd *c = &s->cmds[i];

		CHECK(c->argv);
		CHECK(c->argc >= 1 && c->argc <= SH_MAX_WORDS);
		for (size_t j = 0; j < c->argc; j++) {
			CHECK(c->argv[j]);
			CHECK(strlen(c->argv[j]) <= max_word(size));
		}
		CHECK(c->argv[c->argc] == NULL);
	}
	for (size_t i = 0; i < s->nredirs; i++) {
		const struct sh_redir *r = &s->redirs[i];

		CHECK(r->path);
		CHECK(strlen(r->path) <= max_word(size));
		CHECK(r->access == SH_READ || r->access == SH_WRITE ||
		      r->access == (SH_READ | SH_WRITE));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sh_script s;
	const char *home = size && (data[0] & 1) ? HOME : NULL;

	if (sh_parse((const char *)data, size, home, &s) != 0)
		return 0;       /* out of memory: nothing to check */
	check_script(&s, size);
	if (size > SH_MAX_INPUT)
		CHECK(s.truncated);
	sh_free(&s);
	CHECK(s.cmds == NULL && s.ncmds == 0 && s.redirs == NULL && s.nredirs == 0);
	sh_free(&s);
	return 0;
}
