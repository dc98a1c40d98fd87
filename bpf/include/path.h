/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Paths from the kernel's dentries: the real path of an open file, of an
 * executed binary, of a task's cwd or a dirfd's directory, as the task
 * sees it (below its root, across its mounts). bpf_d_path() is not allowed
 * in tracepoints, so this walks d_parent and the mount tree itself, one
 * component per bpf_loop() step (docs/design.md, "Paths").
 */
#ifndef CTRAUDIT_PATH_H
#define CTRAUDIT_PATH_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "events.h"
#include "slots.h"

/* components and mount crossings one walk may take: deeper is cut */
#define CT_WALK_STEPS 128
#define CT_WALK_END (CT_PATH_MAX - 1)
#define AT_FDCWD -100

/* bpf_loop()'s context must be on the stack; the walk's state is in the
 * task's storage (struct ct_walk), where the verifier does not track its
 * values, so that it checks walk_step() once rather than step by step. */
struct walk_ctx {
	struct ct_task *ts;
};

static long walk_step(__u64 i, void *arg)
{
	struct ct_task *ts = ((struct walk_ctx *)arg)->ts;
	struct ct_walk *w = &ts->walk;
	struct dentry *d = (struct dentry *)w->d;
	struct vfsmount *mnt = (struct vfsmount *)w->mnt;

	if (w->d == w->root_d && w->mnt == w->root_mnt) {
		w->done = 1;
		return 1;
	}
	if (w->d == w->mnt_root) {
		/* the root of a mount: go on from where it is mounted */
		struct mount *m = container_of(mnt, struct mount, mnt);
		struct mount *up = BPF_CORE_READ(m, mnt_parent);
		if (up == m) {
			w->flags |= CT_PATH_OUTSIDE;
			w->done = 1;
			return 1;
		}
		w->d = (__u64)BPF_CORE_READ(m, mnt_mountpoint);
		w->mnt = (__u64)&up->mnt;
		w->mnt_root = (__u64)BPF_CORE_READ(&up->mnt, mnt_root);
		return 0;
	}
	struct dentry *parent = BPF_CORE_READ(d, d_parent);
	if (parent == d) {
		/* the root of a filesystem that is not mounted here */
		w->flags |= CT_PATH_OUTSIDE;
		w->done = 1;
		return 1;
	}
	struct qstr q;
	if (bpf_core_read(&q, sizeof(q), &d->d_name))
		return 1;
	__u32 len = q.len;
	__u32 pos = w->pos;
	if (len >= CT_PATH_MAX || pos >= CT_PATH_MAX || len + 1 > pos) {
		w->flags |= CT_PATH_CUT;
		w->done = 1;
		return 1;
	}
	pos -= len;
	if (bpf_probe_read_kernel(&w->buf[pos & (CT_PATH_MAX - 1)],
				  len & (CT_PATH_MAX - 1), q.name))
		return 1;
	pos--;
	w->buf[pos & (CT_PATH_MAX - 1)] = '/';
	w->pos = pos;
	w->d = (__u64)parent;
	return 0;
}

/*
 * The path of (dentry, vfsmnt) below the current task's root into the
 * scratch key's path (`to`): returns its ct_path_flag, or -1 when it could not be
 * read (counted by the caller). A path too long or too deep keeps its
 * last components and says CT_PATH_CUT. Global, as are the callers in
 * files.h: the verifier checks each once, not once per call site.
 */
/* Where a walk's path goes (walk_into's `to`). */
enum { WALK_TO_FILE, WALK_TO_BINARY };

/*
 * The path of (dentry, vfsmnt) below the current task's root into the
 * scratch key's path (`to`), followed by "/" and the path given (the file
 * scratch's val.typed, `suffix` bytes) when suffix is not 0: returns its
 * ct_path_flag, or -1 when it could not be read (counted by the caller).
 * A path too long or too deep keeps its last components and says
 * CT_PATH_CUT. Global, as are the callers in files.h: the verifier checks
 * each once, not once per call site.
 */
__noinline int walk_into(struct ct_task *ts, int to, __u64 dentry, __u64 vfsmnt,
			 __u32 suffix)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct path root;
	struct walk_ctx c = { .ts = ts };

	if (!ts || !dentry || !vfsmnt ||
	    bpf_core_read(&root, sizeof(root), &task->fs->root))
		return -1;
	char *dst = to == WALK_TO_BINARY ? ts->scratch.exec.binary
					 : ts->scratch.file.key.path;
	struct ct_walk *w = &ts->walk;
	w->d = dentry;
	w->mnt = vfsmnt;
	w->mnt_root = (__u64)BPF_CORE_READ((struct vfsmount *)vfsmnt, mnt_root);
	w->root_d = (__u64)root.dentry;
	w->root_mnt = (__u64)root.mnt;
	w->pos = CT_WALK_END;
	w->flags = 0;
	w->done = 0;
	w->buf[CT_WALK_END] = 0;
	if (suffix) {
		/* the relative path given goes last: "/<typed>" */
		__u32 len = suffix & (CT_PATH_MAX - 1);
		__u32 at = CT_WALK_END - len;
		if (len >= CT_WALK_END - 1 || at >= CT_PATH_MAX)
			return -1;
		if (bpf_probe_read_kernel(&w->buf[at], len, ts->scratch.file.val.typed))
			return -1;
		w->buf[(at - 1) & (CT_PATH_MAX - 1)] = '/';
		w->pos = at - 1;
	}
	bpf_loop(CT_WALK_STEPS, walk_step, &c, 0);
	if (!w->done)
		w->flags |= CT_PATH_CUT; /* deeper than CT_WALK_STEPS */
	__u32 pos = w->pos;
	__u32 flags = w->flags;
	if (pos >= CT_WALK_END) {
		/* the root itself */
		dst[0] = '/';
		dst[1] = 0;
		return flags;
	}
	pos &= CT_PATH_MAX - 1;
	__u32 size = CT_PATH_MAX - pos;
	if (bpf_probe_read_kernel(dst, size, &w->buf[pos]))
		return -1;
	if (flags & CT_PATH_CUT)
		STAT_ADD(ts->slot, paths_cut);
	return flags;
}

/* The file of descriptor fd of the current task, or NULL. The task is a
 * trusted BTF pointer: task->files->fdt and its fields are direct loads
 * (no helper call); only the array slot, at a variable index, is read. */
static __always_inline struct file *file_of_fd(long fd)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct files_struct *files = task->files;
	struct file *f = NULL;

	if (!files)
		return NULL;
	struct fdtable *fdt = files->fdt;
	if (!fdt || fd < 0 || fd >= fdt->max_fds)
		return NULL;
	struct file **fds = fdt->fd;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

/* The real path of open file f (walk_into's `to`): ct_path_flag, or -1. */
static __always_inline int walk_file(struct ct_task *ts, int to, struct file *f)
{
	struct path p;

	if (!f || bpf_core_read(&p, sizeof(p), &f->f_path))
		return -1;
	return walk_into(ts, to, (__u64)p.dentry, (__u64)p.mnt, 0);
}

/* The relative path in val.typed (`len` bytes) joined to the directory it
 * starts from, dirfd `dfd` (the cwd for AT_FDCWD), into the file key's
 * path: ct_path_flag, or -1. */
static __always_inline int walk_base(struct ct_task *ts, long dfd, __u32 len)
{
	struct path p;

	if ((int)dfd == AT_FDCWD) {
		struct task_struct *task = bpf_get_current_task_btf();
		if (bpf_core_read(&p, sizeof(p), &task->fs->pwd))
			return -1;
	} else {
		struct file *f = file_of_fd(dfd);
		if (!f || bpf_core_read(&p, sizeof(p), &f->f_path))
			return -1;
	}
	return walk_into(ts, WALK_TO_FILE, (__u64)p.dentry, (__u64)p.mnt, len);
}

#endif /* CTRAUDIT_PATH_H */
