// Writes below a read-only mount (argv[1]) and below a submount of it
// (argv[1]/sub); then, in a user and mount namespace of its own, tries to
// remount the submount read-write or unmount it, and writes again.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

static void try_write(const char *dir, const char *name, const char *when) {
  char p[4096];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    printf("%s write %s: %s\n", when, p, strerror(errno));
    return;
  }
  close(fd);
  printf("%s WROTE %s\n", when, p);
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  char sub[4096];
  snprintf(sub, sizeof sub, "%s/sub", argv[1]);
  try_write(argv[1], "probe", "top");
  try_write(sub, "probe", "sub");
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
    printf("nested namespace: %s\n", strerror(errno));
    return 0;
  }
  printf("nested remount rw: %s\n", mount(NULL, sub, NULL, MS_REMOUNT | MS_BIND, NULL) == 0 ? "ok" : strerror(errno));
  printf("nested umount: %s\n", umount2(sub, MNT_DETACH) == 0 ? "ok" : strerror(errno));
  try_write(sub, "probe", "nested");
  try_write(argv[1], "probe", "nested-top");
  return 0;
}
