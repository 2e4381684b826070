// Attempts to leave the preopened directory (fd 3) through the raw WASI calls, so that
// the host's sandbox, not wasi-libc, is what refuses them. Prints the errno of each.
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

// proc_raise is no longer declared by wasi-libc; import it directly.
__attribute__((import_module("wasi_snapshot_preview1"), import_name("proc_raise"))) uint16_t
raw_proc_raise(uint8_t sig);

static void try_open(const char* what, const char* path, __wasi_lookupflags_t follow) {
  __wasi_fd_t fd;
  __wasi_errno_t e = __wasi_path_open(3, follow, path, 0, __WASI_RIGHTS_FD_READ, 0, 0, &fd);
  printf("%s: %d\n", what, e);
}

int main(void) {
  try_open("dotdot", "../outside.txt", 0);
  try_open("deep dotdot", "sub/../../outside.txt", 0);
  try_open("absolute", "/etc/passwd", 0);
  try_open("symlink to /etc", "etc-link/passwd", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW);
  try_open("symlink to parent", "up-link/outside.txt", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW);
  try_open("symlink loop", "loop-a", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW);
  try_open("inside", "sub/inside.txt", 0);
  printf("rename out: %d\n", __wasi_path_rename(3, "sub/inside.txt", 3, "../escaped.txt"));
  printf("mkdir out: %d\n", __wasi_path_create_directory(3, "../escaped-dir"));
  printf("unlink out: %d\n", __wasi_path_unlink_file(3, "../outside.txt"));
  printf("absolute symlink: %d\n", __wasi_path_symlink("/etc/passwd", 3, "new-link"));
  try_open("through absolute link", "new-link", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW);
  printf("escaping symlink: %d\n", __wasi_path_symlink("../outside.txt", 3, "out-link"));
  try_open("through escaping link", "out-link", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW);
  __wasi_filestat_t st;
  printf("stat through link: %d\n",
         __wasi_path_filestat_get(3, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "etc-link/passwd", &st));
  printf("bad pointer: %d\n",
         __wasi_fd_write(1, (const __wasi_ciovec_t*)0xFFFFFFF0, 1, (__wasi_size_t*)0));
  printf("bad fd: %d\n", __wasi_fd_close(1234));
  printf("raise: %d\n", raw_proc_raise(15));
  return 0;
}
