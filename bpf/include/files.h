/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Files: the paths a container opens, deletes, renames, chmods and chowns,
 * by the path it passed or, for the fd calls, by the file's name.
 */
#ifndef CTRAUDIT_FILES_H
#define CTRAUDIT_FILES_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "events.h"
#include "maps.h"
#include "slots.h"
#include "decoded.h"

#define O_ACCMODE 00000003
#define O_WRONLY 00000001
#define O_RDWR 00000002
#define O_CREAT 00000100
#define O_TRUNC 00001000
#define O_PATH 010000000
#define AT_REMOVEDIR 0x200

static __noinline void file_commit(struct ct_task *ts, __u32 kind, long ret)
{
	__u32 slot = ts->slot;
	__u64 now = bpf_ktime_get_boot_ns();
	struct ct_file_val init = { .first_ns = now };

	void *files = inner_of(&files_of, slot);
	if (!files)
		return;
	struct ct_file_val *v = upsert(slot, files, &ts->scratch.file, &init, SET_FILES);
	if (!v)
		return;
	__sync_fetch_and_add(&v->count, 1);
	if (ret < 0) {
		__sync_fetch_and_add(&v->failed, 1);
		__sync_fetch_and_or(&v->failed_kinds, kind);
		v->last_errno = -ret;
	} else {
		__sync_fetch_and_or(&v->kinds, kind);
	}
	v->last_ns = now;
}

static __noinline void file_path(struct ct_task *ts, const char *upath, __u32 kind,
				 long ret)
{
	struct ct_file_key *k = &ts->scratch.file;

	__builtin_memset(k, 0, sizeof(*k));
	if (bpf_probe_read_user_str(k->path, sizeof(k->path), upath) <= 0) {
		unreadable(ts->slot, ret);
		return;
	}
	file_commit(ts, kind, ret);
}

static __always_inline struct file *file_of_fd(long fd)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds = BPF_CORE_READ(fdt, fd);
	unsigned int max = BPF_CORE_READ(fdt, max_fds);
	struct file *f = NULL;

	if (fd < 0 || fd >= max)
		return NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

/* fchmod/fchown: there is no path, only the file; record its name. */
static __noinline void file_fd(struct ct_task *ts, long fd, __u32 kind, long ret)
{
	struct ct_file_key *k = &ts->scratch.file;
	struct file *f = file_of_fd(fd);

	__builtin_memset(k, 0, sizeof(*k));
	if (!f) {
		/* no such descriptor: the call failed (EBADF) and touched no
		 * file; a call that worked on a file not found here is lost */
		if (ret >= 0)
			STAT_ADD(ts->slot, read_errors);
		return;
	}
	const unsigned char *name = BPF_CORE_READ(f, f_path.dentry, d_name.name);
	if (bpf_probe_read_kernel_str(k->path, sizeof(k->path), name) <= 0) {
		STAT_ADD(ts->slot, read_errors);
		return;
	}
	file_commit(ts, kind | CT_FILE_BY_FD, ret);
}

static __always_inline __u32 open_kinds(__u64 flags)
{
	__u32 kinds = 0;

	if (flags & O_PATH)
		return CT_FILE_PATH_ONLY;
	switch (flags & O_ACCMODE) {
	case O_WRONLY:
		kinds = CT_FILE_WRITE;
		break;
	case O_RDWR:
		kinds = CT_FILE_READ | CT_FILE_WRITE;
		break;
	default:
		kinds = CT_FILE_READ;
	}
	if (flags & O_TRUNC)
		kinds |= CT_FILE_WRITE;
	if (flags & O_CREAT)
		kinds |= CT_FILE_CREATE;
	return kinds;
}

/* ---- decoders ------------------------------------------------------------ */

DECODER(decode_open)
{
	STAT_ADD(ts->slot, opens);
	file_path(ts, (const char *)a0, open_kinds(a1), ret);
}

DECODER(decode_creat)
{
	STAT_ADD(ts->slot, opens);
	file_path(ts, (const char *)a0, CT_FILE_WRITE | CT_FILE_CREATE, ret);
}

DECODER(decode_openat)
{
	STAT_ADD(ts->slot, opens);
	file_path(ts, (const char *)a1, open_kinds(a2), ret);
}

DECODER(decode_openat2)
{
	__u64 flags = 0; /* struct open_how starts with flags */
	if (bpf_probe_read_user(&flags, sizeof(flags), (const void *)a2))
		unreadable(ts->slot, ret);
	STAT_ADD(ts->slot, opens);
	file_path(ts, (const char *)a1, open_kinds(flags), ret);
}

/* unlink, rmdir */
DECODER(decode_unlink)
{
	file_path(ts, (const char *)a0, CT_FILE_DELETE, ret);
}

DECODER(decode_unlinkat)
{
	file_path(ts, (const char *)a1, CT_FILE_DELETE, ret);
}

DECODER(decode_rename)
{
	file_path(ts, (const char *)a0, CT_FILE_RENAME_FROM, ret);
	file_path(ts, (const char *)a1, CT_FILE_RENAME_TO, ret);
}

/* renameat, renameat2 */
DECODER(decode_renameat)
{
	file_path(ts, (const char *)a1, CT_FILE_RENAME_FROM, ret);
	file_path(ts, (const char *)a3, CT_FILE_RENAME_TO, ret);
}

DECODER(decode_chmod)
{
	file_path(ts, (const char *)a0, CT_FILE_CHMOD, ret);
}

/* fchmodat, fchmodat2 */
DECODER(decode_fchmodat)
{
	file_path(ts, (const char *)a1, CT_FILE_CHMOD, ret);
}

DECODER(decode_fchmod)
{
	file_fd(ts, a0, CT_FILE_CHMOD, ret);
}

/* chown, lchown */
DECODER(decode_chown)
{
	file_path(ts, (const char *)a0, CT_FILE_CHOWN, ret);
}

DECODER(decode_fchownat)
{
	file_path(ts, (const char *)a1, CT_FILE_CHOWN, ret);
}

DECODER(decode_fchown)
{
	file_fd(ts, a0, CT_FILE_CHOWN, ret);
}

#endif /* CTRAUDIT_FILES_H */
