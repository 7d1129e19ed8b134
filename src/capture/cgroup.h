/* cgroup v2: find the hierarchy, make session cgroups, name cgroup ids. */
#ifndef AT_CAPTURE_CGROUP_H
#define AT_CAPTURE_CGROUP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The cgroup v2 mount point, read from /proc/self/mountinfo (never
 * assumed). Returns 0 and fills buf, -1 if there is no cgroup2 mount. */
int cgroup2_mount(char *buf, size_t len);

/* The cgroup id of a directory in the v2 hierarchy (its inode number). */
int cgroup_id_of(const char *dir, uint64_t *id);

/* Create <mount>/agenttrail/session-<session>. Fills path. */
int cgroup_session_create(uint64_t session, char *path, size_t len);
/* Move pid into the cgroup at path. */
int cgroup_move(const char *path, pid_t pid);
/* Remove a session cgroup once empty; moves stragglers to the parent first
 * only if asked. Returns 0 if removed. */
int cgroup_session_remove(const char *path);

/* Path (relative to the v2 root, e.g. "/system.slice/x.scope") of a cgroup
 * id, via a small cache and a walk of the hierarchy. Returns 0 and fills
 * buf, -1 when not found (e.g. the cgroup is gone already). */
struct cgroup_names;
struct cgroup_names *cgroup_names_new(void);
void cgroup_names_free(struct cgroup_names *c);
int cgroup_name(struct cgroup_names *c, uint64_t id, char *buf, size_t len);

/* The container id in a cgroup path (docker, containerd, cri-o, podman,
 * kubepods), or 0 when none. Fills a 64-hex string. */
int container_id_from_cgroup(const char *path, char *buf, size_t len);

#endif
