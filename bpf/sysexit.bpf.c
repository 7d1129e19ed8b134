/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The syscall-exit dispatcher: one BTF-typed raw tracepoint on sys_exit for
 * every hooked syscall. Processes outside every session cost a raw tracepoint
 * call, an array test and (for hooked syscalls) a bit test; session
 * processes are tail-called into the handler of their syscall (file.bpf.c,
 * net.bpf.c). Reads and writes that only a socket would make worth a
 * record stop here when no labels move.
 */
#include "common.bpf.h"

#define AT_TS_COMPAT 0x0002   /* thread_info.status: a 32-bit syscall */

/* hooked[nr]: AT_SX_HOOKED, a handler is registered for syscall nr, and
 * AT_SX_PAYLOAD, that handler records only a positive result on a socket,
 * labels aside (net.bpf.c, PAYLOAD_PROLOGUE). Set by the loader before
 * load, so unhooked syscalls return after one array test. */
const volatile __u8 hooked[AT_SYSCALL_SLOTS] = {};

/* Set by the loader: labels move (labels.bpf.h), and the payload handlers
 * see every read and write for them. */
const volatile bool labels_move = false;

/*
 * A session process's read or write of a file or a pipe (a build's
 * compilers make half a million) needs nothing from the handler when no
 * labels move: it stops here, before the session lookup and the tail call.
 */
static __always_inline bool payload_worthless(__u8 how, struct pt_regs *regs, long ret)
{
	if (!(how & AT_SX_PAYLOAD))
		return false;
	if (ret <= 0)
		return true;
	return !labels_move && !fd_is_socket(fd_file((int)regs->di));
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret)
{
	struct task_struct *task;
	long nr = regs->orig_ax;
	__u32 tgid;
	__u64 *bits;
	__u8 how;

	if (nr < 0 || nr >= AT_SYSCALL_SLOTS)
		return 0;
	how = hooked[nr & (AT_SYSCALL_SLOTS - 1)];
	if (!how)
		return 0;
	/* session_of()'s bit first: outside every session, nothing more */
	tgid = bpf_get_current_pid_tgid() >> 32;
	bits = tracked_word(tgid);
	if (bits && !(*bits & TRACKED_BIT(tgid)))
		return 0;
	if (payload_worthless(how, regs, ret) || !session_of(tgid))
		return 0;
	/* 32-bit syscalls have other numbers and argument registers: they
	 * are not decoded (yet), rather than misread. */
	task = bpf_get_current_task_btf();
	if (task->thread_info.status & AT_TS_COMPAT)
		return 0;
	bpf_tail_call(ctx, &sys_exit_handlers, (__u32)nr);
	return 0;
}
