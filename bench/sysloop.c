/* The syscall loops of the benchmark harness (bench/main.rs), built static
 * so the same binary runs on the host and in a busybox container.
 *
 *   sysloop getppid N            N getppid(2)
 *   sysloop open N [PATH]        N open+close of PATH (default /etc/hostname)
 *   sysloop open-distinct N DIR  N opens of DIR/0 .. DIR/N-1 (need not exist)
 *   sysloop open-relative N      N open+close of etc/hostname from /
 *   sysloop sendto N             N sendto(2) on a connected UDP socket, no
 *                                address (how servers send: nothing to decode)
 *   sysloop sendto-addr N        N sendto(2) of a datagram to 127.0.0.1:9
 *   sysloop mkdir N              N mkdir+rmdir of /tmp/sysloop-dir (two
 *                                path calls, no file opened)
 *   sysloop fchmod N             N fchmod(2) of an open /tmp file (a call
 *                                by descriptor: its file's real path)
 *   sysloop exec-fail N          N execve(2) of a path that does not exist
 *
 * Prints the mean nanoseconds per iteration on stdout.
 *
 *   sysloop rss CMD [ARG...]     runs CMD (stdin and stderr inherited, stdout
 *                                /dev/null), prints its peak RSS in KiB
 *
 * The peak RSS a parent reads from wait4 includes every memory image the
 * child had before its exec: a child vforked from a large process counts
 * that process. This small static helper forks CMD from its own few pages,
 * so the figure is CMD's. Exits with CMD's status. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "rss")) {
		pid_t pid = fork();
		if (pid == 0) {
			int null = open("/dev/null", O_WRONLY);
			if (null >= 0)
				dup2(null, 1);
			execvp(argv[2], argv + 2);
			_exit(127);
		}
		int status = 0;
		struct rusage ru;
		if (pid < 0 || wait4(pid, &status, 0, &ru) < 0)
			return 126;
		printf("%ld\n", ru.ru_maxrss);
		return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
	}
	if (argc < 3) {
		fprintf(stderr, "usage: sysloop "
				"getppid|open|open-distinct|open-relative|sendto|sendto-"
				"addr|mkdir|fchmod|exec-fail N\n");
		return 2;
	}
	const char *mode = argv[1];
	long n = atol(argv[2]);
	const char *path = argc > 3 ? argv[3] : "/etc/hostname";
	char name[4096];
	long long t0 = now_ns();

	if (!strcmp(mode, "getppid")) {
		for (long i = 0; i < n; i++)
			syscall(SYS_getppid);
	} else if (!strcmp(mode, "open")) {
		for (long i = 0; i < n; i++) {
			int fd = open(path, O_RDONLY);
			if (fd >= 0)
				close(fd);
		}
	} else if (!strcmp(mode, "open-distinct")) {
		for (long i = 0; i < n; i++) {
			snprintf(name, sizeof(name), "%s/%ld", path, i);
			int fd = open(name, O_RDONLY);
			if (fd >= 0)
				close(fd);
		}
	} else if (!strcmp(mode, "open-relative")) {
		if (chdir("/"))
			return 1;
		for (long i = 0; i < n; i++) {
			int fd = open("etc/hostname", O_RDONLY);
			if (fd >= 0)
				close(fd);
		}
	} else if (!strcmp(mode, "sendto") || !strcmp(mode, "sendto-addr")) {
		/* the discard port: nothing listens, a datagram needs no peer */
		struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
		int s = socket(AF_INET, SOCK_DGRAM, 0);
		bool connected = !strcmp(mode, "sendto");

		to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (s < 0 ||
		    (connected && connect(s, (struct sockaddr *)&to, sizeof(to))))
			return 1;
		/* t0 after the set-up: the loop alone is measured */
		t0 = now_ns();
		for (long i = 0; i < n; i++) {
			if (connected)
				sendto(s, "x", 1, 0, NULL, 0);
			else
				sendto(s, "x", 1, 0, (struct sockaddr *)&to, sizeof(to));
		}
		close(s);
	} else if (!strcmp(mode, "mkdir")) {
		for (long i = 0; i < n; i++) {
			if (mkdir("/tmp/sysloop-dir", 0700) || rmdir("/tmp/sysloop-dir"))
				return 1;
		}
	} else if (!strcmp(mode, "fchmod")) {
		int fd = open("/tmp/sysloop-file", O_RDWR | O_CREAT, 0600);
		if (fd < 0)
			return 1;
		t0 = now_ns();
		for (long i = 0; i < n; i++)
			fchmod(fd, 0600);
		close(fd);
		unlink("/tmp/sysloop-file");
	} else if (!strcmp(mode, "exec-fail")) {
		char *args[] = { "nope", NULL };
		char *env[] = { NULL };
		for (long i = 0; i < n; i++)
			execve("/nonexistent/nope", args, env);
	} else {
		fprintf(stderr, "sysloop: unknown mode %s\n", mode);
		return 2;
	}
	long long t1 = now_ns();
	printf("%.2f\n", n ? (double)(t1 - t0) / n : 0.0);
	return 0;
}
