/* The workload's view of the filesystem, set up inside its fresh mount namespace.
 * Today: nothing it mounts propagates back to the host (MS_REC|MS_PRIVATE on /), and a
 * /proc of its own pid namespace. The built root of DESIGN.md ("A service's view of the
 * machine": tmpfs root, read-only binds, volumes, pivot_root) slots in between the two
 * steps below, fed by more keys of the launch request. */
#pragma once

static void setup_filesystem(const struct config *c) {
  (void)c;
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) fail("mount", errno, "make / private (MS_REC|MS_PRIVATE)");
  /* The root view of issue 5 goes here, before /proc, so /proc lands inside it. */
  if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
    fail("mount", errno, "mount proc on /proc");
}
