/* Who a process started inside a service runs as: see identity.h. */
#define _GNU_SOURCE
#include "common/identity.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/report.h"

static void drop_bounding_set(uint64_t keep, uint64_t *known) {
  *known = 0;
  for (int cap = 0; cap < 64; cap++) {
    int held = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (held < 0) break; /* past the last capability this kernel has */
    if (held == 0) continue; /* not in our bounding set (a container's root lacks some): cannot be kept */
    *known |= 1ULL << cap;
    if (!(keep & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
      fail("caps", errno, "PR_CAPBSET_DROP %d", cap);
  }
}

static void set_capabilities(uint64_t caps) {
  struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  data[0].permitted = data[0].effective = (uint32_t)caps;
  data[1].permitted = data[1].effective = (uint32_t)(caps >> 32);
  if (syscall(SYS_capset, &header, data) < 0) fail("caps", errno, "capset %#llx", (unsigned long long)caps);
}

void become(uint64_t caps, uid_t uid, gid_t gid, const gid_t *groups, size_t ngroups) {
  uint64_t known;
  drop_bounding_set(caps, &known);
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    fail("caps", errno, "PR_CAP_AMBIENT_CLEAR_ALL");
  if (setgroups(ngroups, groups) < 0) fail("user", errno, "setgroups (%zu groups)", ngroups);
  if (setresgid(gid, gid, gid) < 0) fail("user", errno, "setresgid %u", (unsigned)gid);
  if (setresuid(uid, uid, uid) < 0) fail("user", errno, "setresuid %u", (unsigned)uid);
  set_capabilities(uid == 0 ? caps & known : 0);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail("caps", errno, "PR_SET_NO_NEW_PRIVS");
}

const char *find_program(const char *name, const char *search_path, char *buf, size_t size) {
  if (!*name) fail("exec", ENOENT, "%s", name);
  if (strchr(name, '/')) {
    if (access(name, X_OK) < 0) fail("exec", errno, "%s", name);
    return name;
  }
  int denied = 0;
  for (const char *dir = search_path; dir;) {
    const char *end = strchr(dir, ':');
    int len = end ? (int)(end - dir) : (int)strlen(dir);
    snprintf(buf, size, "%.*s%s%s", len, dir, len ? "/" : "", name);
    struct stat st;
    if (stat(buf, &st) == 0 && S_ISREG(st.st_mode)) {
      if (access(buf, X_OK) == 0) return buf;
      denied = 1;
    }
    dir = end ? end + 1 : NULL;
  }
  fail("exec", denied ? EACCES : ENOENT, "%s", name);
}
