/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The syscall-exit dispatcher: one BTF-typed raw tracepoint on sys_exit for
 * every hooked syscall. Processes outside every session cost a raw tracepoint
 * call, an array test and (for hooked syscalls) one hash lookup; session
 * processes are tail-called into the handler of their syscall (file.bpf.c,
 * net.bpf.c).
 */
#include "common.bpf.h"

#define AT_TS_COMPAT 0x0002   /* thread_info.status: a 32-bit syscall */

/* hooked[nr] != 0: a handler is registered for syscall nr. Set by the
 * loader before load, so unhooked syscalls return after one array test. */
const volatile __u8 hooked[AT_SYSCALL_SLOTS] = {};

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret)
{
	struct task_struct *task;
	long nr = regs->orig_ax;

	if (nr < 0 || nr >= AT_SYSCALL_SLOTS || !hooked[nr & (AT_SYSCALL_SLOTS - 1)])
		return 0;
	if (!session_of(bpf_get_current_pid_tgid() >> 32))
		return 0;
	/* 32-bit syscalls have other numbers and argument registers: they
	 * are not decoded (yet), rather than misread. */
	task = bpf_get_current_task_btf();
	if (task->thread_info.status & AT_TS_COMPAT)
		return 0;
	bpf_tail_call(ctx, &sys_exit_handlers, (__u32)nr);
	return 0;
}
