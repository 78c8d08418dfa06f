/* store-activity.h — the store's activity tables (schema v3,
 * migrations/003-activity.sql): reports from inside the guests and the
 * per-domain drop counters.  Part of the store module (the only code that
 * speaks SQL); plugin/activity.c is the writer.
 *
 * The rows are plain values: this header knows nothing of the channel or
 * the JSON the values came from. */
#pragma once

#include <glib.h>
#include "store.h"
#include "units.h"

typedef enum {
        AUGUR_ACTIVITY_SOURCE_CHANNEL = 0,   /* augur-guest over the channel  */
        AUGUR_ACTIVITY_SOURCE_AGENT = 1,     /* qemu-ga guest-get-users       */
} AugurActivitySource;

/* Numeric columns of the activity table, in table order. */
typedef enum {
        AUGUR_ACTCOL_SEQ = 0,
        AUGUR_ACTCOL_INTERVAL_MS,
        AUGUR_ACTCOL_GUEST_DROPPED,
        AUGUR_ACTCOL_INPUT_EVENTS_PER_MIN,
        AUGUR_ACTCOL_SESSIONS,
        AUGUR_ACTCOL_USERS,
        AUGUR_ACTCOL_PROC_STARTS_PER_MIN,
        AUGUR_ACTCOL_NET_RX_BYTES,
        AUGUR_ACTCOL_NET_TX_BYTES,
        AUGUR_ACTCOL_LOAD1,
        AUGUR_ACTCOL_PSI_CPU,
        AUGUR_ACTCOL_PSI_MEM,
        AUGUR_ACTCOL_PSI_IO,
        /* 007-activity-buckets.sql: trace units, common/buckets.h */
        AUGUR_ACTCOL_PROG_B0,                 /* .. + 7: percent of one CPU     */
        AUGUR_ACTCOL_USER_B0 = AUGUR_ACTCOL_PROG_B0 + 8, /* .. + 3: sessions    */
        /* 008-activity-oom-kill.sql: guest OOM kills since guest boot */
        AUGUR_ACTCOL_OOM_KILL = AUGUR_ACTCOL_USER_B0 + 4,
        AUGUR_ACTCOL_N,
} AugurActivityCol;

/* SQL column names of AugurActivityCol, in order. */
extern const char *const augur_activity_col_name[AUGUR_ACTCOL_N];

/* One activity row.  Strings are borrowed for the duration of the call. */
typedef struct {
        char uuid[AUGUR_UUID_STRLEN];
        const char *name;                /* domain name (recorded if new)     */
        gint64 libvirt_id;               /* -1 when unknown                   */
        gint64 ts_ms;                    /* host receive time, unique per
                                          * (domain, source)                  */
        AugurActivitySource source;
        guint32 present;                 /* bit AugurActivityCol set = known  */
        double v[AUGUR_ACTCOL_N];        /* integers are stored as INTEGER    */
        const char *input_src;           /* NULL = unknown                    */
        const char *top_programs;        /* JSON array text, NULL = unknown   */
} AugurActivityRow;

/* Counters to ADD to a domain's activity_drops row. */
typedef struct {
        char uuid[AUGUR_UUID_STRLEN];
        const char *name;
        gint64 libvirt_id;
        gint64 bytes_read;
        gint64 lines;
        gint64 accepted;
        gint64 dropped_malformed;
        gint64 dropped_oversize;
        gint64 dropped_rate;
        gint64 dropped_range;
        gint64 connects;
} AugurActivityDropsDelta;

/* The newest sample of a domain is filled from a channel report only when
 * it is at most this far from the report (ms): ticks and reports then
 * describe the same moment. */
#define AUGUR_ACTIVITY_SAMPLE_WINDOW_MS 60000

/* Write rows and drop counters in ONE transaction (nothing on failure);
 * inside an open tick (store.h augur_store_tick_begin()) they join it and
 * are stored when it commits.
 *
 * For each channel row carrying input_events_per_min, sessions,
 * proc_starts_per_min or a bucket column (prog_b0..7, user_b0..3), the
 * domain's newest sample within AUGUR_ACTIVITY_SAMPLE_WINDOW_MS of the row
 * gets those columns (in trace units, as the augur trace format imports
 * them) and its 1-min and 5-min rollup buckets are updated to match, but
 * only if the sample has none of them yet: the first report after a tick fills it, later ones
 * before the next tick are kept in activity only.  So a sample is counted
 * into the rollups once.
 *
 * *ret_filled (may be NULL) is set to the number of samples filled. */
gboolean augur_store_write_activity (AugurStore *st,
                                     const AugurActivityRow *rows, gsize n_rows,
                                     const AugurActivityDropsDelta *drops, gsize n_drops,
                                     gsize *ret_filled, GError **error);

/* Delete activity rows older than the raw retention, counted back from each
 * domain's newest activity row.  Returns rows deleted, or -1. */
gint64 augur_store_activity_apply_retention (AugurStore *st, GError **error);
