/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Processes: execs that failed. A successful execve/execveat is recorded
 * by sched_process_exec (ctraudit.bpf.c), which leaves the task's pending
 * call CT_ENTERED, so only a failed one reaches its decoder here. Failed
 * execs share the execs set with successful ones, keyed apart by errno.
 */
#ifndef CTRAUDIT_PROCESSES_H
#define CTRAUDIT_PROCESSES_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "events.h"
#include "maps.h"
#include "slots.h"
#include "decoded.h"
#include "privileged.h"
#include "syscalls_x86_64.h"

/* arguments of a failed exec read at most; each must start in the first
 * half of ct_exec_key.argv, so that the verifier sees every copy of up to
 * half its size stay inside it */
#define CT_FAILED_EXEC_ARGS 32
#define CT_ARGV_HALF (CT_ARGV_MAX / 2)

/* The caller's argv, as far as it is readable: the kernel may have failed
 * the call before it read argv (a path that does not exist is found first),
 * so an unreadable argv loses nothing the call used. */
static __always_inline void failed_exec_argv(struct ct_exec_key *k,
					     const char *const *uargv)
{
	__u32 off = 0;

	if (!uargv)
		return;
	k->argv_truncated = 1;
	for (int i = 0; i < CT_FAILED_EXEC_ARGS; i++) {
		const char *arg = NULL;
		if (bpf_probe_read_user(&arg, sizeof(arg), &uargv[i]))
			break;
		if (!arg) {
			k->argv_truncated = 0;
			break;
		}
		if (off >= CT_ARGV_HALF)
			break;
		long n = bpf_probe_read_user_str(&k->argv[off & (CT_ARGV_HALF - 1)],
						 CT_ARGV_HALF, arg);
		if (n <= 0)
			break;
		off += n;
		if (n == CT_ARGV_HALF) /* cut short, or exactly that long */
			break;
	}
	k->argv_len = off;
}

/* Count the exec in ts->scratch.exec (key filled) for task p, the one
 * running: an entry starts with its time, uid, pid and parent. */
static __always_inline void exec_commit(struct ct_task *ts, struct task_struct *p,
					__u64 now)
{
	struct ct_exec_val init = {
		.first_ns = now,
		.uid = bpf_get_current_uid_gid(),
		.pid = BPF_CORE_READ(p, tgid),
		.ppid = BPF_CORE_READ(p, real_parent, tgid),
	};
	__u32 slot = ts->slot;

	void *execs = inner_of(&execs_of, slot);
	if (!execs)
		return;
	struct ct_exec_val *v = upsert(slot, execs, &ts->scratch.exec, &init, SET_EXECS);
	if (!v)
		return;
	__sync_fetch_and_add(&v->count, 1);
	v->last_ns = now;
}

static __noinline void exec_failed(struct ct_task *ts, const char *upath,
				   const char *const *uargv, long ret)
{
	struct ct_exec_key *k = &ts->scratch.exec;
	__u32 slot = ts->slot;
	__u64 now = bpf_ktime_get_boot_ns();

	__builtin_memset(k, 0, sizeof(*k));
	if (bpf_probe_read_user_str(k->path, sizeof(k->path), upath) <= 0) {
		unreadable(slot, ret);
		return;
	}
	k->err = -ret;
	failed_exec_argv(k, uargv);
	exec_commit(ts, bpf_get_current_task_btf(), now);
}

/* ---- decoders ------------------------------------------------------------ */

/* execve, execveat: reached only when the call failed */
DECODER(decode_exec)
{
	if (ret >= 0)
		return;
	if (nr == NR_execve) {
		exec_failed(ts, (const char *)a0, (const char *const *)a1, ret);
		return;
	}
	exec_failed(ts, (const char *)a1, (const char *const *)a2, ret);
	priv_execveat_failed(ts, a1, a4, ret);
}

#endif /* CTRAUDIT_PROCESSES_H */
