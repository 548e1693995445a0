/* Who the workload runs as: user, groups, capabilities and no_new_privs, the way Docker
 * sets them. The bounding set is the service's capability set for every user; a root
 * workload keeps that set permitted and effective, a non-root one has none (setresuid away
 * from 0 clears them, as in Docker: no ambient capabilities). Inheritable is always empty. */
#pragma once
#include "../identity.h"

static void switch_identity(const struct config *c) { become(c->caps, c->uid, c->gid, c->groups, c->ngroups); }
