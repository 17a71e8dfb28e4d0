/* SPDX-License-Identifier: Apache-2.0 */
/*
 * locguardctl's commands for the network model and the daemon itself:
 * nodes, devices and their areas, areas, cells, alerts, health, metrics.
 */
#ifndef LOCGUARD_CTL_PROVISION_H
#define LOCGUARD_CTL_PROVISION_H

#include "locguard/ctl/command.h"

#include <stddef.h>

/* Returns these commands' rows of the command table, in --help order; sets *out_n. */
const lg_ctl_command_t *lg_ctl_provision_commands(size_t *out_n);

#endif
