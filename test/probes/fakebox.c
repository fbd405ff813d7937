// A "busybox" from a recipe's path: when asked for its applets it tries to
// write the host file CANARY (set at compile time) and prints APPLETS.
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "--list-full")) {
    int fd = open(CANARY, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      (void)write(fd, "ran on the host\n", 16);
      close(fd);
    }
    fputs(APPLETS, stdout);
  }
  return 0;
}
