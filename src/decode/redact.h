/* SPDX-License-Identifier: MIT */
/*
 * Redaction of secrets in captured HTTP traffic, before anything reaches
 * a sink.
 *
 * A secret is replaced by a tag derived from it:
 *
 *     [REDACTED:0123456789ab]
 *
 * the first 12 hex digits (48 bits) of HMAC-SHA256(key, secret). The key is
 * random per recording unless the caller gives one, so within a recording
 * the same secret always gets the same tag (one can see that two requests
 * used the same API key) while nobody without the key can test a guess
 * against a tag. Before hashing, the JSON escapes \n \r \t \b \f \" \/ \\
 * in the secret are decoded, so a PEM key gets the same tag whether it was
 * seen raw or inside a JSON string. A tag is made of [A-Z0-9a-f:[\]] only:
 * it is valid inside a JSON string, and no rule below matches it.
 *
 * HEADERS (redact_header_is_secret, redact_header_value), names lower-case:
 *
 *   - authorization, proxy-authorization: the scheme is kept, the
 *     credentials replaced ("Bearer [REDACTED:...]"); a value without a
 *     scheme is replaced whole.
 *   - cookie: every cookie value replaced, names kept
 *     ("sid=[REDACTED:...]; theme=[REDACTED:...]"); set-cookie: the value
 *     of the cookie replaced, its name and attributes kept.
 *   - x-api-key, api-key, x-goog-api-key, x-auth-token, private-token,
 *     x-amz-security-token, and any name ending in "token", "secret",
 *     "password", "passwd", "apikey", "-key" or "-credential(s)", except
 *     idempotency-key, x-idempotency-key and sec-websocket-key (nonces, not
 *     secrets): the value replaced whole.
 *   - Any other header value goes through the body scanner below (a
 *     token pasted in a custom header is still found).
 *   Request targets should go through redact_bytes too (?key=AIza...,
 *   ?access_token=...).
 *
 * BODIES (redact_bytes). The scanner reads arbitrary bytes, usually JSON,
 * left to right; at each position the first rule that matches wins and its
 * whole span is replaced. Prefix rules need a boundary before the prefix:
 * the start of the input, a byte that cannot continue the token, or the end
 * of a JSON escape (the "n" of \n, the last hex digit of \uXXXX), so that
 * "...\nAKIA..." is found. Token rules (body alphabet, minimum body length):
 *
 *   sk-...             OpenAI (sk-, sk-proj-) and Anthropic (sk-ant-) keys:
 *                      [A-Za-z0-9_-], >= 20, with a digit and a letter
 *   sk_live_ rk_live_ sk_test_ rk_test_
 *                      Stripe secret and restricted keys: [A-Za-z0-9], >= 16
 *   AKIA ASIA          AWS access key ids: exactly 16 [A-Z0-9]
 *   ghp_ gho_ ghu_ ghs_ ghr_
 *                      GitHub tokens: [A-Za-z0-9], >= 30
 *   github_pat_        GitHub fine-grained tokens: [A-Za-z0-9_], >= 30
 *   glpat-             GitLab personal tokens: [A-Za-z0-9_-], >= 20
 *   xoxa- xoxb- xoxp- xoxr- xoxs- xapp-
 *                      Slack tokens: [A-Za-z0-9-], >= 10
 *   AIza               Google API keys: [A-Za-z0-9_-], >= 35
 *   hf_                Hugging Face tokens: [A-Za-z0-9], >= 30
 *   npm_               npm tokens: [A-Za-z0-9], >= 36
 *   eyJ...             JWTs: eyJ<b64url>.eyJ<b64url>.<b64url>, both first
 *                      parts >= 10 bytes, the signature may be empty
 *
 * and structural rules:
 *
 *   PEM private keys   "-----BEGIN <label>-----" where the label contains
 *                      PRIVATE KEY, through the next "-----END ...-----";
 *                      newlines raw or JSON-escaped. Unterminated: up to
 *                      the end of the JSON string (a bare " or an escaped
 *                      \") or of the input. Certificates and public keys
 *                      are left alone.
 *   Bearer <token>     "Bearer" (any case) after a boundary, blanks, then a
 *                      token of [A-Za-z0-9._~+/=-] that looks like a
 *                      credential (below); the token is replaced.
 *   URL credentials    "scheme://user:password@" (also with JSON-escaped
 *                      \/\/): "user:password" is replaced.
 *   Assignments        name, optional closing quote, blanks, ':' or '='
 *                      (also ":=", "=>", "=="), blanks, value: the value
 *                      is replaced, the name kept. The name is the
 *                      identifier before the separator, lower-cased with
 *                      '_', '-' and '.' dropped ("AWS_SECRET_ACCESS_KEY",
 *                      "SecretAccessKey", "--api-key" all qualify):
 *       - ending in password, passwd, passphrase, secret, secretkey,
 *         secretaccesskey, privatekey, apikey, accesstoken, refreshtoken,
 *         authtoken, sessiontoken, idtoken, apitoken, bearertoken: any
 *         value of >= 6 bytes (AWS secret access keys are caught here,
 *         whatever their length: a bare 40-character rule would hit every
 *         SHA-1 in hex);
 *       - ending in token, auth, credential or credentials (weaker hints:
 *         "token" is also a key of OpenAI logprobs, credentials: 'include'
 *         an option of fetch()): only a value that looks like a credential;
 *       - authorization, proxyauthorization: a known scheme (Bearer, Basic,
 *         Digest, Token, Bot, OAuth, Negotiate, NTLM, ApiKey, Key, SSWS,
 *         DPoP, AWS4-HMAC-SHA256) is kept and the rest of the line or
 *         string replaced; a value without one is replaced only if it is a
 *         single credential-like word;
 *       - cookie, setcookie: the rest of the line or string, if its first
 *         word holds a '=' (cookie syntax; prose does not).
 *     A quoted value ("...", '...', or \"...\" inside a JSON string, where
 *     \\\" is a quote inside the value) runs to its closing quote, escapes
 *     included; one that starts with a PEM block is left to the PEM rule
 *     (the key then gets the same tag wherever it is seen). An unquoted
 *     value runs to a blank, a quote, a backslash or one of
 *     , ; & ( ) [ ] { } < >, and is left alone when it reads like code
 *     rather than a secret: it starts with '$' (a variable), is followed by
 *     '(' or '[' (a call, an index), or has only letters, '_' and '.' (an
 *     identifier: None, self.api_key). A header-like value (authorization,
 *     cookie) runs to the end of the line, a quote of either kind, a
 *     JSON-escaped \n or \r, or a tag. Values shorter than 6 bytes are
 *     kept: empty strings, "***", "none" and the like are placeholders far
 *     more often than secrets.
 *
 * "Looks like a credential": >= 16 bytes of [A-Za-z0-9._~+/=-], with a
 * letter, and a digit unless >= 32 bytes. English words and prose fail it.
 *
 * Spans never start or end inside a JSON escape sequence (a span never
 * starts at a byte that an odd run of backslashes escapes, and scans step
 * over escapes whole) or a UTF-8 sequence (they start and end next to
 * ASCII delimiters), and every span but a quoted value stops before a
 * "-----BEGIN" so that a PEM block is never half-eaten by the span before
 * it. Hex digests, base64 image data and UUIDs match no rule unless they
 * are the value of a secret-looking name.
 *
 * The scan takes linear time (each rule looks a bounded distance back and
 * forward scans are either consumed by the redaction or memoised per run),
 * and needs no memory beyond the output, which is at most
 * n + count * REDACT_TAG_LEN bytes. It is idempotent: scanning the output
 * again finds nothing.
 *
 * Not covered: secrets without a recognisable shape or name (a password
 * alone in a text field, "--password hunter2" with a blank, Python's
 * "password: str = 'x'"), XML elements (<password>...</password>),
 * unquoted secrets made only of letters, values under 6 bytes, a value
 * that starts with a literal tag or the rest of a header-like line after
 * one (taken as redacted already: input that holds tags), JSON
 * escapes \uXXXX inside a secret (hashed as they are), and compressed or
 * binary bodies: redact after content decoding. By chance, random data
 * (base64 of an image) can hold a token shape such as "/AIza" and 35
 * more characters; it is then redacted.
 */
#ifndef AGENTTRAIL_DECODE_REDACT_H
#define AGENTTRAIL_DECODE_REDACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REDACT_KEY_LEN 32u      /* bytes of the random key */
#define REDACT_KEY_MIN 16u      /* shortest key redact_ctx_new accepts */
#define REDACT_TAG_HEX 12u
#define REDACT_TAG_LEN 23u      /* strlen("[REDACTED:") + REDACT_TAG_HEX + strlen("]") */

/* Holds the HMAC key. Only read once made: one ctx may serve many threads. */
struct redact_ctx;

/* A ctx with the given key (at least REDACT_KEY_MIN bytes, copied). NULL with errno set. */
struct redact_ctx *redact_ctx_new(const uint8_t *key, size_t keylen);

/* A ctx with a fresh REDACT_KEY_LEN-byte key from getrandom(2). NULL with errno set. */
struct redact_ctx *redact_ctx_new_random(void);

void redact_ctx_free(struct redact_ctx *r);

/*
 * Writes the tag of secret[0..n) to out, NUL-terminated. Returns 0, or
 * -EIO when the HMAC fails (out then holds no secret material).
 */
int redact_tag(const struct redact_ctx *r, const uint8_t *secret, size_t n,
	       char out[REDACT_TAG_LEN + 1]);

/* True when the value of the header (name lower-cased) is a secret as a whole. */
bool redact_header_is_secret(const char *lowercase_name);

/*
 * The value to record for header name: as described above. Always a new
 * string (a copy when nothing was redacted), to be freed; NULL with errno
 * set (ENOMEM, EIO, EINVAL).
 */
char *redact_header_value(const struct redact_ctx *r, const char *lowercase_name,
			  const char *value);

/*
 * Scans in[0..n) and writes a redacted copy to *out (malloc'd, also when
 * nothing was found or n is 0; the caller frees it), its length to *out_n
 * and, when count is not NULL, the number of secrets replaced to *count.
 * Returns 0, -EINVAL, -ENOMEM or -EIO (HMAC failure); on error *out is NULL.
 */
int redact_bytes(const struct redact_ctx *r, const uint8_t *in, size_t n, uint8_t **out,
		 size_t *out_n, size_t *count);

#endif /* AGENTTRAIL_DECODE_REDACT_H */
