// Mounts of anything at all: a tmpfs, a procfs, a bind of "/", a read-write
// remount of "/", unmounting /proc. Each prints "<what>: ok" or its error.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

static void report(const char *what, int r) { printf("%s: %s\n", what, r == 0 ? "ok" : strerror(errno)); }

int main(void) {
  mkdir("/tmp/m1", 0755);
  mkdir("/tmp/m2", 0755);
  mkdir("/tmp/m3", 0755);
  report("tmpfs", mount("none", "/tmp/m1", "tmpfs", 0, NULL));
  report("proc", mount("proc", "/tmp/m2", "proc", 0, NULL));
  report("bind", mount("/", "/tmp/m3", NULL, MS_BIND | MS_REC, NULL));
  report("remount", mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND, NULL));
  report("umount", umount2("/proc", MNT_DETACH));
  return 0;
}
