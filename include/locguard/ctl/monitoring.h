/* SPDX-License-Identifier: Apache-2.0 */
/*
 * locguardctl's commands for who may monitor or count what: SCS/ASs, OAuth2
 * clients, device groups, grants, consents, the outbox, exact counts.
 */
#ifndef LOCGUARD_CTL_MONITORING_H
#define LOCGUARD_CTL_MONITORING_H

#include "locguard/ctl/command.h"

#include <stddef.h>

/* Returns these commands' rows of the command table, in --help order; sets *out_n. */
const lg_ctl_command_t *lg_ctl_monitoring_commands(size_t *out_n);

#endif
