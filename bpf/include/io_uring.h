/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * io_uring: what an audited task submits through a ring, which no syscall
 * tracepoint sees. io_uring:io_uring_submit_req fires once per request the
 * kernel accepted (after its prep, so the op's paths and addresses have been
 * copied into the request), in the submitting task: the caller of
 * io_uring_enter, or the ring's SQPOLL thread (a thread of that process).
 * Each submission is counted per opcode; the file ops add their paths to
 * `files`, and connect and send with an address their endpoint to
 * `network`, all flagged as io_uring's. The result is not known at
 * submission: entries say what was asked for.
 */
#ifndef CTRAUDIT_IO_URING_H
#define CTRAUDIT_IO_URING_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "events.h"
#include "maps.h"
#include "slots.h"
#include "files.h"
#include "network.h"
#include "privileged.h"

#define CT_REQ_F_FIXED_FILE 1ULL /* cqe.fd is an index into the ring's files */

/* One path of an io_uring file op into `files`. The one call site of the
 * files set here: file_commit() with ts->scratch.file filled. */
static __noinline void uring_file(struct ct_task *ts, struct filename *fn, __u32 kind)
{
	struct ct_file_scratch *s = file_begin(ts);
	const char *name = BPF_CORE_READ(fn, name);

	if (!name ||
	    bpf_probe_read_kernel_str(s->key.path, sizeof(s->key.path), name) <= 0) {
		STAT_ADD(ts->slot, read_errors);
		return;
	}
	file_commit(ts, kind | CT_FILE_IO_URING, 0);
}

/* connect and the sends: the kernel copied the address into the request's
 * io_async_msghdr at prep. */
static __noinline void uring_net(struct ct_task *ts, struct io_kiocb *req, __u16 op)
{
	struct io_async_msghdr *am = BPF_CORE_READ(req, async_data);
	const void *addr;
	long len;
	bool user = false;

	if (op != CT_NET_CONNECT && !am) {
		STAT_ADD(ts->slot, read_errors);
		return;
	}
	if (op == CT_NET_CONNECT) {
		/* the caller's sockaddr: prep copied it, but kept the pointer,
		 * and this runs in the submitting task */
		struct io_connect *c = (struct io_connect *)req;
		addr = BPF_CORE_READ(c, addr);
		len = BPF_CORE_READ(c, addr_len);
		user = true;
	} else {
		addr = BPF_CORE_READ(am, msg.msg_name);
		len = BPF_CORE_READ(am, msg.msg_namelen);
		if (!addr || len <= 0)
			return; /* a send on a connected socket */
	}
	long fd = -1;
	if (!(BPF_CORE_READ(req, flags) & CT_REQ_F_FIXED_FILE))
		fd = BPF_CORE_READ(req, cqe.fd);
	net_addr(ts, op, fd, addr, len, 0, !user, CT_NET_IO_URING);
}

static __always_inline void uring_submit(struct ct_task *ts, struct io_kiocb *req)
{
	__u8 opcode = BPF_CORE_READ(req, opcode);
	struct ct_priv_key *p = priv_begin(ts, CT_PRIV_IO_URING);

	p->args[0] = opcode;
	priv_commit(ts, 0);

	/* the op data sits at the start of the request (io_kiocb_to_cmd) */
	switch (opcode) {
	case IORING_OP_OPENAT:
	case IORING_OP_OPENAT2: {
		struct io_open *o = (struct io_open *)req;
		uring_file(ts, BPF_CORE_READ(o, filename),
			   open_kinds(BPF_CORE_READ(o, how.flags)));
		break;
	}
	case IORING_OP_UNLINKAT:
		uring_file(ts, BPF_CORE_READ((struct io_unlink *)req, filename),
			   CT_FILE_DELETE);
		break;
	case IORING_OP_RENAMEAT: {
		struct io_rename *r = (struct io_rename *)req;
		uring_file(ts, BPF_CORE_READ(r, oldpath), CT_FILE_RENAME_FROM);
		uring_file(ts, BPF_CORE_READ(r, newpath), CT_FILE_RENAME_TO);
		break;
	}
	case IORING_OP_MKDIRAT:
		uring_file(ts, BPF_CORE_READ((struct io_mkdir *)req, filename),
			   CT_FILE_CREATE);
		break;
	case IORING_OP_SYMLINKAT:
	case IORING_OP_LINKAT: {
		/* symlinkat: oldpath is the target text; linkat: the file linked */
		struct io_link *l = (struct io_link *)req;
		uring_file(ts, BPF_CORE_READ(l, oldpath), 0);
		uring_file(ts, BPF_CORE_READ(l, newpath), CT_FILE_CREATE);
		break;
	}
	case IORING_OP_CONNECT:
		uring_net(ts, req, CT_NET_CONNECT);
		break;
	case IORING_OP_SEND:
	case IORING_OP_SENDMSG:
	case IORING_OP_SEND_ZC:
	case IORING_OP_SENDMSG_ZC:
		uring_net(ts, req, CT_NET_SEND);
		break;
	}
}

#endif /* CTRAUDIT_IO_URING_H */
