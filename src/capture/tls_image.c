/* SPDX-License-Identifier: MIT */
/*
 * The ELF file tls_locate searches: mapped through libelf, its loadable
 * segments, virtual addresses to file bytes, and the table of function
 * boundaries that .eh_frame_hdr gives where the file has one.
 */
#include "capture/tls_locate_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the mapped file ------------------------------------------------------ */

void tls_image_close(struct image *im)
{
	if (im->elf)
		(void)elf_end(im->elf);     /* read-only: nothing to flush */
	if (im->fd >= 0)
		(void)close(im->fd);
}

/* Keeps the program headers the lookups need; refuses a file whose loaded
 * segments reach past its end (a truncated copy). */
static int read_phdrs(struct image *im, const char *path, char *err, size_t errlen)
{
	size_t n;

	if (elf_getphdrnum(im->elf, &n))
		return tls_fail(err, errlen, -ENOEXEC, "%s: %s", path, elf_errmsg(-1));
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(im->elf, (int)i, &ph))
			return tls_fail(err, errlen, -ENOEXEC, "%s: %s", path, elf_errmsg(-1));
		if (ph.p_type == PT_GNU_EH_FRAME) {
			im->eh_frame_hdr = ph;
			im->has_eh_frame_hdr = true;
		}
		if (ph.p_type != PT_LOAD)
			continue;
		if (ph.p_offset > im->size || im->size - ph.p_offset < ph.p_filesz)
			return tls_fail(err, errlen, -ENOEXEC, "%s: truncated (a segment ends past the file)", path);
		if (im->nloads < MAX_LOADS)
			im->loads[im->nloads++] = ph;
	}
	return 0;
}

int tls_image_open(struct image *im, const char *path, char *err, size_t errlen)
{
	size_t nsec;

	memset(im, 0, sizeof(*im));
	im->fd = -1;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return tls_fail(err, errlen, -EINVAL, "libelf: %s", elf_errmsg(-1));
	im->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (im->fd < 0) {
		int e = errno;

		return tls_fail(err, errlen, -e, "%s: %s", path, strerror(e));
	}
	/* libelf maps the whole file; the scan reads it through elf_rawfile(). */
	im->elf = elf_begin(im->fd, ELF_C_READ_MMAP, NULL);
	if (!im->elf)
		return tls_fail(err, errlen, -ENOEXEC, "%s: %s", path, elf_errmsg(-1));
	if (elf_kind(im->elf) != ELF_K_ELF)
		return tls_fail(err, errlen, -ENOEXEC, "%s: not an ELF file", path);
	if (!gelf_getehdr(im->elf, &im->ehdr))
		return tls_fail(err, errlen, -ENOEXEC, "%s: %s", path, elf_errmsg(-1));
	im->raw = (const uint8_t *)elf_rawfile(im->elf, &im->size);
	if (!im->raw)
		return tls_fail(err, errlen, -ENOEXEC, "%s: %s", path, elf_errmsg(-1));
	/* The section headers, where the symbol tables are found, come last
	 * in a file: a cut copy loses them first, and libelf then shows no
	 * sections rather than an error. Counted from the ELF header (0 with
	 * an offset: extended numbering, the count is in the first one). */
	nsec = im->ehdr.e_shnum ? im->ehdr.e_shnum : im->ehdr.e_shoff ? 1 : 0;
	if (nsec && (im->ehdr.e_shentsize == 0 || im->ehdr.e_shoff > im->size ||
		     (im->size - im->ehdr.e_shoff) / im->ehdr.e_shentsize < nsec))
		return tls_fail(err, errlen, -ENOEXEC, "%s: truncated (section headers end past the file)", path);
	return read_phdrs(im, path, err, errlen);
}

/* The file offset of virtual address va, inside the file-backed part of a
 * PT_LOAD (an executable one if want_exec). */
bool tls_va_to_off(const struct image *im, uint64_t va, bool want_exec, uint64_t *off)
{
	for (size_t i = 0; i < im->nloads; i++) {
		const GElf_Phdr *ph = &im->loads[i];

		if (va < ph->p_vaddr || va - ph->p_vaddr >= ph->p_filesz)
			continue;
		if (want_exec && !(ph->p_flags & PF_X))
			continue;
		*off = ph->p_offset + (va - ph->p_vaddr);
		return true;
	}
	return false;
}

/* n bytes of the file at virtual address va, or NULL. */
const uint8_t *tls_va_bytes(const struct image *im, uint64_t va, size_t n)
{
	uint64_t off;

	if (!tls_va_to_off(im, va, false, &off) || off > im->size || im->size - off < n)
		return NULL;
	return im->raw + off;
}

/* ---- function boundaries from .eh_frame ------------------------------------ */

/* Size in bytes of a DW_EH_PE_* encoded value, 0 if unsupported. */
static size_t enc_size(uint8_t enc)
{
	switch (enc & 0x0f) {
	case 0x00: return 8;                    /* absptr, 64-bit */
	case 0x02: case 0x0a: return 2;         /* udata2, sdata2 */
	case 0x03: case 0x0b: return 4;         /* udata4, sdata4 */
	case 0x04: case 0x0c: return 8;         /* udata8, sdata8 */
	default: return 0;
	}
}

/* The value of an encoded pointer at p, read from address va. Only
 * absolute and pc-relative ones (what .eh_frame uses). */
static bool read_enc(const uint8_t *p, uint8_t enc, uint64_t va, uint64_t *out)
{
	uint64_t v;

	switch (enc & 0x0f) {
	case 0x00: case 0x04: case 0x0c: v = tls_rd64(p); break;
	case 0x03: v = tls_rd32(p); break;
	case 0x0b: v = (uint64_t)(int64_t)(int32_t)tls_rd32(p); break;
	case 0x02: v = (uint64_t)p[0] | (uint64_t)p[1] << 8; break;
	case 0x0a: v = (uint64_t)(int64_t)(int16_t)((uint16_t)p[0] | (uint16_t)p[1] << 8); break;
	default: return false;
	}
	switch (enc & 0x70) {
	case 0x00: break;
	case 0x10: v += va; break;
	default: return false;
	}
	*out = v;
	return true;
}

static bool skip_leb(const uint8_t **p, const uint8_t *end)
{
	while (*p < end)
		if (!(*(*p)++ & 0x80))
			return true;
	return false;
}

/* The pointer encoding a CIE gives its FDEs (augmentation 'R'), -1 when
 * it cannot be read. */
static int cie_fde_encoding(const struct image *im, uint64_t cie_va)
{
	const uint8_t *c = tls_va_bytes(im, cie_va, 8), *p, *end;
	const char *aug;
	size_t auglen;
	uint32_t len;
	uint8_t version;

	if (!c)
		return -1;
	len = tls_rd32(c);
	if (len < 8 || len == 0xffffffff || tls_rd32(c + 4) != 0)
		return -1;
	c = tls_va_bytes(im, cie_va, 4 + (size_t)len);
	if (!c)
		return -1;
	p = c + 8;
	end = c + 4 + len;
	version = *p++;
	aug = (const char *)p;
	auglen = strnlen(aug, (size_t)(end - p));
	if (auglen == (size_t)(end - p))
		return -1;
	p += auglen + 1;
	if (aug[0] != 'z')
		return 0;                       /* no augmentation data: absolute */
	if (!skip_leb(&p, end) || !skip_leb(&p, end))   /* code, data alignment */
		return -1;
	if (version == 1 ? p++ >= end : !skip_leb(&p, end)) /* return address register */
		return -1;
	if (!skip_leb(&p, end))                 /* augmentation data length */
		return -1;
	for (const char *a = aug + 1; *a; a++) {
		size_t sz;

		if (p >= end)
			return -1;
		switch (*a) {
		case 'R':
			return *p;
		case 'P':                       /* personality: encoding, pointer */
			sz = enc_size(*p++);
			if (!sz || (size_t)(end - p) < sz)
				return -1;
			p += sz;
			break;
		case 'L':                       /* LSDA encoding */
			p++;
			break;
		case 'S': case 'B': case 'G':
			break;
		default:
			return -1;
		}
	}
	return 0;
}

bool tls_fde_table_open(const struct image *im, struct fde_table *t)
{
	const GElf_Phdr *ph = &im->eh_frame_hdr;
	const uint8_t *p;
	size_t at, ptr_size;

	if (!im->has_eh_frame_hdr || ph->p_offset > im->size ||
	    im->size - ph->p_offset < ph->p_filesz || ph->p_filesz < 12)
		return false;
	p = im->raw + ph->p_offset;
	/* version 1; fde_count udata4; table of (datarel sdata4, datarel sdata4) */
	if (p[0] != 1 || p[2] != 0x03 || p[3] != 0x3b)
		return false;
	ptr_size = enc_size(p[1]);
	if (!ptr_size)
		return false;
	at = 4 + ptr_size;
	if (ph->p_filesz < at + 4)
		return false;
	t->count = tls_rd32(p + at);
	at += 4;
	if (t->count > (ph->p_filesz - at) / 8)
		return false;
	t->table = p + at;
	t->hdr_va = ph->p_vaddr;
	return t->count > 0;
}

/* The function [start, end) whose FDE covers va. */
bool tls_fde_lookup(const struct image *im, const struct fde_table *t, uint64_t va,
		       uint64_t *start, uint64_t *end)
{
	size_t lo = 0, hi = t->count, sz;
	const uint8_t *fde;
	uint64_t fde_va, begin, range;
	uint32_t len;
	int enc;

	while (lo < hi) {                       /* last entry starting at or before va */
		size_t mid = lo + (hi - lo) / 2;

		if (t->hdr_va + (uint64_t)(int64_t)(int32_t)tls_rd32(t->table + mid * 8) <= va)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return false;
	*start = t->hdr_va + (uint64_t)(int64_t)(int32_t)tls_rd32(t->table + (lo - 1) * 8);
	fde_va = t->hdr_va + (uint64_t)(int64_t)(int32_t)tls_rd32(t->table + (lo - 1) * 8 + 4);
	fde = tls_va_bytes(im, fde_va, 8);
	if (!fde)
		return false;
	len = tls_rd32(fde);
	if (len < 8 || len == 0xffffffff || tls_rd32(fde + 4) == 0)
		return false;
	fde = tls_va_bytes(im, fde_va, 4 + (size_t)len);
	if (!fde)
		return false;
	enc = cie_fde_encoding(im, fde_va + 4 - tls_rd32(fde + 4));
	if (enc < 0)
		return false;
	sz = enc_size((uint8_t)enc);
	if (!sz || 8 + 2 * sz > 4 + (size_t)len)
		return false;
	if (!read_enc(fde + 8, (uint8_t)enc, fde_va + 8, &begin) || begin != *start)
		return false;
	if (!read_enc(fde + 8 + sz, (uint8_t)(enc & 0x0f), 0, &range))
		return false;
	*end = begin + range;
	return va >= begin && va - begin < range;
}
