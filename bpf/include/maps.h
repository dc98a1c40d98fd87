/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The maps: the global tables every program shares, and the templates of
 * the inner maps each audited container owns, reached through the *_of
 * map-in-map tables by its slot number. Userspace pins and sizes them.
 */
#ifndef CTRAUDIT_MAPS_H
#define CTRAUDIT_MAPS_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "events.h"

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
	enum ct_net_flag net_flag;
	enum ct_path_flag path_flag;
	struct ct_stream_hdr stream_hdr;
	enum ct_stream_set stream_set;
} ct_abi_types;

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
/* The stream of first-seen entries (struct ct_stream_hdr records), read
 * by `ctraudit watch` and `checkpoint` */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, CT_STREAM_BYTES);
} stream SEC(".maps");

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

#define OUTER(name, inner)                                                               \
	struct {                                                                         \
		__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);                                \
		__uint(max_entries, CT_DEFAULT_MAX_CONTAINERS);                          \
		__type(key, __u32);                                                      \
		__array(values, struct inner);                                           \
	} name SEC(".maps")

OUTER(stats_of, inner_stats);
OUTER(syscalls_of, inner_syscalls);
OUTER(execs_of, inner_execs);
OUTER(files_of, inner_files);
OUTER(net_of, inner_net);
OUTER(priv_of, inner_priv);

#endif /* CTRAUDIT_MAPS_H */
