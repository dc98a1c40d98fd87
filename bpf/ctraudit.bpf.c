// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ctraudit kernel side: tracepoints and cgroup programs only (fentry,
 * fexit, lsm and kprobes are not available everywhere it runs; see
 * docs/design.md). Global programs, loaded and pinned once; each audited container
 * owns a set of inner maps, reached through the *_of map-in-map tables by a
 * slot number.
 *
 * Attribution: a task is audited when it carries task local storage. It gets
 * that storage when it execs inside a registered cgroup (or a cgroup nested
 * below one), and its children inherit it at fork; it keeps it wherever it
 * moves while its container lives (ct_exec). runc's own setup work in
 * the container's cgroup happens before the workload's first exec, so it is
 * never recorded; `runc exec` sessions enter the cgroup and exec, so they are.
 * Every other task is turned away at the gate (gate(), below), most often
 * by one per-CPU load and one compare.
 *
 * One object, one translation unit; the headers in bpf/include/ hold it by
 * concern: maps.h (the maps), slots.h (a container's slot, counters and
 * sets), files.h, network.h and privileged.h (what is recorded, and the
 * decoder of each syscall), decoded.h (the one list of decoded syscalls),
 * syscalls_x86_64.h (generated numbers). Here: the gate, the syscall
 * programs, and the process programs.
 */
/* The syscall programs read x86_64's pt_regs (di, si, dx, r10, r8,
 * orig_ax), its thread_info TS_COMPAT flag and its syscall numbers. */
#if !defined(__TARGET_ARCH_x86)
#error "x86_64 only: the syscall decoding reads x86_64 registers"
#endif

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "events.h"
#include "syscalls_x86_64.h"
#include "maps.h"
#include "slots.h"
#include "files.h"
#include "network.h"
#include "privileged.h"
#include "processes.h"
#include "io_uring.h"
#include "decoded.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define SECCOMP_MODE_FILTER 2
/* -ERESTARTSYS .. -ERESTART_RESTARTBLOCK: the call is restarted and seen again */
#define ERESTART_FIRST 512
#define ERESTART_LAST 516
#define TS_COMPAT 0x0002

/* 32-bit syscalls (int 0x80) use the i386 numbering: never read them
 * through the x86_64 table. */
static __always_inline bool compat_syscall(struct task_struct *t)
{
	/* a direct load through the trusted BTF pointer (no helper call):
	 * this runs on every syscall of an audited task */
	return t->thread_info.status & TS_COMPAT;
}

static __always_inline void count_syscall(__u32 slot, long nr, bool compat, bool denied)
{
	if (compat) {
		STAT_ADD(slot, syscalls_compat);
		return;
	}
	if ((__u64)nr >= CT_SYSCALL_MAX) {
		STAT_ADD(slot, syscalls_unknown);
		return;
	}
	void *inner = inner_of(&syscalls_of, slot);
	if (!inner)
		return;
	__u32 key = denied ? nr + CT_SYSCALL_MAX : nr;
	__u64 *cnt = bpf_map_lookup_elem(inner, &key);
	if (cnt)
		__sync_fetch_and_add(cnt, 1);
}

/* ---- syscalls ------------------------------------------------------------ */

/* Is `nr` a call decode() records? Built from decoded.h's list, as decode()
 * is: sys_enter remembers only these for sys_exit. */
#define CT_IS_DECODED(sys, ...) case NR_##sys:
static __always_inline bool is_decoded(long nr)
{
	switch (nr) {
		CT_DECODED(CT_IS_DECODED, CT_IS_DECODED)
		return true;
	default:
		return false;
	}
}
#undef CT_IS_DECODED

/* ---- the dispatcher ------------------------------------------------------ */

/* Record syscall `nr` that returned `ret`: one case per entry of decoded.h's
 * list, each the inlined body of its decoder. */
#define CT_DECODE(sys, decoder)                                                          \
	case NR_##sys:                                                                   \
		decoder(ts, nr, a0, a1, a2, a3, regs.r8, regs.r9, ret);                  \
		break;
#define CT_DECODE_ALSO(sys) case NR_##sys:
static __noinline void decode(struct ct_task *ts, struct pt_regs *uregs, __u32 nr,
			      long ret)
{
	struct pt_regs regs = {};

	if (bpf_probe_read_kernel(&regs, sizeof(regs), uregs)) {
		STAT_ADD(ts->slot, read_errors);
		return;
	}
	/* x86_64 syscall arguments: di, si, dx, r10, r8, r9 */
	__u64 a0 = regs.di, a1 = regs.si, a2 = regs.dx, a3 = regs.r10;

	switch (nr) {
		CT_DECODED(CT_DECODE, CT_DECODE_ALSO)
	}
}
#undef CT_DECODE
#undef CT_DECODE_ALSO

/* Our storage of task `t`, or NULL, for a task the caller already has:
 * a task with no BPF local storage at all (ours or another program's)
 * leaves at one load from its task_struct, before any map lookup. */
static __always_inline struct ct_task *storage_of(struct task_struct *t)
{
	if (!t->bpf_storage)
		return NULL;
	return bpf_task_storage_get(&task_state, t, 0, 0);
}

/* forget() needs bpf_map_lookup_percpu_elem (Linux 5.19) and bpf_loop
 * (5.17): without them the gate keeps no memory and reads the task on every
 * syscall (a constant after CO-RE relocation: the other branch is dead). */
#define GATE_MEMORY                                                                      \
	(bpf_core_enum_value_exists(enum bpf_func_id,                                    \
				    BPF_FUNC_map_lookup_percpu_elem) &&                  \
	 bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_loop))

/*
 * The gate of the syscall programs, which run for every syscall of every
 * task on the host (docs/design.md, "The gate"). `gate` remembers, per
 * CPU, the last task found without any local storage there, by the address
 * of its pt_regs: the top of its kernel stack, unique to a live task and
 * handed to both syscall tracepoints for free. A task that is that one
 * leaves after one inlined per-CPU load and one compare: no helper call.
 * Any other looks at the task itself (its bpf_storage) and is remembered.
 *
 * Nothing outside the task can make that memory wrong: it never trusts a
 * context switch to have been seen. It can only go stale when the task at
 * that address gains our storage, and that happens in two places only,
 * both of which forget the address on every CPU right after (forget()):
 * exec, for the running task, and fork, for a child not yet running (whose
 * stack may be one a task remembered here used before it died).
 */
static __always_inline struct ct_task *gate(struct bpf_raw_tracepoint_args *ctx,
					    struct task_struct **task)
{
	__u32 zero = 0;
	__u64 *seen = GATE_MEMORY ? bpf_map_lookup_elem(&gate_seen, &zero) : NULL;
	__u64 regs = ctx->args[0];

	if (seen && *seen == regs)
		return NULL;
	struct task_struct *t = bpf_get_current_task_btf();
	*task = t;
	if (!t->bpf_storage) {
		if (seen)
			*seen = regs;
		return NULL;
	}
	return bpf_task_storage_get(&task_state, t, 0, 0);
}

static long forget_on(__u64 cpu, void *regs)
{
	__u32 zero = 0;
	__u64 *seen = bpf_map_lookup_percpu_elem(&gate_seen, &zero, cpu);

	if (!seen)
		return 1; /* past the last possible CPU */
	__sync_val_compare_and_swap(seen, *(__u64 *)regs, 0);
	return 0;
}

/* Task `t` has just been given our storage: no CPU may still take it for
 * a task without. */
static __noinline void forget(struct task_struct *t)
{
	__u64 regs = (__u64)bpf_task_pt_regs(t);

	if (GATE_MEMORY)
		bpf_loop(nr_cpus, forget_on, &regs, 0);
}

SEC("raw_tp/sys_enter")
int ct_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *t;
	struct ct_task *ts = gate(ctx, &t);

	if (!ts || !slot_live(ts))
		return 0;
	long nr = ctx->args[1];
	bool compat = compat_syscall(t);
	if (compat || !is_decoded(nr)) {
		ts->pending = CT_ENTERED;
	} else {
		ts->pending = nr;
		/* the one argument sched_process_exec cannot read any more:
		 * a compare on decoded calls, a read on execveat only */
		if (nr == NR_execveat)
			ts->exec_flags =
				BPF_CORE_READ((struct pt_regs *)ctx->args[0], r8);
	}
	count_syscall(ts->slot, nr, compat, false);
	return 0;
}

SEC("raw_tp/sys_exit")
int ct_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *t;
	struct ct_task *ts = gate(ctx, &t);

	if (!ts)
		return 0;
	__u32 nr = ts->pending;
	ts->pending = CT_NO_PENDING;
	if (nr == CT_ENTERED || !slot_live(ts))
		return 0;
	long ret = ctx->args[1];
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	if (nr == CT_NO_PENDING) {
		long skipped = BPF_CORE_READ(regs, orig_ax);
		bool compat = compat_syscall(t);
		/* No sys_enter. The kernel skips the enter tracepoint only for
		 * a call a seccomp filter refused or a tracer cancelled (it
		 * never ran), so in a task with neither the enter was missed:
		 * the call ran, and the miss is counted, never hidden. */
		bool refused = t->seccomp.mode == SECCOMP_MODE_FILTER || t->ptrace;
		if (!refused)
			STAT_ADD(ts->slot, enters_missed);
		count_syscall(ts->slot, skipped, compat, refused);
		if (compat || !is_decoded(skipped))
			return 0;
		nr = skipped;
	}
	/* interrupted and restarted: the restarted call is the one to record */
	if (ret <= -ERESTART_FIRST && ret >= -ERESTART_LAST)
		return 0;
	decode(ts, regs, nr, ret);
	return 0;
}

/* ---- processes ----------------------------------------------------------- */

static __always_inline struct ct_container *find_container(struct task_struct *p)
{
	__u64 id = bpf_get_current_cgroup_id();
	struct ct_container *c = bpf_map_lookup_elem(&containers, &id);
	__u32 zero = 0;

	if (c)
		return c;
	__u64 *levels = bpf_map_lookup_elem(&cgroup_levels, &zero);
	if (!levels || !*levels)
		return NULL;
	__u64 mask = *levels;
	int level = BPF_CORE_READ(p, cgroups, dfl_cgrp, level);
	/* nested cgroups: the deepest registered ancestor owns the task */
	for (int i = 1; i < CT_MAX_CGROUP_DEPTH; i++) {
		int l = level - i;
		if (l < 1)
			break;
		if (!(mask & (1ULL << (l & 63))))
			continue;
		id = bpf_get_current_ancestor_cgroup_id(l);
		c = bpf_map_lookup_elem(&containers, &id);
		if (c)
			return c;
	}
	return NULL;
}

static __noinline void exec_record(struct ct_task *ts, struct task_struct *p,
				   struct linux_binprm *bprm, __u64 now)
{
	struct ct_exec_key *k = &ts->scratch.exec;
	__u32 slot = ts->slot;

	__builtin_memset(k, 0, sizeof(*k));
	if (bpf_probe_read_kernel_str(k->path, sizeof(k->path),
				      BPF_CORE_READ(bprm, filename)) <= 0)
		STAT_ADD(slot, read_errors);
	/* the file that runs: "/proc/self/exe", "/dev/fd/3" and links say
	 * what was asked for, not what it is */
	int flags = walk_file(ts, WALK_TO_BINARY, BPF_CORE_READ(bprm, file));
	if (flags < 0)
		STAT_ADD(slot, read_errors);
	else
		k->binary_flags = flags | CT_PATH_REAL;
	unsigned long start = BPF_CORE_READ(p, mm, arg_start);
	unsigned long end = BPF_CORE_READ(p, mm, arg_end);
	unsigned long len = end - start;
	if (len > CT_ARGV_MAX) {
		len = CT_ARGV_MAX;
		k->argv_truncated = 1;
	}
	if (bpf_probe_read_user(k->argv, len & 0x1ff, (const void *)start))
		STAT_ADD(slot, read_errors);
	else
		k->argv_len = len;
	exec_commit(ts, p, now);
}

/* execveat and exec of a memfd: the fileless-binary signals. */
static __noinline void exec_priv(struct ct_task *ts, struct linux_binprm *bprm, long nr)
{
	struct ct_priv_key *p;
	char name[8] = {};
	const unsigned char *dname =
		BPF_CORE_READ(bprm, file, f_path.dentry, d_name.name);

	if (nr == NR_execveat) {
		p = priv_begin(ts, NR_execveat);
		p->args[0] = ts->exec_flags;
		bpf_probe_read_kernel_str(p->detail, sizeof(p->detail),
					  BPF_CORE_READ(bprm, filename));
		priv_commit(ts, 0);
	}
	bpf_probe_read_kernel(name, 6, dname);
	if (name[0] == 'm' && name[1] == 'e' && name[2] == 'm' && name[3] == 'f' &&
	    name[4] == 'd' && name[5] == ':') {
		p = priv_begin(ts, CT_PRIV_MEMFD_EXEC);
		bpf_probe_read_kernel_str(p->detail, sizeof(p->detail), dname);
		priv_commit(ts, 0);
	}
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(ct_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct ct_task *ts = storage_of(p);
	struct ct_container *c = find_container(p);
	/* an audited task stays its container's for life, wherever it moves
	 * (a task with CAP_SYS_ADMIN can write itself into any cgroup): the
	 * cgroup decides only for a task that is not audited, or one that
	 * execs inside another container's cgroup and mount namespace (a
	 * nested container's init) */
	bool audited = ts && slot_live(ts);
	bool entering = false;

	if (c && (!ts || !audited || ts->slot != c->slot || ts->gen != c->gen))
		/* in the cgroup but not (yet) in the container's mount
		 * namespace: a runtime helper, such as runc exec's, before it
		 * joins the container, or an audited task moved into another
		 * container's cgroup; neither enters */
		entering = !c->mnt_ns ||
			   BPF_CORE_READ(p, nsproxy, mnt_ns, ns.inum) == c->mnt_ns;
	if (!entering && !audited) {
		if (ts) /* a task its dead container left behind */
			bpf_task_storage_delete(&task_state, p);
		return 0;
	}
	if (!ts) {
		if (!c)
			return 0;
		ts = bpf_task_storage_get(&task_state, p, 0,
					  BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (!ts) {
			STAT_ADD(c->slot, tasks_lost);
			return 0;
		}
		forget(p);
	}
	if (entering && c) {
		ts->slot = c->slot;
		ts->gen = c->gen;
	}
	__u32 pending = ts->pending;
	ts->pending = CT_ENTERED; /* the exec's own sys_exit is still to come */
	if (!slot_live(ts))
		return 0;

	__u32 slot = ts->slot;
	__u64 now = bpf_ktime_get_boot_ns();
	struct ct_stats *st = stats_for(slot);
	if (!st)
		return 0;
	__sync_fetch_and_add(&st->execs, 1);
	if (!st->first_exec_ns) {
		/* the container's first exec is its init's (runc's init execs
		 * the workload): the process whose exit ends the container */
		st->first_exec_ns = now;
		st->init_tgid = BPF_CORE_READ(p, tgid);
	}
	st->last_event_ns = now;

	/* Which exec this was: by now the ELF loader has set orig_ax to
	 * execve's number for every exec of a 64-bit binary
	 * (set_personality_64bit()), so only the number sys_enter saw tells
	 * execveat apart. A task entering the audit had no storage at its
	 * sys_enter: its registers are all there is. */
	long nr = pending;
	bool compat = compat_syscall(p);
	if (entering || (nr != NR_execve && nr != NR_execveat)) {
		struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(p);
		nr = BPF_CORE_READ(regs, orig_ax);
	}
	/* the exec that brings a task into the audit was not seen at
	 * sys_enter (the task was not audited yet): count it here */
	if (entering)
		count_syscall(slot, nr, compat, false);
	exec_record(ts, p, bprm, now);
	exec_priv(ts, bprm, compat ? -1 : nr);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(ct_fork, struct task_struct *parent, struct task_struct *child)
{
	struct ct_task *pts = storage_of(parent);

	if (!pts || !slot_live(pts))
		return 0;
	__u32 slot = pts->slot, gen = pts->gen;
	struct ct_task *cts = bpf_task_storage_get(&task_state, child, 0,
						   BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!cts) {
		STAT_ADD(slot, tasks_lost);
		return 0;
	}
	forget(child);
	cts->slot = slot;
	cts->gen = gen;
	cts->pending = CT_ENTERED; /* the child returns from the parent's fork */
	if (BPF_CORE_READ(child, pid) == BPF_CORE_READ(child, tgid))
		STAT_ADD(slot, forks);
	else
		STAT_ADD(slot, threads);
	return 0;
}

static __always_inline void count_exit(struct task_struct *p, bool process_done)
{
	struct ct_task *ts = storage_of(p);

	if (!ts || !slot_live(ts) || !process_done)
		return;
	struct ct_stats *st = stats_for(ts->slot);
	if (!st)
		return;
	__sync_fetch_and_add(&st->exits, 1);
	st->last_event_ns = bpf_ktime_get_boot_ns();
	if (!st->init_tgid || BPF_CORE_READ(p, tgid) != st->init_tgid)
		return;
	/* the status do_exit() stores, or, should the tracepoint come
	 * before that store, the group's: set by exit_group and by every
	 * fatal signal */
	int code = BPF_CORE_READ(p, exit_code);
	if (!code)
		code = BPF_CORE_READ(p, signal, group_exit_code);
	st->init_exit_code = code;
	st->init_exited = 1;
}

/* Linux 6.16 and later say whether this was the process's last thread. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(ct_exit, struct task_struct *p, bool group_dead)
{
	count_exit(p, group_dead);
	return 0;
}

/* Older kernels: the thread-group leader's exit stands for the process
 * (a leader that exits before its threads is counted early). The loader
 * uses this program only when ct_exit does not load. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(ct_exit_legacy, struct task_struct *p)
{
	count_exit(p, BPF_CORE_READ(p, pid) == BPF_CORE_READ(p, tgid));
	return 0;
}

/* A task moved to another cgroup, by itself or by any other task (the
 * tracepoint fires in the writer, once per cgroup.procs or cgroup.threads
 * write that succeeded). The moved task stays its container's (ct_exec):
 * the move is recorded as a privileged event of that container. */
SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(ct_cgroup_attach, struct cgroup *dst, const char *path,
	     struct task_struct *task, bool threadgroup)
{
	struct ct_task *ts = storage_of(task);
	struct ct_priv_key k = {};

	if (!ts || !slot_live(ts))
		return 0;
	k.kind = CT_PRIV_CGROUP_MOVE;
	k.args[0] = BPF_CORE_READ(dst, kn, id);
	k.args[1] = BPF_CORE_READ(dst, root, hierarchy_id);
	k.args[2] = threadgroup;
	if (bpf_probe_read_kernel_str(k.detail, sizeof(k.detail), path) < 0)
		STAT_ADD(ts->slot, read_errors);
	priv_record(ts->slot, &k, 0);
	return 0;
}

/* A task the OOM killer chose (in the context of the task that ran out of
 * memory, which may be any task of the cgroup, or of the host). Runs only
 * on OOM kills. */
SEC("tp_btf/mark_victim")
int BPF_PROG(ct_oom, struct task_struct *task, uid_t uid)
{
	struct ct_task *ts = storage_of(task);
	struct ct_priv_key k = {};

	if (!ts || !slot_live(ts))
		return 0;
	struct ct_stats *st = stats_for(ts->slot);
	if (!st)
		return 0;
	__u32 tgid = BPF_CORE_READ(task, tgid);
	__sync_fetch_and_add(&st->oom_kills, 1);
	if (st->init_tgid && tgid == st->init_tgid)
		st->init_oom = 1;
	k.kind = CT_PRIV_OOM_KILL;
	k.args[0] = tgid;
	bpf_probe_read_kernel_str(k.detail, sizeof(k.detail), task->comm);
	priv_record(ts->slot, &k, 0);
	return 0;
}

/* ---- io_uring ------------------------------------------------------------ */

#define PF_IO_WORKER 0x00000010

/* Every request an audited task submits through io_uring (io_uring.h). Runs
 * only on io_uring submissions, never on the syscall path. A ring's SQPOLL
 * thread carries no storage of its own (io threads are not forked through
 * sched_process_fork): it submits for its process, whose leader does. */
SEC("tp_btf/io_uring_submit_req")
int BPF_PROG(ct_io_uring_submit, struct io_kiocb *req)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct ct_task *ts = storage_of(t);

	if (!ts && (t->flags & PF_IO_WORKER))
		ts = storage_of(t->group_leader);
	if (!ts || !slot_live(ts))
		return 0;
	uring_submit(ts, req);
	return 0;
}
