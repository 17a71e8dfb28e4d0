/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Schema migrations. migrations/NNNN_name.sql are forward-only DDL, applied
 * once each, in order, each in its own transaction, and recorded in
 * schema_migrations; the files in sql/ (functions and views, CREATE OR REPLACE) are
 * re-applied on every run. A session advisory lock serialises concurrent
 * daemons. This runs before the event loop starts (or as `locguard migrate`),
 * so it uses blocking libpq calls.
 */
#ifndef LOCGUARD_MIGRATE_H
#define LOCGUARD_MIGRATE_H

#include "locguard/core/common.h"

/*
 * Applies what is pending from schema_dir/migrations and re-applies
 * schema_dir/sql, over one blocking connection (before the event loop runs)
 * whose connect gives up after connect_timeout_s unless conninfo sets its
 * own connect_timeout. Logs each step at info level. Returns LG_ERR (with the
 * failing file and the server's message logged) when anything fails; a failed
 * migration leaves nothing of itself behind.
 */
LG_MUST_CHECK int lg_migrate_run(const char *conninfo, const char *schema_dir,
                                 int connect_timeout_s);

/*
 * The highest migration version found in schema_dir/migrations (0 when there
 * are none), for /readyz to compare with the database's. Returns LG_ERR when
 * the directory cannot be read.
 */
LG_MUST_CHECK int lg_migrate_latest(const char *schema_dir, int *version);

#endif
