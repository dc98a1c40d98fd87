/* The floor: empty programs on the raw syscall tracepoints. Every
 * syscall-level tracer pays at least this much per syscall. */
#define SEC(name) __attribute__((section(name), used))

SEC("raw_tp/sys_enter") int floor_enter(void *ctx) { return 0; }
SEC("raw_tp/sys_exit") int floor_exit(void *ctx) { return 0; }

char LICENSE[] SEC("license") = "GPL";
