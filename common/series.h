/* series.h — the one in-memory time-series representation of augur.
 *
 * What it is: a column-oriented table of one VM's history, in the units of
 * the augur trace format (see README "Units"), shared by the trace readers,
 * the SQLite history loader, the importer, the features and the replay.
 * What it is not: a resampler or a feature matrix; those live in model/.
 *
 * Layout
 *   ts[n]            unix seconds, strictly increasing
 *   col[c][n]        float value of column c at ts[i]; NAN means missing
 *   col[c] == NULL   the source does not carry column c at all
 *
 * Ownership: an AugurSeries owns its name and every array; free it with
 * augur_series_free() (g_autoptr(AugurSeries) works).  An AugurSeriesSet
 * owns its series (GPtrArray with free func).
 */
#pragma once

#include <glib.h>

typedef enum {
        AUGUR_COL_CPU_CORES = 0,          /* provisioned (or online) cores, count */
        AUGUR_COL_CPU_PCT,                /* 100 * cores used / cores, percent    */
        AUGUR_COL_MEM_PROV_KIB,           /* provisioned / balloon size, KiB      */
        AUGUR_COL_MEM_USED_KIB,           /* used memory (README "Units"), KiB    */
        AUGUR_COL_DISK_RD_KIBPS,          /* KiB/s                                */
        AUGUR_COL_DISK_WR_KIBPS,          /* KiB/s                                */
        AUGUR_COL_NET_RX_KIBPS,           /* KiB/s                                */
        AUGUR_COL_NET_TX_KIBPS,           /* KiB/s                                */
        AUGUR_COL_INPUT_EVENTS_PER_MIN,   /* input events / min (counts only)     */
        AUGUR_COL_SESSIONS,               /* logged-in sessions, count            */
        AUGUR_COL_PROC_STARTS_PER_MIN,    /* process starts / min                 */
        /* Hashed program and user buckets (common/buckets.h): prog_b0..7 in
         * percent of one CPU, user_b0..3 in sessions. */
        AUGUR_COL_PROG_B0,
        AUGUR_COL_PROG_B7 = AUGUR_COL_PROG_B0 + 7,
        AUGUR_COL_USER_B0,
        AUGUR_COL_USER_B3 = AUGUR_COL_USER_B0 + 3,
        /* Columns below exist only in the daemon's own history (host context). */
        AUGUR_COL_HOST_LOAD1,             /* host /proc/loadavg 1-min             */
        AUGUR_COL_HOST_PSI_CPU,           /* host PSI cpu some avg10, percent     */
        AUGUR_COL_HOST_PSI_MEM,           /* host PSI memory some avg10, percent  */
        AUGUR_COL_HOST_PSI_IO,            /* host PSI io some avg10, percent      */
        AUGUR_COL_N,
} AugurCol;

/* Number of columns that belong to the augur trace CSV format (the rest are
 * host context that only the daemon's history carries). */
#define AUGUR_COL_N_TRACE (AUGUR_COL_USER_B3 + 1)

typedef struct {
        char *vm;                 /* VM name as given by the source          */
        char *uuid;               /* UUID string, or NULL if unknown         */
        gint64 *ts;               /* (n) unix seconds, strictly increasing   */
        float *col[AUGUR_COL_N];  /* (n) each, NAN = missing; NULL = absent  */
        gsize n;                  /* number of rows                          */
        gsize cap;                /* allocated rows                          */
} AugurSeries;

/* Column name as used in the augur trace CSV header and in JSON output. */
const char *augur_col_name (AugurCol c);
/* Inverse of augur_col_name(); returns -1 when the name is unknown. */
int augur_col_from_name (const char *name);

AugurSeries *augur_series_new (const char *vm);
void augur_series_free (AugurSeries *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurSeries, augur_series_free)

/* Make column c present (filled with NAN for existing rows). */
void augur_series_ensure_col (AugurSeries *s, AugurCol c);
/* Append a row at time ts with every present column set to NAN; returns the
 * row index.  Rows must be appended in increasing ts order. */
gsize augur_series_append (AugurSeries *s, gint64 ts);
/* Sort rows by ts and merge duplicate timestamps (the later row wins for
 * non-missing values).  Readers call this when the source may be unordered. */
void augur_series_sort_dedup (AugurSeries *s);
/* GCompareFunc for g_ptr_array_sort() of AugurSeries*: by VM name (the
 * order augur_trace_read() returns and the trace writer writes). */
int augur_series_cmp_vm (gconstpointer a, gconstpointer b);

static inline gboolean
augur_series_has (const AugurSeries *s, AugurCol c)
{
        return s->col[c] != NULL;
}
