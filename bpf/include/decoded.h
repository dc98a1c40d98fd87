/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The syscalls decode() records, each with its decoder, in one list.
 * is_decoded() (at sys_enter: is this call worth remembering?) and decode()
 * (at sys_exit: record it) are both built from it, so they cannot disagree:
 * a call one knew and the other did not would be lost without a count.
 */
#ifndef CTRAUDIT_DECODED_H
#define CTRAUDIT_DECODED_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "events.h"
#include "syscalls_x86_64.h"

/*
 * A decoder's signature: the task, the syscall number (a decoder may serve
 * more than one), the six x86_64 syscall arguments (di, si, dx, r10, r8,
 * r9) and the return value. Always inlined: each is the body of one case
 * of decode()'s switch, where the verifier sees it.
 */
#define DECODER(name)                                                                    \
	static __always_inline void name(struct ct_task *ts, __u32 nr, __u64 a0,         \
					 __u64 a1, __u64 a2, __u64 a3, __u64 a4,         \
					 __u64 a5, long ret)

/*
 * X(syscall, decoder): `decoder` records `syscall`. ALSO(syscall): the next
 * X's decoder records `syscall` too (one case label more in decode()).
 * The decoders are in files.h, network.h, privileged.h and processes.h.
 */
#define CT_DECODED(X, ALSO)                                                              \
	X(open, decode_open)                                                             \
	X(creat, decode_creat)                                                           \
	X(openat, decode_openat)                                                         \
	X(openat2, decode_openat2)                                                       \
	ALSO(rmdir)                                                                      \
	X(unlink, decode_unlink)                                                         \
	X(unlinkat, decode_unlinkat)                                                     \
	X(rename, decode_rename)                                                         \
	ALSO(renameat2)                                                                  \
	X(renameat, decode_renameat)                                                     \
	X(chmod, decode_chmod)                                                           \
	ALSO(fchmodat2)                                                                  \
	X(fchmodat, decode_fchmodat)                                                     \
	X(fchmod, decode_fchmod)                                                         \
	ALSO(lchown)                                                                     \
	X(chown, decode_chown)                                                           \
	X(fchownat, decode_fchownat)                                                     \
	X(fchown, decode_fchown)                                                         \
	X(mkdir, decode_mkdir)                                                           \
	X(mkdirat, decode_mkdirat)                                                       \
	X(mknod, decode_mknod)                                                           \
	X(mknodat, decode_mknodat)                                                       \
	X(link, decode_link)                                                             \
	X(linkat, decode_linkat)                                                         \
	X(symlink, decode_symlink)                                                       \
	X(symlinkat, decode_symlinkat)                                                   \
	X(truncate, decode_truncate)                                                     \
	X(ftruncate, decode_ftruncate)                                                   \
	ALSO(lsetxattr)                                                                  \
	X(setxattr, decode_setxattr)                                                     \
	X(fsetxattr, decode_fsetxattr)                                                   \
	ALSO(lremovexattr)                                                               \
	X(removexattr, decode_removexattr)                                               \
	X(fremovexattr, decode_fremovexattr)                                             \
	ALSO(removexattrat)                                                              \
	X(setxattrat, decode_xattrat)                                                    \
	ALSO(utimes)                                                                     \
	X(utime, decode_utime)                                                           \
	X(futimesat, decode_futimesat)                                                   \
	X(utimensat, decode_utimensat)                                                   \
	X(connect, decode_connect)                                                       \
	X(bind, decode_bind)                                                             \
	X(listen, decode_listen)                                                         \
	ALSO(accept4)                                                                    \
	X(accept, decode_accept)                                                         \
	X(sendto, decode_sendto)                                                         \
	X(sendmsg, decode_sendmsg)                                                       \
	X(sendmmsg, decode_sendmmsg)                                                     \
	ALSO(setgid)                                                                     \
	ALSO(setreuid)                                                                   \
	ALSO(setregid)                                                                   \
	ALSO(setresuid)                                                                  \
	ALSO(setresgid)                                                                  \
	X(setuid, decode_setid)                                                          \
	X(capset, decode_capset)                                                         \
	X(ptrace, decode_ptrace)                                                         \
	X(mount, decode_mount)                                                           \
	ALSO(chroot)                                                                     \
	X(umount2, decode_umount2_chroot)                                                \
	X(pivot_root, decode_pivot_root)                                                 \
	X(init_module, decode_init_module)                                               \
	X(finit_module, decode_finit_module)                                             \
	ALSO(unshare)                                                                    \
	X(bpf, decode_bpf_unshare)                                                       \
	X(setns, decode_setns)                                                           \
	X(memfd_create, decode_memfd_create)                                             \
	X(io_uring_setup, decode_io_uring_setup)                                         \
	X(open_tree, decode_open_tree)                                                   \
	X(move_mount, decode_move_mount)                                                 \
	X(fsopen, decode_fsopen)                                                         \
	X(fsmount, decode_fsmount)                                                       \
	X(open_by_handle_at, decode_open_by_handle_at)                                   \
	ALSO(clone3)                                                                     \
	X(clone, decode_clone)                                                           \
	ALSO(execve)                                                                     \
	X(execveat, decode_exec)

#endif /* CTRAUDIT_DECODED_H */
