/* What ctraudit is set beside on the syscall tracepoints, each alone:
 *
 *   floor_*  empty programs: every syscall-level tracer pays at least this;
 *   flag_*   ABI 1's gate: a per-CPU flag that a sched_switch program sets
 *            from next->bpf_storage, read with one inlined per-CPU load.
 *            Cheaper, and wrong whenever a switch is not traced
 *            (docs/design.md, "The gate");
 *   task_*   the task's own bpf_storage pointer, read through
 *            bpf_get_current_task_btf() on every syscall: always right,
 *            and a helper call every time;
 *   regs_*   today's gate: a per-CPU memory of the last task found
 *            without storage, by its pt_regs address (the syscall
 *            tracepoint's first argument), and the helper only for
 *            another task (ctraudit.bpf.c, gate()).
 *
 * The gates do nothing past the test: no task here has local storage. */
#include "vmlinux.h"

/* libbpf's headers are not installed on the bench host: the little of
 * them used here, spelled out */
#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)BPF_FUNC_map_lookup_elem;
static struct task_struct *(*bpf_get_current_task_btf)(void) =
	(void *)BPF_FUNC_get_current_task_btf;

char LICENSE[] SEC("license") = "GPL";

SEC("raw_tp/sys_enter") int floor_enter(void *ctx) { return 0; }
SEC("raw_tp/sys_exit") int floor_exit(void *ctx) { return 0; }

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} flag SEC(".maps");

/* The gates return what they found, so the compiler keeps the test. */
static inline __attribute__((always_inline)) int by_flag(void)
{
	__u32 zero = 0;
	__u64 *f = bpf_map_lookup_elem(&flag, &zero);

	return f && *f;
}

static inline __attribute__((always_inline)) int by_task(void)
{
	return bpf_get_current_task_btf()->bpf_storage != 0;
}

SEC("raw_tp/sys_enter") int flag_enter(void *ctx) { return by_flag(); }
SEC("raw_tp/sys_exit") int flag_exit(void *ctx) { return by_flag(); }

/* tp_btf arguments: (bool preempt, prev, next, prev_state) */
SEC("tp_btf/sched_switch") int flag_switch(unsigned long long *ctx)
{
	struct task_struct *next = (struct task_struct *)ctx[2];
	__u32 zero = 0;
	__u64 *f = bpf_map_lookup_elem(&flag, &zero);

	if (f)
		*f = next->bpf_storage != 0;
	return 0;
}

SEC("raw_tp/sys_enter") int task_enter(void *ctx) { return by_task(); }
SEC("raw_tp/sys_exit") int task_exit(void *ctx) { return by_task(); }

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} seen SEC(".maps");

static inline __attribute__((always_inline)) int by_regs(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 zero = 0;
	__u64 *s = bpf_map_lookup_elem(&seen, &zero);

	if (s && *s == ctx->args[0])
		return 0;
	int has = bpf_get_current_task_btf()->bpf_storage != 0;
	if (s && !has)
		*s = ctx->args[0];
	return has;
}

SEC("raw_tp/sys_enter") int regs_enter(struct bpf_raw_tracepoint_args *ctx) { return by_regs(ctx); }
SEC("raw_tp/sys_exit") int regs_exit(struct bpf_raw_tracepoint_args *ctx) { return by_regs(ctx); }
