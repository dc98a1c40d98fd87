/* The clone probe of tests/seccomp.rs, built static so it runs in the
 * busybox image (bind-mounted):
 *
 *   probe clone FLAGS...    one fork-like clone(FLAGS | SIGCHLD) per FLAGS
 *   probe clone3 FLAGS...   one clone3 with those flags per FLAGS
 *
 * FLAGS in hex. For each it prints "clone 0x50000000: ok" when the child
 * was created (the child exits at once), else the error, such as
 * "clone 0x50000000: Operation not permitted". */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	setvbuf(stdout, NULL, _IONBF, 0);
	for (int i = 2; i < argc; i++) {
		unsigned long flags = strtoul(argv[i], NULL, 16);
		long pid;

		if (!strcmp(argv[1], "clone3")) {
			struct clone_args a;

			memset(&a, 0, sizeof(a));
			a.flags = flags;
			a.exit_signal = SIGCHLD;
			pid = syscall(SYS_clone3, &a, sizeof(a));
		} else {
			/* no new stack: the child runs on a copy of ours, as after fork */
			pid = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
		}
		if (pid == 0)
			_exit(0);
		if (pid < 0) {
			printf("%s %s: %s\n", argv[1], argv[i], strerror(errno));
			continue;
		}
		waitpid(pid, NULL, 0);
		printf("%s %s: ok\n", argv[1], argv[i]);
	}
	return 0;
}
