/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Network: the endpoints of connect and bind, read from the caller's
 * sockaddr, and of listen and accept, read from the kernel socket.
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

/* connect, bind: the address is the caller's sockaddr. */
static __always_inline void net_user(struct ct_task *ts, __u16 op, long fd,
				     const void *uaddr, long addrlen, long ret)
{
	struct ct_net_key *k = &ts->scratch.net;
	__u16 family = 0;

	__builtin_memset(k, 0, sizeof(*k));
	if (bpf_probe_read_user(&family, sizeof(family), uaddr)) {
		unreadable(ts->slot, ret);
		return;
	}
	if (family == AF_INET) {
		struct sockaddr_in sin = {};
		if (bpf_probe_read_user(&sin, sizeof(sin), uaddr))
			goto fault;
		k->port = bpf_ntohs(sin.sin_port);
		__builtin_memcpy(k->addr, &sin.sin_addr, 4);
	} else if (family == AF_INET6) {
		/* the kernel accepts the 24-byte RFC 2133 size: family, port,
		 * flowinfo and address are all in it; scope_id is not needed */
		struct sockaddr_in6 sin6 = {};
		if (bpf_probe_read_user(&sin6, 24, uaddr))
			goto fault;
		k->port = bpf_ntohs(sin6.sin6_port);
		__builtin_memcpy(k->addr, &sin6.sin6_addr, 16);
	} else if (family == AF_UNIX) {
		const char *upath = (const char *)uaddr + 2; /* after sun_family */
		char first = 0;
		bpf_probe_read_user(&first, 1, upath);
		if (first) {
			/* a path: the kernel uses it up to the NUL (unix_mkname_bsd) */
			long n = bpf_probe_read_user_str(k->unix_path,
							 sizeof(k->unix_path), upath);
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
			if (bpf_probe_read_user(k->unix_path, len & 0x7f, upath))
				goto fault;
			k->unix_len = len;
		}
	} else {
		return; /* netlink, packet, ...: not audited here */
	}
	k->family = family;
	k->op = op;
	struct socket *sock = socket_of_fd(fd);
	if (sock)
		k->sock_type = BPF_CORE_READ(sock, type);
	net_commit(ts, ret);
	return;
fault:
	unreadable(ts->slot, ret);
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

#endif /* CTRAUDIT_NETWORK_H */
