/*
 * Binding path globs to inodes: the files a label names, the executables a
 * label or a declassify/endorse entry names. The kernel knows files by
 * (device, inode), so every path to a file (hard links, symlinks, bind
 * mounts, renames) carries the same labels.
 *
 * Globs are expanded when the policy loads: existing files get their
 * labels; a directory a glob matches (such as the DIR of a "DIR" + "/" +
 * "**" pattern) is marked SUBTREE, and the kernel gives its labels to
 * every file and directory created in it later.
 */
#ifndef AT_GUARD_FILES_H
#define AT_GUARD_FILES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct guard;

#define FILES_WALK_MAX 200000 /* directory entries examined per policy load */

void files_bind(struct guard *g);

/* The leading components of a glob that hold no wildcard (the whole
 * pattern when it has none; "/" at least). */
void files_fixed_prefix(const char *pattern, char *out, size_t len);

/* The kernel's encoding of a device number (MKDEV) from a stat st_dev. */
uint32_t files_kdev(dev_t d);

#endif
