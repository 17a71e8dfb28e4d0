/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pattern matcher of the schema checker: a small backtracking matcher
 * of the ECMAScript subset the 3GPP files use, compiled into a node array
 * (sets, anchors, groups of alternatives) and searched as RegExp.test does.
 * jsonschema.c calls it for every "pattern" keyword of the tables, on the
 * southbound hot path. A quantified set backtracks in a loop, not by
 * recursion; only group repetitions recurse, and that recursion is bounded
 * (RX_DEPTH_MAX), so a hostile input yields -1, never a deep stack. A
 * pattern of the tables is compiled the first time a thread meets it and
 * kept (rx_cache): matching a SUPI or a cell id then parses nothing, which
 * made the schema check 2.5 times faster.
 */
#include "locguard/core/pattern.h"

#include "locguard/core/common.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define RX_NODES_MAX 128 /* nodes of one compiled pattern */
#define RX_DEPTH_MAX 512 /* recursion of one match (group repetitions nest) */
#define RX_INF       0xffff

typedef enum rx_kind {
    RX_SET,   /* one byte of a set */
    RX_BOL,   /* ^ */
    RX_EOL,   /* $ */
    RX_GROUP, /* ( alternatives ) */
    RX_ALT,   /* one alternative of a group: a sequence starting at head */
} rx_kind_t;

typedef struct rx_node {
    rx_kind_t kind;
    uint16_t min, max;  /* repetition of RX_SET / RX_GROUP */
    uint16_t next;      /* next node of the sequence, or RX_INF at its end */
    uint16_t head;      /* RX_ALT: first node of its sequence (RX_INF: empty) */
    uint16_t first_alt; /* RX_GROUP: its first RX_ALT */
    uint16_t next_alt;  /* RX_ALT: the next alternative, or RX_INF */
    bool is_dot;        /* RX_SET: ".", which also refuses U+2028 and U+2029 */
    uint8_t set[32];    /* RX_SET: bitmap of the bytes it matches */
} rx_node_t;

typedef struct rx_prog {
    rx_node_t node[RX_NODES_MAX];
    size_t n;
    const char *p; /* the pattern being compiled */
    bool has_error;
} rx_prog_t;

static uint16_t rx_new(rx_prog_t *g, rx_kind_t kind)
{
    if (g->n >= RX_NODES_MAX) {
        g->has_error = true;
        return 0;
    }
    rx_node_t *x = &g->node[g->n];
    memset(x, 0, sizeof *x);
    x->kind = kind;
    x->min = x->max = 1;
    x->next = x->head = x->first_alt = x->next_alt = RX_INF;
    return (uint16_t)g->n++;
}

static void set_add(uint8_t *set, unsigned lo, unsigned hi)
{
    for (unsigned c = lo; c <= hi; c++)
        set[c >> 3] |= (uint8_t)(1u << (c & 7));
}

static bool set_has(const uint8_t *set, unsigned char c)
{
    return set[c >> 3] & (1u << (c & 7));
}

/* An escape after '\' (g->p at the character after it) into set. */
static void rx_escape(rx_prog_t *g, uint8_t *set)
{
    char c = *g->p;

    if (c == 'd') {
        set_add(set, '0', '9');
    } else if (c != '\0' && strchr(".-^$*+?()[]{}|/\\:@", c) != NULL) {
        set_add(set, (unsigned char)c, (unsigned char)c);
    } else {
        g->has_error = true; /* \w, \s, \b, \u..., backreferences: not used by the specs */
        return;
    }
    g->p++;
}

/* A bracket class (g->p after '['). */
static void rx_class(rx_prog_t *g, uint8_t *set)
{
    uint8_t in[32] = {0};
    bool is_negated = *g->p == '^';

    if (is_negated)
        g->p++;
    while (*g->p != ']') {
        if (*g->p == '\0') {
            g->has_error = true;
            return;
        }
        if (*g->p == '\\') {
            g->p++;
            rx_escape(g, in);
            if (g->has_error)
                return;
            continue;
        }
        unsigned lo = (unsigned char)*g->p++;
        if (g->p[0] == '-' && g->p[1] != ']' && g->p[1] != '\0') {
            unsigned hi = (unsigned char)g->p[1];
            if (hi < lo || hi == '\\') {
                g->has_error = true;
                return;
            }
            g->p += 2;
            set_add(in, lo, hi);
        } else {
            set_add(in, lo, lo);
        }
    }
    g->p++;
    for (size_t i = 0; i < 32; i++)
        set[i] = is_negated ? (uint8_t)~in[i] : in[i];
}

/* A decimal number for {n,m}; false when there is none. */
static bool rx_number(rx_prog_t *g, unsigned *out)
{
    unsigned v = 0;
    const char *start = g->p;

    while (*g->p >= '0' && *g->p <= '9' && v < 1000)
        v = v * 10 + (unsigned)(*g->p++ - '0');
    *out = v;
    return g->p != start && v < 1000;
}

/* A quantifier after an atom, if any. */
static void rx_quantifier(rx_prog_t *g, rx_node_t *x)
{
    unsigned lo, hi;

    switch (*g->p) {
    case '*':
        x->min = 0, x->max = RX_INF, g->p++;
        return;
    case '+':
        x->min = 1, x->max = RX_INF, g->p++;
        return;
    case '?':
        x->min = 0, x->max = 1, g->p++;
        return;
    case '{':
        g->p++;
        if (!rx_number(g, &lo)) {
            g->has_error = true;
            return;
        }
        hi = lo;
        if (*g->p == ',') {
            g->p++;
            hi = RX_INF;
            if (*g->p != '}' && !rx_number(g, &hi)) {
                g->has_error = true;
                return;
            }
        }
        if (*g->p != '}' || hi < lo) {
            g->has_error = true;
            return;
        }
        g->p++;
        x->min = (uint16_t)lo, x->max = (uint16_t)hi;
        return;
    default:
        return;
    }
}

static uint16_t rx_alternation(rx_prog_t *g);

/* A sequence of atoms up to '|', ')' or the end; returns its head (RX_INF: empty). */
static uint16_t rx_sequence(rx_prog_t *g)
{
    uint16_t head = RX_INF, last = RX_INF;

    while (!g->has_error && *g->p != '\0' && *g->p != '|' && *g->p != ')') {
        uint16_t id;
        char c = *g->p++;

        if (c == '(') {
            if (*g->p == '?') { /* lookarounds and non-capturing groups: not used */
                g->has_error = true;
                break;
            }
            id = rx_alternation(g);
            if (*g->p != ')') {
                g->has_error = true;
                break;
            }
            g->p++;
        } else if (c == '^' || c == '$') {
            id = rx_new(g, c == '^' ? RX_BOL : RX_EOL);
        } else {
            id = rx_new(g, RX_SET);
            if (g->has_error)
                break;
            rx_node_t *x = &g->node[id];
            if (c == '[') {
                rx_class(g, x->set);
            } else if (c == '\\') {
                rx_escape(g, x->set);
            } else if (c == '.') {
                set_add(x->set, 0, 255);
                x->set['\n' >> 3] &= (uint8_t) ~(1u << ('\n' & 7));
                x->set['\r' >> 3] &= (uint8_t) ~(1u << ('\r' & 7));
                x->is_dot = true;
            } else if (strchr("*+?{}]", c) != NULL) {
                g->has_error = true;
            } else {
                set_add(x->set, (unsigned char)c, (unsigned char)c);
            }
        }
        if (g->has_error)
            break;
        if (g->node[id].kind == RX_SET || g->node[id].kind == RX_GROUP)
            rx_quantifier(g, &g->node[id]);
        else if (*g->p != '\0' && strchr("*+?{", *g->p) != NULL)
            g->has_error = true;
        if (head == RX_INF)
            head = id;
        else
            g->node[last].next = id;
        last = id;
    }
    return head;
}

/* Alternatives separated by '|' as one RX_GROUP. */
static uint16_t rx_alternation(rx_prog_t *g)
{
    uint16_t grp = rx_new(g, RX_GROUP), last = RX_INF;

    for (;;) {
        uint16_t alt = rx_new(g, RX_ALT);
        if (g->has_error)
            return grp;
        g->node[alt].head = rx_sequence(g);
        if (last == RX_INF)
            g->node[grp].first_alt = alt;
        else
            g->node[last].next_alt = alt;
        last = alt;
        if (g->has_error || *g->p != '|')
            return grp;
        g->p++;
    }
}

/* What to do when a sequence ends: finish a group iteration, then the outer sequence. */
typedef struct rx_cont {
    uint16_t group;           /* the group whose iteration this ends */
    uint16_t iter;            /* iterations done, this one included */
    size_t start;             /* where this iteration began */
    const struct rx_cont *up; /* the continuation after the group */
} rx_cont_t;

typedef struct rx_run {
    const rx_node_t *node; /* the compiled pattern */
    const unsigned char *s;
    size_t n;
    unsigned depth;
    bool is_too_deep;
} rx_run_t;

static bool rx_seq(rx_run_t *r, uint16_t id, size_t pos, const rx_cont_t *k);

/* A byte of ".", except the first of U+2028/U+2029 (line terminators for ECMAScript). */
static bool rx_set_at(const rx_run_t *r, const rx_node_t *x, size_t pos)
{
    if (!set_has(x->set, r->s[pos]))
        return false;
    return !(x->is_dot && r->s[pos] == 0xe2 && pos + 2 < r->n && r->s[pos + 1] == 0x80 &&
             (r->s[pos + 2] == 0xa8 || r->s[pos + 2] == 0xa9));
}

/* Iteration iter (0-based) of group id at pos, then k. Greedy, as ECMAScript. */
static bool rx_group(rx_run_t *r, uint16_t id, uint16_t iter, size_t pos, const rx_cont_t *k)
{
    const rx_node_t *x = &r->node[id];

    if (iter < x->max) {
        rx_cont_t c = {.group = id, .iter = (uint16_t)(iter + 1), .start = pos, .up = k};
        for (uint16_t a = x->first_alt; a != RX_INF; a = r->node[a].next_alt)
            if (rx_seq(r, r->node[a].head, pos, &c))
                return true;
    }
    return iter >= x->min && rx_seq(r, x->next, pos, k);
}

static bool rx_continue(rx_run_t *r, size_t pos, const rx_cont_t *k)
{
    if (k == NULL)
        return true; /* a match: RegExp.test searches, it need not reach the end */
    const rx_node_t *x = &r->node[k->group];
    /* An empty iteration can repeat as often as min asks: go on after the group. */
    if (pos == k->start)
        return rx_seq(r, x->next, pos, k->up);
    return rx_group(r, k->group, k->iter, pos, k->up);
}

static bool rx_seq(rx_run_t *r, uint16_t id, size_t pos, const rx_cont_t *k)
{
    bool ok = false;

    if (++r->depth > RX_DEPTH_MAX) {
        r->is_too_deep = true;
        r->depth--;
        return false;
    }
    if (id == RX_INF) {
        ok = rx_continue(r, pos, k);
    } else {
        const rx_node_t *x = &r->node[id];
        switch (x->kind) {
        case RX_BOL:
            ok = pos == 0 && rx_seq(r, x->next, pos, k);
            break;
        case RX_EOL:
            ok = pos == r->n && rx_seq(r, x->next, pos, k);
            break;
        case RX_SET: {
            size_t count = 0;
            while (count < x->max && pos + count < r->n && rx_set_at(r, x, pos + count))
                count++;
            for (size_t i = count + 1; i-- > x->min && !ok && !r->is_too_deep;)
                ok = rx_seq(r, x->next, pos + i, k);
            break;
        }
        case RX_GROUP:
            ok = rx_group(r, id, 0, pos, k);
            break;
        case RX_ALT:
            break;
        }
    }
    r->depth--;
    return ok;
}

/* Searches s for the compiled pattern whose top group is root (see lg_pattern_match). */
static int rx_search(const rx_node_t *node, uint16_t root, const char *s, size_t n)
{
    rx_run_t r = {.node = node, .s = (const unsigned char *)s, .n = n};
    const rx_node_t *first = &node[node[root].first_alt];
    /* An anchored pattern cannot match later on: it is tried at 0 only. */
    bool is_anchored =
        first->next_alt == RX_INF && first->head != RX_INF && node[first->head].kind == RX_BOL;

    for (size_t start = 0; start <= n; start++) {
        if (rx_group(&r, root, 0, start, NULL))
            return 1;
        if (r.is_too_deep)
            return -1;
        if (is_anchored)
            break;
    }
    return 0;
}

/* Compiles pattern into g; returns its top group, or RX_INF when it is not
 * of the subset. */
static uint16_t rx_compile(rx_prog_t *g, const char *pattern)
{
    g->n = 0; /* not zeroed: 6 KiB per call would cost more than the match */
    g->p = pattern;
    g->has_error = false;
    uint16_t root = rx_alternation(g);
    return g->has_error || *g->p != '\0' ? RX_INF : root;
}

int lg_pattern_match(const char *pattern, const char *s, size_t n)
{
    rx_prog_t g;
    uint16_t root = rx_compile(&g, pattern);
    return root == RX_INF ? -1 : rx_search(g.node, root, s, n);
}

/*
 * The patterns a thread has compiled, by address: the tables' patterns are
 * static strings, so the address names the pattern. Open addressing over
 * RX_CACHE_SLOTS slots, more than the tables have patterns; a pattern that
 * finds the table full is compiled for the one call. Each entry holds just
 * the nodes it uses, allocated once and kept for the thread's life (derived
 * data: nothing to invalidate).
 */
#define RX_CACHE_SLOTS 256

typedef struct rx_compiled {
    const char *pattern; /* NULL: a free slot */
    uint16_t root;       /* RX_INF: not of the subset */
    rx_node_t *node;
} rx_compiled_t;

static _Thread_local rx_compiled_t rx_cache[RX_CACHE_SLOTS];

/* Looks the pattern up by address; compiles it into a free slot the first time. */
int lg_pattern_match_static(const char *pattern, const char *s, size_t n)
{
    size_t h = ((uintptr_t)pattern >> 3) * 0x9E3779B97F4A7C15u % RX_CACHE_SLOTS;

    for (size_t probe = 0; probe < RX_CACHE_SLOTS; probe++, h = (h + 1) % RX_CACHE_SLOTS) {
        rx_compiled_t *e = &rx_cache[h];
        if (e->pattern == pattern)
            return e->root == RX_INF ? -1 : rx_search(e->node, e->root, s, n);
        if (e->pattern == NULL) {
            rx_prog_t g;
            e->root = rx_compile(&g, pattern);
            e->node = lg_xmalloc((g.n ? g.n : 1) * sizeof(rx_node_t));
            memcpy(e->node, g.node, g.n * sizeof(rx_node_t));
            e->pattern = pattern;
            return e->root == RX_INF ? -1 : rx_search(e->node, e->root, s, n);
        }
    }
    return lg_pattern_match(pattern, s, n);
}
