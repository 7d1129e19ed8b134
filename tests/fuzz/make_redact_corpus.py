#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the seed corpus of the fuzz_redact target: bodies with secrets in them.

Usage: make_redact_corpus.py [OUTPUT_DIR]   (default: corpus/fuzz_redact next to this file)

Input format (see fuzz_redact.c): the bytes to scan, as they are. The seeds
cover every rule of the catalogue in redact.h, raw and inside JSON strings,
and a few things that must stay (prose, digests, base64 data, code). Every
secret here is made up. The output is deterministic; the files are
committed next to this script, so run it again after changing it and
commit both.
"""
import base64
import json
import os
import random
import sys

ANTHROPIC = "sk-ant-api03-" + "Zx9yW8vU7tS6rQ5pO4nM3lK2jI1hG0fE9dC8bA7zY6xW5vU4tS3rQ2pO1nM0lK9jI8hG7f" \
    "E6dC5bA4-_AAbbCCdd"
OPENAI = "sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78St90Uv12Wx34Yz56_-Ab12Cd34Ef56"
AWS_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
GITHUB = "ghp_16C7e42F292c6912E7710c838347Ae178B4a"
GITHUB_FINE = "github_pat_11ABCDEFG0123456789abc_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH"
GITLAB = "glpat-Ab12Cd34Ef56Gh78Ij90"
SLACK = "xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
GOOGLE = "AIzaSyA1234567890abcdefghijklmnopqrstuv"
STRIPE = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
HF = "hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567"
NPM = "npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9l"
       "IiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
PEM = ("-----BEGIN RSA PRIVATE KEY-----\n"
       "MIIEpAIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\n"
       "aFDrBz9vFqU4yZ5vXaGEw2Pq0H1wK9mS8cT7rN6bV5jL4hG3fD2sA1zX0cV9bN8m\n"
       "-----END RSA PRIVATE KEY-----\n")

ENV = (f"ANTHROPIC_API_KEY={ANTHROPIC}\nOPENAI_API_KEY={OPENAI}\nDB_PASSWORD=p4ssw0rd!\n"
       f"GITHUB_TOKEN={GITHUB}\nSLACK_BOT_TOKEN={SLACK}\nHF_TOKEN={HF}\n"
       f"DATABASE_URL=postgres://app:hunter22@db:5432/app\nSECRET_KEY=django-insecure-x9y8z7\n")
AWS_FILE = (f"[default]\naws_access_key_id = {AWS_ID}\n"
            f"aws_secret_access_key = {AWS_SECRET}\nregion = us-east-1\n")
CURL = (f"curl https://api.anthropic.com/v1/messages -H 'x-api-key: {ANTHROPIC}' "
        f"-H \"Authorization: Bearer {OPENAI}\" -H 'Cookie: session=abc123; theme=dark' "
        f"-u user:pass https://oauth2:{GITLAB}@gitlab.com/a/b.git")
CODE = ('api_key = os.environ["OPENAI_API_KEY"]\npassword = get_password()\nsecret = None\n'
        'token = self.token\nconst apiKey: string = process.env.KEY;\n'
        'fetch(url, {credentials: "include"})\nclient = Client(api_key="sk-live-123456")\n')
PROSE = ("The quick brown fox jumps over the lazy dog. Tokens are counted per request; "
         "the secret: patience. Note: the password must have 8 characters. A bearer of "
         "news. Authorization: the process of deciding. naïve café ✓ 日本語\n")


def request(content):
    """An Anthropic Messages request whose user turn is content."""
    return json.dumps({"model": "claude-sonnet-4", "max_tokens": 1024, "messages": [
        {"role": "user", "content": content}]}, ensure_ascii=False).encode()


def image_json():
    rnd = random.Random(7)
    data = base64.b64encode(bytes(rnd.randrange(256) for _ in range(1500))).decode()
    return json.dumps({"type": "image", "source": {
        "type": "base64", "media_type": "image/png", "data": data}}).encode()


SEEDS = {
    "env_in_json.bin": request("Here is my .env:\n" + ENV),
    "env_raw.bin": ENV.encode(),
    "aws_credentials.bin": AWS_FILE.encode(),
    "aws_sts_json.bin": json.dumps({"Credentials": {
        "AccessKeyId": "ASIAY34FZKBOKMUTVV7A", "SecretAccessKey": AWS_SECRET,
        "SessionToken": "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ"}}).encode(),
    "pem_raw.bin": ("key:\n" + PEM + "tail\n").encode(),
    "pem_json.bin": request("my key is " + PEM + " please check"),
    "pem_unterminated.bin": json.dumps({"a": PEM[:150], "b": 1}).encode(),
    "pem_in_code_in_json.bin": request('k = "' + PEM.replace("\n", "\\n") + '"'),
    "certificate.bin": b"-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkq\n"
                       b"-----END CERTIFICATE-----\n",
    "curl.bin": request("run this: " + CURL),
    "headers_text.bin": (f"GET /x?key={GOOGLE}&access_token=ya29abcdefghij12 HTTP/1.1\r\n"
                         f"Host: a\r\nAuthorization: Basic dXNlcjpwYXNzd29yZA==\r\n"
                         f"X-Auth-Token: 0123456789abcdefABCDEF\r\n"
                         f"Cookie: sid=abc123; theme=dark\r\n\r\n").encode(),
    "tokens_listed.bin": " ".join([ANTHROPIC, OPENAI, AWS_ID, GITHUB, GITHUB_FINE, GITLAB,
                                   SLACK, GOOGLE, STRIPE, HF, NPM, JWT]).encode(),
    "tokens_escaped.bin": ("\\n" + AWS_ID + "\\u00e9" + GITHUB + "\\t" + JWT + "\\\\n" + NPM
                           + "\\\"" + STRIPE + "\\\"").encode(),
    "assignments.bin": (b"password=hunter22&user=bob\nclient_secret: 'abc-def-ghi'\n"
                        b"secret := \"s3cr3t-value\"\n{:api_key => \"live-abc123\"}\n"
                        b"mytool --api-key=ABCDEF123456 --verbose\n"
                        b"{\"token\":\"a1b2c3d4e5f6a7b8c9d0\",\"password\":\"\"}\n"),
    "nested_json.bin": request('config = {"password": "pa\\"ss-w0rd", "token": "x"}'),
    "code.bin": request(CODE),
    "prose.bin": request(PROSE),
    "logprobs.bin": json.dumps({"logprobs": {"content": [
        {"token": "Hello", "logprob": -0.31}, {"token": " understanding", "logprob": -1.5}]},
        "usage": {"input_tokens": 12, "output_tokens": 9}}).encode(),
    "digests.bin": json.dumps({
        "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "sha1": "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "uuid": "123e4567-e89b-12d3-a456-426614174000"}).encode(),
    "image.bin": image_json(),
    "already_redacted.bin": b'{"password":"[REDACTED:0123456789ab]","k":"Bearer [REDACTED:abcdef012345]"}',
    "url_creds_escaped.bin": b'{"url":"redis:\\/\\/:s3cr3t@cache:6379","u":"https://a:b@c"}',
    # found by the fuzzer, fixed: a \"-quoted value cut after a backslash (read
    # past the end), a header-like value before a PEM block, and one of two
    # words before a token (both broke idempotence); a tag in the input
    "regress_escaped_value_end.bin": b'{"= {\\"password\\": \\"pa;\\w, \\',
    "regress_cookie_pem.bin": b"Cookie: sid=a" + PEM.encode(),
    "regress_auth_two_words.bin": b"Authorization: Basicxyz0123456789abc " + GITHUB.encode() + b"\n",
    "regress_literal_tag.bin": b"MPLE\\[REDACTED:0123456789ab]LE\\u" + AWS_ID.encode(),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_redact")
    os.makedirs(out, exist_ok=True)
    for name, data in sorted(SEEDS.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print(f"wrote {len(SEEDS)} files to {out}")


if __name__ == "__main__":
    main()
