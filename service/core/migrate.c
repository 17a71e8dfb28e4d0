/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The migrator: reads migrations/ and sql/ from the schema directory, sorts
 * them by name, and applies them over one blocking libpq connection under
 * pg_advisory_lock. Runs at start-up before the event loop, so blocking is
 * allowed here and nowhere else.
 */
#include "locguard/core/migrate.h"

#include "locguard/core/log.h"

#include <dirent.h>
#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Any constant works; it only has to be the same for every daemon. */
#define MIGRATE_LOCK_KEY "7359112001"

typedef struct file_list {
    char **names;
    size_t n;
} file_list_t;

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_migration_name(const char *name)
{
    size_t len = strlen(name);
    return len > 9 && name[0] >= '0' && name[0] <= '9' && name[1] >= '0' && name[1] <= '9' &&
           name[2] >= '0' && name[2] <= '9' && name[3] >= '0' && name[3] <= '9' &&
           name[4] == '_' && strcmp(name + len - 4, ".sql") == 0;
}

static bool is_sql_name(const char *name)
{
    size_t len = strlen(name);
    return len > 4 && name[0] != '.' && strcmp(name + len - 4, ".sql") == 0;
}

static void list_free(file_list_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    l->names = NULL;
    l->n = 0;
}

/* The names in dir accepted by keep, sorted. */
static int list_dir(const char *dir, bool (*keep)(const char *), file_list_t *out)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        lg_error("migrate: cannot open %s: %s", dir, strerror(errno));
        return LG_ERR;
    }
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!keep(e->d_name))
            continue;
        if (out->n == cap) {
            cap = cap ? cap * 2 : 16;
            out->names = lg_xrealloc(out->names, cap * sizeof(char *));
        }
        out->names[out->n++] = lg_xstrdup(e->d_name);
    }
    closedir(d);
    if (out->n > 0)
        qsort(out->names, out->n, sizeof(char *), cmp_names);
    return LG_OK;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        lg_error("migrate: cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 8192, len = 0, n;
    char *text = lg_xmalloc(cap);
    while ((n = fread(text + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (len + 1 == cap) {
            cap *= 2;
            text = lg_xrealloc(text, cap);
        }
    }
    text[len] = '\0';
    fclose(f);
    return text;
}

/* Runs sql; logs the server's message with the context on failure. */
static int exec(PGconn *pg, const char *sql, const char *context)
{
    PGresult *r = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = LG_OK;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        lg_error("migrate: %s: %s", context, PQerrorMessage(pg));
        rc = LG_ERR;
    }
    PQclear(r);
    return rc;
}

/* Applies one file in its own transaction; record_sql (may be NULL) runs in it too. */
static int apply_file(PGconn *pg, const char *path, const char *name, const char *record_sql,
                      const char *const *params)
{
    char *text = read_file(path);
    if (text == NULL)
        return LG_ERR;
    int rc = LG_ERR;
    if (exec(pg, "BEGIN", name) != LG_OK)
        goto done;
    if (exec(pg, text, name) != LG_OK)
        goto rollback;
    if (record_sql != NULL) {
        PGresult *r = PQexecParams(pg, record_sql, 2, NULL, params, NULL, NULL, 0);
        bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            lg_error("migrate: recording %s: %s", name, PQerrorMessage(pg));
        PQclear(r);
        if (!ok)
            goto rollback;
    }
    if (exec(pg, "COMMIT", name) != LG_OK)
        goto done;
    rc = LG_OK;
    goto done;
rollback:
    (void)exec(pg, "ROLLBACK", name);
done:
    free(text);
    return rc;
}

static int apply_all(PGconn *pg, const char *schema_dir)
{
    char dir[4096], path[4096 + 256];
    file_list_t migrations = {0}, functions = {0};
    int rc = LG_ERR;

    if (exec(pg,
             "CREATE TABLE IF NOT EXISTS schema_migrations ("
             " version int PRIMARY KEY, name text NOT NULL,"
             " applied_at timestamptz NOT NULL DEFAULT now())",
             "schema_migrations") != LG_OK)
        return LG_ERR;

    snprintf(dir, sizeof(dir), "%s/migrations", schema_dir);
    if (list_dir(dir, is_migration_name, &migrations) != LG_OK)
        goto done;
    for (size_t i = 0; i < migrations.n; i++) {
        const char *name = migrations.names[i];
        char version[8];
        snprintf(version, sizeof(version), "%.4s", name);
        const char *params[2] = {version, name};
        PGresult *r = PQexecParams(pg, "SELECT 1 FROM schema_migrations WHERE version = $1", 1,
                                   NULL, params, NULL, NULL, 0);
        bool is_applied = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
        bool failed = PQresultStatus(r) != PGRES_TUPLES_OK;
        PQclear(r);
        if (failed) {
            lg_error("migrate: %s", PQerrorMessage(pg));
            goto done;
        }
        if (is_applied)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        if (apply_file(pg, path, name,
                       "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                       params) != LG_OK)
            goto done;
        lg_info("migrate: applied %s", name);
    }

    snprintf(dir, sizeof(dir), "%s/sql", schema_dir);
    if (list_dir(dir, is_sql_name, &functions) != LG_OK)
        goto done;
    for (size_t i = 0; i < functions.n; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, functions.names[i]);
        if (apply_file(pg, path, functions.names[i], NULL, NULL) != LG_OK)
            goto done;
    }
    lg_info("migrate: schema current (%zu migrations, %zu function files)", migrations.n,
            functions.n);
    rc = LG_OK;
done:
    list_free(&migrations);
    list_free(&functions);
    return rc;
}

int lg_migrate_run(const char *conninfo, const char *schema_dir, int connect_timeout_s)
{
    /* conninfo is expanded after connect_timeout: a timeout it names wins. */
    char timeout[16];
    snprintf(timeout, sizeof(timeout), "%d", connect_timeout_s);
    const char *const keywords[] = {"connect_timeout", "dbname", NULL};
    const char *const values[] = {timeout, conninfo, NULL};
    PGconn *pg = PQconnectdbParams(keywords, values, 1);
    int rc = LG_ERR;
    if (PQstatus(pg) != CONNECTION_OK) {
        lg_error("migrate: cannot connect: %s", PQerrorMessage(pg));
        goto done;
    }
    /* Quiet the NOTICEs of "IF NOT EXISTS" and "CREATE OR REPLACE". */
    if (exec(pg, "SET client_min_messages = warning", "session") != LG_OK)
        goto done;
    if (exec(pg, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", "advisory lock") != LG_OK)
        goto done;
    rc = apply_all(pg, schema_dir);
    (void)exec(pg, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")", "advisory unlock");
done:
    PQfinish(pg);
    return rc;
}

int lg_migrate_latest(const char *schema_dir, int *version)
{
    char dir[4096];
    file_list_t migrations = {0};
    snprintf(dir, sizeof(dir), "%s/migrations", schema_dir);
    if (list_dir(dir, is_migration_name, &migrations) != LG_OK)
        return LG_ERR;
    *version = migrations.n ? atoi(migrations.names[migrations.n - 1]) : 0;
    list_free(&migrations);
    return LG_OK;
}
