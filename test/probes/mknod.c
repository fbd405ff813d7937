// A block device for the host's disk (major, minor and filesystem type in
// argv[1..3]), mounted, then a file written at argv[4] below it: what a build
// step could do as real root without a user namespace.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 5) return 2;
  dev_t dev = makedev(atoi(argv[1]), atoi(argv[2]));
  mkdir("/tmp/disk", 0755);
  if (mknod("/tmp/blk", S_IFBLK | 0600, dev) != 0) printf("mknod blk: %s\n", strerror(errno));
  else printf("MKNOD blk: ok\n");
  if (mount("/tmp/blk", "/tmp/disk", argv[3], 0, NULL) != 0) {
    printf("mount blk: %s\n", strerror(errno));
    return 0;
  }
  char p[4096];
  snprintf(p, sizeof p, "/tmp/disk%s", argv[4]);
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  printf("MOUNTED the host disk; write %s: %s\n", p, fd < 0 ? strerror(errno) : "ok");
  return 0;
}
