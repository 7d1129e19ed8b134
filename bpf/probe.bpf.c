/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Feature probes for `agenttrail doctor`: one trivial program per program
 * type or hook that agenttrail may use. Each is loaded (and attached) on its
 * own, so the answer is what this kernel really accepts, not what its
 * config claims.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("tracepoint/syscalls/sys_enter_openat")
int probe_tracepoint(void *ctx)
{
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(probe_tp_btf, struct task_struct *p)
{
	return 0;
}

SEC("fentry/do_unlinkat")
int BPF_PROG(probe_fentry, int dfd)
{
	return 0;
}

SEC("lsm/file_open")
int BPF_PROG(probe_lsm, struct file *file)
{
	return 0;
}

SEC("kprobe/do_unlinkat")
int probe_kprobe(void *ctx)
{
	return 0;
}

SEC("cgroup/connect4")
int probe_connect4(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("uprobe")
int probe_uprobe(void *ctx)
{
	return 0;
}

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} probe_rb SEC(".maps");

char LICENSE[] SEC("license") = "Dual MIT/GPL";
