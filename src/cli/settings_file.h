/* SPDX-License-Identifier: MIT */
/*
 * Reading, parsing and atomically replacing a JSON settings file that
 * belongs to someone else (an agent's settings): settings_file.c.
 */
#ifndef AT_CLI_SETTINGS_FILE_H
#define AT_CLI_SETTINGS_FILE_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

struct settings_file {
	const char *path;       /* as the caller named it, for messages */
	char target[PATH_MAX];  /* the file to replace: a symlink resolved */
	bool exists;
	bool dangling;          /* path is a symlink to nothing */
	struct stat st;         /* of target, when it exists */
	char *buf;              /* its contents */
	size_t len;
};

/* Find the file f->path names (through a symlink) and read it if it
 * exists. 0, or -1 with a one-line message in err. */
int settings_read(struct settings_file *f, char *err, size_t errlen);
/* The contents as JSON, any value (a missing or blank file is {}); NULL
 * with a message (file:line:column for bad JSON or a duplicate key). */
json_t *settings_parse(const struct settings_file *f, char *err, size_t errlen);
/* The document as the agents' own tools write it; *len its length. NULL
 * when out of memory. */
char *settings_dump(const json_t *root, size_t *len);
/* Replace the file with text (mode and owner kept), unless it changed
 * since settings_read(); *renamed: it was replaced, also when a later step
 * failed. 0, or -1 with a message. */
int settings_write(const struct settings_file *f, const char *text, size_t len, bool *renamed,
		   char *err, size_t errlen);

#endif
