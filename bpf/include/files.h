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

/* Record ts->scratch.file (key, and val.typed, val.target, val.flags as
 * the caller filled them). */
static __noinline void file_commit(struct ct_task *ts, __u32 kind, long ret)
{
	struct ct_file_scratch *s = &ts->scratch.file;
	__u32 slot = ts->slot;
	__u64 now = bpf_ktime_get_boot_ns();

	void *files = inner_of(&files_of, slot);
	if (!files)
		return;
	/* a new entry starts from s->val: its counts are zeroed here, its
	 * typed and target are the caller's */
	s->val.count = 0;
	s->val.failed = 0;
	s->val.first_ns = now;
	s->val.last_ns = now;
	s->val.kinds = 0;
	s->val.failed_kinds = 0;
	s->val.last_errno = 0;
	s->val.node_mode = 0;
	s->val.node_dev = 0;
	struct ct_file_val *v = upsert(slot, files, &s->key, &s->val, SET_FILES);
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
	/* an entry made by a call that passed the path itself learns the
	 * first other form, or link target, a later call passes */
	if (s->val.typed[0] && !v->typed[0]) {
		bpf_probe_read_kernel(v->typed, sizeof(v->typed), s->val.typed);
		__sync_fetch_and_or(&v->flags, s->val.flags & CT_PATH_TYPED_CUT);
	}
	if (s->val.target[0] && !v->target[0]) {
		bpf_probe_read_kernel(v->target, sizeof(v->target), s->val.target);
		__sync_fetch_and_or(&v->flags, s->val.flags & CT_PATH_TARGET_CUT);
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

/* Starts a file event: an empty key, no typed form, no target. */
static __always_inline struct ct_file_scratch *file_begin(struct ct_task *ts)
{
	struct ct_file_scratch *s = &ts->scratch.file;

	__builtin_memset(&s->key, 0, sizeof(s->key));
	s->val.typed[0] = 0;
	s->val.target[0] = 0;
	s->val.flags = 0;
	return s;
}

/* Do the first `n` bytes (a string and its NUL) of val.typed equal the
 * key's path? 8 bytes at a time. */
static __always_inline bool typed_is_path(struct ct_file_scratch *s, long n)
{
#pragma clang loop unroll(disable)
	for (int i = 0; i < CT_PATH_MAX / 8; i++) {
		long at = i * 8;
		if (at >= n)
			return true;
		__u64 a = *(__u64 *)&s->val.typed[at];
		__u64 b = *(__u64 *)&s->key.path[at];
		long left = n - at;
		if (left < 8) {
			__u64 mask = (1ULL << (left * 8)) - 1;
			a &= mask;
			b &= mask;
		}
		if (a != b)
			return false;
	}
	return true;
}

/* A call on descriptor fd: the real path of its file. */
__noinline int file_fd(struct ct_task *ts, long fd, __u32 kind, long ret)
{
	if (!ts)
		return 0;
	struct ct_file_scratch *s = file_begin(ts);
	struct file *f = file_of_fd(fd);

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
	s->key.flags = flags | CT_PATH_REAL;
	file_commit(ts, kind | CT_FILE_BY_FD, ret);
	return 0;
}

/*
 * A path argument as given, relative to the dirfd in `at`; for link and
 * symlink, `target` is the other path. A relative path is joined to the
 * directory it starts from, and kept as typed beside it.
 */
__noinline int file_at(struct ct_task *ts, __u64 at, __u64 upath_addr, __u64 target_addr,
		       long ret)
{
	if (!ts)
		return 0;
	const char *upath = (const char *)upath_addr;
	const char *target = (const char *)target_addr;
	struct ct_file_scratch *s = file_begin(ts);
	long dfd = (int)at;
	__u32 kind = at >> 32;

	long n = bpf_probe_read_user_str(s->key.path, sizeof(s->key.path), upath);
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
		long t = bpf_probe_read_user_str(s->val.target, sizeof(s->val.target),
						 target);
		if (t <= 0) {
			s->val.target[0] = 0;
			unreadable(ts->slot, ret);
		} else if (t == CT_PATH_MAX && longer(target)) {
			s->val.flags |= CT_PATH_TARGET_CUT;
		}
	}
	bool cut = n == CT_PATH_MAX && longer(upath);
	if (s->key.path[0] != '/') {
		/* relative: typed as given, the key the joined path */
		bpf_probe_read_kernel(s->val.typed, sizeof(s->val.typed), s->key.path);
		if (cut)
			s->val.flags |= CT_PATH_TYPED_CUT;
		int flags = walk_base(ts, dfd, n - 1);
		if (flags < 0) {
			/* no such dirfd (the call failed EBADF): as given */
			bpf_probe_read_kernel(s->key.path, sizeof(s->key.path),
					      s->val.typed);
			s->val.typed[0] = 0;
		} else {
			s->key.flags = flags | CT_PATH_BASE;
		}
	}
	if (cut) {
		/* no real path beside it: what the call worked on is not known */
		s->key.flags |= CT_PATH_TYPED_CUT;
		STAT_ADD(ts->slot, paths_cut);
	}
	file_commit(ts, kind, ret);
	return 0;
}

/* Per byte of w: 0x80 where the byte is 0, else 0 (exact, no borrow). */
static __always_inline __u64 zero_bytes(__u64 w)
{
	const __u64 low7 = 0x7f7f7f7f7f7f7f7fULL;

	return ~(((w & low7) + low7) | w | low7);
}

#define ONES 0x0101010101010101ULL

/* One word of plain_open()'s scan: a '/' followed by '.' or '/', within
 * the word or across from the last, makes the path not plain. */
static long scan_word(__u64 i, void *arg)
{
	struct ct_task *ts = ((struct walk_ctx *)arg)->ts;
	struct ct_walk *w = &ts->walk;
	__u32 at = i * 8;
	__u32 len = w->scan_len;

	if (at >= len || at >= CT_PATH_MAX - 8)
		return 1;
	__u64 word = *(__u64 *)&ts->scratch.file.key.path[at];
	__u32 left = len - at;
	__u64 valid = left >= 8 ? ~0ULL : (1ULL << ((left & 7) * 8)) - 1;
	__u64 slash = zero_bytes(word ^ (ONES * '/')) & valid;
	__u64 dot = zero_bytes(word ^ (ONES * '.')) & valid;
	if (((slash << 8) & (slash | dot)) || (w->scan_carry && ((slash | dot) & 0x80))) {
		w->scan_bad = 1;
		return 1;
	}
	w->scan_carry = slash >> 63;
	return 0;
}

/* The struct dentry of kernels before 6.14, whose inline name was d_iname */
struct dentry___iname {
	unsigned char d_iname[32];
} __attribute__((preserve_access_index));

/* A name held in the dentry itself (all but long ones): this many bytes of
 * it are compared, on every kernel (6.14 made the array 40 long) */
#define INLINE_NAME 32
/* What plain_open() reads of a dentry, from d_name on: the qstr, and the
 * inline name at most 32 bytes after it */
#define DENTRY_CHUNK 72

/*
 * The open's path as typed (key.path, n bytes with its NUL) is the file's
 * path, without a walk, when it is plain: absolute, not below /proc (whose
 * magic links lead anywhere), no "/." (".", "..", and dot files, which
 * take the walk) and no "//" anywhere, and it ends in "/" and the file's
 * own name (a symlink at the end, /dev/fd/N, /proc/self/exe all differ).
 * With no "//", that '/' starts the last component, so the last component
 * is the name. The scan is 8 bytes per bpf_loop() step, its state in task
 * storage as the walk's is; the name is one read of the dentry (a name
 * longer than 31 bytes takes the walk), compared a word at a time with the
 * path's tail in place. The cost of an open through a path like nginx's
 * is this, not a walk of every component (docs/design.md, "Paths").
 */
static __always_inline bool plain_open(struct ct_task *ts, struct file *f, long n)
{
	struct ct_file_scratch *s = &ts->scratch.file;
	struct ct_walk *w = &ts->walk;
	struct walk_ctx c = { .ts = ts };

	if (n <= 2 || n >= CT_PATH_MAX || s->key.path[0] != '/')
		return false;
	/* "/proc/" as one little-endian word, masked to 6 bytes */
	if ((*(__u64 *)s->key.path & 0xffffffffffffULL) == 0x2f636f72702fULL)
		return false;
	w->scan_len = n - 1; /* without the NUL */
	w->scan_carry = 0;
	w->scan_bad = 0;
	bpf_loop(CT_PATH_MAX / 8, scan_word, &c, 0);
	if (w->scan_bad)
		return false;

	struct dentry *d = BPF_CORE_READ(f, f_path.dentry);
	__u32 name_off = bpf_core_field_offset(struct dentry, d_name);
	__u32 inline_off =
		bpf_core_field_exists(struct dentry, d_shortname)
			? bpf_core_field_offset(struct dentry, d_shortname)
			: bpf_core_field_offset(struct dentry___iname, d_iname);
	__u32 skip = inline_off - name_off;
	if (!d || skip > DENTRY_CHUNK - INLINE_NAME)
		return false;
	/* the walk's buffer is free until a walk: the chunk goes there */
	if (bpf_probe_read_kernel(w->buf, DENTRY_CHUNK, (char *)d + name_off))
		return false;
	struct qstr *q = (struct qstr *)w->buf;
	__u32 len = q->len;
	if ((__u64)q->name != (__u64)d + inline_off || len == 0 || len >= INLINE_NAME)
		return false;
	/* the tail: the last len bytes before the NUL, after a '/' */
	__u32 tail = n - 1 - len;
	if (tail < 1 || tail >= CT_PATH_MAX ||
	    s->key.path[(tail - 1) & (CT_PATH_MAX - 1)] != '/')
		return false;
	const char *name = &w->buf[skip]; /* skip is known: a CO-RE constant */
#pragma clang loop unroll(full)
	for (int i = 0; i < INLINE_NAME / 8; i++) {
		__u32 at = i * 8;
		if (at >= len)
			break;
		__u64 a = *(__u64 *)&s->key.path[(tail + at) & (CT_PATH_MAX - 1)];
		__u64 b = *(__u64 *)&name[at];
		__u32 left = len - at;
		__u64 mask = left >= 8 ? ~0ULL : (1ULL << ((left & 7) * 8)) - 1;
		if ((a ^ b) & mask)
			return false;
	}
	return true;
}

/* An open: a descriptor returned is the file, by its real path. */
__noinline int file_open(struct ct_task *ts, __u64 at, __u64 upath_addr, long ret)
{
	if (!ts)
		return 0;
	const char *upath = (const char *)upath_addr;

	STAT_ADD(ts->slot, opens);
	if (ret < 0) {
		file_at(ts, at, upath_addr, 0, ret);
		return 0;
	}
	struct ct_file_scratch *s = file_begin(ts);
	/* into the key: a plain path is its own key */
	long n = bpf_probe_read_user_str(s->key.path, sizeof(s->key.path), upath);
	if (n <= 0) {
		unreadable(ts->slot, ret);
		return 0;
	}
	struct file *f = file_of_fd(ret);
	if (f && plain_open(ts, f, n)) {
		s->key.flags = CT_PATH_CHECKED;
		file_commit(ts, at >> 32, ret);
		return 0;
	}
	/* the walk writes the key, which must be zero past what it writes:
	 * what was typed moves beside it */
	bpf_probe_read_kernel(s->val.typed, sizeof(s->val.typed), s->key.path);
	__builtin_memset(s->key.path, 0, sizeof(s->key.path));
	if (n == CT_PATH_MAX && longer(upath))
		s->val.flags |= CT_PATH_TYPED_CUT;
	int flags = walk_file(ts, WALK_TO_FILE, f);
	if (flags < 0) {
		/* the descriptor is gone already (another thread closed it):
		 * as given */
		file_at(ts, at, upath_addr, 0, ret);
		return 0;
	}
	s->key.flags = flags | CT_PATH_REAL;
	if (typed_is_path(s, n))
		s->val.typed[0] = 0;
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
