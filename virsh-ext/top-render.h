/* top-render.h — the screen of `virt-augur top`, as text.
 *
 * What it is: a pure function from rows (one per guest, filled by
 * cmd-top.c from augurd's socket and the store) to the text of one
 * refresh, so the layout is unit-tested without a terminal, a daemon or a
 * clock.  It is not the refresh loop (cmd-top.c) and draws no curses: a
 * refresh is "clear screen + this text", as `virt-top --stream` prints.
 */
#pragma once

#include <glib.h>

typedef struct {
        char *name;                     /* owned                              */
        char *uuid;                     /* owned; NULL = unknown (--json)     */
        char *state;                    /* owned; "running", … or NULL        */
        gint64 sample_ms;               /* newest sample, -1 = none           */
        double mem_used_kib;            /* NAN = unknown, for every double    */
        double mem_alloc_kib;           /* balloon size                       */
        double mem_upper_kib;           /* forecast upper over the lead window */
        double cpu_cores;               /* cores used                         */
        double cpu_upper_cores;
        int vcpus;                      /* online, -1 = unknown               */
        char *mode;                     /* owned; last decision's mode or NULL */
        char *last_action;              /* owned; e.g. "grow 512->768 MiB"    */
        gint64 last_action_ms;          /* -1 = none                          */
} AugurTopRow;

void augur_top_row_clear (AugurTopRow *r);

/* Append one screen to out: a header with now_ms (UTC) and source (e.g.
 * "augurd pid 123" or "database only: augurd not reachable"), then one
 * aligned line per row, in the order given.  Widths adapt to the longest
 * name. */
void augur_top_render (GString *out, const AugurTopRow *rows, guint n, gint64 now_ms,
                       const char *source);
