/*
 * Process-lifecycle workloads for tests/proc.rs, built static (gcc -static)
 * and run as a container's /proc_t. Each mode makes a known set of execs,
 * moves or exits, so its summary can be checked exactly.
 *
 *   failexec       execve of a missing path twice and of a file that is not
 *                  executable once (ENOENT, ENOENT, EACCES); exits 0
 *   execveat       in children: execveat(dirfd of /bin, "true") and
 *                  fexecve(fd of /bin/true); then a failed execveat of
 *                  "nope" (ENOENT) in the parent; exits 0
 *   move CGPROCS   writes its own pid into CGPROCS (a cgroup.procs file
 *                  outside the container's cgroup), then execs
 *                  /bin/cat /etc/hostname
 *   clone3 DIR     clone3 with CLONE_INTO_CGROUP into the cgroup2 directory
 *                  DIR; the child execs /bin/true
 *   exit N         exits with status N
 *   sleep          pauses until killed
 *   oom            allocates and touches memory until it is killed
 *   ptrace         forks a child that execs /bin/sleep 30 and prints
 *                  "child PID" (its pid in the container), attaches to it
 *                  with PTRACE_ATTACH once it has exec'd, detaches, kills
 *                  it; then PTRACE_ATTACH of pid 999999, which does not
 *                  exist (ESRCH); exits 0
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int wait_child(pid_t pid)
{
	int status = 0;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int failexec(void)
{
	char *missing[] = { "/nonexistent", "a", "b", NULL };
	char *passwd[] = { "/etc/passwd", NULL };

	execve("/nonexistent", missing, environ);
	execve("/nonexistent", missing, environ);
	execve("/etc/passwd", passwd, environ);
	return 0;
}

static int do_execveat(void)
{
	char *argv[] = { "true", NULL };
	char *nope[] = { "nope", NULL };
	pid_t pid = fork();

	if (pid == 0) {
		int dir = open("/bin", O_RDONLY | O_DIRECTORY);
		syscall(SYS_execveat, dir, "true", argv, environ, 0);
		_exit(120);
	}
	if (wait_child(pid) != 0)
		return 1;
	pid = fork();
	if (pid == 0) {
		int fd = open("/bin/true", O_RDONLY);
		fexecve(fd, argv, environ);
		_exit(121);
	}
	if (wait_child(pid) != 0)
		return 2;
	int dir = open("/bin", O_RDONLY | O_DIRECTORY);
	syscall(SYS_execveat, dir, "nope", nope, environ, 0);
	return 0;
}

static int move(const char *procs)
{
	char pid[32];
	char *argv[] = { "/bin/cat", "/etc/hostname", NULL };
	int fd = open(procs, O_WRONLY);
	int n = snprintf(pid, sizeof(pid), "%d\n", getpid());

	if (fd < 0 || write(fd, pid, n) != n)
		return 10;
	close(fd);
	execve("/bin/cat", argv, environ);
	return 11;
}

/* struct clone_args up to its cgroup field (CLONE_ARGS_SIZE_VER2) */
struct clone_args_v2 {
	unsigned long long flags, pidfd, child_tid, parent_tid, exit_signal;
	unsigned long long stack, stack_size, tls, set_tid, set_tid_size;
	unsigned long long cgroup;
};
#define CLONE_INTO_CGROUP 0x200000000ULL

static int clone_into(const char *dir)
{
	char *argv[] = { "true", NULL };
	struct clone_args_v2 args = { 0 };
	int fd = open(dir, O_RDONLY | O_DIRECTORY);

	if (fd < 0)
		return 12;
	args.flags = CLONE_INTO_CGROUP;
	args.exit_signal = SIGCHLD;
	args.cgroup = fd;
	long pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid == 0) {
		execve("/bin/true", argv, environ);
		_exit(120);
	}
	if (pid < 0)
		return 13;
	return wait_child(pid);
}

static int oom(void)
{
	for (;;) {
		char *p = malloc(1 << 20);
		if (!p)
			continue;
		memset(p, 1, 1 << 20);
	}
}

static int do_ptrace(void)
{
	int fds[2];
	char c;

	if (pipe2(fds, O_CLOEXEC))
		return 1;
	pid_t pid = fork();
	if (pid == 0) {
		execl("/bin/sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	printf("child %d\n", (int)pid);
	fflush(stdout);
	/* the write end closes at the child's exec: read returns 0 then */
	close(fds[1]);
	if (read(fds[0], &c, 1) != 0)
		return 2;
	if (ptrace(PTRACE_ATTACH, pid, 0, 0))
		return 3;
	int status;
	if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status))
		return 4;
	if (ptrace(PTRACE_DETACH, pid, 0, 0))
		return 5;
	kill(pid, SIGKILL);
	if (wait_child(pid) != 128 + SIGKILL)
		return 6;
	if (ptrace(PTRACE_ATTACH, 999999, 0, 0) == 0)
		return 7;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 100;
	if (!strcmp(argv[1], "failexec"))
		return failexec();
	if (!strcmp(argv[1], "execveat"))
		return do_execveat();
	if (!strcmp(argv[1], "move") && argc > 2)
		return move(argv[2]);
	if (!strcmp(argv[1], "clone3") && argc > 2)
		return clone_into(argv[2]);
	if (!strcmp(argv[1], "exit") && argc > 2)
		return atoi(argv[2]);
	if (!strcmp(argv[1], "sleep")) {
		for (;;)
			pause();
	}
	if (!strcmp(argv[1], "oom"))
		return oom();
	if (!strcmp(argv[1], "ptrace"))
		return do_ptrace();
	return 101;
}
