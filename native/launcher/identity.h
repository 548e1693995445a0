/* Who the workload runs as: user, groups, capabilities and no_new_privs, the way Docker
 * sets them. The bounding set is the service's capability set for every user; a root
 * workload keeps that set permitted and effective, a non-root one has none (setresuid away
 * from 0 clears them, as in Docker: no ambient capabilities). Inheritable is always empty. */
#pragma once

static void drop_bounding_set(uint64_t keep, uint64_t *known) {
  *known = 0;
  for (int cap = 0; cap < 64 && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++) {
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

static void switch_identity(const struct config *c) {
  uint64_t known;
  drop_bounding_set(c->caps, &known);
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    fail("caps", errno, "PR_CAP_AMBIENT_CLEAR_ALL");
  if (setgroups(c->ngroups, c->groups) < 0) fail("user", errno, "setgroups (%zu groups)", c->ngroups);
  if (setresgid(c->gid, c->gid, c->gid) < 0) fail("user", errno, "setresgid %u", (unsigned)c->gid);
  if (setresuid(c->uid, c->uid, c->uid) < 0) fail("user", errno, "setresuid %u", (unsigned)c->uid);
  set_capabilities(c->uid == 0 ? c->caps & known : 0);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail("caps", errno, "PR_SET_NO_NEW_PRIVS");
}
