/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Network: the endpoints of connect and bind, and the destinations of
 * sendto, sendmsg and sendmmsg, read from the caller's sockaddr, and of
 * listen and accept, read from the kernel socket.
 */
#ifndef CTRAUDIT_NETWORK_H
#define CTRAUDIT_NETWORK_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "events.h"
#include "maps.h"
#include "slots.h"
#include "files.h"
#include "decoded.h"

#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define EINPROGRESS 115

static __always_inline struct socket *socket_of_fd(long fd)
{
	struct file *f = file_of_fd(fd);

	if (!f)
		return NULL;
	umode_t mode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((mode & S_IFMT) != S_IFSOCK)
		return NULL;
	return BPF_CORE_READ(f, private_data);
}

static __noinline void net_commit(struct ct_task *ts, long ret)
{
	__u32 slot = ts->slot;
	__u64 now = bpf_ktime_get_boot_ns();
	struct ct_event_val init = { .first_ns = now };
	struct ct_net_key *k = &ts->scratch.net;

	if (k->op == CT_NET_CONNECT)
		STAT_ADD(slot, connects);
	void *net = inner_of(&net_of, slot);
	if (!net)
		return;
	struct ct_event_val *v = upsert(slot, net, k, &init, SET_NET);
	if (!v)
		return;
	/* a non-blocking connect in progress is not a failure */
	event_hit(v, ret, now, ret >= 0 || ret == -EINPROGRESS);
}

/* One read of the address, from the caller's memory or (io_uring, which
 * copied it at submission) from the kernel's: `kernel` is a constant at
 * every call site, so each inlined copy keeps one helper. */
static __always_inline long addr_read(void *dst, __u32 n, const void *src, bool kernel)
{
	return kernel ? bpf_probe_read_kernel(dst, n, src)
		      : bpf_probe_read_user(dst, n, src);
}

static __always_inline long addr_read_str(void *dst, __u32 n, const void *src,
					  bool kernel)
{
	return kernel ? bpf_probe_read_kernel_str(dst, n, src)
		      : bpf_probe_read_user_str(dst, n, src);
}

/* connect, bind, send: the endpoint is a sockaddr of `addrlen` bytes. */
static __always_inline void net_addr(struct ct_task *ts, __u16 op, long fd,
				     const void *uaddr, long addrlen, long ret,
				     bool kernel, __u32 flags)
{
	struct ct_net_key *k = &ts->scratch.net;
	__u16 family = 0;

	__builtin_memset(k, 0, sizeof(*k));
	if (addr_read(&family, sizeof(family), uaddr, kernel)) {
		unreadable(ts->slot, ret);
		return;
	}
	if (family == AF_INET) {
		struct sockaddr_in sin = {};
		if (addr_read(&sin, sizeof(sin), uaddr, kernel))
			goto fault;
		k->port = bpf_ntohs(sin.sin_port);
		__builtin_memcpy(k->addr, &sin.sin_addr, 4);
	} else if (family == AF_INET6) {
		/* the kernel accepts the 24-byte RFC 2133 size: family, port,
		 * flowinfo and address are all in it; scope_id is not needed */
		struct sockaddr_in6 sin6 = {};
		if (addr_read(&sin6, 24, uaddr, kernel))
			goto fault;
		k->port = bpf_ntohs(sin6.sin6_port);
		__builtin_memcpy(k->addr, &sin6.sin6_addr, 16);
	} else if (family == AF_UNIX) {
		const char *upath = (const char *)uaddr + 2; /* after sun_family */
		char first = 0;
		addr_read(&first, 1, upath, kernel);
		if (first) {
			/* a path: the kernel uses it up to the NUL (unix_mkname_bsd) */
			long n = addr_read_str(k->unix_path, sizeof(k->unix_path), upath,
					       kernel);
			if (n <= 0)
				goto fault;
			k->unix_len = n - 1;
		} else {
			/* abstract: every byte of addrlen counts */
			long len = addrlen - 2;
			if (len > CT_UNIX_PATH_MAX)
				len = CT_UNIX_PATH_MAX;
			if (len < 0)
				len = 0;
			if (addr_read(k->unix_path, len & 0x7f, upath, kernel))
				goto fault;
			k->unix_len = len;
		}
	} else {
		return; /* netlink, packet, ...: not audited here */
	}
	k->family = family;
	k->op = op;
	k->flags = flags;
	struct socket *sock = socket_of_fd(fd);
	if (sock)
		k->sock_type = BPF_CORE_READ(sock, type);
	net_commit(ts, ret);
	return;
fault:
	unreadable(ts->slot, ret);
}

static __always_inline void net_user(struct ct_task *ts, __u16 op, long fd,
				     const void *uaddr, long addrlen, long ret)
{
	net_addr(ts, op, fd, uaddr, addrlen, ret, false, 0);
}

/* listen, accept: the address comes from the kernel socket. For listen it
 * is the local address; for accept, the peer's address and the local port. */
static __noinline void net_sock(struct ct_task *ts, __u16 op, long fd, long ret)
{
	struct ct_net_key *k = &ts->scratch.net;
	struct socket *sock = socket_of_fd(fd);

	__builtin_memset(k, 0, sizeof(*k));
	/* not a socket: the call failed (ENOTSOCK, EBADF) and there is no
	 * endpoint; a call that worked on a socket not found here is lost */
	struct sock *sk = sock ? BPF_CORE_READ(sock, sk) : NULL;
	if (!sk) {
		if (ret >= 0)
			STAT_ADD(ts->slot, read_errors);
		return;
	}
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	bool peer = op == CT_NET_ACCEPT;

	if (family == AF_INET) {
		__be32 a = peer ? BPF_CORE_READ(sk, __sk_common.skc_daddr)
				: BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__builtin_memcpy(k->addr, &a, 4);
		k->port = BPF_CORE_READ(sk, __sk_common.skc_num);
	} else if (family == AF_INET6) {
		if (peer)
			BPF_CORE_READ_INTO(&k->addr, sk, __sk_common.skc_v6_daddr);
		else
			BPF_CORE_READ_INTO(&k->addr, sk, __sk_common.skc_v6_rcv_saddr);
		k->port = BPF_CORE_READ(sk, __sk_common.skc_num);
	} else if (family == AF_UNIX) {
		struct unix_address *ua = BPF_CORE_READ((struct unix_sock *)sk, addr);
		if (ua) {
			int len = BPF_CORE_READ(ua, len) - 2;
			if (len > CT_UNIX_PATH_MAX)
				len = CT_UNIX_PATH_MAX;
			if (len < 0)
				len = 0;
			bpf_probe_read_kernel(k->unix_path, len & 0x7f,
					      &ua->name[0].sun_path);
			/* same key as net_user: a path ends at its NUL */
			if (k->unix_path[0]) {
				len = 0;
				for (int i = 0; i < CT_UNIX_PATH_MAX; i++) {
					if (!k->unix_path[i])
						break;
					len++;
				}
			}
			k->unix_len = len;
		}
	} else {
		return;
	}
	k->family = family;
	k->op = op;
	k->sock_type = BPF_CORE_READ(sock, type);
	net_commit(ts, ret);
}

/* ---- decoders ------------------------------------------------------------ */

DECODER(decode_connect)
{
	net_user(ts, CT_NET_CONNECT, a0, (const void *)a1, a2, ret);
}

DECODER(decode_bind)
{
	net_user(ts, CT_NET_BIND, a0, (const void *)a1, a2, ret);
}

DECODER(decode_listen)
{
	net_sock(ts, CT_NET_LISTEN, a0, ret);
}

/* accept, accept4 */
DECODER(decode_accept)
{
	/* on success the new socket knows both ends; on failure only
	 * the listening socket is there to name the service */
	net_sock(ts, CT_NET_ACCEPT, ret >= 0 ? ret : (long)a0, ret);
}

/* The prefix of struct user_msghdr that names the destination. */
struct ct_msg_name {
	__u64 name;
	__u32 namelen;
};

/* sendto(fd, buf, len, flags, dest_addr, addrlen): the common call on a
 * connected socket has no address and leaves here before any read. */
DECODER(decode_sendto)
{
	if (!a4)
		return;
	long addrlen = (int)a5;
	if (addrlen <= 0)
		return; /* the kernel uses no address of length 0 */
	net_user(ts, CT_NET_SEND, a0, (const void *)a4, addrlen, ret);
}

/* sendmsg(fd, msg, flags): the destination is msg->msg_name. */
DECODER(decode_sendmsg)
{
	struct ct_msg_name h = {};

	if (bpf_probe_read_user(&h, 12, (const void *)a1)) {
		unreadable(ts->slot, ret);
		return;
	}
	if (!h.name || !h.namelen)
		return;
	net_user(ts, CT_NET_SEND, a0, (const void *)h.name, (int)h.namelen, ret);
}

struct ct_mmsg {
	__u64 vec; /* struct mmsghdr *, 64 bytes each on x86_64 */
	long fd;
	long ret; /* what each message's entry is charged: 0, or the error */
};

#define CT_MMSGHDR_SIZE 64
#define CT_UIO_MAXIOV 1024 /* the kernel sends at most this many */

static long send_one(__u64 i, void *ctx)
{
	struct ct_mmsg *m = ctx;
	struct ct_task *ts =
		bpf_task_storage_get(&task_state, bpf_get_current_task_btf(), 0, 0);
	struct ct_msg_name h = {};

	if (!ts)
		return 1;
	if (bpf_probe_read_user(&h, 12, (const void *)(m->vec + i * CT_MMSGHDR_SIZE))) {
		unreadable(ts->slot, m->ret);
		return 0;
	}
	if (h.name && h.namelen)
		net_user(ts, CT_NET_SEND, m->fd, (const void *)h.name, (int)h.namelen,
			 m->ret);
	return 0;
}

/* sendmmsg(fd, msgvec, vlen, flags): each of the `ret` messages sent is
 * one send to its destination. It fails only when the first message
 * did: that one is then the failed send. */
DECODER(decode_sendmmsg)
{
	struct ct_mmsg m = { .vec = a1, .fd = a0, .ret = ret < 0 ? ret : 0 };
	long n = ret < 0 ? 1 : ret;

	if (n > CT_UIO_MAXIOV)
		n = CT_UIO_MAXIOV;
	if (n > 0)
		bpf_loop(n, send_one, &m, 0);
}

#endif /* CTRAUDIT_NETWORK_H */
