/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Privileged events: identity and capability changes, mounts, modules,
 * namespaces, bpf, and the fileless-binary signals, keyed by syscall
 * number (or ct_priv_special) with the arguments that say what was done.
 */
#ifndef CTRAUDIT_PRIVILEGED_H
#define CTRAUDIT_PRIVILEGED_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "events.h"
#include "maps.h"
#include "slots.h"
#include "files.h" /* file_of_fd() */
#include "decoded.h"
#include "syscalls_x86_64.h"

#define CLONE_NEW_MASK 0x7e020080 /* CLONE_NEW{NS,CGROUP,UTS,IPC,USER,PID,NET,TIME} */
#define CAP_V1 0x19980330
#define CLONE_INTO_CGROUP 0x200000000ULL
/* struct clone_args up to its cgroup fd (CLONE_ARGS_SIZE_VER2) */
#define CLONE_ARGS_CGROUP_OFF 80
#define CLONE_ARGS_SIZE_VER2 88

static __noinline void priv_commit(struct ct_task *ts, long ret)
{
	__u32 slot = ts->slot;
	__u64 now = bpf_ktime_get_boot_ns();
	struct ct_event_val init = { .first_ns = now };

	void *priv = inner_of(&priv_of, slot);
	if (!priv)
		return;
	struct ct_event_val *v = upsert(slot, priv, &ts->scratch.priv, &init, SET_PRIV);
	if (!v)
		return;
	event_hit(v, ret, now, ret >= 0);
}

/* A privileged event built on the stack by a program that may run in
 * another task than the one it is about, whose scratch may be in use. */
static __always_inline void priv_record(__u32 slot, const struct ct_priv_key *k, long ret)
{
	__u64 now = bpf_ktime_get_boot_ns();
	struct ct_event_val init = { .first_ns = now };

	void *priv = inner_of(&priv_of, slot);
	if (!priv)
		return;
	struct ct_event_val *v = upsert(slot, priv, k, &init, SET_PRIV);
	if (!v)
		return;
	event_hit(v, ret, now, ret >= 0);
}

static __always_inline struct ct_priv_key *priv_begin(struct ct_task *ts, __u32 kind)
{
	struct ct_priv_key *k = &ts->scratch.priv;

	__builtin_memset(k, 0, sizeof(*k));
	k->kind = kind;
	return k;
}

/* A string argument of a privileged call into its key. NULL is a value of
 * its own (mount's fstype for a bind mount, init_module's params); any
 * other pointer that cannot be read is counted (unreadable()). */
static __noinline void priv_str(struct ct_task *ts, char *dst, __u32 size,
				const void *src, long ret)
{
	if (src && bpf_probe_read_user_str(dst, size, src) < 0)
		unreadable(ts->slot, ret);
}

/* ---- decoders ------------------------------------------------------------ */

/* setuid, setgid, setreuid, setregid, setresuid, setresgid */
DECODER(decode_setid)
{
	struct ct_priv_key *p = priv_begin(ts, nr);
	p->args[0] = (__u32)a0;
	p->args[1] = (__u32)a1;
	p->args[2] = (__u32)a2;
	if (nr == NR_setuid || nr == NR_setgid)
		p->args[1] = p->args[2] = 0;
	else if (nr == NR_setreuid || nr == NR_setregid)
		p->args[2] = 0;
	priv_commit(ts, ret);
}

DECODER(decode_capset)
{
	/* two struct __user_cap_data_struct {effective, permitted,
	 * inheritable}: low and high 32 capability bits */
	__u32 data[6] = {};
	__u32 version = 0;
	struct ct_priv_key *p = priv_begin(ts, nr);
	if (bpf_probe_read_user(&version, sizeof(version), (const void *)a0))
		unreadable(ts->slot, ret);
	/* version 1 passes one struct (32 bits), 2 and 3 pass two */
	long size = version == CAP_V1 ? 12 : 24;
	if (a1 && bpf_probe_read_user(data, size & 31, (const void *)a1))
		unreadable(ts->slot, ret);
	p->args[0] = data[0] | ((__u64)data[3] << 32);
	p->args[1] = data[1] | ((__u64)data[4] << 32);
	priv_commit(ts, ret);
}

#define XA_CHUNK_SHIFT 6
#define XA_CHUNK_MASK 63
/* pid_max is at most 4M (22 bits): four levels of 64 slots */
#define XA_PID_LEVELS 4

/* The host pid of pid `nr` in the calling task's pid namespace, or 0 when
 * that namespace has no such pid: find_pid_ns() read by hand, a lookup of
 * `nr` in the namespace's idr (an xarray whose entries are struct pid),
 * then the pid's number in the initial namespace (numbers[0]). Everything
 * is a probe read, so a node freed under us reads as garbage that the
 * shift and tag checks reject, never as a fault. */
__noinline __u32 host_pid_of(__u64 nr)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct pid *me = BPF_CORE_READ(t, thread_pid);
	unsigned int level = BPF_CORE_READ(me, level);
	struct pid_namespace *ns;

	if (!nr || nr > (1ULL << (XA_CHUNK_SHIFT * XA_PID_LEVELS)) - 1 || level > 32)
		return 0;
	if (bpf_probe_read_kernel(&ns, sizeof(ns), &me->numbers[level].ns) || !ns)
		return 0;
	__u64 entry = (__u64)BPF_CORE_READ(ns, idr.idr_rt.xa_head);
	__u64 index = nr - BPF_CORE_READ(ns, idr.idr_base);

	for (int i = 0; i < XA_PID_LEVELS; i++) {
		if ((entry & 3) != 2 || entry < 4096) /* not a node: a leaf */
			break;
		struct xa_node *node = (struct xa_node *)(entry - 2);
		unsigned char shift = BPF_CORE_READ(node, shift);
		if (shift > XA_CHUNK_SHIFT * (XA_PID_LEVELS - 1) ||
		    (index >> shift) > XA_CHUNK_MASK)
			return 0;
		__u32 off = (index >> shift) & XA_CHUNK_MASK;
		if (bpf_probe_read_kernel(&entry, sizeof(entry), &node->slots[off]))
			return 0;
		index &= (1ULL << shift) - 1;
		if (!shift)
			break;
	}
	/* an internal entry (a node at a depth we do not reach, or a reserved
	 * slot) or an empty one: no such pid; and without a node the head
	 * holds index 0 only */
	if (!entry || (entry & 3) == 2 || index)
		return 0;
	struct pid *found = (struct pid *)entry;
	return BPF_CORE_READ(found, numbers[0].nr);
}

DECODER(decode_ptrace)
{
	struct ct_priv_key *p = priv_begin(ts, nr);
	p->args[0] = a0; /* request */
	p->args[1] = (__u32)a1; /* pid, in the caller's pid namespace */
	/* the same process in the host's namespace, as `executed` has it
	 * (PTRACE_TRACEME names no pid) */
	p->args[2] = a0 ? host_pid_of((__u32)a1) : 0;
	priv_commit(ts, ret);
}

DECODER(decode_mount)
{
	/* mount(source, target, fstype, flags, data) */
	struct ct_priv_key *p = priv_begin(ts, nr);
	p->args[0] = a3;
	priv_str(ts, p->detail, sizeof(p->detail), (const void *)a1, ret);
	priv_str(ts, p->aux, sizeof(p->aux), (const void *)a2, ret);
	priv_commit(ts, ret);
}

DECODER(decode_umount2_chroot)
{
	struct ct_priv_key *p = priv_begin(ts, nr);
	p->args[0] = nr == NR_umount2 ? a1 : 0;
	priv_str(ts, p->detail, sizeof(p->detail), (const void *)a0, ret);
	priv_commit(ts, ret);
}

DECODER(decode_pivot_root)
{
	struct ct_priv_key *p = priv_begin(ts, nr);
	priv_str(ts, p->detail, sizeof(p->detail), (const void *)a0, ret);
	priv_str(ts, p->aux, sizeof(p->aux), (const void *)a1, ret);
	priv_commit(ts, ret);
}

DECODER(decode_init_module)
{
	/* init_module(image, len, params) */
	struct ct_priv_key *p = priv_begin(ts, nr);
	p->args[0] = a1;
	priv_str(ts, p->detail, sizeof(p->detail), (const void *)a2, ret);
	priv_commit(ts, ret);
}

DECODER(decode_finit_module)
{
	/* finit_module(fd, params, flags) */
	struct ct_priv_key *p = priv_begin(ts, nr);
	p->args[0] = a2;
	priv_str(ts, p->detail, sizeof(p->detail), (const void *)a1, ret);
	priv_commit(ts, ret);
}

DECODER(decode_bpf_unshare)
{
	struct ct_priv_key *p = priv_begin(ts, nr);
	p->args[0] = a0; /* bpf command, unshare flags */
	priv_commit(ts, ret);
}

DECODER(decode_setns)
{
	struct ct_priv_key *p = priv_begin(ts, nr);
	p->args[0] = a1; /* nstype */
	priv_commit(ts, ret);
}

DECODER(decode_memfd_create)
{
	struct ct_priv_key *p = priv_begin(ts, nr);
	p->args[0] = a1; /* flags */
	priv_str(ts, p->detail, sizeof(p->detail), (const void *)a0, ret);
	priv_commit(ts, ret);
}

DECODER(decode_io_uring_setup)
{
	/* io_uring operations bypass the syscall tracepoints: its use
	 * is worth knowing by itself */
	struct ct_priv_key *p = priv_begin(ts, nr);
	p->args[0] = a0; /* entries */
	priv_commit(ts, ret);
}

DECODER(decode_open_tree)
{
	struct ct_priv_key *p = priv_begin(ts, nr);
	p->args[0] = a2; /* flags */
	priv_str(ts, p->detail, sizeof(p->detail), (const void *)a1, ret);
	priv_commit(ts, ret);
}

DECODER(decode_move_mount)
{
	/* move_mount(from_dfd, from_path, to_dfd, to_path, flags) */
	struct ct_priv_key *p = priv_begin(ts, nr);
	p->args[0] = a4;
	priv_str(ts, p->detail, sizeof(p->detail), (const void *)a3, ret);
	priv_str(ts, p->aux, sizeof(p->aux), (const void *)a1, ret);
	priv_commit(ts, ret);
}

DECODER(decode_fsopen)
{
	struct ct_priv_key *p = priv_begin(ts, nr);
	p->args[0] = a1;
	priv_str(ts, p->aux, sizeof(p->aux), (const void *)a0, ret);
	priv_commit(ts, ret);
}

DECODER(decode_fsmount)
{
	struct ct_priv_key *p = priv_begin(ts, nr);
	p->args[0] = a1; /* flags */
	p->args[1] = a2; /* attr_flags */
	priv_commit(ts, ret);
}

DECODER(decode_open_by_handle_at)
{
	struct ct_priv_key *p = priv_begin(ts, nr);
	p->args[0] = (__u32)a0; /* mount_fd */
	p->args[1] = a2; /* flags */
	priv_commit(ts, ret);
}

/* clone3 with CLONE_INTO_CGROUP: the child starts in the cgroup of the
 * directory fd clone_args.cgroup, which moves it as a write to its
 * cgroup.procs would, without cgroup_attach_task. A cgroup_move event, by
 * the directory's name (the fd has no path here) and id. */
static __noinline void clone_into_cgroup(struct ct_task *ts, __u64 uargs, __u64 size,
					 long ret)
{
	struct ct_priv_key *p = priv_begin(ts, CT_PRIV_CGROUP_MOVE);
	__u64 fd = 0;

	p->args[2] = 1; /* a new process: its whole thread group */
	__builtin_memcpy(p->aux, "clone3", 7);
	if (size < CLONE_ARGS_SIZE_VER2) {
		/* no cgroup field: the kernel refused the call (EINVAL) */
	} else if (bpf_probe_read_user(&fd, sizeof(fd),
				       (const void *)(uargs + CLONE_ARGS_CGROUP_OFF))) {
		unreadable(ts->slot, ret);
	} else {
		struct file *f = file_of_fd(fd);
		if (f) {
			p->args[0] = BPF_CORE_READ(f, f_inode, i_ino);
			const unsigned char *name =
				BPF_CORE_READ(f, f_path.dentry, d_name.name);
			bpf_probe_read_kernel_str(p->detail, sizeof(p->detail), name);
		} else if (ret >= 0) {
			STAT_ADD(ts->slot, read_errors);
		}
	}
	priv_commit(ts, ret);
}

/* clone, clone3 */
DECODER(decode_clone)
{
	/* only namespace-creating clones, and clones into another cgroup,
	 * are privileged events; the child returns 0 here too, the
	 * parent's call is the event */
	__u64 flags = a0;
	if (nr == NR_clone3 &&
	    bpf_probe_read_user(&flags, sizeof(flags), (const void *)a0))
		return;
	if (ret == 0)
		return;
	if (nr == NR_clone3 && (flags & CLONE_INTO_CGROUP))
		clone_into_cgroup(ts, a0, a1, ret);
	if (!(flags & CLONE_NEW_MASK))
		return;
	struct ct_priv_key *p = priv_begin(ts, nr);
	p->args[0] = flags & CLONE_NEW_MASK;
	priv_commit(ts, ret);
}

/* A failed execveat (processes.h decodes execve and execveat): a
 * successful one is recorded by the exec tracepoint (exec_priv()), where
 * the registers still describe the call. */
static __always_inline void priv_execveat_failed(struct ct_task *ts, __u64 path,
						 __u64 flags, long ret)
{
	struct ct_priv_key *p = priv_begin(ts, NR_execveat);
	p->args[0] = flags;
	priv_str(ts, p->detail, sizeof(p->detail), (const void *)path, ret);
	priv_commit(ts, ret);
}

#endif /* CTRAUDIT_PRIVILEGED_H */
