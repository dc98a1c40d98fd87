/* Workloads for tests/files.rs: paths typed every way a program can type
 * them, and the file calls beyond open. Each mode makes exactly the calls
 * the test expects, and exits non-zero if one does not do what it should. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define CHECK(x)                                                                         \
	do {                                                                             \
		if (!(x)) {                                                              \
			fprintf(stderr, "paths: %s failed: %s (line %d)\n", #x,          \
				strerror(errno), __LINE__);                              \
			exit(2);                                                         \
		}                                                                        \
	} while (0)

static void opened(const char *p, int flags)
{
	int fd = open(p, flags, 0644);
	CHECK(fd >= 0);
	close(fd);
}

/* relative, dirfd-relative, padded and long paths */
static int paths(void)
{
	char pad[600] = "";
	char longp[600] = "/tmp";
	char seg[52];

	CHECK(chdir("/tmp") == 0);
	opened("relfile", O_WRONLY | O_CREAT);
	opened("./relfile", O_RDONLY);
	opened("../etc/passwd", O_RDONLY);
	CHECK(open("missing", O_RDONLY) < 0 && errno == ENOENT);
	int etc = open("/etc", O_RDONLY | O_DIRECTORY);
	CHECK(etc >= 0);
	int fd = openat(etc, "hostname", O_RDONLY);
	CHECK(fd >= 0);
	close(fd);
	int tmp = open("/tmp", O_RDONLY | O_DIRECTORY);
	CHECK(tmp >= 0);
	CHECK(unlinkat(tmp, "relfile", 0) == 0);
	/* "/./././…/etc/passwd", 271 bytes */
	for (int i = 0; i < 130; i++)
		strcat(pad, "/.");
	strcat(pad, "/etc/passwd");
	opened(pad, O_RDONLY);
	/* a 419-byte path: /tmp and 8 directories of 50 bytes, and "f" */
	memset(seg, 'd', 50);
	seg[50] = 0;
	for (int i = 0; i < 8; i++) {
		strcat(longp, "/");
		strcat(longp, seg);
		CHECK(mkdir(longp, 0755) == 0);
	}
	strcat(longp, "/ff.txt");
	CHECK(strlen(longp) == 419);
	opened(longp, O_WRONLY | O_CREAT);
	/* a symlink at the end, a magic link of /proc, a descriptor by name */
	CHECK(symlink("/etc/hostname", "/tmp/hn") == 0);
	opened("/tmp/hn", O_RDONLY);
	opened("/proc/self/root/etc/hostname", O_RDONLY);
	int pw = open("/etc/passwd", O_RDONLY);
	char byfd[32];
	CHECK(pw >= 0);
	snprintf(byfd, sizeof(byfd), "/dev/fd/%d", pw);
	opened(byfd, O_RDONLY);
	close(pw);
	return 0;
}

/* the calls beyond open: each once, on files of its own */
static int ops(void)
{
	CHECK(mkdir("/tmp/newdir", 0700) == 0);
	CHECK(mknod("/tmp/null2", S_IFCHR | 0666, makedev(1, 3)) == 0);
	CHECK(mknodat(AT_FDCWD, "/tmp/fifo", S_IFIFO | 0600, 0) == 0);
	CHECK(link("/etc/passwd", "/tmp/innocent") == 0);
	opened("/tmp/innocent", O_RDONLY);
	CHECK(symlink("/etc/shadow", "/tmp/sl") == 0);
	opened("/tmp/t", O_WRONLY | O_CREAT);
	CHECK(truncate("/tmp/t", 10) == 0);
	int fd = open("/tmp/t2", O_RDWR | O_CREAT, 0600);
	CHECK(fd >= 0);
	CHECK(ftruncate(fd, 5) == 0);
	CHECK(setxattr("/tmp/t", "user.ct", "1", 1, 0) == 0);
	CHECK(fsetxattr(fd, "user.ct", "2", 1, 0) == 0);
	CHECK(removexattr("/tmp/t", "user.ct") == 0);
	CHECK(utimensat(AT_FDCWD, "/tmp/t", NULL, 0) == 0);
	CHECK(futimens(fd, NULL) == 0);
	close(fd);
	opened("/tmp/a", O_WRONLY | O_CREAT);
	opened("/tmp/b", O_WRONLY | O_CREAT);
	CHECK(syscall(SYS_renameat2, AT_FDCWD, "/tmp/a", AT_FDCWD, "/tmp/b", 2) == 0);
	return 0;
}

/* fexecve: the exec is by descriptor, "/dev/fd/N" */
static int fexec(char **envp)
{
	int fd = open("/bin/true", O_RDONLY | O_CLOEXEC);
	char *argv[] = { "true", NULL };

	CHECK(fd >= 0);
	fexecve(fd, argv, envp);
	CHECK(0);
	return 1;
}

int main(int argc, char **argv, char **envp)
{
	if (argc == 2 && !strcmp(argv[1], "paths"))
		return paths();
	if (argc == 2 && !strcmp(argv[1], "ops"))
		return ops();
	if (argc == 2 && !strcmp(argv[1], "fexec"))
		return fexec(envp);
	fprintf(stderr, "usage: paths paths|ops|fexec\n");
	return 2;
}
