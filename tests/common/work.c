/* The workloads of the exactness tests (tests/exact.rs), built static so
 * the same binary runs in a busybox container and on the host. Every mode
 * makes a number of syscalls known in advance, so a summary can be held to
 * exact counts:
 *
 *   work plan SPIN THREADS PER_THREAD PROCS PER_PROC FILES CHURN PIPES
 *       runs these side by side, each in a child of its own (fork):
 *         SPIN getppid;
 *         THREADS threads of PER_THREAD getppid each;
 *         PROCS processes of PER_PROC getppid each;
 *         FILES open(O_CREAT) + close of /tmp/work/f0 .. f<FILES-1>;
 *         CHURN times fork, execve("/work", "nop"), wait4;
 *         PIPES one-byte round trips between two processes over pipes, so
 *           both block and wake at every step (read, write: PIPES each);
 *       and waits for every child with one wait4 each.
 *   work nop          exits at once (the exec target of CHURN)
 *   work efault       one openat of an unreadable path (EFAULT)
 *   work mount        one mount(2) attempt, its result ignored
 *   work compat N     N getpid calls through the 32-bit entry (int 0x80)
 *
 * No signal handlers, no stdio: nothing in here adds a call to the counted
 * ones (getppid, openat, close, read, write, execve, clone, clone3, wait4)
 * that the tests do not expect. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void spin(long n)
{
	for (long i = 0; i < n; i++)
		syscall(SYS_getppid);
}

static void *thread_spin(void *n)
{
	spin((long)n);
	return NULL;
}

static void threads(long t, long n)
{
	pthread_t ids[64];

	if (t > 64)
		t = 64;
	for (long i = 0; i < t; i++)
		if (pthread_create(&ids[i], NULL, thread_spin, (void *)n))
			_exit(3);
	for (long i = 0; i < t; i++)
		pthread_join(ids[i], NULL);
}

static void reap(long n)
{
	for (long i = 0; i < n; i++)
		if (wait4(-1, NULL, 0, NULL) < 0)
			_exit(4);
}

static void procs(long p, long n)
{
	for (long i = 0; i < p; i++) {
		if (fork() == 0) {
			spin(n);
			_exit(0);
		}
	}
	reap(p);
}

static void files(long n)
{
	char name[64] = "/tmp/work/f";

	mkdir("/tmp/work", 0755); /* may exist: its result does not matter */
	for (long i = 0; i < n; i++) {
		/* itoa by hand: no stdio */
		char digits[24];
		int d = 0;
		long v = i;
		do {
			digits[d++] = '0' + v % 10;
			v /= 10;
		} while (v);
		int at = 11;
		while (d)
			name[at++] = digits[--d];
		name[at] = 0;
		int fd = open(name, O_CREAT | O_WRONLY, 0644);
		if (fd < 0)
			_exit(5);
		close(fd);
	}
}

static void churn(long n)
{
	char *args[] = { "/work", "nop", NULL };
	char *env[] = { NULL };

	for (long i = 0; i < n; i++) {
		if (fork() == 0) {
			execve("/work", args, env);
			_exit(6);
		}
		reap(1);
	}
}

static void pipes(long n)
{
	int there[2], back[2];
	char b = 'x';

	if (pipe(there) || pipe(back))
		_exit(7);
	if (fork() == 0) {
		for (long i = 0; i < n; i++) {
			if (read(there[0], &b, 1) != 1 || write(back[1], &b, 1) != 1)
				_exit(8);
		}
		_exit(0);
	}
	for (long i = 0; i < n; i++) {
		if (write(there[1], &b, 1) != 1 || read(back[0], &b, 1) != 1)
			_exit(9);
	}
	reap(1);
}

/* Runs `part` in a child of its own. */
#define PART(cond, call)                                                       \
	do {                                                                   \
		if (cond) {                                                    \
			children++;                                            \
			if (fork() == 0) {                                     \
				call;                                          \
				_exit(0);                                      \
			}                                                      \
		}                                                              \
	} while (0)

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "nop"))
		return 0;
	if (argc == 2 && !strcmp(argv[1], "efault"))
		return syscall(SYS_openat, AT_FDCWD, (void *)1, O_RDONLY) == -1 ? 0 : 1;
	if (argc == 2 && !strcmp(argv[1], "mount")) {
		mount("none", "/mnt", "tmpfs", 0, NULL);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "compat")) {
		for (long i = atol(argv[2]); i > 0; i--) {
			long r;
			/* i386's getpid is 20 */
			__asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
		}
		return 0;
	}
	if (argc != 10 || strcmp(argv[1], "plan"))
		return 2;
	long a[8];
	for (int i = 0; i < 8; i++)
		a[i] = atol(argv[i + 2]);
	long children = 0;
	PART(a[0], spin(a[0]));
	PART(a[1], threads(a[1], a[2]));
	PART(a[3], procs(a[3], a[4]));
	PART(a[5], files(a[5]));
	PART(a[6], churn(a[6]));
	PART(a[7], pipes(a[7]));
	reap(children);
	return 0;
}
