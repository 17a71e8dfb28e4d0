/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PostgreSQL one-dimensional arrays in the text format, both ways: the
 * literals the set-based sql/ functions take as $n parameters ("{a,b,...}",
 * built by lg_pgarray_t) and the array values they return (read with
 * lg_pgarray_next and the typed lg_pgarray_parse_* over it). The only place
 * that knows the format's quoting, escaping and NULL spelling: ingest.c,
 * notifier.c and release.c call it.
 *
 * The reader accepts what PostgreSQL's array_out produces for a
 * one-dimensional array with the default lower bound, and whitespace around
 * elements as array_in does; it refuses nested arrays, dimension
 * decorations ("[0:1]={...}"), empty or space-separated unquoted elements
 * (array_out quotes those), NUL bytes, anything after the closing brace and
 * elements longer than the caller's buffer.
 */
#ifndef LOCGUARD_PGARRAY_H
#define LOCGUARD_PGARRAY_H

#include "locguard/core/common.h"

/*
 * An array literal being built. Embedded by callers (one per parameter);
 * zeroed or lg_pgarray_init'ed before use, lg_pgarray_cleanup'ed after.
 * The elements are appended in place: a printf per element cost 0.84 us a
 * report on the ingest hot path.
 */
typedef struct lg_pgarray {
    char *buf;    /* the literal so far, not NUL-terminated before lg_pgarray_end */
    size_t len;   /* bytes used */
    size_t cap;   /* bytes allocated */
    size_t n;     /* elements appended */
    bool has_end; /* lg_pgarray_end has closed it */
} lg_pgarray_t;

/* Starts an empty literal (no allocation yet). */
void lg_pgarray_init(lg_pgarray_t *a);

/* Frees the literal's memory; the struct may be initialised again. */
void lg_pgarray_cleanup(lg_pgarray_t *a);

/*
 * Appends a text element, always double-quoted with '"' and '\' escaped, so
 * that any string (empty, "NULL", with commas or braces) comes back as
 * itself. s NULL appends an SQL NULL.
 */
void lg_pgarray_add_str(lg_pgarray_t *a, const char *s);

/* Appends an SQL NULL element. */
void lg_pgarray_add_null(lg_pgarray_t *a);

/* Appends an integer element in decimal. */
void lg_pgarray_add_int(lg_pgarray_t *a, int64_t v);

/*
 * Appends a float element with `decimals` digits after the point (0..17);
 * NaN and the infinities are spelled as PostgreSQL's float8 input wants.
 */
void lg_pgarray_add_float(lg_pgarray_t *a, double v, int decimals);

/*
 * Closes the literal ("{}" when nothing was appended) and returns it,
 * NUL-terminated, owned by a until lg_pgarray_cleanup. Nothing may be
 * appended afterwards.
 */
const char *lg_pgarray_end(lg_pgarray_t *a);

/* A reader over an array value: lg_pgarray_open, then lg_pgarray_next. */
typedef struct lg_pgarray_reader {
    const char *p;   /* next unread byte */
    const char *end; /* one past the value's last byte */
    bool is_first;   /* no element read yet */
    bool is_done;    /* the closing brace was read */
} lg_pgarray_reader_t;

/* Starts reading text[0..len); LG_ERR when it does not open with '{'. */
LG_MUST_CHECK int lg_pgarray_open(lg_pgarray_reader_t *rd, const char *text, size_t len);

/* What lg_pgarray_next found. */
typedef enum lg_pgarray_item {
    LG_PGARRAY_ELEM,      /* an element: in buf, or a NULL one */
    LG_PGARRAY_END,       /* the array ended well (and nothing follows it) */
    LG_PGARRAY_MALFORMED, /* not an array this reader accepts, or an element longer than cap - 1 */
} lg_pgarray_item_t;

/* The names of lg_pgarray_item_t, for logs. */
const char *lg_pgarray_item_name(lg_pgarray_item_t item);

/*
 * Reads the next element into buf (cap >= 1 bytes, NUL-terminated,
 * unescaped; *len its length) and sets *is_null for an unquoted NULL (any
 * case; buf is then ""). After END or MALFORMED, returns the same again.
 */
LG_MUST_CHECK lg_pgarray_item_t lg_pgarray_next(lg_pgarray_reader_t *rd, char *buf, size_t cap,
                                                size_t *len, bool *is_null);

/*
 * Parses an array of integers (int, bigint) into out[0..max): *n the
 * count. LG_ERR when it is malformed, holds a NULL or anything but an
 * optionally signed decimal in the int64 range, or more than max elements
 * (out and *n then undefined).
 */
LG_MUST_CHECK int lg_pgarray_parse_int64(const char *text, size_t len, int64_t *out, size_t max,
                                         size_t *n);

#endif
