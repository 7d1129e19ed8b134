/* SPDX-License-Identifier: MIT */
/* The detectors' catalogues and rules; see detect.h and docs/findings.md. */
#include "model/detect.h"

#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct pattern {
	const char *glob; /* matched against the whole path */
	const char *what;
};

/* Credential stores, wherever the home directory is. */
static const struct pattern credentials[] = {
	{ "*/.ssh/id_*", "ssh private key" },
	{ "*/.ssh/*_rsa", "ssh private key" },
	{ "*/.ssh/*_ed25519", "ssh private key" },
	{ "*/.ssh/*_ecdsa", "ssh private key" },
	{ "*/.aws/credentials", "aws credentials" },
	{ "*/.aws/config", "aws config" },
	{ "*/.config/gcloud/*", "gcloud credentials" },
	{ "*/.azure/*", "azure credentials" },
	{ "*/.kube/config", "kubernetes config" },
	{ "/var/run/secrets/kubernetes.io/serviceaccount/*", "kubernetes service account token" },
	{ "/run/secrets/kubernetes.io/serviceaccount/*", "kubernetes service account token" },
	{ "*/.env", "dotenv file" },
	{ "*/.env.*", "dotenv file" },
	{ "*/.netrc", "netrc" },
	{ "*/.npmrc", "npm token" },
	{ "*/.pypirc", "pypi token" },
	{ "*/.docker/config.json", "docker registry credentials" },
	{ "*/.git-credentials", "git credentials" },
	{ "*/.config/git/credentials", "git credentials" },
	{ "*/.config/gh/hosts.yml", "github cli token" },
	{ "*/.mozilla/firefox/*/logins.json", "browser passwords" },
	{ "*/.mozilla/firefox/*/cookies.sqlite", "browser cookies" },
	{ "*/.config/google-chrome/*/Login Data", "browser passwords" },
	{ "*/.config/google-chrome/*/Cookies", "browser cookies" },
	{ "*/.config/chromium/*/Login Data", "browser passwords" },
	{ "*/.config/chromium/*/Cookies", "browser cookies" },
};

static const struct pattern persistence[] = {
	{ "*/.bashrc", "shell start-up file" },
	{ "*/.bash_profile", "shell start-up file" },
	{ "*/.bash_login", "shell start-up file" },
	{ "*/.profile", "shell start-up file" },
	{ "*/.zshrc", "shell start-up file" },
	{ "*/.zprofile", "shell start-up file" },
	{ "*/.config/fish/config.fish", "shell start-up file" },
	{ "*/.git/hooks/*", "git hook" },
	{ "/etc/cron*", "cron table" },
	{ "/var/spool/cron/*", "cron table" },
	{ "*/.config/systemd/user/*", "systemd user unit" },
	{ "/etc/systemd/system/*", "systemd unit" },
	{ "*/.config/autostart/*", "desktop autostart entry" },
	{ "*/.ssh/authorized_keys", "ssh authorized keys" },
	{ "/etc/profile.d/*", "shell start-up file" },
	{ "/etc/ld.so.preload", "preload library list" },
};

/*
 * A necessary condition, checked before fnmatch (which every open would
 * otherwise pay for every pattern, about a microsecond): a glob starting
 * with a literal needs the path to start with it, and one starting with
 * "*" followed by "/." needs a "/." somewhere in the path.
 */
static bool may_match(const char *glob, const char *path, bool has_dot_part)
{
	if (glob[0] == '*')
		return !(glob[1] == '/' && glob[2] == '.') || has_dot_part;
	for (; *glob && !strchr("*?[\\", *glob); glob++, path++)
		if (*glob != *path)
			return false;
	return true;
}

static bool match_any(const struct pattern *p, size_t n, const char *path, const char **what)
{
	bool has_dot_part = strstr(path, "/.") != NULL;

	for (size_t i = 0; i < n; i++)
		if (may_match(p[i].glob, path, has_dot_part) && fnmatch(p[i].glob, path, 0) == 0) {
			if (what)
				*what = p[i].what;
			return true;
		}
	return false;
}

bool detect_credential(const char *path, const char *const *extra, size_t nextra,
		       const char **what)
{
	size_t n = path ? strlen(path) : 0;

	if (!path || path[0] != '/')
		return false;
	/* a public key is not a secret */
	if (n > 4 && !strcmp(path + n - 4, ".pub"))
		return false;
	if (match_any(credentials, sizeof(credentials) / sizeof(credentials[0]), path, what))
		return true;
	for (size_t i = 0; i < nextra; i++) {
		const char *base = strrchr(path, '/');

		if (fnmatch(extra[i], path, 0) == 0 ||
		    (!strchr(extra[i], '/') && base && fnmatch(extra[i], base + 1, 0) == 0)) {
			if (what)
				*what = "configured credential";
			return true;
		}
	}
	return false;
}

bool detect_metadata_addr(const char *addr)
{
	return addr && (!strcmp(addr, "169.254.169.254") || !strcmp(addr, "fd00:ec2::254") ||
			!strcmp(addr, "100.100.100.200") || !strcmp(addr, "169.254.170.2"));
}

bool detect_metadata_name(const char *qname)
{
	static const char *const names[] = {
		"metadata.google.internal", "metadata.google.internal.", "metadata",
		"instance-data", "instance-data.ec2.internal", "metadata.azure.com",
	};

	if (!qname)
		return false;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcasecmp(qname, names[i]))
			return true;
	return false;
}

bool detect_persistence(const char *path, const char **what)
{
	return path && path[0] == '/' &&
	       match_any(persistence, sizeof(persistence) / sizeof(persistence[0]), path, what);
}

/* Is dir equal to p or one of p's ancestors ("/a" contains "/a/b")? */
static bool within(const char *p, const char *dir)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	return !strncmp(p, dir, n) && (p[n] == '\0' || p[n] == '/' || (n == 1 && dir[0] == '/'));
}

static bool is_recursive_flag(const char *a)
{
	if (!strcmp(a, "--recursive"))
		return true;
	if (a[0] != '-' || a[1] == '-')
		return false;
	return strchr(a, 'r') || strchr(a, 'R');
}

bool detect_destructive(const json_t *argv, const char *home, const char *workspace, char *why,
			size_t whylen)
{
	const char *prog = json_string_value(json_array_get(argv, 0)), *base;
	bool recursive = false;
	size_t i;
	json_t *a;

	if (!prog)
		return false;
	base = strrchr(prog, '/');
	base = base ? base + 1 : prog;
	if (strcmp(base, "rm") != 0)
		return false;
	json_array_foreach(argv, i, a) {
		const char *s = json_string_value(a);

		if (i > 0 && s && is_recursive_flag(s))
			recursive = true;
	}
	if (!recursive)
		return false;
	json_array_foreach(argv, i, a) {
		const char *t = json_string_value(a);

		if (i == 0 || !t || t[0] == '-')
			continue;
		if (!strcmp(t, "/") || !strcmp(t, "/*")) {
			snprintf(why, whylen, "recursive delete of the root directory (%s)", t);
			return true;
		}
		if (home && (!strcmp(t, "~") || !strcmp(t, home) ||
			     (within(home, t) && t[0] == '/'))) {
			snprintf(why, whylen, "recursive delete of the home directory (%s)", t);
			return true;
		}
		if (workspace && t[0] == '/' && !within(t, workspace) && strncmp(t, "/tmp/", 5) &&
		    strncmp(t, "/var/tmp/", 9)) {
			snprintf(why, whylen, "recursive delete outside the workspace %s (%s)",
				 workspace, t);
			return true;
		}
	}
	return false;
}

bool detect_scratch_path(const char *path, const char *home)
{
	static const char *const dirs[] = { "/tmp", "/var/tmp", "/dev", "/proc", "/sys", "/run" };
	char buf[4096];

	if (!path || path[0] != '/' || !strncmp(path, "pseudo:", 7))
		return true;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (within(path, dirs[i]))
			return true;
	if (home) {
		/* per-user caches and the agents' own state */
		static const char *const under_home[] = { ".cache", ".claude", ".claude.json",
							  ".npm", ".local/share", ".config/claude" };

		for (size_t i = 0; i < sizeof(under_home) / sizeof(under_home[0]); i++) {
			if (snprintf(buf, sizeof(buf), "%s/%s", home, under_home[i]) >=
			    (int)sizeof(buf))
				continue;
			if (within(path, buf) || !strncmp(path, buf, strlen(buf)))
				return true;
		}
	}
	return false;
}

bool detect_intent_mentions(const char *intent, const char *subject)
{
	const char *tail;
	char host[256];
	const char *colon;

	if (!intent || !subject || !subject[0])
		return false;
	if (strstr(intent, subject))
		return true;
	tail = strrchr(subject, '/');
	if (tail && tail[1] && strstr(intent, tail + 1))
		return true;
	colon = strrchr(subject, ':');
	if (colon && subject[0] != '/') {
		size_t n = (size_t)(colon - subject);

		if (n < sizeof(host)) {
			memcpy(host, subject, n);
			host[n] = '\0';
			if (strstr(intent, host))
				return true;
		}
	}
	return false;
}
