/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the redaction of secrets (redact.c).
 *
 * Input: the bytes to scan, as they are. Besides the sanitizers, checked:
 * the output bound (n + count * REDACT_TAG_LEN); idempotence (scanning the
 * output again finds nothing and changes nothing: no secret the scanner
 * knows is left in it); at least count well-formed tags in the output;
 * valid UTF-8 in gives valid UTF-8 out; no tag the scanner made right
 * after an escaping backslash (JSON escapes are never cut; tags already in
 * the input are the input's business); and the header functions give a
 * NUL-terminated string for the input taken as a header value.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/redact.h"
#include "fuzz.h"

static struct redact_ctx *ctx(void)
{
	static const uint8_t key[REDACT_KEY_LEN] = "fuzz_redact fixed key, 32 bytes";
	static struct redact_ctx *r;

	if (!r)
		r = redact_ctx_new(key, sizeof(key));
	CHECK(r != NULL);
	return r;
}

static bool valid_utf8(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = p[i];
		size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
			     : (c & 0xf8) == 0xf0 ? 4 : 0;

		if (len == 0 || (len == 2 && c < 0xc2) || i + len > n)
			return false;
		for (size_t k = 1; k < len; k++)
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
		/* overlong 3- and 4-byte forms, surrogates, beyond U+10FFFF */
		if ((c == 0xe0 && p[i + 1] < 0xa0) || (c == 0xed && p[i + 1] >= 0xa0) ||
		    (c == 0xf0 && p[i + 1] < 0x90) || (c == 0xf4 && p[i + 1] >= 0x90) || c > 0xf4)
			return false;
		i += len;
	}
	return true;
}

static bool is_tag_at(const uint8_t *p, size_t n)
{
	if (n < REDACT_TAG_LEN || memcmp(p, "[REDACTED:", 10) != 0 || p[REDACT_TAG_LEN - 1] != ']')
		return false;
	for (size_t i = 10; i < REDACT_TAG_LEN - 1; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	return true;
}

/*
 * Well-formed tags in p. When all of them were made by the scanner (the
 * input held none), each is preceded by an even run of backslashes.
 */
static size_t check_tags(const uint8_t *p, size_t n, bool all_made)
{
	size_t tags = 0;

	for (size_t i = 0; i < n; i++) {
		size_t bs = 0;

		if (!is_tag_at(p + i, n - i))
			continue;
		while (bs < i && p[i - 1 - bs] == '\\')
			bs++;
		CHECK(!all_made || bs % 2 == 0);
		tags++;
		i += REDACT_TAG_LEN - 1;
	}
	return tags;
}

static void check_header(const struct redact_ctx *r, const uint8_t *data, size_t size)
{
	static const char *const names[] = { "authorization", "cookie", "set-cookie",
					     "x-api-key", "x-custom" };
	char *value = malloc(size + 1), *out;

	if (!value)
		return;
	memcpy(value, data, size);
	value[size] = '\0';
	out = redact_header_value(r, names[size % 5], value);
	CHECK(out != NULL || errno == ENOMEM);
	if (out)
		CHECK(strlen(out) <= strlen(value) + (strlen(value) + 1) * REDACT_TAG_LEN);
	free(out);
	free(value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct redact_ctx *r = ctx();
	uint8_t *out, *again;
	size_t out_n, again_n, count, count2, tags;

	if (redact_bytes(r, data, size, &out, &out_n, &count) != 0)
		return 0; /* out of memory */
	CHECK(out != NULL);
	CHECK(out_n <= size + count * REDACT_TAG_LEN);
	CHECK(count == 0 || out_n > 0);
	if (count == 0)
		CHECK(out_n == size && memcmp(out, data, size) == 0);
	if (valid_utf8(data, size))
		CHECK(valid_utf8(out, out_n));
	tags = check_tags(out, out_n, !memmem(data, size, "[REDACTED:", 10));
	CHECK(tags >= count);

	CHECK(redact_bytes(r, out, out_n, &again, &again_n, &count2) == 0);
	CHECK(count2 == 0);
	CHECK(again_n == out_n && memcmp(again, out, out_n) == 0);
	free(again);
	free(out);

	check_header(r, data, size);
	return 0;
}
