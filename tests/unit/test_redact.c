/* SPDX-License-Identifier: MIT */
/*
 * Tests for the redaction of secrets (src/decode/redact.c). Most tests give
 * an input and the secrets in it, and check that the output is the input
 * with exactly those secrets replaced by their tags; every output is also
 * checked to be a fixed point (redacting it again changes nothing) and to
 * hold no secret byte sequence.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "decode/redact.h"

/* ---- samples: shaped like the real thing, none of them real ---------------- */

#define ANTHROPIC_KEY                                                                       \
	"sk-ant-api03-Zx9yW8vU7tS6rQ5pO4nM3lK2jI1hG0fE9dC8bA7zY6xW5vU4tS3rQ2pO1nM0lK9jI8hG7f" \
	"E6dC5bA4-_AAbbCCdd"
#define OPENAI_KEY "sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78St90Uv12Wx34Yz56_-Ab12Cd34Ef56"
#define OPENAI_LEGACY "sk-Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78St90Uv12Wx34"
#define AWS_ID "AKIAIOSFODNN7EXAMPLE"
#define AWS_STS_ID "ASIAY34FZKBOKMUTVV7A"
#define AWS_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define GITHUB_PAT "ghp_16C7e42F292c6912E7710c838347Ae178B4a"
#define GITHUB_FINE "github_pat_11ABCDEFG0123456789abc_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH"
#define GITLAB_PAT "glpat-Ab12Cd34Ef56Gh78Ij90"
#define SLACK_BOT "xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
#define GOOGLE_KEY "AIzaSyA1234567890abcdefghijklmnopqrstuv"
#define STRIPE_LIVE "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
#define STRIPE_RK "rk_live_51H8abcdEFGHijklMNOPqrst"
#define HF_TOKEN "hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567"
#define JWT                                                                                   \
	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9l" \
	"IiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
#define PEM_BODY1 "MIIEpAIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB"
#define PEM_BODY2 "aFDrBz9vFqU4yZ5vXaGEw2Pq0H1wK9mS8cT7rN6bV5jL4hG3fD2sA1zX0cV9bN8m"
#define PEM_RAW                                                                         \
	"-----BEGIN RSA PRIVATE KEY-----\n" PEM_BODY1 "\n" PEM_BODY2 "\n" \
	"-----END RSA PRIVATE KEY-----"
#define PEM_JSON                                                                          \
	"-----BEGIN RSA PRIVATE KEY-----\\n" PEM_BODY1 "\\n" PEM_BODY2 "\\n" \
	"-----END RSA PRIVATE KEY-----"

static const uint8_t key1[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
				  17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };
static const uint8_t key2[32] = { 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17,
				  16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1 };

static struct redact_ctx *ctx_new(const uint8_t *key)
{
	struct redact_ctx *r = redact_ctx_new(key, 32);

	assert_non_null(r);
	return r;
}

/* The tag of a secret, in a static buffer (one at a time). */
static const char *tag_of(const struct redact_ctx *r, const char *secret)
{
	static char tag[REDACT_TAG_LEN + 1];

	assert_int_equal(redact_tag(r, (const uint8_t *)secret, strlen(secret), tag), 0);
	return tag;
}

/* ---- checking helpers -------------------------------------------------------- */

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
		i += len;
	}
	return true;
}

/* Redacts in and returns the output as a string; checks the general promises. */
static char *red_n(const struct redact_ctx *r, const char *in, size_t n, size_t *count)
{
	uint8_t *out, *again;
	size_t out_n, again_n, c, c2;
	char *s;

	assert_int_equal(redact_bytes(r, (const uint8_t *)in, n, &out, &out_n, &c), 0);
	assert_non_null(out);
	assert_true(out_n <= n + c * REDACT_TAG_LEN);
	if (valid_utf8((const uint8_t *)in, n))
		assert_true(valid_utf8(out, out_n));
	/* idempotence: nothing left to find */
	assert_int_equal(redact_bytes(r, out, out_n, &again, &again_n, &c2), 0);
	assert_int_equal(c2, 0);
	assert_int_equal(again_n, out_n);
	assert_memory_equal(again, out, out_n);
	free(again);
	s = malloc(out_n + 1);
	assert_non_null(s);
	memcpy(s, out, out_n);
	s[out_n] = '\0';
	free(out);
	if (count)
		*count = c;
	return s;
}

static char *red(const struct redact_ctx *r, const char *in, size_t *count)
{
	return red_n(r, in, strlen(in), count);
}

/*
 * in, with every occurrence of each of the secrets (NULL-terminated list,
 * longest match first at each position) replaced by its tag.
 */
static char *expected(const struct redact_ctx *r, const char *in, const char *const *secrets,
		      size_t *n_found)
{
	size_t cap = strlen(in) * 2 + 1024, len = 0;
	char *out = malloc(cap);

	assert_non_null(out);
	*n_found = 0;
	while (*in) {
		size_t best = 0;
		const char *which = NULL;

		for (const char *const *s = secrets; *s; s++) {
			size_t l = strlen(*s);

			if (l > best && strncmp(in, *s, l) == 0) {
				best = l;
				which = *s;
			}
		}
		if (which) {
			assert_true(len + REDACT_TAG_LEN < cap);
			memcpy(out + len, tag_of(r, which), REDACT_TAG_LEN);
			len += REDACT_TAG_LEN;
			in += best;
			(*n_found)++;
		} else {
			assert_true(len + 1 < cap);
			out[len++] = *in++;
		}
	}
	out[len] = '\0';
	return out;
}

/* The output of in is in with exactly the listed secrets replaced. */
static void check_secrets(const struct redact_ctx *r, const char *in, const char *const *secrets)
{
	size_t want_n, got_n;
	char *want = expected(r, in, secrets, &want_n);
	char *got = red(r, in, &got_n);

	assert_true(want_n > 0); /* the test lists secrets that are in the input */
	assert_string_equal(got, want);
	assert_int_equal(got_n, want_n);
	for (const char *const *s = secrets; *s; s++)
		assert_null(strstr(got, *s));
	free(want);
	free(got);
}

#define SECRETS(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* Nothing in in is redacted. */
static void check_clean(const struct redact_ctx *r, const char *in)
{
	size_t n;
	char *got = red(r, in, &n);

	if (n != 0 || strcmp(got, in) != 0)
		fail_msg("redacted what it should not:\n in: %s\nout: %s", in, got);
	free(got);
}

/* ---- tags -------------------------------------------------------------------- */

static void test_tags(void **state)
{
	struct redact_ctx *a = ctx_new(key1), *b = ctx_new(key2), *rnd1, *rnd2;
	char t1[REDACT_TAG_LEN + 1], t2[REDACT_TAG_LEN + 1];

	/* shape */
	assert_int_equal(redact_tag(a, (const uint8_t *)"secret", 6, t1), 0);
	assert_int_equal(strlen(t1), REDACT_TAG_LEN);
	assert_memory_equal(t1, "[REDACTED:", 10);
	for (size_t i = 10; i < 22; i++)
		assert_true((t1[i] >= '0' && t1[i] <= '9') || (t1[i] >= 'a' && t1[i] <= 'f'));
	assert_int_equal(t1[22], ']');
	/* the same secret, the same tag; another secret or another key, another tag */
	assert_int_equal(redact_tag(a, (const uint8_t *)"secret", 6, t2), 0);
	assert_string_equal(t1, t2);
	assert_int_equal(redact_tag(a, (const uint8_t *)"secreT", 6, t2), 0);
	assert_string_not_equal(t1, t2);
	assert_int_equal(redact_tag(b, (const uint8_t *)"secret", 6, t2), 0);
	assert_string_not_equal(t1, t2);
	/* JSON escapes are decoded first: the same key raw or inside JSON */
	assert_int_equal(redact_tag(a, (const uint8_t *)PEM_RAW, strlen(PEM_RAW), t1), 0);
	assert_int_equal(redact_tag(a, (const uint8_t *)PEM_JSON, strlen(PEM_JSON), t2), 0);
	assert_string_equal(t1, t2);
	assert_int_equal(redact_tag(a, (const uint8_t *)"a\\\"b\\/c\\\\", 9, t1), 0);
	assert_int_equal(redact_tag(a, (const uint8_t *)"a\"b/c\\", 6, t2), 0);
	assert_string_equal(t1, t2);

	/* keys: too short refused; random ones differ */
	assert_null(redact_ctx_new(key1, REDACT_KEY_MIN - 1));
	assert_int_equal(errno, EINVAL);
	assert_null(redact_ctx_new(NULL, 32));
	rnd1 = redact_ctx_new_random();
	rnd2 = redact_ctx_new_random();
	assert_non_null(rnd1);
	assert_non_null(rnd2);
	assert_int_equal(redact_tag(rnd1, (const uint8_t *)"secret", 6, t1), 0);
	assert_int_equal(redact_tag(rnd2, (const uint8_t *)"secret", 6, t2), 0);
	assert_string_not_equal(t1, t2);
	assert_int_equal(redact_tag(NULL, (const uint8_t *)"x", 1, t1), -EINVAL);
	redact_ctx_free(rnd1);
	redact_ctx_free(rnd2);
	redact_ctx_free(a);
	redact_ctx_free(b);
	redact_ctx_free(NULL);
}

/* ---- token rules ------------------------------------------------------------------ */

static void test_token_rules(void **state)
{
	struct redact_ctx *r = ctx_new(key1);
	static const char *const tokens[] = {
		ANTHROPIC_KEY, OPENAI_KEY, OPENAI_LEGACY, AWS_ID, AWS_STS_ID, GITHUB_PAT,
		"gho_16C7e42F292c6912E7710c838347Ae178B4a", "ghs_16C7e42F292c6912E7710c838347Ae178B4a",
		GITHUB_FINE, GITLAB_PAT, SLACK_BOT, "xoxp-12345-67890-abcdef", GOOGLE_KEY,
		STRIPE_LIVE, STRIPE_RK, "sk_test_4eC39HqLyjWDarjtT1zdp7dc", HF_TOKEN,
		"npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789", JWT,
		"eyJhbGciOiJub25lIn0.eyJzdWIiOiIxMjM0NTY3ODkwIn0.", /* unsigned: empty signature */
	};
	/* each token in a few contexts: alone, JSON, prose, query string, after an escape */
	static const char *const contexts[] = {
		"%s", "{\"key\":\"%s\"}", "the key is %s.", "GET /x?k=%s&y=1", "line\\n%s\\n",
		"x\\u00e9%s", "(%s)", "'%s'", "export KEY=%s\n", "%s %s",
	};

	for (size_t t = 0; t < sizeof(tokens) / sizeof(tokens[0]); t++) {
		for (size_t c = 0; c < sizeof(contexts) / sizeof(contexts[0]); c++) {
			char in[1024];

			snprintf(in, sizeof(in), contexts[c], tokens[t], tokens[t]);
			check_secrets(r, in, SECRETS(tokens[t]));
		}
	}
	redact_ctx_free(r);
}

static void test_token_edges(void **state)
{
	struct redact_ctx *r = ctx_new(key1);

	/* too short, no digit, glued to a word: not tokens */
	check_clean(r, "sk-short1");
	check_clean(r, "pip install sk-learn; the sk-some-long-slug-name-without-digits");
	check_clean(r, "task-Ab12Cd34Ef56Gh78Ij90Kl12 risk-free desk-Ab12Cd34Ef56Gh78Ij90Kl12");
	check_clean(r, "xAKIAIOSFODNN7EXAMPLE AKIAIOSFODNN7EXAMPLEX AKIAIOSFODNN7EXAMPL");
	check_clean(r, "ghp_tooShort123 glpat-short AIzaTooShort xoxb-1 hf_short");
	check_clean(r, "eyJhbGciOiJIUzI1NiJ9 alone, eyJabc.eyJdef.x too short");
	/* a token right at both ends of the buffer, and two glued by a separator */
	check_secrets(r, AWS_ID, SECRETS(AWS_ID));
	check_secrets(r, GITHUB_PAT "," AWS_ID, SECRETS(GITHUB_PAT, AWS_ID));
	/* a byte that a backslash escapes never starts a span: \npm_... is \n + pm_ */
	check_clean(r, "x\\npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789");
	check_secrets(r, "C:\\\\npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
		      SECRETS("npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"));
	/* a token runs as far as its alphabet: one span, "_xyz" is not part of it */
	check_secrets(r, "ghp_16C7e42F292c6912E7710c838347Ae178B4aghp_xyz",
		      SECRETS("ghp_16C7e42F292c6912E7710c838347Ae178B4aghp"));
	redact_ctx_free(r);
}

/* ---- structural rules ----------------------------------------------------------- */

static void test_pem(void **state)
{
	struct redact_ctx *r = ctx_new(key1);
	size_t n;
	char *got;

	check_secrets(r, "key file:\n" PEM_RAW "\ntrailing text\n", SECRETS(PEM_RAW));
	/* inside JSON, newlines escaped: the same tag as raw */
	check_secrets(r, "{\"content\":\"here is the key: " PEM_JSON "\\n\"}", SECRETS(PEM_JSON));
	got = red(r, "\"" PEM_JSON "\"", &n);
	assert_int_equal(n, 1);
	assert_non_null(strstr(got, tag_of(r, PEM_RAW)));
	free(got);
	/* other labels */
	check_secrets(r, "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
			 "-----END OPENSSH PRIVATE KEY-----",
		      SECRETS("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
			      "-----END OPENSSH PRIVATE KEY-----"));
	check_secrets(r, "x -----BEGIN ENCRYPTED PRIVATE KEY-----\r\nProc-Type: 4,ENCRYPTED\r\n"
			 "MIIB\r\n-----END ENCRYPTED PRIVATE KEY----- y",
		      SECRETS("-----BEGIN ENCRYPTED PRIVATE KEY-----\r\nProc-Type: 4,ENCRYPTED\r\n"
			      "MIIB\r\n-----END ENCRYPTED PRIVATE KEY-----"));
	/* unterminated: to the end of the JSON string, or of the input */
	check_secrets(r, "{\"a\":\"-----BEGIN PRIVATE KEY-----\\n" PEM_BODY1 "\\n\",\"b\":1}",
		      SECRETS("-----BEGIN PRIVATE KEY-----\\n" PEM_BODY1 "\\n"));
	check_secrets(r, "cut: -----BEGIN EC PRIVATE KEY-----\n" PEM_BODY1 "\n" PEM_BODY2,
		      SECRETS("-----BEGIN EC PRIVATE KEY-----\n" PEM_BODY1 "\n" PEM_BODY2));
	/* inside an escaped string in a JSON string: ends at the escaped quote */
	check_secrets(r, "{\"code\":\"k = \\\"-----BEGIN PRIVATE KEY-----\\\\n" PEM_BODY1 "\\\"\"}",
		      SECRETS("-----BEGIN PRIVATE KEY-----\\\\n" PEM_BODY1));
	/* a value that starts with a PEM block: the PEM rule, the same tag as raw */
	got = red(r, "{\"private_key\":\"" PEM_JSON "\\n\"}", &n);
	assert_int_equal(n, 1);
	{
		char want[256];

		snprintf(want, sizeof(want), "{\"private_key\":\"%s\\n\"}", tag_of(r, PEM_RAW));
		assert_string_equal(got, want);
	}
	free(got);
	/* certificates and public keys stay */
	check_clean(r, "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkq\n"
		       "-----END CERTIFICATE-----\n-----BEGIN PUBLIC KEY-----\nMFkwEwYH\n"
		       "-----END PUBLIC KEY-----");
	/* a PEM block is not eaten by the token before it */
	got = red(r, "sk-Ab12Cd34Ef56Gh78Ij90Kl-----BEGIN RSA PRIVATE KEY-----\n" PEM_BODY1
		     "\n-----END RSA PRIVATE KEY-----",
		  &n);
	assert_int_equal(n, 2);
	assert_null(strstr(got, PEM_BODY1));
	free(got);
	/* ... nor by a header-like value: found by fuzz_redact (idempotence) */
	got = red(r, "Cookie: sid=a-----BEGIN RSA PRIVATE KEY-----\n" PEM_BODY1
		     "\n-----END RSA PRIVATE KEY-----\n",
		  &n);
	assert_int_equal(n, 1);
	assert_null(strstr(got, PEM_BODY1));
	free(got);
	redact_ctx_free(r);
}

static void test_bearer_and_urls(void **state)
{
	struct redact_ctx *r = ctx_new(key1);

	check_secrets(r, "curl -H \"Authorization: Bearer abc123def456ghi789jkl0\" https://x",
		      SECRETS("abc123def456ghi789jkl0"));
	check_secrets(r, "{\"headers\":{\"authorization\":\"bearer ya29.a0AfH6SMBx-1234567890abc\"}}",
		      SECRETS("ya29.a0AfH6SMBx-1234567890abc"));
	check_secrets(r, "token: Bearer\tAbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh==",
		      SECRETS("AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh=="));
	check_secrets(r, "git remote add origin https://oauth2:" GITLAB_PAT "@gitlab.com/a/b.git",
		      SECRETS("oauth2:" GITLAB_PAT));
	check_secrets(r, "DATABASE_URL=postgres://app:hunter2@db:5432/app",
		      SECRETS("app:hunter2"));
	check_secrets(r, "{\"url\":\"redis:\\/\\/:s3cr3t@cache:6379\"}", SECRETS(":s3cr3t"));
	/* a token as the user part, without a password: the token rule */
	check_secrets(r, "https://" GITHUB_PAT "@github.com/o/r", SECRETS(GITHUB_PAT));
	check_clean(r, "the bearer of bad news; Bearer tokens are described in RFC 6750; "
		       "see https://example.com:8080/path and mailto:a@b.c");
	check_clean(r, "Bearer $TOKEN, Bearer <token>, Bearer ${API_KEY}");
	redact_ctx_free(r);
}

/* ---- assignments -------------------------------------------------------------------- */

static void test_assignments(void **state)
{
	struct redact_ctx *r = ctx_new(key1);

	check_secrets(r, "{\"username\":\"bob\",\"password\":\"correct horse battery\"}",
		      SECRETS("correct horse battery"));
	check_secrets(r, "password=hunter22&user=bob", SECRETS("hunter22"));
	check_secrets(r, "DB_PASSWORD=p4ssw0rd!\nAPI_KEY=abcdef123456\n",
		      SECRETS("p4ssw0rd!", "abcdef123456"));
	check_secrets(r, "[default]\naws_access_key_id = " AWS_ID "\naws_secret_access_key = "
			 AWS_SECRET "\n",
		      SECRETS(AWS_ID, AWS_SECRET));
	check_secrets(r, "{\"AccessKeyId\":\"" AWS_STS_ID "\",\"SecretAccessKey\":\"" AWS_SECRET
			 "\",\"SessionToken\":\"IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ\"}",
		      SECRETS(AWS_STS_ID, AWS_SECRET,
			      "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ"));
	check_secrets(r, "client_secret: 'abc-def-ghi'\nsecret := \"s3cr3t-value\"",
		      SECRETS("abc-def-ghi", "s3cr3t-value"));
	check_secrets(r, "{:api_key => \"live-abc123\"}", SECRETS("live-abc123"));
	check_secrets(r, "mytool --api-key=ABCDEF123456 --verbose", SECRETS("ABCDEF123456"));
	check_secrets(r, "GET /cb?access_token=ya29abcdefghij12&state=x HTTP/1.1",
		      SECRETS("ya29abcdefghij12"));
	/* a JSON string holding code: \"-quoted values, escapes kept whole */
	check_secrets(r, "{\"text\":\"config = {\\\"password\\\": \\\"pa\\\\\\\"ss-w0rd\\\"}\"}",
		      SECRETS("pa\\\\\\\"ss-w0rd"));
	check_secrets(r, "{\"text\":\"DB_PASSWORD=hunter22\\nDEBUG=1\"}", SECRETS("hunter22"));
	/* cut short: to the end of the input, a last lone backslash included */
	check_secrets(r, "{\"a\":\"{\\\"password\\\": \\\"pa;\\w, \\",
		      SECRETS("pa;\\w, \\"));
	check_secrets(r, "password: 'unterminated value", SECRETS("unterminated value"));
	/* weak names: only a credential-looking value */
	check_secrets(r, "{\"token\":\"a1b2c3d4e5f6a7b8c9d0\",\"github_token\":\"" GITHUB_PAT "\"}",
		      SECRETS("a1b2c3d4e5f6a7b8c9d0", GITHUB_PAT));
	check_secrets(r, "X-Auth-Token: 0123456789abcdefABCDEF\r\n", SECRETS("0123456789abcdefABCDEF"));
	/* header-like lines inside bodies */
	check_secrets(r, "Authorization: Basic dXNlcjpwYXNzd29yZA==\r\nHost: x\r\n",
		      SECRETS("dXNlcjpwYXNzd29yZA=="));
	check_secrets(r, "{\"Authorization\":\"AWS4-HMAC-SHA256 Credential=" AWS_ID
			 "/20240101/us-east-1/s3/aws4_request, Signature=abc\"}",
		      SECRETS("Credential=" AWS_ID "/20240101/us-east-1/s3/aws4_request, Signature=abc"));
	check_secrets(r, "authorization: 0123456789abcdef0123456789abcdef\n",
		      SECRETS("0123456789abcdef0123456789abcdef"));
	/* no scheme and more than one word: only the token rules (fuzz_redact) */
	check_secrets(r, "Authorization: Basicxyz0123456789abc " GITHUB_PAT "\n",
		      SECRETS(GITHUB_PAT));
	check_secrets(r, "-H 'Cookie: session=abc123; theme=dark'\n",
		      SECRETS("session=abc123; theme=dark"));
	redact_ctx_free(r);
}

static void test_assignments_kept(void **state)
{
	struct redact_ctx *r = ctx_new(key1);

	/* placeholders, short values, code, types, unrelated names */
	check_clean(r, "{\"password\":\"\",\"secret\":\"***\",\"api_key\":null,\"token\":\"none\"}");
	check_clean(r, "password: str\napi_key = os.environ[\"OPENAI_API_KEY\"]\n"
		       "password = get_password()\nsecret = None\ntoken = self.token\n"
		       "apiKey: process.env.OPENAI_API_KEY,\nPASSWORD=$DB_PASSWORD\n");
	check_clean(r, "{\"max_tokens\":1024,\"usage\":{\"input_tokens\":12,\"output_tokens\":9}}");
	check_clean(r, "{\"logprobs\":{\"content\":[{\"token\":\"Hello\",\"logprob\":-0.31},"
		       "{\"token\":\" understanding\",\"logprob\":-1.5}]}}");
	check_clean(r, "Note: the password must have 8 characters. The secret: patience. "
		       "Authorization: the process of deciding who may do what. "
		       "fetch(url, {credentials: 'include'}); Cookie: chocolate chip");
	check_clean(r, "{\"type\":\"tool_use\",\"name\":\"read_file\",\"input\":{\"path\":\"/etc/hosts\"}}");
	redact_ctx_free(r);
}

/* ---- false positives ----------------------------------------------------------------- */

static void base64(const uint8_t *in, size_t n, char *out)
{
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
			     (i + 2 < n ? in[i + 2] : 0);

		out[o++] = tbl[v >> 18 & 63];
		out[o++] = tbl[v >> 12 & 63];
		out[o++] = i + 1 < n ? tbl[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? tbl[v & 63] : '=';
	}
	out[o] = '\0';
}

static void test_false_positives(void **state)
{
	struct redact_ctx *r = ctx_new(key1);
	uint8_t raw[6000];
	char *b64 = malloc(8100), *json = malloc(8400);
	uint32_t x = 12345;

	assert_non_null(b64);
	assert_non_null(json);
	check_clean(r, "The quick brown fox jumps over the lazy dog. Tokens are counted per "
		       "request; the secret to success is persistence; a password manager helps. "
		       "Keys, tokens and passwords: keep them out of the logs!");
	check_clean(r, "{\"sha256\":\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\","
		       "\"sha1\":\"da39a3ee5e6b4b0d3255bfef95601890afd80709\","
		       "\"digest\":\"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\","
		       "\"id\":\"msg_01XFDUDYJgAACzvnptvVoYEL\",\"uuid\":\"123e4567-e89b-12d3-a456-426614174000\"}");
	/* an image, base64 in JSON, from a fixed pseudo-random source */
	for (size_t i = 0; i < sizeof(raw); i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		raw[i] = (uint8_t)x;
	}
	base64(raw, sizeof(raw), b64);
	snprintf(json, 8400, "{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":"
		 "\"image/png\",\"data\":\"%s\"}}", b64);
	check_clean(r, json);
	check_clean(r, "# 日本語のテキスト: パスワードはありません。 café, naïve, Ünïcödé ✓");
	free(b64);
	free(json);
	redact_ctx_free(r);
}

/* ---- many at once, UTF-8, no survivors -------------------------------------------------- */

static void test_mixed_body(void **state)
{
	struct redact_ctx *r = ctx_new(key1);
	static const char body[] =
		AWS_ID "{\"model\":\"claude\",\"messages\":[{\"role\":\"user\",\"content\":"
		"\"Here is my .env:\\nANTHROPIC_API_KEY=" ANTHROPIC_KEY "\\nOPENAI_API_KEY="
		OPENAI_KEY "\\nDB_PASSWORD=pässwörd-ünïcode\\n\\nand my key " PEM_JSON
		"\\n and slack " SLACK_BOT " — thanks ✓\"}],\"metadata\":{\"jwt\":\"" JWT "\"}}"
		STRIPE_LIVE;
	char *got;
	size_t n;

	check_secrets(r, body, SECRETS(AWS_ID, ANTHROPIC_KEY, OPENAI_KEY, "pässwörd-ünïcode",
				       PEM_JSON, SLACK_BOT, JWT, STRIPE_LIVE));
	got = red(r, body, &n);
	assert_int_equal(n, 8);
	assert_null(strstr(got, PEM_BODY1));
	assert_null(strstr(got, "sk-"));
	assert_non_null(strstr(got, "ANTHROPIC_API_KEY=[REDACTED:")); /* names kept */
	assert_non_null(strstr(got, "— thanks ✓")); /* UTF-8 untouched */
	free(got);
	/* the same secret twice, one tag; the body hashed with another key, other tags */
	got = red(r, "a=" GITHUB_PAT " b=" GITHUB_PAT, &n);
	assert_int_equal(n, 2);
	{
		char *first = strstr(got, "[REDACTED:");
		char *second = strstr(first + 1, "[REDACTED:");

		assert_non_null(second);
		assert_memory_equal(first, second, REDACT_TAG_LEN);
	}
	free(got);
	redact_ctx_free(r);
}

/* A few shapes that would make a naive scanner quadratic, 1 MiB each. */
static void test_linear_time(void **state)
{
	static const char *const units[] = {
		"token=", "-eyJ", "password: \"", "authorization=", "x://", "Bearer ",
		"cookie=", "sk-", "-----BEGIN PRIVATE KEY-----", "\\n", "a=b", "eyJa.",
		"cookie:a=b ", "\\", "://a:b", "\"password\":\"abcde\",", "token=token(",
		"secret=x$", "k-----BEGIN RSA PRIVATE KEY-----x", "Authorization: x ",
		"-----BEGIN PRIVATE KEY----- -----END", "AKIA", "\\u0041",
		"AKIAIOSFODNN7EXAMPLE ",
	};
	struct redact_ctx *r = ctx_new(key1);
	size_t size = 1 << 20;
	char *in = malloc(size + 1);

	assert_non_null(in);
	for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
		size_t l = strlen(units[u]), count;
		struct timespec t0, t1;
		uint8_t *out;
		size_t out_n;
		double secs;

		for (size_t i = 0; i < size; i++)
			in[i] = units[u][i % l];
		assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &t0), 0);
		assert_int_equal(redact_bytes(r, (const uint8_t *)in, size, &out, &out_n, &count), 0);
		assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &t1), 0);
		secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		assert_true(out_n <= size + count * REDACT_TAG_LEN);
		free(out);
		if (secs > 10.0)
			fail_msg("\"%s\" x %zu took %.1f s", units[u], size / l, secs);
	}
	free(in);
	redact_ctx_free(r);
}

static void test_api_errors(void **state)
{
	struct redact_ctx *r = ctx_new(key1);
	uint8_t *out = (uint8_t *)"x";
	size_t n;

	assert_int_equal(redact_bytes(NULL, (const uint8_t *)"a", 1, &out, &n, NULL), -EINVAL);
	assert_null(out);
	assert_int_equal(redact_bytes(r, NULL, 1, &out, &n, NULL), -EINVAL);
	assert_int_equal(redact_bytes(r, (const uint8_t *)"a", 1, NULL, &n, NULL), -EINVAL);
	assert_int_equal(redact_bytes(r, NULL, 0, &out, &n, NULL), 0); /* empty: a 0-byte copy */
	assert_non_null(out);
	assert_int_equal(n, 0);
	free(out);
	errno = 0;
	assert_null(redact_header_value(NULL, "cookie", "a=b"));
	assert_int_equal(errno, EINVAL);
	redact_ctx_free(r);
}

/* ---- headers ------------------------------------------------------------------------- */

static void check_header(const struct redact_ctx *r, const char *name, const char *value,
			 const char *want)
{
	char *got = redact_header_value(r, name, value);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_headers(void **state)
{
	struct redact_ctx *r = ctx_new(key1);
	static const char *const secret[] = {
		"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key",
		"api-key", "x-goog-api-key", "x-auth-token", "private-token", "x-amz-security-token",
		"x-csrftoken", "x-vault-token", "x-webhook-secret", "x-db-password",
		"x-openai-apikey", "x-client-key", "x-service-credentials",
	};
	static const char *const plain[] = {
		"content-type", "host", "user-agent", "anthropic-version", "x-request-id",
		"idempotency-key", "x-idempotency-key", "sec-websocket-key", "keep-alive",
		"anthropic-ratelimit-tokens-remaining", "x-ratelimit-limit-tokens", "accept",
	};
	char want[512];

	for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
		assert_true(redact_header_is_secret(secret[i]));
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		assert_false(redact_header_is_secret(plain[i]));
	assert_false(redact_header_is_secret(NULL));

	snprintf(want, sizeof(want), "Bearer %s", tag_of(r, ANTHROPIC_KEY));
	check_header(r, "authorization", "Bearer " ANTHROPIC_KEY, want);
	snprintf(want, sizeof(want), "Basic  %s", tag_of(r, "dXNlcjpwYXNz"));
	check_header(r, "proxy-authorization", "Basic  dXNlcjpwYXNz", want);
	check_header(r, "authorization", "opaquevalue", tag_of(r, "opaquevalue"));
	check_header(r, "authorization", "Bearer ", "Bearer ");
	check_header(r, "x-api-key", ANTHROPIC_KEY, tag_of(r, ANTHROPIC_KEY));
	check_header(r, "x-goog-api-key", "", "");
	{
		char t1[REDACT_TAG_LEN + 1], t2[REDACT_TAG_LEN + 1], t3[REDACT_TAG_LEN + 1];

		snprintf(t1, sizeof(t1), "%s", tag_of(r, "abc123"));
		snprintf(t2, sizeof(t2), "%s", tag_of(r, "\"q\""));
		snprintf(t3, sizeof(t3), "%s", tag_of(r, "flag"));
		/* cookie names kept, values replaced; a pair without '=' replaced whole */
		snprintf(want, sizeof(want), "sid=%s; theme=%s; %s; empty=", t1, t2, t3);
		check_header(r, "cookie", "sid=abc123; theme=\"q\"; flag; empty=", want);
		/* set-cookie: the attributes kept */
		snprintf(want, sizeof(want), "sid=%s; Path=/; Secure; HttpOnly", t1);
		check_header(r, "set-cookie", "sid=abc123; Path=/; Secure; HttpOnly", want);
	}
	/* other headers: the body scanner */
	snprintf(want, sizeof(want), "key %s", tag_of(r, GITHUB_PAT));
	check_header(r, "x-custom", "key " GITHUB_PAT, want);
	check_header(r, "user-agent", "Anthropic/Python 0.40.0", "Anthropic/Python 0.40.0");
	snprintf(want, sizeof(want), "/v1beta/models/gemini:generateContent?key=%s",
		 tag_of(r, GOOGLE_KEY));
	check_header(r, ":path", "/v1beta/models/gemini:generateContent?key=" GOOGLE_KEY, want);
	redact_ctx_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_token_rules),
		cmocka_unit_test(test_token_edges),
		cmocka_unit_test(test_pem),
		cmocka_unit_test(test_bearer_and_urls),
		cmocka_unit_test(test_assignments),
		cmocka_unit_test(test_assignments_kept),
		cmocka_unit_test(test_false_positives),
		cmocka_unit_test(test_mixed_body),
		cmocka_unit_test(test_linear_time),
		cmocka_unit_test(test_api_errors),
		cmocka_unit_test(test_headers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
