/* SPDX-License-Identifier: MIT */
/*
 * The x86-64 instructions that set up a BoringSSL error call
 * (tls_locate.c explains the scan): enough of the decoder to replay the
 * immediates loaded into the argument registers before the call, and so
 * read the error's reason code.
 */
#include "capture/tls_locate_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- BoringSSL scan: decoding the call set-up --------------------------------- */

/* One decoded instruction: its length, the register it writes (-1: none)
 * and, when known, the value written; ends = call or jmp. */
struct insn {
	size_t len;
	int dst;
	bool known;
	uint64_t val;
	bool ends;
};

/* lea reg, [mem] beyond rip-relative: only its length matters. */
static bool decode_lea_len(const uint8_t *p, size_t n, size_t at, struct insn *in)
{
	uint8_t modrm = p[at], mod = modrm >> 6, rm = modrm & 7;
	size_t len = at + 1;

	if (mod == 3)
		return false;
	if (rm == 4) {                          /* SIB byte */
		if (len >= n)
			return false;
		if (mod == 0 && (p[len] & 7) == 5)
			len += 4;
		len++;
	}
	len += mod == 1 ? 1 : mod == 2 ? 4 : 0;
	if (len > n)
		return false;
	in->len = len;
	return true;
}

/*
 * Decodes at p (n bytes, address va) one instruction of the few kinds a
 * compiler puts between loading call arguments and the call: immediates
 * and addresses moved into registers, register copies and zeroing, lea of
 * a stack slot, and the call or jmp that ends the run. Anything else is
 * refused, which ends the walk.
 */
static bool decode(const uint8_t *p, size_t n, uint64_t va, struct insn *in)
{
	uint8_t rex = 0, op;
	size_t i = 0;

	memset(in, 0, sizeof(*in));
	in->dst = -1;
	if (n && (p[0] & 0xf0) == 0x40)
		rex = p[i++];
	if (i >= n)
		return false;
	op = p[i];
	if (!rex && (op == 0xe8 || op == 0xe9 || op == 0xeb)) { /* call/jmp rel32, jmp rel8 */
		in->len = op == 0xeb ? 2 : 5;
		in->ends = true;
		return in->len <= n;
	}
	if (op >= 0xb8 && op <= 0xbf) {         /* mov r32, imm32 / movabs r64, imm64 */
		in->len = i + 1 + ((rex & 8) ? 8 : 4);
		if (in->len > n)
			return false;
		in->dst = (op & 7) | ((rex & 1) << 3);
		in->val = (rex & 8) ? tls_rd64(p + i + 1) : tls_rd32(p + i + 1);
		in->known = true;
		return true;
	}
	if (i + 1 >= n)
		return false;
	if (op == 0xc7 && (p[i + 1] & 0xf8) == 0xc0) { /* mov r, imm32 (sign-extended with REX.W) */
		uint32_t imm;

		in->len = i + 6;
		if (in->len > n)
			return false;
		imm = tls_rd32(p + i + 2);
		in->dst = (p[i + 1] & 7) | ((rex & 1) << 3);
		in->val = (rex & 8) ? (uint64_t)(int64_t)(int32_t)imm : imm;
		in->known = true;
		return true;
	}
	if ((op == 0x31 || op == 0x33 || op == 0x89 || op == 0x8b) && (p[i + 1] >> 6) == 3) {
		int reg = ((p[i + 1] >> 3) & 7) | ((rex & 4) << 1), rm = (p[i + 1] & 7) | ((rex & 1) << 3);

		in->len = i + 2;                /* xor/mov between registers */
		in->dst = (op == 0x33 || op == 0x8b) ? reg : rm;
		if ((op == 0x31 || op == 0x33) && reg == rm)
			in->known = true;       /* xor r, r: zero */
		return true;
	}
	if (op == 0x8d) {                       /* lea */
		uint8_t modrm = p[i + 1];

		in->dst = ((modrm >> 3) & 7) | ((rex & 4) << 1);
		if ((modrm & 0xc7) == 0x05) {   /* [rip + disp32] */
			in->len = i + 6;
			if (in->len > n)
				return false;
			in->val = va + in->len + (uint64_t)(int64_t)(int32_t)tls_rd32(p + i + 2);
			in->known = (rex & 8) != 0;
			return true;
		}
		return decode_lea_len(p, n, i + 1, in);
	}
	return false;
}

struct regs {
	uint64_t val[NREGS];
	bool known[NREGS];
};

static void apply(struct regs *r, const struct insn *in)
{
	if (in->dst < 0 || in->dst >= NREGS)
		return;
	r->known[in->dst] = in->known;
	r->val[in->dst] = in->val;
}

/* Immediate moves that end exactly at off, walking back: the compiler may
 * set edi or the reason before the file. Only the 5- and 6-byte "mov r32,
 * imm32" forms are taken, and only when one length fits: bytes read
 * backwards are otherwise ambiguous. Returns how many, offsets in back[]. */
static size_t walk_back(const struct code *c, size_t off, size_t *back, size_t max)
{
	size_t n = 0;

	while (n < max) {
		size_t fit = 0, fits = 0;

		for (size_t len = 5; len <= 6; len++) {
			struct insn in;

			if (off < len || !decode(c->p + off - len, len, c->va + off - len, &in))
				continue;
			if (in.len == len && in.known && !in.ends && in.dst >= 0) {
				fit = len;
				fits++;
			}
		}
		if (fits != 1)
			break;
		off -= fit;
		back[n++] = off;
	}
	return n;
}

/*
 * The reason code of the error site whose file argument is loaded at
 * offset off (into file_reg, value file_va): the registers are replayed
 * from the immediates just before the load to the call or jmp after it.
 * True when edi holds ERR_LIB_SSL, the file register still holds the path
 * and the reason register an immediate: esi when the file is in rdx (4
 * arguments), edx when it is in rcx (5 arguments).
 */
bool tls_site_reason(const struct code *c, size_t off, int file_reg, uint64_t file_va, uint32_t *reason)
{
	struct regs r;
	size_t back[4], nback, at = off;
	int reason_reg = file_reg == REG_RDX ? REG_RSI : file_reg == REG_RCX ? REG_RDX : -1;
	bool ended = false;

	if (reason_reg < 0)
		return false;
	memset(&r, 0, sizeof(r));
	nback = walk_back(c, off, back, 4);
	while (nback-- > 0) {
		struct insn in;

		if (decode(c->p + back[nback], c->len - back[nback], c->va + back[nback], &in))
			apply(&r, &in);
	}
	for (int k = 0; k < MAX_SETUP_INSNS && !ended; k++) {
		struct insn in;

		if (!decode(c->p + at, c->len - at, c->va + at, &in))
			return false;
		ended = in.ends;
		apply(&r, &in);
		at += in.len;
	}
	if (!ended || !r.known[REG_RDI] || r.val[REG_RDI] != LIB_SSL)
		return false;
	if (!r.known[file_reg] || r.val[file_reg] != file_va)
		return false;
	if (!r.known[reason_reg] || r.val[reason_reg] > R_MAX)
		return false;
	*reason = (uint32_t)r.val[reason_reg];
	return true;
}
