/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A main() for fuzz drivers built without libFuzzer: feeds every file named on
 * the command line, or found directly inside a named directory, to
 * LLVMFuzzerTestOneInput once, so `make check` replays each corpus with the
 * ordinary compiler (and sanitizers when SANITIZE is set). Exits non-zero
 * when a path cannot be read; a crashing input crashes the process.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Reads path whole and runs it; false when it cannot be read. */
static bool run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    bool ok = false;

    if (f == NULL) {
        fprintf(stderr, "replay: %s: cannot open\n", path);
        return false;
    }
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            uint8_t *grown = realloc(buf, cap);
            if (grown == NULL) {
                fprintf(stderr, "replay: %s: out of memory\n", path);
                goto out;
            }
            buf = grown;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        fprintf(stderr, "replay: %s: read error\n", path);
        goto out;
    }
    /* An exact-size copy lets ASan catch reads past the end of the input. */
    uint8_t *exact = malloc(len ? len : 1);
    if (exact == NULL)
        goto out;
    memcpy(exact, buf, len);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    ok = true;
out:
    free(buf);
    fclose(f);
    return ok;
}

/* Runs every regular file in dir (not recursing); false on the first unreadable one. */
static bool run_dir(const char *dir, size_t *n_run)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    bool ok = true;

    if (d == NULL) {
        fprintf(stderr, "replay: %s: cannot open directory\n", dir);
        return false;
    }
    while (ok && (e = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;

        if (e->d_name[0] == '.')
            continue;
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path) {
            fprintf(stderr, "replay: %s/%s: path too long\n", dir, e->d_name);
            ok = false;
            break;
        }
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        ok = run_file(path);
        *n_run += ok;
    }
    closedir(d);
    return ok;
}

int main(int argc, char **argv)
{
    size_t n_run = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s <corpus dir or file>...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        struct stat st;
        bool ok;

        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: no such file or directory\n", argv[i]);
            return 1;
        }
        if (S_ISDIR(st.st_mode)) {
            ok = run_dir(argv[i], &n_run);
        } else {
            ok = run_file(argv[i]);
            n_run += ok;
        }
        if (!ok)
            return 1;
    }
    printf("replay: ran %zu inputs\n", n_run);
    return 0;
}
