/* SPDX-License-Identifier: MIT */
/*
 * The built-in detectors' knowledge: which paths hold credentials, which
 * addresses are cloud metadata services, which paths make a change
 * persistent, which command lines destroy, and whether a tool call's stated
 * intent accounts for an effect. Pure functions over strings, used by the
 * correlator (model/correlate.c); docs/findings.md gives the rationale of
 * each rule.
 */
#ifndef AT_MODEL_DETECT_H
#define AT_MODEL_DETECT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/*
 * A credential store: the catalogue (SSH private keys, ~/.aws, gcloud,
 * azure, kube config, the Kubernetes service-account token, .env files,
 * .netrc, .npmrc, .pypirc, docker config, git credentials, browser login
 * and cookie stores) or one of the extra shell globs (matched against the
 * whole path, and against its tail for patterns without a '/'). On a match
 * *what names the kind ("ssh key", "aws credentials", ...).
 */
bool detect_credential(const char *path, const char *const *extra, size_t nextra,
		       const char **what);

/* 169.254.169.254, fd00:ec2::254, 100.100.100.200 (cloud metadata). */
bool detect_metadata_addr(const char *addr);
/* metadata.google.internal, metadata, instance-data... */
bool detect_metadata_name(const char *qname);

/* Shell start-up files, git hooks, cron, systemd units, authorized_keys. */
bool detect_persistence(const char *path, const char **what);

/*
 * A recursive delete (rm -r/-R/-rf/--recursive, find -delete on a dir,
 * shred -r...) of "/", the home directory, or of a path outside the
 * workspace. why receives the explanation. home and workspace may be NULL.
 */
bool detect_destructive(const json_t *argv, const char *home, const char *workspace, char *why,
			size_t whylen);

/* Paths where writes are expected anywhere: temp, caches, /dev, /proc. */
bool detect_scratch_path(const char *path, const char *home);

/*
 * Does a stated intent (a tool call's description, or its command when it
 * has none) account for an effect on `subject` (a path or host:port)? True
 * when the intent names it (its last path component, or the host or port).
 */
bool detect_intent_mentions(const char *intent, const char *subject);

#endif
