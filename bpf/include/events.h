/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The kernel/user contract of ctraudit: every map key and value the BPF
 * programs share with userspace. Rust reads these types from the generated
 * skeleton (`types`), never from a hand-written mirror.
 *
 * Rules: fixed-width fields only, padding spelled out, numbers never reused.
 * Any change to a layout or a meaning bumps CT_ABI_VERSION, which moves the
 * pins to a new directory (/sys/fs/bpf/ctraudit/v<ABI>/) so containers
 * started under the old programs finish under them.
 */
#ifndef CTRAUDIT_EVENTS_H
#define CTRAUDIT_EVENTS_H

/* A different number for tests of upgrades across ABI versions only
 * (build.rs passes CTRAUDIT_ABI through); releases bump the default. */
#ifndef CT_ABI_OVERRIDE
#define CT_ABI_OVERRIDE 5
#endif

/* Limits and versions, as an enum so they reach Rust through BTF. */
enum ct_const {
	/* version of this contract: pins live under ctraudit/v<CT_ABI_VERSION> */
	CT_ABI_VERSION = CT_ABI_OVERRIDE,
	/* syscall numbers 0..CT_SYSCALL_MAX-1 are counted one by one; higher
	 * ones (none on x86_64 today) go to ct_stats.syscalls_unknown. The
	 * per-container array has two halves: [nr] syscalls that ran,
	 * [CT_SYSCALL_MAX + nr] syscalls refused before they ran (seccomp) */
	CT_SYSCALL_MAX = 512,
	CT_SYSCALL_SLOTS = 1024,
	CT_PATH_MAX = 256,
	CT_ARGV_MAX = 256,
	CT_UNIX_PATH_MAX = 108,
	CT_DETAIL_MAX = 128,
	CT_AUX_MAX = 32,
	/* deepest cgroup nesting searched below a registered container */
	CT_MAX_CGROUP_DEPTH = 16,
	/* size of the global tables unless config `max_containers` says */
	CT_DEFAULT_MAX_CONTAINERS = 1024,
	/* bytes of the ring buffer of first-seen entries (4 MiB) */
	CT_STREAM_BYTES = 1 << 22,
};

/* Which set a stream record's key is of (upsert()'s `set`). */
enum ct_stream_set {
	CT_STREAM_EXECS = 0,
	CT_STREAM_FILES = 1,
	CT_STREAM_NET = 2,
	CT_STREAM_PRIV = 3,
};

/* A record of the stream: an entry new to one of a container's sets, its
 * key (`len` bytes, a ct_exec_key, ct_file_key, ct_net_key or
 * ct_priv_key as `set` says) right after this header. */
struct ct_stream_hdr {
	__u32 slot;
	__u32 gen; /* the slot's generation when it was written */
	__u32 set;
	__u32 len;
	__u64 time_ns; /* CLOCK_BOOTTIME */
};

/* ct_task.pending: no syscall seen entering since the last exit. A sys_exit
 * without a sys_enter is a syscall refused before it ran (seccomp). */
#define CT_NO_PENDING 0xffffffffu
/* ct_task.pending: a syscall entered that is counted but not decoded. */
#define CT_ENTERED 0xfffffffeu

/* Access kinds of a file (ct_file_val.kinds / failed_kinds). */
enum ct_file_kind {
	CT_FILE_READ = 1 << 0,
	CT_FILE_WRITE = 1 << 1,
	CT_FILE_CREATE = 1 << 2, /* opened with O_CREAT (or creat()) */
	CT_FILE_DELETE = 1 << 3, /* unlink, unlinkat, rmdir */
	CT_FILE_RENAME_FROM = 1 << 4,
	CT_FILE_RENAME_TO = 1 << 5,
	CT_FILE_CHMOD = 1 << 6,
	CT_FILE_CHOWN = 1 << 7,
	CT_FILE_PATH_ONLY = 1 << 8, /* opened with O_PATH: no data access */
	CT_FILE_BY_FD = 1 << 9, /* a call on a descriptor (fchmod, ftruncate, ...) */
	CT_FILE_MKDIR = 1 << 10, /* mkdir, mkdirat */
	CT_FILE_MKNOD = 1 << 11, /* mknod, mknodat (ct_file_val.node: what) */
	CT_FILE_LINK = 1 << 12, /* a hard link made here (key.target: to what) */
	CT_FILE_LINKED = 1 << 13, /* a hard link made to this file */
	CT_FILE_SYMLINK = 1 << 14, /* a symlink made here (key.target: its text) */
	CT_FILE_TRUNCATE = 1 << 15, /* truncate, ftruncate */
	CT_FILE_SETXATTR = 1 << 16, /* setxattr, lsetxattr, fsetxattr */
	CT_FILE_REMOVEXATTR = 1 << 17, /* removexattr, lremovexattr, fremovexattr */
	CT_FILE_TIMES = 1 << 18, /* utime, utimes, futimesat, utimensat */
	/* submitted through io_uring (io_uring.h): the kinds are what was
	 * asked for, the result is not known at submission */
	CT_FILE_IO_URING = 1 << 30,
};

/* How a file key's path was found (ct_file_key.flags). */
enum ct_path_flag {
	/* path is the real path of the file the call worked on, in the
	 * task's root, from the kernel's dentries; typed is what was passed */
	CT_PATH_REAL = 1 << 0,
	/* the path given was relative: path is it joined to the directory
	 * it is relative to (the cwd or the dirfd's directory, a real path),
	 * and typed is it as given */
	CT_PATH_BASE = 1 << 1,
	/* path was longer than CT_PATH_MAX - 1: it holds the last components
	 * that fit (counted in ct_stats.paths_cut) */
	CT_PATH_CUT = 1 << 2,
	/* typed (or path, for a path as given) filled its CT_PATH_MAX bytes:
	 * what was passed is longer */
	CT_PATH_TYPED_CUT = 1 << 3,
	/* the walk left the task's root (a file of another mount namespace,
	 * or of a pseudo filesystem): path starts at that filesystem's root */
	CT_PATH_OUTSIDE = 1 << 4,
	/* target filled its CT_PATH_MAX bytes */
	CT_PATH_TARGET_CUT = 1 << 5,
	/* path is as given to an open that worked, checked instead of walked
	 * (files.h, plain_open): absolute, no ".", ".." or "//" component,
	 * not below /proc, shorter than CT_PATH_MAX, its last component the
	 * opened file's own name. What a symlinked directory on the way
	 * would hide is not checked: docs/design.md, "Paths" */
	CT_PATH_CHECKED = 1 << 6,
};

/* Network operations (ct_net_key.op). */
enum ct_net_op {
	CT_NET_CONNECT = 1,
	CT_NET_BIND = 2,
	CT_NET_LISTEN = 3,
	CT_NET_ACCEPT = 4,
	/* a datagram (or message) sent to an address: sendto, sendmsg,
	 * sendmmsg with a destination */
	CT_NET_SEND = 5,
};

/* How an endpoint was reached (ct_net_key.flags). */
enum ct_net_flag {
	CT_NET_IO_URING = 1 << 0, /* submitted through io_uring (io_uring.h) */
};

/* Privileged events are keyed by their x86_64 syscall number; events that
 * are not one syscall use numbers from CT_PRIV_SPECIAL up. */
enum ct_priv_special {
	CT_PRIV_SPECIAL = 1000,
	CT_PRIV_MEMFD_EXEC = 1000, /* exec of a memfd (fileless binary) */
	/* an audited task moved to another cgroup (tp_btf/cgroup_attach_task):
	 * args[0] the destination's cgroup id, args[1] its hierarchy (0:
	 * cgroup2), args[2] 1 for the whole thread group; detail its path */
	CT_PRIV_CGROUP_MOVE = 1001,
	/* a task of the container chosen by the OOM killer (tp_btf/mark_victim):
	 * args[0] its tgid; detail its comm */
	CT_PRIV_OOM_KILL = 1002,
	/* io_uring submissions, one entry per opcode (args[0]) */
	CT_PRIV_IO_URING = 1010,
};

/* containers: cgroup id -> registration. */
struct ct_container {
	__u32 slot; /* index into the *_of map-in-map tables */
	__u32 gen; /* must equal slot_gen[slot], or the slot was reused */
	/* inode of the container's mount namespace: a task enters the audit
	 * only by exec'ing inside it (runtime helpers placed in the cgroup
	 * before they join the container's namespaces are not the workload) */
	__u32 mnt_ns;
	__u32 level; /* depth of the cgroup below the root */
};

/* Exact per-container counters (one-entry array, inner map "stats"). */
struct ct_stats {
	__u64 execs;
	__u64 forks; /* new processes */
	__u64 threads; /* new threads */
	__u64 exits; /* processes (thread-group leaders) that exited */
	__u64 opens;
	__u64 connects;
	__u64 syscalls_unknown; /* syscall numbers >= CT_SYSCALL_MAX */
	__u64 syscalls_compat; /* 32-bit (int 0x80) syscalls: counted, not decoded */
	__u64 execs_overflow; /* set full: event counted here, not in the set */
	__u64 files_overflow;
	__u64 net_overflow;
	__u64 priv_overflow;
	/* an argument the kernel itself could read (the call did not fail
	 * with EFAULT) could not be read here: the event's detail is lost */
	__u64 read_errors;
	__u64 tasks_lost; /* no task storage could be made: task not audited */
	__u64 first_exec_ns; /* CLOCK_BOOTTIME of the workload's first exec */
	__u64 last_event_ns;
	/* an entry could not be added to a set that was not full, or one of
	 * the container's maps was not there: the event is lost */
	__u64 map_errors;
	/* a sys_exit with no sys_enter in a task that no seccomp filter or
	 * tracer could have stopped first: the call is counted as run, and
	 * its sys_enter was missed */
	__u64 enters_missed;
	/* calls the kernel failed with EFAULT: their pointer argument was
	 * unreadable to the kernel too, so they have no path or address.
	 * Counted in the syscall counts; not a loss. */
	__u64 faults;
	/* a path longer than CT_PATH_MAX - 1 bytes that was only partly
	 * recorded (CT_PATH_CUT, or a path as given that filled its bytes
	 * with no real path beside it): a loss */
	__u64 paths_cut;
	/* how the container ended. init_tgid: the process whose exec was the
	 * container's first (its init); init_exited: its last thread exited,
	 * with init_exit_code (task->exit_code: status << 8, or the signal);
	 * init_oom: the OOM killer chose it */
	__u32 init_tgid;
	__u32 init_exited;
	__s32 init_exit_code;
	__u32 init_oom;
	__u64 oom_kills; /* tasks of the container the OOM killer chose */
	/* first-seen entries the stream had no room for (the ring buffer
	 * full): in the sets all the same, missing from the stream only */
	__u64 stream_dropped;
};

/* An exec, or a failed execve/execveat (err != 0): one set for both. */
struct ct_exec_key {
	/* as passed to execve: bprm->filename for an exec, the caller's path
	 * argument for a failed one */
	char path[CT_PATH_MAX];
	/* NUL-separated, first CT_ARGV_MAX bytes; of a failed exec, read
	 * from the caller's argv, each argument starting in the first half */
	char argv[CT_ARGV_MAX];
	__u32 argv_len;
	__u32 argv_truncated;
	/* the file executed: its real path in the task's root (bprm->file);
	 * "" for a failed exec */
	char binary[CT_PATH_MAX];
	__u32 binary_flags; /* ct_path_flag of binary */
	__s32 err; /* errno of a failed exec; 0 for one that succeeded */
};

struct ct_exec_val {
	__u64 count;
	__u64 first_ns;
	__u64 last_ns;
	__u32 uid; /* of the first exec */
	__u32 pid;
	__u32 ppid;
	__u32 _pad;
};

struct ct_file_key {
	/* what flags say: the real path, the path given joined to the
	 * directory it is relative to, or the path as given */
	char path[CT_PATH_MAX];
	__u32 flags; /* ct_path_flag of path */
	__u32 _pad;
};

struct ct_file_val {
	__u64 count;
	__u64 failed;
	__u64 first_ns;
	__u64 last_ns;
	__u32 kinds; /* ct_file_kind of successful calls */
	__u32 failed_kinds; /* ct_file_kind of failed calls */
	__s32 last_errno;
	__u32 node_mode; /* mknod: the mode of the node made */
	__u32 node_dev; /* mknod: its device number (old encoding) */
	/* CT_PATH_TYPED_CUT, CT_PATH_TARGET_CUT: of typed and target */
	__u32 flags;
	/* the first path a call passed that is not key.path, byte for byte
	 * ("" while every call passed key.path itself). Not in the key: the
	 * key is hashed on every call, this is written once. */
	char typed[CT_PATH_MAX];
	/* link: the existing path linked to; symlink: the link's text (of
	 * the first such call) */
	char target[CT_PATH_MAX];
};

/* A file event in the making: its key, and the value a new entry starts
 * from (count 0, typed and target filled). */
struct ct_file_scratch {
	struct ct_file_key key;
	struct ct_file_val val;
};

struct ct_net_key {
	__u16 family; /* AF_INET, AF_INET6, AF_UNIX */
	__u16 op; /* ct_net_op */
	__u16 port; /* host order; for accept: the local (service) port */
	__u16 sock_type; /* SOCK_STREAM, SOCK_DGRAM, ... (0: unknown) */
	__u8 addr[16]; /* IPv4 in the first 4 bytes; for accept: the peer */
	char unix_path[CT_UNIX_PATH_MAX]; /* '\0' first byte: abstract */
	__u32 unix_len;
	__u32 flags; /* ct_net_flag */
};

struct ct_event_val {
	__u64 count;
	__u64 failed;
	__u64 first_ns;
	__u64 last_ns;
	__s32 last_errno;
	__u32 _pad;
};

struct ct_priv_key {
	__u32 kind; /* syscall number, or ct_priv_special */
	__u32 _pad;
	__u64 args[3]; /* meaning depends on kind: see docs/summary.md */
	char aux[CT_AUX_MAX];
	char detail[CT_DETAIL_MAX];
};

/* A path walk in progress (path.h): the dentry and mount reached, the
 * task's root, and the path so far, built backwards from
 * buf[CT_PATH_MAX - 1]. buf is twice the size, so that any offset below
 * CT_PATH_MAX plus any length below CT_PATH_MAX stays inside. */
struct ct_walk {
	__u64 d;
	__u64 mnt;
	__u64 mnt_root; /* of mnt: read once per mount, not per step */
	__u64 root_d;
	__u64 root_mnt;
	__u32 pos;
	__u32 flags;
	__u32 done;
	/* plain_open()'s scan of a path (files.h): its length, whether the
	 * previous word ended in '/', the verdict */
	__u32 scan_len;
	__u32 _scan_pad;
	__u32 scan_carry;
	__u32 scan_bad;
	__u32 _pad;
	char buf[2 * CT_PATH_MAX];
};

/* Per-task state (task local storage). Only tasks of audited containers
 * carry it, so the hot path for every other task is one NULL lookup. */
struct ct_task {
	__u32 slot;
	__u32 gen;
	__u32 pending; /* decoded syscall between sys_enter and sys_exit */
	/* execveat's flags, saved at its sys_enter: a successful exec is
	 * recorded at sched_process_exec, after the ELF loader has cleared
	 * the saved registers (and set orig_ax to execve's number) */
	__u32 exec_flags;
	/* mknod's mode (high half) and device, for file_commit() */
	__u64 node;
	/* scratch for map keys too big for the BPF stack; per task, so a
	 * preempted program never shares it */
	union {
		struct ct_exec_key exec;
		struct ct_file_scratch file;
		struct ct_net_key net;
		struct ct_priv_key priv;
	} scratch;
	struct ct_walk walk;
};

#endif /* CTRAUDIT_EVENTS_H */
