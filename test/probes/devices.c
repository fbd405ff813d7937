// What /dev offers: every device node (type, major:minor, path), opened for
// writing when it is a block device; new nodes made with mknod; and a write
// to every node, so an image's /dev/null that points elsewhere would show.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static void walk(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    struct stat st;
    if (lstat(p, &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) walk(p);
    else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      printf("node %c %u:%u %s\n", S_ISBLK(st.st_mode) ? 'b' : 'c', major(st.st_rdev), minor(st.st_rdev), p);
      if (S_ISBLK(st.st_mode)) {
        int fd = open(p, O_RDWR);
        printf("OPEN blk %s: %s\n", p, fd < 0 ? strerror(errno) : "ok");
      }
    }
  }
  closedir(d);
}

int main(void) {
  walk("/dev");
  printf("mknod /dev/probe-blk: %s\n", mknod("/dev/probe-blk", S_IFBLK | 0600, makedev(8, 0)) == 0 ? "ok" : strerror(errno));
  printf("mknod /dev/probe-mem: %s\n", mknod("/dev/probe-mem", S_IFCHR | 0600, makedev(1, 1)) == 0 ? "ok" : strerror(errno));
  const char *targets[] = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/new-file"};
  for (unsigned i = 0; i < sizeof targets / sizeof *targets; i++) {
    int fd = open(targets[i], O_WRONLY | O_CREAT, 0644);
    if (fd >= 0) {
      (void)write(fd, "pwned\n", 6);
      close(fd);
    }
  }
  return 0;
}
