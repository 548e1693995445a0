/* stack's netlink helper: sends one rtnetlink request in this process's network namespace and
 * waits for the kernel's acknowledgement, so that its caller need not (src/network/link.ts
 * deleteHandedOff).
 *
 * A link deletion is answered only once the kernel has waited for its RCU grace periods and for
 * the links' last references (netdev_run_todo), 10-25 ms after the links were unregistered: gone
 * from every listing and from sysfs, their names free, their RTM_DELLINK notifications sent.
 * `stack down` goes on once it has seen those notifications, and this process takes the rest
 * of the wait; the CLI's own thread waiting in the kernel would hold its exit as long.
 *
 * Usage: netlink [--netns PATH], the request on stdin: one whole netlink message (NLM_F_ACK set),
 * sent in the network namespace at PATH when given (/run/netns/NAME) once stdin ended. The
 * caller spawns it ahead (a `down` as it begins) and writes the request when it is due: nothing
 * at all (stdin ended empty: the caller is gone, or had no deletion to make) is a quiet exit 0.
 * Exits 0 once the kernel acknowledged it; else reports `err\t<stage>\t<ERRNO>\t<detail>` on
 * stderr and exits 127 (common/report.h). Its stdout and stderr are /dev/null when the CLI spawns
 * it (a pipe of the CLI's caller held open would keep that caller waiting for it). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/file.h"
#include "common/report.h"

/* A request larger than this is no link deletion (the caller sends ~40 bytes). */
#define MAX_REQUEST 4096
/* Room for any answer: the kernel's largest datagram, an error with its extended ack. */
#define RECV_BUFFER (64 * 1024)

/* The request read from stdin, checked to be one whole netlink message asking for an ack. */
static unsigned char *read_request(size_t *len) {
  unsigned char *msg = (unsigned char *)read_all(0, len, "request", "the netlink request");
  if (*len == 0) exit(0);
  const struct nlmsghdr *h = (const struct nlmsghdr *)msg;
  if (*len < sizeof *h || *len > MAX_REQUEST || h->nlmsg_len != *len || !(h->nlmsg_flags & NLM_F_REQUEST) || !(h->nlmsg_flags & NLM_F_ACK))
    fail("request", EINVAL, "not one netlink request asking for an acknowledgement (%zu bytes)", *len);
  return msg;
}

int main(int argc, char **argv) {
  report_fd = 2;
  /* It may outlive its caller: a descriptor it inherited by mistake (a pipe or a lock of the
   * caller's caller) would be held that long. Only stdio is its own. */
  syscall(SYS_close_range, 3U, ~0U, 0U);
  const char *netns = NULL;
  if (argc == 3 && strcmp(argv[1], "--netns") == 0) {
    netns = argv[2];
    argv += 2;
    argc -= 2;
  }
  if (argc != 1) fail("usage", EINVAL, "usage: netlink [--netns PATH] < REQUEST");
  if (netns != NULL) {
    int ns = open(netns, O_RDONLY | O_CLOEXEC);
    if (ns < 0) fail("netns", errno, "open %s", netns);
    if (setns(ns, CLONE_NEWNET) < 0) fail("netns", errno, "setns %s", netns);
    close(ns);
  }

  size_t len;
  unsigned char *request = read_request(&len);
  uint32_t seq = ((const struct nlmsghdr *)request)->nlmsg_seq;
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) fail("socket", errno, "netlink socket");
  int one = 1;
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one); /* an error without a copy of the request */
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  /* The kernel does the request's work within the send, the wait that follows its unregistering too. */
  for (;;) {
    if (sendto(fd, request, len, 0, (struct sockaddr *)&kernel, sizeof kernel) >= 0) break;
    if (errno != EINTR) fail("send", errno, "netlink request");
  }
  static char buf[RECV_BUFFER] __attribute__((aligned(NLMSG_ALIGNTO)));
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("receive", errno, "netlink answer");
    int left = (int)n;
    for (struct nlmsghdr *m = (struct nlmsghdr *)buf; NLMSG_OK(m, left); m = NLMSG_NEXT(m, left)) {
      if (m->nlmsg_seq != seq || m->nlmsg_type != NLMSG_ERROR) continue;
      if (m->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr))) fail("receive", EPROTO, "short acknowledgement");
      int err = -((struct nlmsgerr *)NLMSG_DATA(m))->error;
      if (err != 0) fail("request", err, "the kernel refused the request");
      return 0;
    }
  }
}
