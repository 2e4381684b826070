/* WASI preview 1 conformance guest: calls every wasi_snapshot_preview1 function, in its
 * successful and its error cases, straight through the raw API (wasi/api.h), and prints
 * one line per call: a label, the errno and what was returned that any runtime must
 * agree on (no inode numbers, times or random bytes). tests/wasi/test_wasi_vs_wasmtime.py
 * runs it under edgecar and under wasmtime and compares the lines.
 *
 * Values outside an enum (a clock id of 99, whence 7) are left out: wasmtime traps on
 * them (wiggle's guest error) where edgecar returns EINVAL.
 *
 * Run with: args "conf" "a b" "ünï", env FOO=bar, a preopen "/sandbox" holding
 * file.txt ("hello conformance\n") and dir/inner.txt ("inner\n"). Exits with code 3. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

static __wasi_fd_t sandbox = (__wasi_fd_t)-1;

#define E(label, call) printf("%s: %d\n", label, (int)(call))

static const char* filetype(__wasi_filetype_t t) {
  static const char* names[] = {"unknown",       "block_device", "character_device",
                                "directory",     "regular_file", "socket_dgram",
                                "socket_stream", "symbolic_link"};
  return t < 8 ? names[t] : "?";
}

static __wasi_fd_t open_at(const char* label, const char* path, __wasi_lookupflags_t look,
                           __wasi_oflags_t of, __wasi_rights_t base, __wasi_fdflags_t fl) {
  __wasi_fd_t fd = (__wasi_fd_t)-1;
  __wasi_errno_t e = __wasi_path_open(sandbox, look, path, of, base, base, fl, &fd);
  printf("%s: %d\n", label, (int)e);
  return e == 0 ? fd : (__wasi_fd_t)-1;
}

static void stat_path(const char* label, const char* path, __wasi_lookupflags_t look) {
  __wasi_filestat_t st;
  __wasi_errno_t e = __wasi_path_filestat_get(sandbox, look, path, &st);
  if (e)
    printf("%s: %d\n", label, (int)e);
  else
    printf("%s: 0 %s size=%llu nlink=%llu\n", label, filetype(st.filetype),
           (unsigned long long)(st.filetype == __WASI_FILETYPE_DIRECTORY ? 0 : st.size),
           (unsigned long long)st.nlink);
}

static void read_all(const char* label, __wasi_fd_t fd) {
  char buf[128] = {0};
  __wasi_iovec_t iov = {(uint8_t*)buf, sizeof buf - 1};
  __wasi_size_t n = 0;
  __wasi_errno_t e = __wasi_fd_read(fd, &iov, 1, &n);
  printf("%s: %d n=%u \"%.*s\"\n", label, (int)e, (unsigned)n, (int)strcspn(buf, "\n"), buf);
}

static int cmp(const void* a, const void* b) {
  return strcmp(*(char* const*)a, *(char* const*)b);
}

static void list_dir(const char* label, __wasi_fd_t fd) {
  static uint8_t buf[4096];
  __wasi_size_t used = 0;
  __wasi_errno_t e = __wasi_fd_readdir(fd, buf, sizeof buf, 0, &used);
  char* names[64];
  int count = 0;
  for (__wasi_size_t at = 0; e == 0 && at + sizeof(__wasi_dirent_t) <= used && count < 64;) {
    __wasi_dirent_t d;
    memcpy(&d, buf + at, sizeof d);
    at += sizeof d;
    if (at + d.d_namlen > used) break;
    char* name = malloc(d.d_namlen + 32);
    snprintf(name, d.d_namlen + 32, "%.*s:%s", (int)d.d_namlen, (char*)buf + at,
             filetype(d.d_type));
    at += d.d_namlen;
    if (strncmp(name, ".:", 2) && strncmp(name, "..:", 3))
      names[count++] = name;  // runtimes differ on . and ..
  }
  qsort(names, count, sizeof names[0], cmp);
  printf("%s: %d", label, (int)e);
  for (int i = 0; i < count; i++) printf(" %s", names[i]);
  printf("\n");
}

int main(void) {
  /* args and environment */
  __wasi_size_t argc = 0, argv_size = 0, envc = 0, env_size = 0;
  E("args_sizes_get", __wasi_args_sizes_get(&argc, &argv_size));
  printf("  argc=%u size=%u\n", (unsigned)argc, (unsigned)argv_size);
  {
    uint8_t* argv[16];
    uint8_t buf[256];
    E("args_get", __wasi_args_get(argv, buf));
    for (unsigned i = 0; i < argc && i < 16; i++) printf("  argv[%u]=%s\n", i, (char*)argv[i]);
  }
  E("environ_sizes_get", __wasi_environ_sizes_get(&envc, &env_size));
  {
    uint8_t* env[64];
    uint8_t buf[4096];
    E("environ_get", __wasi_environ_get(env, buf));
    for (unsigned i = 0; i < envc && i < 64; i++)
      if (!strncmp((char*)env[i], "FOO=", 4)) printf("  %s\n", (char*)env[i]);
  }

  /* clocks */
  for (__wasi_clockid_t id = 0; id < 4; id++) {
    __wasi_timestamp_t res = 0, t = 0;
    __wasi_errno_t e1 = __wasi_clock_res_get(id, &res), e2 = __wasi_clock_time_get(id, 1, &t);
    printf("clock %u: res %d %s, time %d %s\n", (unsigned)id, (int)e1,
           res > 0 ? "positive" : "zero", (int)e2, t > 0 ? "positive" : "zero");
  }

  /* preopens */
  for (__wasi_fd_t fd = 3; fd < 16; fd++) {
    __wasi_prestat_t ps;
    __wasi_errno_t e = __wasi_fd_prestat_get(fd, &ps);
    if (e) {
      printf("fd_prestat_get %u: %d\n", (unsigned)fd, (int)e);
      break;
    }
    char name[64] = {0};
    E("fd_prestat_dir_name", __wasi_fd_prestat_dir_name(fd, (uint8_t*)name, ps.u.dir.pr_name_len));
    printf("  preopen %u: %.*s\n", (unsigned)fd, (int)ps.u.dir.pr_name_len, name);
    if (!strncmp(name, "/sandbox", 8)) sandbox = fd;
    char small[2];
    if (ps.u.dir.pr_name_len > 2)
      E("fd_prestat_dir_name short buffer", __wasi_fd_prestat_dir_name(fd, (uint8_t*)small, 2));
  }
  {
    __wasi_prestat_t ps;
    E("fd_prestat_get stdout", __wasi_fd_prestat_get(1, &ps));
    E("fd_prestat_get bad fd", __wasi_fd_prestat_get(999, &ps));
  }
  if (sandbox == (__wasi_fd_t)-1) {
    printf("no /sandbox preopen\n");
    return 1;
  }

  /* descriptors */
  {
    __wasi_fdstat_t st;
    E("fd_fdstat_get sandbox", __wasi_fd_fdstat_get(sandbox, &st));
    printf("  filetype=%s flags=%u\n", filetype(st.fs_filetype), (unsigned)st.fs_flags);
    E("fd_fdstat_get bad fd", __wasi_fd_fdstat_get(999, &st));
    __wasi_filestat_t fst;
    E("fd_filestat_get bad fd", __wasi_fd_filestat_get(999, &fst));
    E("fd_filestat_get sandbox", __wasi_fd_filestat_get(sandbox, &fst));
    printf("  filetype=%s\n", filetype(fst.filetype));
  }
  const __wasi_rights_t all = (__wasi_rights_t)0x1fffffff;
  const __wasi_rights_t rd = __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_TELL |
                             __WASI_RIGHTS_FD_FILESTAT_GET | __WASI_RIGHTS_FD_ADVISE |
                             __WASI_RIGHTS_FD_READDIR;
  __wasi_fd_t f = open_at("path_open file.txt read", "file.txt", 0, 0, rd, 0);
  if (f != (__wasi_fd_t)-1) {
    __wasi_fdstat_t st;
    E("fd_fdstat_get file", __wasi_fd_fdstat_get(f, &st));
    printf("  filetype=%s flags=%u\n", filetype(st.fs_filetype), (unsigned)st.fs_flags);
    read_all("fd_read", f);
    read_all("fd_read at end", f);
    __wasi_filesize_t pos = 0;
    E("fd_seek set 6", __wasi_fd_seek(f, 6, __WASI_WHENCE_SET, &pos));
    printf("  pos=%llu\n", (unsigned long long)pos);
    E("fd_seek cur -1", __wasi_fd_seek(f, -1, __WASI_WHENCE_CUR, &pos));
    printf("  pos=%llu\n", (unsigned long long)pos);
    E("fd_seek end 0", __wasi_fd_seek(f, 0, __WASI_WHENCE_END, &pos));
    printf("  pos=%llu\n", (unsigned long long)pos);
    E("fd_seek before start", __wasi_fd_seek(f, -100, __WASI_WHENCE_SET, &pos));
    E("fd_tell", __wasi_fd_tell(f, &pos));
    printf("  pos=%llu\n", (unsigned long long)pos);
    char buf[8] = {0};
    __wasi_iovec_t iov = {(uint8_t*)buf, 5};
    __wasi_size_t n = 0;
    E("fd_pread at 6", __wasi_fd_pread(f, &iov, 1, 6, &n));
    printf("  n=%u \"%.*s\"\n", (unsigned)n, (int)n, buf);
    E("fd_pread past end", __wasi_fd_pread(f, &iov, 1, 1000, &n));
    printf("  n=%u\n", (unsigned)n);
    __wasi_ciovec_t ciov = {(const uint8_t*)"x", 1};
    E("fd_write on read-only file", __wasi_fd_write(f, &ciov, 1, &n));
    E("fd_pwrite on read-only file", __wasi_fd_pwrite(f, &ciov, 1, 0, &n));
    E("fd_advise", __wasi_fd_advise(f, 0, 10, __WASI_ADVICE_SEQUENTIAL));
    E("fd_filestat_set_size read-only", __wasi_fd_filestat_set_size(f, 3));
    E("fd_readdir on a file", __wasi_fd_readdir(f, (uint8_t*)buf, sizeof buf, 0, &n));
    E("sock_shutdown on a file", __wasi_sock_shutdown(f, __WASI_SDFLAGS_WR));
    __wasi_fd_t out;
    E("sock_accept on a file", __wasi_sock_accept(f, 0, &out));
    __wasi_roflags_t rf;
    E("sock_recv on a file", __wasi_sock_recv(f, &iov, 1, 0, &n, &rf));
    E("sock_send on a file", __wasi_sock_send(f, &ciov, 1, 0, &n));
    E("fd_close", __wasi_fd_close(f));
    E("fd_close again", __wasi_fd_close(f));
    E("fd_read closed", __wasi_fd_read(f, &iov, 1, &n));
  }
  E("sock_shutdown bad fd", __wasi_sock_shutdown(999, __WASI_SDFLAGS_WR));
  E("sock_shutdown on a directory", __wasi_sock_shutdown(sandbox, __WASI_SDFLAGS_WR));

  /* creating, writing, truncating */
  __wasi_fd_t w = open_at("path_open new.txt create excl", "new.txt", 0,
                          __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, all, 0);
  open_at("path_open new.txt create excl again", "new.txt", 0,
          __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, all, 0);
  if (w != (__wasi_fd_t)-1) {
    __wasi_ciovec_t parts[2] = {{(const uint8_t*)"abc", 3}, {(const uint8_t*)"defgh\n", 6}};
    __wasi_size_t n = 0;
    E("fd_write two iovecs", __wasi_fd_write(w, parts, 2, &n));
    /* A short write is allowed: wasmtime writes the first iovec only, edgecar both. */
    printf("  at least the first iovec: %s\n", n >= 3 ? "yes" : "no");
    __wasi_filesize_t at = 0;
    E("fd_filestat_set_size 3", __wasi_fd_filestat_set_size(w, 3));
    E("fd_seek to 3", __wasi_fd_seek(w, 3, __WASI_WHENCE_SET, &at));
    __wasi_ciovec_t z = {(const uint8_t*)"Z", 1};
    E("fd_pwrite at 1", __wasi_fd_pwrite(w, &z, 1, 1, &n));
    __wasi_filesize_t pos = 0;
    E("fd_tell after pwrite", __wasi_fd_tell(w, &pos));
    printf("  pos=%llu\n", (unsigned long long)pos);
    E("fd_datasync", __wasi_fd_datasync(w));
    E("fd_sync", __wasi_fd_sync(w));
    E("fd_allocate", __wasi_fd_allocate(w, 0, 100));
    __wasi_filestat_t st;
    E("fd_filestat_get after allocate", __wasi_fd_filestat_get(w, &st));
    printf("  size=%llu\n", (unsigned long long)st.size);
    E("fd_filestat_set_size 4", __wasi_fd_filestat_set_size(w, 4));
    E("fd_filestat_get", __wasi_fd_filestat_get(w, &st));
    printf("  %s size=%llu nlink=%llu\n", filetype(st.filetype), (unsigned long long)st.size,
           (unsigned long long)st.nlink);
    E("fd_filestat_set_times",
      __wasi_fd_filestat_set_times(w, 1000000000ull, 2000000000ull,
                                   __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM));
    E("fd_filestat_get times", __wasi_fd_filestat_get(w, &st));
    printf("  atim=%llu mtim=%llu\n", (unsigned long long)st.atim, (unsigned long long)st.mtim);
    E("fd_filestat_set_times both set and now",
      __wasi_fd_filestat_set_times(w, 1, 1, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_ATIM_NOW));
    E("fd_fdstat_set_flags append", __wasi_fd_fdstat_set_flags(w, __WASI_FDFLAGS_APPEND));
    __wasi_fdstat_t fs;
    E("fd_fdstat_get after set_flags", __wasi_fd_fdstat_get(w, &fs));
    printf("  flags=%u\n", (unsigned)fs.fs_flags);
    E("fd_fdstat_set_rights drop write", __wasi_fd_fdstat_set_rights(w, rd, rd));
    E("fd_write after dropping the right", __wasi_fd_write(w, &z, 1, &n));
    E("fd_fdstat_set_rights widen again", __wasi_fd_fdstat_set_rights(w, all, all));
    __wasi_fd_t w2 = open_at("path_open new.txt read", "new.txt", 0, 0, rd, 0);
    E("fd_renumber", __wasi_fd_renumber(w2, w));
    read_all("fd_read after renumber", w);
    E("fd_read the renumbered-away fd",
      __wasi_fd_read(w2, &(__wasi_iovec_t){(uint8_t*)&n, 1}, 1, &n));
    E("fd_renumber bad from", __wasi_fd_renumber(999, w));
    E("fd_renumber bad to", __wasi_fd_renumber(w, 999));
    E("fd_close new", __wasi_fd_close(w));
  }
  __wasi_fd_t t = open_at("path_open new.txt trunc", "new.txt", 0, __WASI_OFLAGS_TRUNC, all, 0);
  if (t != (__wasi_fd_t)-1) {
    __wasi_filestat_t st;
    E("fd_filestat_get after trunc", __wasi_fd_filestat_get(t, &st));
    printf("  size=%llu\n", (unsigned long long)st.size);
    E("fd_close trunc", __wasi_fd_close(t));
  }
  __wasi_fd_t a = open_at("path_open append", "new.txt", 0, 0, all, __WASI_FDFLAGS_APPEND);
  if (a != (__wasi_fd_t)-1) {
    __wasi_size_t n;
    __wasi_ciovec_t c1 = {(const uint8_t*)"12", 2};
    E("fd_write append", __wasi_fd_write(a, &c1, 1, &n));
    __wasi_filesize_t pos;
    E("fd_seek append", __wasi_fd_seek(a, 0, __WASI_WHENCE_SET, &pos));
    E("fd_write append after seek", __wasi_fd_write(a, &c1, 1, &n));
    __wasi_filestat_t st;
    E("append writes at the end", __wasi_fd_filestat_get(a, &st));
    printf("  size=%llu\n", (unsigned long long)st.size);
    E("fd_close append", __wasi_fd_close(a));
  }
  open_at("path_open missing", "missing.txt", 0, 0, rd, 0);
  open_at("path_open directory flag on a file", "file.txt", 0, __WASI_OFLAGS_DIRECTORY, rd, 0);
  open_at("path_open file with trailing slash", "file.txt/", 0, 0, rd, 0);
  __wasi_fd_t d = open_at("path_open dir", "dir", 0, __WASI_OFLAGS_DIRECTORY, all, 0);
  if (d != (__wasi_fd_t)-1) {
    list_dir("fd_readdir dir", d);
    E("fd_close dir", __wasi_fd_close(d));
  }
  open_at("path_open dir for writing", "dir", 0, 0, __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE,
          0);
  open_at("path_open dir create", "dir", 0, __WASI_OFLAGS_CREAT, all, 0);
  open_at("path_open dir trunc", "dir", 0, __WASI_OFLAGS_TRUNC, all, 0);
  open_at("path_open empty path", "", 0, 0, rd, 0);
  open_at("path_open dot", ".", 0, __WASI_OFLAGS_DIRECTORY, rd, 0);
  open_at("path_open dotdot", "..", 0, __WASI_OFLAGS_DIRECTORY, rd, 0);
  open_at("path_open escape through dir", "dir/../../x", 0, 0, rd, 0);
  open_at("path_open absolute", "/etc/passwd", 0, 0, rd, 0);
  open_at("path_open inside through dotdot", "dir/../file.txt", 0, 0, rd, 0);

  /* directories */
  E("path_create_directory", __wasi_path_create_directory(sandbox, "d1"));
  E("path_create_directory exists", __wasi_path_create_directory(sandbox, "d1"));
  E("path_create_directory over a file", __wasi_path_create_directory(sandbox, "file.txt"));
  E("path_create_directory missing parent", __wasi_path_create_directory(sandbox, "no/such"));
  E("path_create_directory escape", __wasi_path_create_directory(sandbox, "../outside"));
  E("path_remove_directory not empty", __wasi_path_remove_directory(sandbox, "dir"));
  E("path_remove_directory a file", __wasi_path_remove_directory(sandbox, "file.txt"));
  E("path_remove_directory missing", __wasi_path_remove_directory(sandbox, "nope"));
  E("path_unlink_file a directory", __wasi_path_unlink_file(sandbox, "d1"));
  E("path_unlink_file missing", __wasi_path_unlink_file(sandbox, "nope"));
  E("path_remove_directory", __wasi_path_remove_directory(sandbox, "d1"));

  /* links */
  E("path_symlink relative", __wasi_path_symlink("file.txt", sandbox, "link1"));
  E("path_symlink exists", __wasi_path_symlink("file.txt", sandbox, "link1"));
  E("path_symlink absolute target", __wasi_path_symlink("/etc/passwd", sandbox, "abs"));
  E("path_symlink escaping target", __wasi_path_symlink("../../etc/passwd", sandbox, "esc"));
  E("path_symlink dangling", __wasi_path_symlink("nowhere", sandbox, "dangling"));
  {
    char buf[64] = {0};
    __wasi_size_t n = 0;
    E("path_readlink", __wasi_path_readlink(sandbox, "link1", (uint8_t*)buf, sizeof buf, &n));
    printf("  \"%.*s\"\n", (int)n, buf);
    E("path_readlink absolute",
      __wasi_path_readlink(sandbox, "abs", (uint8_t*)buf, sizeof buf, &n));
    printf("  \"%.*s\"\n", (int)n, buf);
    E("path_readlink short buffer", __wasi_path_readlink(sandbox, "link1", (uint8_t*)buf, 3, &n));
    printf("  n=%u\n", (unsigned)n);
    E("path_readlink not a link",
      __wasi_path_readlink(sandbox, "file.txt", (uint8_t*)buf, sizeof buf, &n));
  }
  stat_path("path_filestat_get link nofollow", "link1", 0);
  stat_path("path_filestat_get link follow", "link1", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW);
  stat_path("path_filestat_get absolute link follow", "abs", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW);
  stat_path("path_filestat_get escaping link follow", "esc", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW);
  stat_path("path_filestat_get dangling follow", "dangling", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW);
  stat_path("path_filestat_get dir", "dir", 0);
  open_at("path_open through link", "link1", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, 0, rd, 0);
  open_at("path_open link nofollow", "link1", 0, 0, rd, 0);
  open_at("path_open absolute link", "abs", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, 0, rd, 0);
  open_at("path_open escaping link", "esc", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, 0, rd, 0);
  E("path_link", __wasi_path_link(sandbox, 0, "file.txt", sandbox, "hard"));
  stat_path("path_filestat_get after link", "file.txt", 0);
  E("path_link exists", __wasi_path_link(sandbox, 0, "file.txt", sandbox, "hard"));
  E("path_link a directory", __wasi_path_link(sandbox, 0, "dir", sandbox, "dirlink"));
  E("path_link out of the sandbox", __wasi_path_link(sandbox, 0, "file.txt", sandbox, "../hard"));
  E("path_filestat_set_times",
    __wasi_path_filestat_set_times(sandbox, 0, "hard", 5000000000ull, 6000000000ull,
                                   __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM));
  {
    __wasi_filestat_t st;
    E("path_filestat_get hard", __wasi_path_filestat_get(sandbox, 0, "hard", &st));
    printf("  mtim=%llu\n", (unsigned long long)st.mtim);
  }
  E("path_filestat_set_times missing",
    __wasi_path_filestat_set_times(sandbox, 0, "nope", 0, 0, __WASI_FSTFLAGS_ATIM_NOW));
  E("path_rename", __wasi_path_rename(sandbox, "hard", sandbox, "moved"));
  E("path_rename missing", __wasi_path_rename(sandbox, "hard", sandbox, "moved2"));
  E("path_rename dir over file", __wasi_path_rename(sandbox, "dir", sandbox, "moved"));
  E("path_rename file over dir", __wasi_path_rename(sandbox, "moved", sandbox, "dir"));
  E("path_rename out of the sandbox", __wasi_path_rename(sandbox, "moved", sandbox, "../moved"));
  E("path_unlink_file link", __wasi_path_unlink_file(sandbox, "link1"));
  E("path_unlink_file", __wasi_path_unlink_file(sandbox, "moved"));
  E("path_unlink_file trailing slash", __wasi_path_unlink_file(sandbox, "new.txt/"));
  list_dir("fd_readdir sandbox", sandbox);

  /* polling, randomness, scheduling */
  {
    __wasi_subscription_t subs[2];
    memset(subs, 0, sizeof subs);
    subs[0].userdata = 7;
    subs[0].u.tag = __WASI_EVENTTYPE_CLOCK;
    subs[0].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    subs[0].u.u.clock.timeout = 1000000;  // 1 ms
    __wasi_event_t ev[2];
    __wasi_size_t n = 0;
    E("poll_oneoff clock", __wasi_poll_oneoff(subs, ev, 1, &n));
    printf("  n=%u userdata=%llu error=%u type=%u\n", (unsigned)n,
           (unsigned long long)ev[0].userdata, (unsigned)ev[0].error, (unsigned)ev[0].type);
    __wasi_fd_t r = open_at("path_open for poll", "file.txt", 0, 0, rd, 0);
    subs[1].userdata = 9;
    subs[1].u.tag = __WASI_EVENTTYPE_FD_READ;
    subs[1].u.u.fd_read.file_descriptor = r;
    subs[0].u.u.clock.timeout = 1000000000;  // 1 s: the file is ready first
    E("poll_oneoff file read", __wasi_poll_oneoff(subs, ev, 2, &n));
    printf("  n=%u userdata=%llu error=%u type=%u\n", (unsigned)n,
           (unsigned long long)ev[0].userdata, (unsigned)ev[0].error, (unsigned)ev[0].type);
    subs[1].u.u.fd_read.file_descriptor = 999;
    E("poll_oneoff bad fd", __wasi_poll_oneoff(subs + 1, ev, 1, &n));
    printf("  n=%u error=%u\n", (unsigned)n, n ? (unsigned)ev[0].error : 0u);
    E("poll_oneoff nothing", __wasi_poll_oneoff(subs, ev, 0, &n));
    E("fd_close poll", __wasi_fd_close(r));
  }
  {
    uint8_t buf[32];
    E("random_get", __wasi_random_get(buf, sizeof buf));
    E("random_get empty", __wasi_random_get(buf, 0));
  }
  E("sched_yield", __wasi_sched_yield());
  fflush(stdout);
  __wasi_proc_exit(3);
}
