/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Files: the paths a container opens, creates, deletes, renames, links,
 * truncates and changes the metadata of. A successful open and every call
 * on a descriptor record the real path of the file (path.h); any other
 * call records its path as given, and a relative one with the directory it
 * is relative to (userspace joins them).
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
#include "path.h"

#define O_ACCMODE 00000003
#define O_WRONLY 00000001
#define O_RDWR 00000002
#define O_CREAT 00000100
#define O_TRUNC 00001000
#define O_PATH 010000000
#define AT_REMOVEDIR 0x200
#define AT_EMPTY_PATH 0x1000
#define RENAME_EXCHANGE 2

/* The path argument of a call: its dirfd (AT_FDCWD for the calls without
 * one) and the ct_file_kind it records, in one argument. CT_AT_EMPTY: an
 * empty path means the dirfd's file itself (AT_EMPTY_PATH, utimensat's
 * NULL path). */
#define CT_AT_EMPTY (1u << 31)
#define AT(dfd, kind) (((__u64)(kind) << 32) | (__u32)(dfd))

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
		if (kind & CT_FILE_MKNOD) {
			v->node_mode = ts->node >> 32;
			v->node_dev = ts->node;
		}
	}
	v->last_ns = now;
}

/* A string that filled all CT_PATH_MAX bytes of its buffer was cut unless
 * it is exactly CT_PATH_MAX - 1 bytes long. */
static __always_inline bool longer(const char *upath)
{
	char c = 0;

	bpf_probe_read_user(&c, 1, upath + CT_PATH_MAX - 1);
	return c != 0;
}

/* A call on descriptor fd: the real path of its file. */
__noinline int file_fd(struct ct_task *ts, long fd, __u32 kind, long ret)
{
	if (!ts)
		return 0;
	struct ct_file_key *k = &ts->scratch.file;
	struct file *f = file_of_fd(fd);

	__builtin_memset(k, 0, sizeof(*k));
	if (!f) {
		/* no such descriptor: the call failed (EBADF) and touched no
		 * file; a call that worked on a file not found here is lost */
		if (ret >= 0)
			STAT_ADD(ts->slot, read_errors);
		return 0;
	}
	int flags = walk_file(ts, WALK_TO_FILE, f);
	if (flags < 0) {
		STAT_ADD(ts->slot, read_errors);
		return 0;
	}
	k->flags = flags | CT_PATH_REAL;
	file_commit(ts, kind | CT_FILE_BY_FD, ret);
	return 0;
}

/*
 * A path argument as given, relative to the dirfd in `at`; for link and
 * symlink, `target` is the other path. A relative path keeps what was
 * typed and records the directory it starts from.
 */
__noinline int file_at(struct ct_task *ts, __u64 at, __u64 upath_addr, __u64 target_addr,
		       long ret)
{
	if (!ts)
		return 0;
	const char *upath = (const char *)upath_addr;
	const char *target = (const char *)target_addr;
	struct ct_file_key *k = &ts->scratch.file;
	long dfd = (int)at;
	__u32 kind = at >> 32;

	__builtin_memset(k, 0, sizeof(*k));
	long n = bpf_probe_read_user_str(k->path, sizeof(k->path), upath);
	if (n <= 0) {
		unreadable(ts->slot, ret);
		return 0;
	}
	if (n == 1 && (kind & CT_AT_EMPTY)) {
		file_fd(ts, dfd, kind & ~(CT_AT_EMPTY | CT_FILE_BY_FD), ret);
		return 0;
	}
	kind &= ~CT_AT_EMPTY;
	if (target) {
		long t = bpf_probe_read_user_str(k->target, sizeof(k->target), target);
		if (t <= 0)
			unreadable(ts->slot, ret);
		else if (t == CT_PATH_MAX && longer(target))
			k->flags |= CT_PATH_TARGET_CUT;
	}
	if (n == CT_PATH_MAX && longer(upath)) {
		/* no real path beside it: what the call worked on is not known */
		k->flags |= CT_PATH_TYPED_CUT;
		STAT_ADD(ts->slot, paths_cut);
	}
	if (k->path[0] != '/') {
		bpf_probe_read_kernel(k->typed, sizeof(k->typed), k->path);
		int flags = walk_base(ts, dfd);
		if (flags < 0) {
			/* no such dirfd (the call failed EBADF): as given */
			bpf_probe_read_kernel(k->path, sizeof(k->path), k->typed);
			__builtin_memset(k->typed, 0, sizeof(k->typed));
		} else {
			k->flags |= flags | CT_PATH_BASE;
		}
	}
	file_commit(ts, kind, ret);
	return 0;
}

/* An open: a descriptor returned is the file, by its real path. */
__noinline int file_open(struct ct_task *ts, __u64 at, __u64 upath_addr, long ret)
{
	if (!ts)
		return 0;
	const char *upath = (const char *)upath_addr;
	struct ct_file_key *k = &ts->scratch.file;

	STAT_ADD(ts->slot, opens);
	if (ret < 0) {
		file_at(ts, at, upath_addr, 0, ret);
		return 0;
	}
	__builtin_memset(k, 0, sizeof(*k));
	long n = bpf_probe_read_user_str(k->typed, sizeof(k->typed), upath);
	if (n <= 0) {
		unreadable(ts->slot, ret);
		return 0;
	}
	if (n == CT_PATH_MAX && longer(upath))
		k->flags |= CT_PATH_TYPED_CUT;
	int flags = walk_file(ts, WALK_TO_FILE, file_of_fd(ret));
	if (flags < 0) {
		/* the descriptor is gone already (another thread closed it):
		 * as given */
		file_at(ts, at, upath_addr, 0, ret);
		return 0;
	}
	k->flags |= flags | CT_PATH_REAL;
	file_commit(ts, at >> 32, ret);
	return 0;
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
	file_open(ts, AT(AT_FDCWD, open_kinds(a1)), a0, ret);
}

DECODER(decode_creat)
{
	file_open(ts, AT(AT_FDCWD, CT_FILE_WRITE | CT_FILE_CREATE), a0, ret);
}

DECODER(decode_openat)
{
	file_open(ts, AT(a0, open_kinds(a2)), a1, ret);
}

DECODER(decode_openat2)
{
	__u64 flags = 0; /* struct open_how starts with flags */
	if (bpf_probe_read_user(&flags, sizeof(flags), (const void *)a2))
		unreadable(ts->slot, ret);
	file_open(ts, AT(a0, open_kinds(flags)), a1, ret);
}

/* unlink, rmdir */
DECODER(decode_unlink)
{
	file_at(ts, AT(AT_FDCWD, CT_FILE_DELETE), a0, 0, ret);
}

DECODER(decode_unlinkat)
{
	file_at(ts, AT(a0, CT_FILE_DELETE), a1, 0, ret);
}

DECODER(decode_rename)
{
	file_at(ts, AT(AT_FDCWD, CT_FILE_RENAME_FROM), a0, 0, ret);
	file_at(ts, AT(AT_FDCWD, CT_FILE_RENAME_TO), a1, 0, ret);
}

/* renameat, renameat2: RENAME_EXCHANGE moves each to the other */
DECODER(decode_renameat)
{
	__u32 both = nr == NR_renameat2 && (a4 & RENAME_EXCHANGE)
			     ? CT_FILE_RENAME_FROM | CT_FILE_RENAME_TO
			     : 0;

	file_at(ts, AT(a0, CT_FILE_RENAME_FROM | both), a1, 0, ret);
	file_at(ts, AT(a2, CT_FILE_RENAME_TO | both), a3, 0, ret);
}

DECODER(decode_chmod)
{
	file_at(ts, AT(AT_FDCWD, CT_FILE_CHMOD), a0, 0, ret);
}

/* fchmodat, fchmodat2 (whose flags may say AT_EMPTY_PATH) */
DECODER(decode_fchmodat)
{
	__u32 empty = nr == NR_fchmodat2 && (a3 & AT_EMPTY_PATH) ? CT_AT_EMPTY : 0;

	file_at(ts, AT(a0, CT_FILE_CHMOD | empty), a1, 0, ret);
}

DECODER(decode_fchmod)
{
	file_fd(ts, a0, CT_FILE_CHMOD, ret);
}

/* chown, lchown */
DECODER(decode_chown)
{
	file_at(ts, AT(AT_FDCWD, CT_FILE_CHOWN), a0, 0, ret);
}

DECODER(decode_fchownat)
{
	__u32 empty = a4 & AT_EMPTY_PATH ? CT_AT_EMPTY : 0;

	file_at(ts, AT(a0, CT_FILE_CHOWN | empty), a1, 0, ret);
}

DECODER(decode_fchown)
{
	file_fd(ts, a0, CT_FILE_CHOWN, ret);
}

DECODER(decode_mkdir)
{
	file_at(ts, AT(AT_FDCWD, CT_FILE_MKDIR), a0, 0, ret);
}

DECODER(decode_mkdirat)
{
	file_at(ts, AT(a0, CT_FILE_MKDIR), a1, 0, ret);
}

DECODER(decode_mknod)
{
	ts->node = a1 << 32 | (__u32)a2;
	file_at(ts, AT(AT_FDCWD, CT_FILE_MKNOD), a0, 0, ret);
}

DECODER(decode_mknodat)
{
	ts->node = a2 << 32 | (__u32)a3;
	file_at(ts, AT(a0, CT_FILE_MKNOD), a1, 0, ret);
}

DECODER(decode_link)
{
	file_at(ts, AT(AT_FDCWD, CT_FILE_LINKED), a0, 0, ret);
	file_at(ts, AT(AT_FDCWD, CT_FILE_LINK), a1, a0, ret);
}

DECODER(decode_linkat)
{
	__u32 empty = a4 & AT_EMPTY_PATH ? CT_AT_EMPTY : 0;

	file_at(ts, AT(a0, CT_FILE_LINKED | empty), a1, 0, ret);
	file_at(ts, AT(a2, CT_FILE_LINK), a3, a1, ret);
}

DECODER(decode_symlink)
{
	file_at(ts, AT(AT_FDCWD, CT_FILE_SYMLINK), a1, a0, ret);
}

DECODER(decode_symlinkat)
{
	file_at(ts, AT(a1, CT_FILE_SYMLINK), a2, a0, ret);
}

DECODER(decode_truncate)
{
	file_at(ts, AT(AT_FDCWD, CT_FILE_TRUNCATE), a0, 0, ret);
}

DECODER(decode_ftruncate)
{
	file_fd(ts, a0, CT_FILE_TRUNCATE, ret);
}

/* setxattr, lsetxattr */
DECODER(decode_setxattr)
{
	file_at(ts, AT(AT_FDCWD, CT_FILE_SETXATTR), a0, 0, ret);
}

DECODER(decode_fsetxattr)
{
	file_fd(ts, a0, CT_FILE_SETXATTR, ret);
}

/* removexattr, lremovexattr */
DECODER(decode_removexattr)
{
	file_at(ts, AT(AT_FDCWD, CT_FILE_REMOVEXATTR), a0, 0, ret);
}

DECODER(decode_fremovexattr)
{
	file_fd(ts, a0, CT_FILE_REMOVEXATTR, ret);
}

/* setxattrat, removexattrat (Linux 6.13): dfd, path, at_flags, ... */
DECODER(decode_xattrat)
{
	__u32 kind = nr == NR_setxattrat ? CT_FILE_SETXATTR : CT_FILE_REMOVEXATTR;
	__u32 empty = a2 & AT_EMPTY_PATH ? CT_AT_EMPTY : 0;

	file_at(ts, AT(a0, kind | empty), a1, 0, ret);
}

/* utime, utimes */
DECODER(decode_utime)
{
	file_at(ts, AT(AT_FDCWD, CT_FILE_TIMES), a0, 0, ret);
}

DECODER(decode_futimesat)
{
	file_at(ts, AT(a0, CT_FILE_TIMES), a1, 0, ret);
}

/* utimensat: a NULL path is the dirfd's own file (futimens) */
DECODER(decode_utimensat)
{
	__u32 empty = a3 & AT_EMPTY_PATH ? CT_AT_EMPTY : 0;

	if (!a1) {
		file_fd(ts, a0, CT_FILE_TIMES, ret);
		return;
	}
	file_at(ts, AT(a0, CT_FILE_TIMES | empty), a1, 0, ret);
}

#endif /* CTRAUDIT_FILES_H */
