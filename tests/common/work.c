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
 *   work udp4 ADDR PORT N   N sendto of one byte from one UDP socket
 *   work udp6 ADDR PORT N   the same over IPv6
 *   work sendmsg4 ADDR PORT N   N sendmsg with msg_name set
 *   work sendmmsg4 ADDR PORT N  one sendmmsg of N messages to ADDR:PORT
 *   work connected4 ADDR PORT N binds a receiver at ADDR:PORT, connects
 *                     to it, then N sendto and N sendmsg with no address
 *   work unixdgram PATH N   binds a datagram socket at PATH ('@name':
 *                     abstract), then N sendto to it from another one
 *   work uring PORT   one io_uring_enter submitting IORING_OP_OPENAT of
 *                     /etc/hostname and IORING_OP_CONNECT to
 *                     127.0.0.1:PORT, then reaps both completions;
 *                     exits 20+ when io_uring_setup fails
 *
 * No signal handlers, no stdio: nothing in here adds a call to the counted
 * ones (getppid, openat, close, read, write, execve, clone, clone3, wait4)
 * that the tests do not expect. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
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

static socklen_t inet_dest(int v6, const char *addr, const char *port,
			   struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (v6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(atoi(port));
		if (inet_pton(AF_INET6, addr, &s6->sin6_addr) != 1)
			_exit(10);
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons(atoi(port));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) != 1)
		_exit(10);
	return sizeof(*s4);
}

/* mode 0: sendto, 1: sendmsg, 2: one sendmmsg, 3: connect, then no address */
static int udp(int v6, int mode, const char *addr, const char *port, long n)
{
	struct sockaddr_storage ss;
	socklen_t len = inet_dest(v6, addr, port, &ss);
	int s = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
	char b = 'x';
	struct iovec iov = { &b, 1 };
	struct msghdr m = { .msg_name = &ss, .msg_namelen = len, .msg_iov = &iov,
			    .msg_iovlen = 1 };

	if (s < 0)
		return 11;
	if (mode == 2) {
		struct mmsghdr v[64];
		if (n > 64)
			return 12;
		for (long i = 0; i < n; i++)
			v[i] = (struct mmsghdr){ .msg_hdr = m };
		return sendmmsg(s, v, n, 0) == n ? 0 : 13;
	}
	if (mode == 3) {
		/* a receiver there, so no ICMP error fails a later send */
		int r = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
		if (r < 0 || bind(r, (struct sockaddr *)&ss, len))
			return 14;
		if (connect(s, (struct sockaddr *)&ss, len))
			return 14;
		m.msg_name = NULL;
		m.msg_namelen = 0;
	}
	for (long i = 0; i < n; i++) {
		if (mode != 1 && sendto(s, &b, 1, 0, mode == 3 ? NULL : (struct sockaddr *)&ss,
					mode == 3 ? 0 : len) != 1)
			return 15;
		if (mode != 0 && sendmsg(s, &m, 0) != 1)
			return 16;
	}
	return 0;
}

static int unixdgram(const char *path, long n)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t plen = strlen(path);
	socklen_t len;

	if (plen >= sizeof(sun.sun_path))
		return 17;
	memcpy(sun.sun_path, path, plen);
	len = offsetof(struct sockaddr_un, sun_path) + plen;
	if (path[0] == '@')
		sun.sun_path[0] = 0; /* abstract: exactly plen bytes */
	else
		len++;
	int r = socket(AF_UNIX, SOCK_DGRAM, 0), s = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (r < 0 || s < 0 || bind(r, (struct sockaddr *)&sun, len))
		return 18;
	for (long i = 0; i < n; i++)
		if (sendto(s, "x", 1, 0, (struct sockaddr *)&sun, len) != 1)
			return 19;
	return 0;
}

static int uring(const char *port)
{
	struct io_uring_params p;
	struct sockaddr_storage ss;
	socklen_t slen = inet_dest(0, "127.0.0.1", port, &ss);

	memset(&p, 0, sizeof(p));
	int fd = syscall(SYS_io_uring_setup, 4, &p);
	if (fd < 0)
		return 20;
	size_t sqsz = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	size_t cqsz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	int single = p.features & IORING_FEAT_SINGLE_MMAP;
	if (single && cqsz > sqsz)
		sqsz = cqsz;
	char *sq = mmap(0, sqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
			IORING_OFF_SQ_RING);
	char *cq = single ? sq
			  : mmap(0, cqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
				 fd, IORING_OFF_CQ_RING);
	struct io_uring_sqe *sqes = mmap(0, p.sq_entries * sizeof(struct io_uring_sqe),
					 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
					 fd, IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED)
		return 21;
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0)
		return 22;
	unsigned *tail = (unsigned *)(sq + p.sq_off.tail);
	unsigned *mask = (unsigned *)(sq + p.sq_off.ring_mask);
	unsigned *array = (unsigned *)(sq + p.sq_off.array);
	unsigned t = *tail;

	memset(sqes, 0, 2 * sizeof(struct io_uring_sqe));
	sqes[0].opcode = IORING_OP_OPENAT;
	sqes[0].fd = AT_FDCWD;
	sqes[0].addr = (unsigned long)"/etc/hostname";
	sqes[0].open_flags = O_RDONLY;
	sqes[0].user_data = 1;
	sqes[1].opcode = IORING_OP_CONNECT;
	sqes[1].fd = s;
	sqes[1].addr = (unsigned long)&ss;
	sqes[1].off = slen;
	sqes[1].user_data = 2;
	array[t & *mask] = 0;
	array[(t + 1) & *mask] = 1;
	__atomic_store_n(tail, t + 2, __ATOMIC_RELEASE);
	if (syscall(SYS_io_uring_enter, fd, 2, 2, IORING_ENTER_GETEVENTS, NULL, 0) != 2)
		return 23;
	unsigned *chead = (unsigned *)(cq + p.cq_off.head);
	unsigned *ctail = (unsigned *)(cq + p.cq_off.tail);
	if (__atomic_load_n(ctail, __ATOMIC_ACQUIRE) - *chead != 2)
		return 24;
	return 0;
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
	if (argc == 5 && !strcmp(argv[1], "udp4"))
		return udp(0, 0, argv[2], argv[3], atol(argv[4]));
	if (argc == 5 && !strcmp(argv[1], "udp6"))
		return udp(1, 0, argv[2], argv[3], atol(argv[4]));
	if (argc == 5 && !strcmp(argv[1], "sendmsg4"))
		return udp(0, 1, argv[2], argv[3], atol(argv[4]));
	if (argc == 5 && !strcmp(argv[1], "sendmmsg4"))
		return udp(0, 2, argv[2], argv[3], atol(argv[4]));
	if (argc == 5 && !strcmp(argv[1], "connected4"))
		return udp(0, 3, argv[2], argv[3], atol(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "unixdgram"))
		return unixdgram(argv[2], atol(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "uring"))
		return uring(argv[2]);
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
