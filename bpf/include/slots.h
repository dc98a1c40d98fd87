/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A container's slot: whether it is still the owner's, its exact counters,
 * and the find-or-create of an entry in one of its sets, with every loss
 * counted where poststop looks.
 */
#ifndef CTRAUDIT_SLOTS_H
#define CTRAUDIT_SLOTS_H

#include "maps.h"

#define EFAULT 14
#define EEXIST 17
#define E2BIG 7

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

#define STAT_ADD(slot, field)                                                            \
	do {                                                                             \
		struct ct_stats *__st = stats_for(slot);                                 \
		if (__st)                                                                \
			__sync_fetch_and_add(&__st->field, 1);                           \
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

/* Which overflow counter upsert() charges when a set is full, and the
 * set a stream record names. */
enum {
	SET_EXECS = CT_STREAM_EXECS,
	SET_FILES = CT_STREAM_FILES,
	SET_NET = CT_STREAM_NET,
	SET_PRIV = CT_STREAM_PRIV
};

/* An entry new to a set, on the stream: only the CPU whose insert made it
 * writes it, so a repeat of a known entry costs nothing here. No room in
 * the ring is counted, never silent. `size` is the key's, a constant. */
static __always_inline void stream_new(__u32 slot, const void *key, __u32 size, int set)
{
	struct ct_stream_hdr *h = bpf_ringbuf_reserve(&stream, sizeof(*h) + size, 0);

	if (!h) {
		STAT_ADD(slot, stream_dropped);
		return;
	}
	__u32 *gen = bpf_map_lookup_elem(&slot_gen, &slot);
	h->slot = slot;
	h->gen = gen ? *gen : 0;
	h->set = set;
	h->len = size;
	h->time_ns = bpf_ktime_get_boot_ns();
	if (bpf_probe_read_kernel(h + 1, size, key))
		h->len = 0;
	bpf_ringbuf_submit(h, 0);
}

/*
 * Find-or-create an aggregate entry and return it, or NULL with the loss
 * counted: as the set's overflow when it is full, as a map error when the
 * insert failed otherwise (the bucket lock could not be taken, say).
 */
static __always_inline void *upsert_sized(__u32 slot, void *map, const void *key,
					  __u32 key_size, const void *init, int set)
{
	void *v = bpf_map_lookup_elem(map, key);

	if (v)
		return v;
	long err = bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	if (!err)
		stream_new(slot, key, key_size, set);
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

/* upsert_sized() of a key whose size its type says */
#define upsert(slot, map, key, init, set)                                                \
	upsert_sized(slot, map, key, sizeof(*(key)), init, set)

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

#endif /* CTRAUDIT_SLOTS_H */
