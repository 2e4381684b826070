// File system inside a preopened directory (given as argv[1]): create, write, read,
// seek, stat, rename, list, remove files and directories.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECK(x)                                                          \
  do {                                                                    \
    if (!(x)) {                                                           \
      printf("FAILED %s (line %d): %s\n", #x, __LINE__, strerror(errno)); \
      return 1;                                                           \
    }                                                                     \
  } while (0)

static int cmp(const void* a, const void* b) {
  return strcmp(*(char* const*)a, *(char* const*)b);
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  char path[256], path2[256];
  snprintf(path, sizeof path, "%s/sub", argv[1]);
  CHECK(mkdir(path, 0755) == 0);
  snprintf(path, sizeof path, "%s/sub/a.txt", argv[1]);
  FILE* f = fopen(path, "w");
  CHECK(f != NULL);
  CHECK(fputs("hello, file\n", f) >= 0);
  CHECK(fclose(f) == 0);

  int fd = open(path, O_RDWR);
  CHECK(fd >= 0);
  CHECK(lseek(fd, 7, SEEK_SET) == 7);
  char buf[32] = {0};
  CHECK(read(fd, buf, 4) == 4);
  printf("read after seek: %s\n", buf);
  CHECK(lseek(fd, 0, SEEK_END) == 12);
  CHECK(write(fd, "more\n", 5) == 5);
  struct stat st;
  CHECK(fstat(fd, &st) == 0);
  printf("size=%lld regular=%d\n", (long long)st.st_size, S_ISREG(st.st_mode));
  CHECK(pwrite(fd, "H", 1, 0) == 1);
  CHECK(pread(fd, buf, 5, 0) == 5);
  buf[5] = 0;
  printf("pread: %s\n", buf);
  CHECK(ftruncate(fd, 5) == 0);
  CHECK(close(fd) == 0);
  CHECK(stat(path, &st) == 0 && st.st_size == 5);

  snprintf(path2, sizeof path2, "%s/sub/b.txt", argv[1]);
  CHECK(rename(path, path2) == 0);
  CHECK(access(path, F_OK) != 0 && errno == ENOENT);
  snprintf(path, sizeof path, "%s/sub/c.txt", argv[1]);
  CHECK(close(open(path, O_CREAT | O_WRONLY, 0644)) == 0);
  CHECK(open(path, O_CREAT | O_EXCL | O_WRONLY, 0644) < 0 && errno == EEXIST);
  snprintf(path, sizeof path, "%s/sub/inner", argv[1]);
  CHECK(mkdir(path, 0755) == 0);

  snprintf(path, sizeof path, "%s/sub", argv[1]);
  DIR* d = opendir(path);
  CHECK(d != NULL);
  char* names[16];
  int n = 0;
  struct dirent* e;
  while ((e = readdir(d)) && n < 16) {
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof names[0], cmp);
  printf("listing:");
  for (int i = 0; i < n; ++i) printf(" %s", names[i]);
  printf("\n");

  CHECK(rmdir(path) != 0 && errno == ENOTEMPTY);
  snprintf(path, sizeof path, "%s/sub/b.txt", argv[1]);
  CHECK(unlink(path) == 0);
  snprintf(path, sizeof path, "%s/sub/c.txt", argv[1]);
  CHECK(unlink(path) == 0);
  snprintf(path, sizeof path, "%s/sub/inner", argv[1]);
  CHECK(rmdir(path) == 0);
  snprintf(path, sizeof path, "%s/sub", argv[1]);
  CHECK(rmdir(path) == 0);
  CHECK(stat(path, &st) != 0 && errno == ENOENT);
  printf("files ok\n");
  return 0;
}
