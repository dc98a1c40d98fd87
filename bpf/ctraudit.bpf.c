// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ctraudit kernel side: tracepoints only (see DESIGN.md, "What the machine
 * allows"). Global programs, loaded and pinned once; each audited container
 * owns a set of inner maps, reached through the *_of map-in-map tables by a
 * slot number.
 *
 * Attribution: a task is audited when it carries task local storage. It gets
 * that storage when it execs inside a registered cgroup (or a cgroup nested
 * below one), and its children inherit it at fork. runc's own setup work in
 * the container's cgroup happens before the workload's first exec, so it is
 * never recorded; `runc exec` sessions enter the cgroup and exec, so they are.
 * Every other task is turned away at the gate (gate(), below), most often
 * by one per-CPU load and one compare.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "events.h"
#include "syscalls_x86_64.h"

/* The syscall programs read x86_64's pt_regs (di, si, dx, r10, r8,
 * orig_ax), its thread_info TS_COMPAT flag and its syscall numbers. */
#if !defined(__TARGET_ARCH_x86)
#error "x86_64 only: the syscall decoding reads x86_64 registers"
#endif

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define O_ACCMODE 00000003
#define O_WRONLY 00000001
#define O_RDWR 00000002
#define O_CREAT 00000100
#define O_TRUNC 00001000
#define O_PATH 010000000
#define AT_REMOVEDIR 0x200
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define EFAULT 14
#define EEXIST 17
#define E2BIG 7
#define SECCOMP_MODE_FILTER 2
#define EINPROGRESS 115
/* -ERESTARTSYS .. -ERESTART_RESTARTBLOCK: the call is restarted and seen again */
#define ERESTART_FIRST 512
#define ERESTART_LAST 516
#define TS_COMPAT 0x0002
#define CLONE_NEW_MASK 0x7e020080 /* CLONE_NEW{NS,CGROUP,UTS,IPC,USER,PID,NET,TIME} */
#define CAP_V1 0x19980330

/* clang emits a type reached only through pointers as a forward declaration;
 * libbpf needs complete inner-map value types and the Rust skeleton's `types`
 * needs every ABI struct, so keep them all complete here. */
const volatile struct {
	struct ct_container container;
	struct ct_stats stats;
	struct ct_exec_key exec_key;
	struct ct_exec_val exec_val;
	struct ct_file_key file_key;
	struct ct_file_val file_val;
	struct ct_net_key net_key;
	struct ct_priv_key priv_key;
	struct ct_event_val event_val;
	enum ct_const consts;
	enum ct_file_kind file_kind;
	enum ct_net_op net_op;
	enum ct_priv_special priv_special;
} ct_abi_types;

/* ---- maps ---------------------------------------------------------------- */

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct ct_task);
} task_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CT_DEFAULT_MAX_CONTAINERS);
	__type(key, __u64); /* cgroup id */
	__type(value, struct ct_container);
} containers SEC(".maps");

/* slot -> generation of its current owner; 0 means free. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CT_DEFAULT_MAX_CONTAINERS);
	__type(key, __u32);
	__type(value, __u32);
} slot_gen SEC(".maps");

/* Bit L set: some container is registered at cgroup level L. Lets exec skip
 * ancestor levels where nothing can match. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} cgroup_levels SEC(".maps");

/* slot -> events that found none of the slot's own maps (taken away by
 * hand: nothing of ctraudit's detaches a live slot's maps), so not even its
 * stats could count them. Zeroed at registration, read at poststop. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CT_DEFAULT_MAX_CONTAINERS);
	__type(key, __u32);
	__type(value, __u64);
} slot_lost SEC(".maps");

/* Per CPU: the pt_regs address of the last task the syscall gate found
 * without BPF local storage on that CPU (0: none). See gate(). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} gate_seen SEC(".maps");

/* Possible CPUs, set by the loader: how far forget() looks. */
const volatile __u32 nr_cpus = 1;

/* Inner map templates: userspace creates one of each per container with the
 * same type, key and value sizes and flags (hash sizes come from config). */
struct inner_stats {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ct_stats);
};
struct inner_syscalls {
	__uint(type, BPF_MAP_TYPE_ARRAY);
		__uint(max_entries, CT_SYSCALL_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
};
struct inner_execs {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct ct_exec_key);
	__type(value, struct ct_exec_val);
};
struct inner_files {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct ct_file_key);
	__type(value, struct ct_file_val);
};
struct inner_net {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct ct_net_key);
	__type(value, struct ct_event_val);
};
struct inner_priv {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct ct_priv_key);
	__type(value, struct ct_event_val);
};

#define OUTER(name, inner)                                                     \
	struct {                                                               \
		__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);                      \
		__uint(max_entries, CT_DEFAULT_MAX_CONTAINERS);                \
		__type(key, __u32);                                            \
		__array(values, struct inner);                                 \
	} name SEC(".maps")

OUTER(stats_of, inner_stats);
OUTER(syscalls_of, inner_syscalls);
OUTER(execs_of, inner_execs);
OUTER(files_of, inner_files);
OUTER(net_of, inner_net);
OUTER(priv_of, inner_priv);

/* ---- helpers ------------------------------------------------------------- */

static __always_inline bool slot_live(const struct ct_task *ts)
{
	__u32 slot = ts->slot;
	__u32 *gen = bpf_map_lookup_elem(&slot_gen, &slot);

	return gen && *gen != 0 && *gen == ts->gen;
}

/* An event of `slot` with nowhere to go: counted where poststop looks. */
static __noinline void slot_lost_add(__u32 slot)
{
	__u64 *n = bpf_map_lookup_elem(&slot_lost, &slot);

	if (n)
		__sync_fetch_and_add(n, 1);
}

static __always_inline struct ct_stats *stats_for(__u32 slot)
{
	__u32 zero = 0;
	void *inner = bpf_map_lookup_elem(&stats_of, &slot);
	struct ct_stats *st = inner ? bpf_map_lookup_elem(inner, &zero) : NULL;

	if (!st)
		slot_lost_add(slot);
	return st;
}

#define STAT_ADD(slot, field)                                                  \
	do {                                                                   \
		struct ct_stats *__st = stats_for(slot);                       \
		if (__st)                                                      \
			__sync_fetch_and_add(&__st->field, 1);                 \
	} while (0)

/* A set that is not there any more loses the event: say so. */
static __always_inline void *inner_of(void *outer, __u32 slot)
{
	void *inner = bpf_map_lookup_elem(outer, &slot);

	if (!inner)
		STAT_ADD(slot, map_errors);
	return inner;
}

/* A user argument that could not be read. When the call itself failed
 * with EFAULT the kernel could not read it either: there is nothing to
 * record, and nothing was lost. Otherwise the event's detail is lost.
 * A global function (scalar arguments only), so the verifier checks it
 * once, not at each of its many call sites. */
__noinline int unreadable(__u32 slot, long ret)
{
	if (ret == -EFAULT)
		STAT_ADD(slot, faults);
	else
		STAT_ADD(slot, read_errors);
	return 0;
}

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

static __always_inline bool is_decoded(long nr)
{
	switch (nr) {
	case NR_open: case NR_creat: case NR_openat: case NR_openat2:
	case NR_unlink: case NR_unlinkat: case NR_rmdir:
	case NR_rename: case NR_renameat: case NR_renameat2:
	case NR_chmod: case NR_fchmod: case NR_fchmodat: case NR_fchmodat2:
	case NR_chown: case NR_fchown: case NR_lchown: case NR_fchownat:
	case NR_connect: case NR_bind: case NR_listen: case NR_accept:
	case NR_accept4:
	case NR_setuid: case NR_setgid: case NR_setreuid: case NR_setregid:
	case NR_setresuid: case NR_setresgid: case NR_capset:
	case NR_ptrace: case NR_mount: case NR_umount2: case NR_init_module:
	case NR_finit_module: case NR_bpf: case NR_unshare: case NR_setns:
	case NR_chroot: case NR_pivot_root: case NR_memfd_create:
	case NR_execveat: case NR_io_uring_setup: case NR_open_tree:
	case NR_move_mount: case NR_fsopen: case NR_fsmount:
	case NR_open_by_handle_at: case NR_clone: case NR_clone3:
		return true;
	default:
		return false;
	}
}

/* Which overflow counter upsert() charges when a set is full. */
enum { SET_EXECS, SET_FILES, SET_NET, SET_PRIV };

/*
 * Find-or-create an aggregate entry and return it, or NULL with the loss
 * counted: as the set's overflow when it is full, as a map error when the
 * insert failed otherwise (the bucket lock could not be taken, say).
 */
static __always_inline void *upsert(__u32 slot, void *map, const void *key,
				    const void *init, int set)
{
	void *v = bpf_map_lookup_elem(map, key);

	if (v)
		return v;
	long err = bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	if (!err || err == -EEXIST) /* ours, or another CPU's just now */
		v = bpf_map_lookup_elem(map, key);
	if (v)
		return v;
	struct ct_stats *st = stats_for(slot);
	if (!st)
		return NULL;
	if (err != -E2BIG)
		__sync_fetch_and_add(&st->map_errors, 1);
	else if (set == SET_EXECS)
		__sync_fetch_and_add(&st->execs_overflow, 1);
	else if (set == SET_FILES)
		__sync_fetch_and_add(&st->files_overflow, 1);
	else if (set == SET_NET)
		__sync_fetch_and_add(&st->net_overflow, 1);
	else
		__sync_fetch_and_add(&st->priv_overflow, 1);
	return NULL;
}

static __always_inline void event_hit(struct ct_event_val *v, long ret, __u64 now,
				      bool ok)
{
	__sync_fetch_and_add(&v->count, 1);
	if (!ok) {
		__sync_fetch_and_add(&v->failed, 1);
		v->last_errno = -ret;
	}
	v->last_ns = now;
}

/* ---- files --------------------------------------------------------------- */

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

/* ---- network ------------------------------------------------------------- */

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
			long n = bpf_probe_read_user_str(k->unix_path, sizeof(k->unix_path), upath);
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

/* ---- privileged events ---------------------------------------------------- */

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

/* ---- the dispatcher ------------------------------------------------------ */

static __noinline void decode(struct ct_task *ts, struct pt_regs *uregs, __u32 nr,
			      long ret)
{
	struct pt_regs regs = {};
	struct ct_priv_key *p;

	if (bpf_probe_read_kernel(&regs, sizeof(regs), uregs)) {
		STAT_ADD(ts->slot, read_errors);
		return;
	}
	/* x86_64 syscall arguments: di, si, dx, r10, r8, r9 */
	__u64 a0 = regs.di, a1 = regs.si, a2 = regs.dx, a3 = regs.r10;

	switch (nr) {
	case NR_open:
		STAT_ADD(ts->slot, opens);
		file_path(ts, (const char *)a0, open_kinds(a1), ret);
		break;
	case NR_creat:
		STAT_ADD(ts->slot, opens);
		file_path(ts, (const char *)a0, CT_FILE_WRITE | CT_FILE_CREATE, ret);
		break;
	case NR_openat:
		STAT_ADD(ts->slot, opens);
		file_path(ts, (const char *)a1, open_kinds(a2), ret);
		break;
	case NR_openat2: {
		__u64 flags = 0; /* struct open_how starts with flags */
		if (bpf_probe_read_user(&flags, sizeof(flags), (const void *)a2))
			unreadable(ts->slot, ret);
		STAT_ADD(ts->slot, opens);
		file_path(ts, (const char *)a1, open_kinds(flags), ret);
		break;
	}
	case NR_unlink:
	case NR_rmdir:
		file_path(ts, (const char *)a0, CT_FILE_DELETE, ret);
		break;
	case NR_unlinkat:
		file_path(ts, (const char *)a1, CT_FILE_DELETE, ret);
		break;
	case NR_rename:
		file_path(ts, (const char *)a0, CT_FILE_RENAME_FROM, ret);
		file_path(ts, (const char *)a1, CT_FILE_RENAME_TO, ret);
		break;
	case NR_renameat:
	case NR_renameat2:
		file_path(ts, (const char *)a1, CT_FILE_RENAME_FROM, ret);
		file_path(ts, (const char *)a3, CT_FILE_RENAME_TO, ret);
		break;
	case NR_chmod:
		file_path(ts, (const char *)a0, CT_FILE_CHMOD, ret);
		break;
	case NR_fchmodat:
	case NR_fchmodat2:
		file_path(ts, (const char *)a1, CT_FILE_CHMOD, ret);
		break;
	case NR_fchmod:
		file_fd(ts, a0, CT_FILE_CHMOD, ret);
		break;
	case NR_chown:
	case NR_lchown:
		file_path(ts, (const char *)a0, CT_FILE_CHOWN, ret);
		break;
	case NR_fchownat:
		file_path(ts, (const char *)a1, CT_FILE_CHOWN, ret);
		break;
	case NR_fchown:
		file_fd(ts, a0, CT_FILE_CHOWN, ret);
		break;
	case NR_connect:
		net_user(ts, CT_NET_CONNECT, a0, (const void *)a1, a2, ret);
		break;
	case NR_bind:
		net_user(ts, CT_NET_BIND, a0, (const void *)a1, a2, ret);
		break;
	case NR_listen:
		net_sock(ts, CT_NET_LISTEN, a0, ret);
		break;
	case NR_accept:
	case NR_accept4:
		/* on success the new socket knows both ends; on failure only
		 * the listening socket is there to name the service */
		net_sock(ts, CT_NET_ACCEPT, ret >= 0 ? ret : (long)a0, ret);
		break;
	case NR_setuid: case NR_setgid: case NR_setreuid: case NR_setregid:
	case NR_setresuid: case NR_setresgid:
		p = priv_begin(ts, nr);
		p->args[0] = (__u32)a0;
		p->args[1] = (__u32)a1;
		p->args[2] = (__u32)a2;
		if (nr == NR_setuid || nr == NR_setgid)
			p->args[1] = p->args[2] = 0;
		else if (nr == NR_setreuid || nr == NR_setregid)
			p->args[2] = 0;
		priv_commit(ts, ret);
		break;
	case NR_capset: {
		/* two struct __user_cap_data_struct {effective, permitted,
		 * inheritable}: low and high 32 capability bits */
		__u32 data[6] = {};
		__u32 version = 0;
		p = priv_begin(ts, nr);
		if (bpf_probe_read_user(&version, sizeof(version), (const void *)a0))
			unreadable(ts->slot, ret);
		/* version 1 passes one struct (32 bits), 2 and 3 pass two */
		long size = version == CAP_V1 ? 12 : 24;
		if (a1 && bpf_probe_read_user(data, size & 31, (const void *)a1))
			unreadable(ts->slot, ret);
		p->args[0] = data[0] | ((__u64)data[3] << 32);
		p->args[1] = data[1] | ((__u64)data[4] << 32);
		priv_commit(ts, ret);
		break;
	}
	case NR_ptrace:
		p = priv_begin(ts, nr);
		p->args[0] = a0; /* request */
		p->args[1] = (__u32)a1; /* pid */
		priv_commit(ts, ret);
		break;
	case NR_mount:
		/* mount(source, target, fstype, flags, data) */
		p = priv_begin(ts, nr);
		p->args[0] = a3;
		priv_str(ts, p->detail, sizeof(p->detail), (const void *)a1, ret);
		priv_str(ts, p->aux, sizeof(p->aux), (const void *)a2, ret);
		priv_commit(ts, ret);
		break;
	case NR_umount2:
	case NR_chroot:
		p = priv_begin(ts, nr);
		p->args[0] = nr == NR_umount2 ? a1 : 0;
		priv_str(ts, p->detail, sizeof(p->detail), (const void *)a0, ret);
		priv_commit(ts, ret);
		break;
	case NR_pivot_root:
		p = priv_begin(ts, nr);
		priv_str(ts, p->detail, sizeof(p->detail), (const void *)a0, ret);
		priv_str(ts, p->aux, sizeof(p->aux), (const void *)a1, ret);
		priv_commit(ts, ret);
		break;
	case NR_init_module:
		/* init_module(image, len, params) */
		p = priv_begin(ts, nr);
		p->args[0] = a1;
		priv_str(ts, p->detail, sizeof(p->detail), (const void *)a2, ret);
		priv_commit(ts, ret);
		break;
	case NR_finit_module:
		/* finit_module(fd, params, flags) */
		p = priv_begin(ts, nr);
		p->args[0] = a2;
		priv_str(ts, p->detail, sizeof(p->detail), (const void *)a1, ret);
		priv_commit(ts, ret);
		break;
	case NR_bpf:
	case NR_unshare:
		p = priv_begin(ts, nr);
		p->args[0] = a0; /* bpf command, unshare flags */
		priv_commit(ts, ret);
		break;
	case NR_setns:
		p = priv_begin(ts, nr);
		p->args[0] = a1; /* nstype */
		priv_commit(ts, ret);
		break;
	case NR_memfd_create:
		p = priv_begin(ts, nr);
		p->args[0] = a1; /* flags */
		priv_str(ts, p->detail, sizeof(p->detail), (const void *)a0, ret);
		priv_commit(ts, ret);
		break;
	case NR_io_uring_setup:
		/* io_uring operations bypass the syscall tracepoints: its use
		 * is worth knowing by itself */
		p = priv_begin(ts, nr);
		p->args[0] = a0; /* entries */
		priv_commit(ts, ret);
		break;
	case NR_open_tree:
		p = priv_begin(ts, nr);
		p->args[0] = a2; /* flags */
		priv_str(ts, p->detail, sizeof(p->detail), (const void *)a1, ret);
		priv_commit(ts, ret);
		break;
	case NR_move_mount:
		/* move_mount(from_dfd, from_path, to_dfd, to_path, flags) */
		p = priv_begin(ts, nr);
		p->args[0] = regs.r8;
		priv_str(ts, p->detail, sizeof(p->detail), (const void *)a3, ret);
		priv_str(ts, p->aux, sizeof(p->aux), (const void *)a1, ret);
		priv_commit(ts, ret);
		break;
	case NR_fsopen:
		p = priv_begin(ts, nr);
		p->args[0] = a1;
		priv_str(ts, p->aux, sizeof(p->aux), (const void *)a0, ret);
		priv_commit(ts, ret);
		break;
	case NR_fsmount:
		p = priv_begin(ts, nr);
		p->args[0] = a1; /* flags */
		p->args[1] = a2; /* attr_flags */
		priv_commit(ts, ret);
		break;
	case NR_open_by_handle_at:
		p = priv_begin(ts, nr);
		p->args[0] = (__u32)a0; /* mount_fd */
		p->args[1] = a2; /* flags */
		priv_commit(ts, ret);
		break;
	case NR_clone:
	case NR_clone3: {
		/* only namespace-creating clones are privileged events; the
		 * child returns 0 here too, the parent's call is the event */
		__u64 flags = a0;
		if (nr == NR_clone3 &&
		    bpf_probe_read_user(&flags, sizeof(flags), (const void *)a0))
			break;
		if (!(flags & CLONE_NEW_MASK) || ret == 0)
			break;
		p = priv_begin(ts, nr);
		p->args[0] = flags & CLONE_NEW_MASK;
		priv_commit(ts, ret);
		break;
	}
	case NR_execveat:
		/* a successful execveat is recorded by the exec tracepoint,
		 * where the registers still describe the call */
		if (ret >= 0)
			break;
		p = priv_begin(ts, nr);
		p->args[0] = regs.r8; /* flags */
		priv_str(ts, p->detail, sizeof(p->detail), (const void *)a1, ret);
		priv_commit(ts, ret);
		break;
	}
}

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
#define GATE_MEMORY                                                            \
	(bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_map_lookup_percpu_elem) && \
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
	ts->pending = !compat && is_decoded(nr) ? nr : CT_ENTERED;
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
	struct ct_exec_val init = {};
	__u32 slot = ts->slot;

	__builtin_memset(k, 0, sizeof(*k));
	if (bpf_probe_read_kernel_str(k->path, sizeof(k->path),
				      BPF_CORE_READ(bprm, filename)) <= 0)
		STAT_ADD(slot, read_errors);
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

	init.first_ns = now;
	init.uid = bpf_get_current_uid_gid();
	init.pid = BPF_CORE_READ(p, tgid);
	init.ppid = BPF_CORE_READ(p, real_parent, tgid);
	void *execs = inner_of(&execs_of, slot);
	if (!execs)
		return;
	struct ct_exec_val *v = upsert(slot, execs, k, &init, SET_EXECS);
	if (!v)
		return;
	__sync_fetch_and_add(&v->count, 1);
	v->last_ns = now;
}

/* execveat and exec of a memfd: the fileless-binary signals. */
static __noinline void exec_priv(struct ct_task *ts, struct linux_binprm *bprm,
				 long nr)
{
	struct ct_priv_key *p;
	char name[8] = {};
	const unsigned char *dname = BPF_CORE_READ(bprm, file, f_path.dentry, d_name.name);

	if (nr == NR_execveat) {
		p = priv_begin(ts, NR_execveat);
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

	if (!c) {
		/* exec is where the cgroup decides: a task that left every
		 * audited cgroup stops being audited */
		if (ts)
			bpf_task_storage_delete(&task_state, p);
		return 0;
	}
	bool entering = !ts || ts->slot != c->slot || ts->gen != c->gen;
	if (entering && c->mnt_ns &&
	    BPF_CORE_READ(p, nsproxy, mnt_ns, ns.inum) != c->mnt_ns) {
		/* in the cgroup but not (yet) in the container: a runtime
		 * helper, such as runc exec's, before it joins the container */
		if (ts)
			bpf_task_storage_delete(&task_state, p);
		return 0;
	}
	if (!ts) {
		ts = bpf_task_storage_get(&task_state, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (!ts) {
			STAT_ADD(c->slot, tasks_lost);
			return 0;
		}
		forget(p);
	}
	ts->slot = c->slot;
	ts->gen = c->gen;
	ts->pending = CT_ENTERED; /* the exec's own sys_exit is still to come */
	if (!slot_live(ts))
		return 0;

	__u32 slot = ts->slot;
	__u64 now = bpf_ktime_get_boot_ns();
	struct ct_stats *st = stats_for(slot);
	if (!st)
		return 0;
	__sync_fetch_and_add(&st->execs, 1);
	if (!st->first_exec_ns)
		st->first_exec_ns = now;
	st->last_event_ns = now;

	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(p);
	long nr = BPF_CORE_READ(regs, orig_ax);
	bool compat = compat_syscall(p);
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
	if (st) {
		__sync_fetch_and_add(&st->exits, 1);
		st->last_event_ns = bpf_ktime_get_boot_ns();
	}
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
