/* SPDX-License-Identifier: MIT */
/*
 * A JSON settings file of another program, read and replaced with care:
 * through a symlink to the file it names, refused when it is too large or
 * not JSON (duplicate keys included), written back atomically (a temporary file renamed over
 * it, then the directory synced) with its mode and owner, and not at all if
 * it changed since it was read. New directories and files take the owner of
 * the directory they are made in, so a root-run install leaves a user's
 * files usable by that user.
 */
#include "cli/settings_file.h"
#include "model/json_pool.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SETTINGS_MAX (16u << 20) /* a settings file larger than this is not one */
#define NEW_FILE_MODE 0644
#define NEW_DIR_MODE 0755

/* ---- reading ------------------------------------------------------------------- */

static int read_all(int fd, struct settings_file *f, char *err, size_t errlen)
{
	size_t cap = (size_t)f->st.st_size + 1;

	if (cap > SETTINGS_MAX) {
		snprintf(err, errlen, "%s: larger than %u bytes, not a settings file", f->path,
			 SETTINGS_MAX);
		return -1;
	}
	f->buf = malloc(cap);
	if (!f->buf)
		goto nomem;
	for (;;) {
		ssize_t n;

		if (f->len == cap) {
			/* the file grew since fstat: read on, still bounded */
			char *nb;

			if (cap >= SETTINGS_MAX) {
				snprintf(err, errlen, "%s: larger than %u bytes, not a settings file",
					 f->path, SETTINGS_MAX);
				return -1;
			}
			cap = cap * 2 < SETTINGS_MAX ? cap * 2 : SETTINGS_MAX;
			nb = realloc(f->buf, cap);
			if (!nb)
				goto nomem;
			f->buf = nb;
		}
		n = read(fd, f->buf + f->len, cap - f->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s: reading: %s", f->path, strerror(errno));
			return -1;
		}
		if (n == 0)
			return 0;
		f->len += (size_t)n;
	}
nomem:
	snprintf(err, errlen, "%s: out of memory", f->path);
	return -1;
}

/* Find the file to edit (through a symlink) and read it, if it exists. */
int settings_read(struct settings_file *f, char *err, size_t errlen)
{
	struct stat lst;
	int fd, ret;

	if (lstat(f->path, &lst)) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "%s: %s", f->path, strerror(errno));
			return -1;
		}
		if ((size_t)snprintf(f->target, sizeof(f->target), "%s", f->path) >=
		    sizeof(f->target)) {
			snprintf(err, errlen, "%s: path too long", f->path);
			return -1;
		}
		return 0;
	}
	if (S_ISLNK(lst.st_mode)) {
		/* write through the link to its target: the user keeps the link */
		if (!realpath(f->path, f->target)) {
			if (errno == ENOENT) {
				f->dangling = true;
				return 0;
			}
			snprintf(err, errlen, "%s: resolving the symlink: %s", f->path,
				 strerror(errno));
			return -1;
		}
	} else if ((size_t)snprintf(f->target, sizeof(f->target), "%s", f->path) >=
		   sizeof(f->target)) {
		snprintf(err, errlen, "%s: path too long", f->path);
		return -1;
	}
	fd = open(f->target, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", f->path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &f->st)) {
		snprintf(err, errlen, "%s: %s", f->path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(f->st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", f->path);
		close(fd);
		return -1;
	}
	f->exists = true;
	ret = read_all(fd, f, err, errlen);
	if (close(fd) && !ret) {
		snprintf(err, errlen, "%s: %s", f->path, strerror(errno));
		ret = -1;
	}
	return ret;
}

static bool only_whitespace(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!strchr(" \t\r\n", s[i]) || !s[i])
			return false;
	return true;
}

/* The file as JSON: a missing or blank file is {}. */
json_t *settings_parse(const struct settings_file *f, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root;

	if (!f->exists || only_whitespace(f->buf, f->len)) {
		root = json_object();
		if (!root)
			snprintf(err, errlen, "%s: out of memory", f->path);
		return root;
	}
	/*
	 * Duplicate keys are refused: rewriting would silently drop all but
	 * one of them. Any value is accepted at the top so that a scalar gets
	 * the clearer "not an object" message from the caller's check of the
	 * document's shape.
	 */
	root = json_loadb(f->buf, f->len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		snprintf(err, errlen, "%s:%d:%d: not valid JSON: %s", f->path, jerr.line,
			 jerr.column, jerr.text);
	return root;
}

/* ---- writing ------------------------------------------------------------------- */

/* The directory that holds target: "." for a bare name, "/" for a file in "/". */
static void dir_of(const char *target, char dir[PATH_MAX])
{
	char *slash;

	snprintf(dir, PATH_MAX, "%s", target); /* fits: target does */
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, PATH_MAX, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
}

/*
 * Create the directories leading to target's directory (mode 0755). When
 * run as root (e.g. under sudo for a user's home), a new directory gets the
 * owner of the directory it is made in, so that the agent, running as that
 * user, can still write its own files there. *uid, *gid: the owner of
 * target's directory, for a new file to inherit the same way.
 */
static int make_dirs(const struct settings_file *f, uid_t *uid, gid_t *gid, char *err,
		     size_t errlen)
{
	char dir[PATH_MAX], *p;
	struct stat st;

	dir_of(f->target, dir);
	if (stat(dir[0] == '/' ? "/" : ".", &st))
		goto fail;
	/* each component in turn: "a", "a/b", ... then the whole */
	for (p = dir + 1;; p++) {
		bool last = *p == '\0';

		if (*p != '/' && !last)
			continue;
		*p = '\0';
		if (mkdir(dir, NEW_DIR_MODE) == 0) {
			/* exactly 0755, whatever the umask */
			if (chmod(dir, NEW_DIR_MODE))
				goto fail;
			if (geteuid() == 0 && chown(dir, st.st_uid, st.st_gid))
				goto fail;
		} else if (errno != EEXIST || stat(dir, &st)) {
			goto fail;
		} else if (!S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			goto fail;
		}
		if (last)
			break;
		*p = '/';
	}
	*uid = st.st_uid;
	*gid = st.st_gid;
	return 0;
fail:
	snprintf(err, errlen, "%s: creating %s: %s", f->path, dir, strerror(errno));
	return -1;
}

static int write_all(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Whether target is still what we read (or still absent). The agent may
 * rewrite its settings while we edit them; this narrows the window in which
 * our rename would undo its change to the moment between this check and the
 * rename.
 */
static bool unchanged_since_read(const struct settings_file *f)
{
	struct stat now;

	if (stat(f->target, &now))
		return errno == ENOENT && !f->exists;
	return f->exists && now.st_dev == f->st.st_dev && now.st_ino == f->st.st_ino &&
	       now.st_size == f->st.st_size && now.st_mtim.tv_sec == f->st.st_mtim.tv_sec &&
	       now.st_mtim.tv_nsec == f->st.st_mtim.tv_nsec;
}

/* fsync the directory holding target, so that the rename itself lasts. */
static int sync_dir(const char *target)
{
	char dir[PATH_MAX];
	int fd, ret;

	dir_of(target, dir);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ret = fsync(fd);
	if (close(fd))
		ret = -1;
	return ret;
}

/*
 * Replace target by text: a temporary file beside it, with the old file's
 * mode and owner (a new one: 0644, owned like its directory when we are
 * root), synced, then renamed over it. The old file stays as it was on any
 * error before the rename.
 */
int settings_write(const struct settings_file *f, const char *text, size_t len, bool *renamed,
		   char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	mode_t mode = f->exists ? f->st.st_mode & 07777 : NEW_FILE_MODE;
	bool set_owner = f->exists;
	uid_t uid = f->st.st_uid;
	gid_t gid = f->st.st_gid;
	struct stat st;
	const char *what;
	int fd;

	*renamed = false;
	if (!f->exists) {
		if (make_dirs(f, &uid, &gid, err, errlen))
			return -1;
		/* not root: a new file is simply ours */
		set_owner = geteuid() == 0;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.agenttrail-tmp-%ld", f->target,
			     (long)getpid()) >= sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", f->path);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: creating %s: %s", f->path, tmp, strerror(errno));
		return -1;
	}
	what = "writing";
	if (write_all(fd, text, len))
		goto fail;
	what = "keeping the owner";
	if (set_owner && (fstat(fd, &st) ||
			  ((st.st_uid != uid || st.st_gid != gid) && fchown(fd, uid, gid))))
		goto fail;
	what = "setting the mode";
	if (fchmod(fd, mode))
		goto fail;
	what = "syncing";
	if (fsync(fd))
		goto fail;
	what = "closing";
	if (close(fd)) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (!unchanged_since_read(f)) {
		snprintf(err, errlen, "%s: changed while agenttrail was editing it; try again",
			 f->path);
		unlink(tmp);
		return -1;
	}
	what = "replacing";
	if (rename(tmp, f->target))
		goto fail;
	*renamed = true;
	if (sync_dir(f->target)) {
		snprintf(err, errlen, "%s: written, but syncing its directory: %s", f->path,
			 strerror(errno));
		return -1;
	}
	return 0;
fail:
	snprintf(err, errlen, "%s: %s %s: %s", f->path, what, tmp, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

/* The document as the agents' own tools write it: 2-space indent, final newline. */
char *settings_dump(const json_t *root, size_t *len)
{
	char *s = json_pool_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER), *out;
	size_t n;

	if (!s)
		return NULL;
	n = strlen(s);
	out = malloc(n + 2);
	if (out) {
		memcpy(out, s, n);
		out[n] = '\n';
		out[n + 1] = '\0';
		*len = n + 1;
	}
	free(s);
	return out;
}
