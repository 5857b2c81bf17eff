/*
 * agentcube-jail-exec: sets rlimits, drops to a uid, execs a program. One exec instead of
 * setpriv + prlimit in front of bubblewrap (io.agentcube.jail.Jail).
 *
 *   agentcube-jail-exec [--uid=N] [--core=N] [--as=N] [--nproc=N] [--cpu=N] [--fsize=N]
 *                       [--nofile=N] -- /absolute/program [args...]
 *
 * Every limit is set as soft and hard limit. --uid=N (as root) sets real, effective and saved
 * uid and gid to N, clears the supplementary groups and leaves no capability in any set
 * (permitted, effective, inheritable, ambient). N = 0 and N = -1 are refused. The program is
 * run by execv, without a PATH search. Anything unexpected (an unknown option, a number that
 * is not plain decimal or overflows, a relative program, a failed call) ends it before the exec
 * with a message on stderr and exit 125; a program that cannot be executed is 126 (EACCES) or
 * 127, as a shell reports it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FAIL 125

static void die(const char *what, const char *arg) {
  fprintf(stderr, "agentcube-jail-exec: %s%s%s\n", what, arg ? ": " : "", arg ? arg : "");
  exit(FAIL);
}

/* Plain decimal, 1 to 20 digits, no sign, no space, no overflow. */
static uint64_t number(const char *s, const char *arg) {
  if (*s == '\0' || strlen(s) > 20) die("not a number", arg);
  uint64_t v = 0;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9') die("not a number", arg);
    uint64_t d = (uint64_t)(*p - '0');
    if (v > (UINT64_MAX - d) / 10) die("number too large", arg);
    v = v * 10 + d;
  }
  return v;
}

static const struct { const char *flag; int resource; } LIMITS[] = {
  {"--core=", RLIMIT_CORE}, {"--as=", RLIMIT_AS}, {"--nproc=", RLIMIT_NPROC},
  {"--cpu=", RLIMIT_CPU}, {"--fsize=", RLIMIT_FSIZE}, {"--nofile=", RLIMIT_NOFILE},
};

static void no_capabilities(void) {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
    die("cannot clear ambient capabilities", strerror(errno));
  if (syscall(SYS_capset, &hdr, data) != 0) die("cannot clear capabilities", strerror(errno));
}

int main(int argc, char **argv) {
  long long uid = -1;
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) break;
    if (strncmp(a, "--uid=", 6) == 0) {
      uint64_t v = number(a + 6, a);
      if (v == 0 || v >= UINT32_MAX) die("refusing uid", a);
      uid = (long long)v;
      continue;
    }
    size_t k = 0, n = sizeof LIMITS / sizeof LIMITS[0];
    for (; k < n; k++) {
      size_t len = strlen(LIMITS[k].flag);
      if (strncmp(a, LIMITS[k].flag, len) == 0) {
        uint64_t v = number(a + len, a);
        struct rlimit rl = {(rlim_t)v, (rlim_t)v};
        struct rlimit now;
        if (setrlimit(LIMITS[k].resource, &rl) != 0) {
          // Above this process's own hard limit (a proxy started under a lower ulimit; a user
          // namespace cannot raise it): the sandbox gets that hard limit, which is lower still.
          if (errno != EPERM || getrlimit(LIMITS[k].resource, &now) != 0 || now.rlim_max >= rl.rlim_max)
            die("cannot set limit", a);
          rl.rlim_cur = rl.rlim_max = now.rlim_max;
          if (setrlimit(LIMITS[k].resource, &rl) != 0) die("cannot set limit", a);
        }
        break;
      }
    }
    if (k == n) die("unknown option", a);
  }
  if (i >= argc - 1) die("usage: agentcube-jail-exec [--uid=N] [--LIMIT=N]... -- /program [args]", NULL);
  const char *program = argv[i + 1];
  if (program[0] != '/') die("program must be an absolute path", program);
  if (uid > 0) {
    uid_t u = (uid_t)uid;
    if (setgroups(0, NULL) != 0) die("cannot clear groups", strerror(errno));
    if (setresgid(u, u, u) != 0) die("cannot set gid", strerror(errno));
    if (setresuid(u, u, u) != 0) die("cannot set uid", strerror(errno));
    uid_t r, e, s;
    gid_t gr, ge, gs;
    if (getresuid(&r, &e, &s) != 0 || r != u || e != u || s != u
        || getresgid(&gr, &ge, &gs) != 0 || gr != u || ge != u || gs != u
        || getgroups(0, NULL) != 0)
      die("identity not as asked after the switch", NULL);
    no_capabilities();
  }
  execv(program, argv + i + 1);
  int err = errno;
  fprintf(stderr, "agentcube-jail-exec: cannot run %s: %s\n", program, strerror(err));
  return err == EACCES ? 126 : 127;
}
