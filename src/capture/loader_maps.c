/*
 * The calls user space makes on the loaded programs' maps while it
 * records: the tracked processes (the table and the mapped bitmap), the
 * session cgroups and --comm names, a session's open TCP sockets, the
 * payload capture's stream skip and offset, the per-CPU loss and
 * exec-wakeup counters, and the executables and cgroups whose execs need
 * not wake the reader at once.
 *
 * loader.c opens, loads, attaches and closes the kernel objects, once per
 * recording; these run many times in between, on what loader_open() left
 * in struct loader (the map fds, the mapped bitmap, the skeletons' maps),
 * and need nothing else of it.
 */
#include "capture/loader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "net.skel.h"
#include "proc.skel.h"

/* pid's word of the mapped bitmap, or NULL for a pid it cannot hold. */
static uint64_t *tracked_word(const struct loader *l, pid_t pid)
{
	if (pid <= 0 || (size_t)pid / 64 >= l->tracked_bits_len / sizeof(uint64_t))
		return NULL;
	return &l->tracked_bits[(uint32_t)pid / 64];
}

static uint64_t tracked_bit(pid_t pid)
{
	return 1ULL << ((uint32_t)pid % 64);
}

int loader_track(struct loader *l, pid_t pid, uint64_t session)
{
	uint32_t key = (uint32_t)pid;
	struct at_proc v = { .session = session, .start_ns = 0 };
	uint64_t *word = tracked_word(l, pid);

	if (!word) {
		errno = EINVAL;
		return -1;
	}
	__atomic_fetch_or(word, tracked_bit(pid), __ATOMIC_SEQ_CST);
	return bpf_map_update_elem(l->tracked_fd, &key, &v, BPF_NOEXIST) && errno != EEXIST ? -1 : 0;
}

int loader_untrack(struct loader *l, pid_t pid)
{
	uint32_t key = (uint32_t)pid;
	uint64_t *word = tracked_word(l, pid);

	if (bpf_map_delete_elem(l->tracked_fd, &key))
		return -1;
	if (word)
		__atomic_fetch_and(word, ~tracked_bit(pid), __ATOMIC_SEQ_CST);
	return 0;
}

int loader_session_sockets(struct loader *l, uint64_t session, bool remove)
{
	int fd = bpf_map__fd(l->net->maps.sock_owner);
	uint64_t key, next, *prev = NULL;
	struct at_net v;
	int n = 0;

	/* Deleting the current key breaks get_next_key's walk, so deletions
	 * wait until the walk is done. */
	uint64_t doomed[256];
	size_t nd = 0;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &v) || v.h.session != session)
			continue;
		n++;
		if (remove && nd < sizeof(doomed) / sizeof(doomed[0]))
			doomed[nd++] = key;
	}
	for (size_t i = 0; i < nd; i++)
		bpf_map_delete_elem(fd, &doomed[i]);
	return n;
}

int loader_is_tracked(struct loader *l, pid_t pid)
{
	uint32_t key = (uint32_t)pid;
	struct at_proc v;

	if (bpf_map_lookup_elem(l->tracked_fd, &key, &v) == 0)
		return 1;
	return errno == ENOENT ? 0 : -1;
}

uint64_t loader_session_of(struct loader *l, pid_t pid)
{
	uint32_t key = (uint32_t)pid;
	struct at_proc v;

	if (bpf_map_lookup_elem(l->tracked_fd, &key, &v))
		return 0;
	return v.session;
}

int loader_add_session_cgroup(struct loader *l, uint64_t cgroup_id, uint64_t session)
{
	return bpf_map_update_elem(l->cgroups_fd, &cgroup_id, &session, BPF_ANY);
}

int loader_del_session_cgroup(struct loader *l, uint64_t cgroup_id)
{
	return bpf_map_delete_elem(l->cgroups_fd, &cgroup_id);
}

int loader_watch_comm(struct loader *l, const char *name)
{
	char key[AT_COMM_LEN] = { 0 };
	uint8_t one = 1;

	/* The kernel's comm is the first 15 bytes of the name. */
	strncpy(key, name, AT_COMM_LEN - 1);
	return bpf_map_update_elem(l->comms_fd, key, &one, BPF_ANY);
}

int loader_stream_skip(struct loader *l, const struct at_stream_key *k, uint64_t until)
{
	return bpf_map_update_elem(bpf_map__fd(l->net->maps.stream_skip), k, &until, BPF_ANY);
}

uint64_t loader_stream_offset(struct loader *l, const struct at_stream_key *k)
{
	uint64_t off = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(l->net->maps.stream_off), k, &off))
		return 0;
	return off;
}

/*
 * Sum slots 0..n-1 of the per-CPU array fd over the CPUs into out[]. A slot
 * that cannot be read stays 0; the number of such slots, or -1 when out of
 * memory.
 */
static int percpu_sums(struct loader *l, int fd, uint32_t n, uint64_t *out)
{
	uint64_t *vals = calloc((size_t)l->nr_cpus, sizeof(*vals));
	int unread = 0;

	for (uint32_t k = 0; k < n; k++)
		out[k] = 0;
	if (!vals)
		return -1;
	for (uint32_t k = 0; k < n; k++) {
		if (bpf_map_lookup_elem(fd, &k, vals)) {
			unread++;
			continue;
		}
		for (int c = 0; c < l->nr_cpus; c++)
			out[k] += vals[c];
	}
	free(vals);
	return unread;
}

int loader_read_drops(struct loader *l, uint64_t out[AT_LOSS__MAX])
{
	return percpu_sums(l, l->drops_fd, AT_LOSS__MAX, out) < 0 ? -1 : 0;
}

uint32_t loader_kernel_dev(uint64_t st_dev)
{
	return (uint32_t)(major((dev_t)st_dev) << 20 | minor((dev_t)st_dev));
}

int loader_exe_known(struct loader *l, uint32_t kdev, uint64_t ino, uint64_t size,
		     int64_t ctime_sec, uint32_t ctime_nsec)
{
	struct at_exe_key k = { .ino = ino, .dev = kdev };
	struct at_exe_ver v = {
		.size = size, .ctime_sec = ctime_sec, .ctime_nsec = ctime_nsec,
	};

	return bpf_map_update_elem(bpf_map__fd(l->proc->maps.exe_known), &k, &v, BPF_ANY);
}

int loader_cgroup_known(struct loader *l, uint64_t cgroup_id)
{
	uint8_t one = 1;

	return bpf_map_update_elem(bpf_map__fd(l->proc->maps.cgroup_known), &cgroup_id, &one,
				   BPF_ANY);
}

int loader_exec_wakes(struct loader *l, uint64_t *at_once, uint64_t *later)
{
	uint64_t sums[2];
	int rc = percpu_sums(l, bpf_map__fd(l->proc->maps.exec_wakes), 2, sums);

	*at_once = sums[0];
	*later = sums[1];
	return rc == 0 ? 0 : -1;
}
