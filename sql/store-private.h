/* store-private.h — the store's internals, shared by the files of sql/
 * only (store.c, store-tick.c, store-read.c and the per-table files such
 * as store-activity.c).  Nothing outside sql/ may include it: the rest of
 * augur sees store.h (and the tests store-test.h). */
#pragma once

#include <math.h>
#include <sqlite3.h>
#include "store.h"

/* Ticks append samples to samples_recent; the first tick of each period
 * of this many seconds moves them to samples_main (004-samples-recent.sql). */
#define AUGUR_STORE_RECENT_S 60

/* Columns of the samples and rollups tables (store.c) */
#define AUGUR_ROLLUP_N_RES 2
#define AUGUR_ROLLUP_N_GAUGES 30
#define AUGUR_ROLLUP_N_COUNTERS 5
/* The derived columns of samples (trace units) are AugurCol's trace
 * columns c < AUGUR_COL_N_TRACE, named augur_col_name (c) in the schema
 * too (the tick's insert and every read name them: test-store).  cpu_cores is the provisioned core count. */
/* Rollup gauges and counters: must match the rollups table (test-store). */
extern const char *const augur_store_rollup_gauges[AUGUR_ROLLUP_N_GAUGES];
extern const AugurStat augur_store_rollup_counters[AUGUR_ROLLUP_N_COUNTERS];
/* The rollup resolutions, indexed by the res_index / r of the functions
 * below: 1 min, 5 min. */
extern const AugurResolution augur_store_rollup_res[AUGUR_ROLLUP_N_RES];

/* One open rollup bucket of one domain: the columns of its rollups row
 * (schema.sql), in the order of augur_store_rollup_gauges[] and
 * augur_store_rollup_counters[]. */
typedef struct {
        gint64 bucket_s;                            /* start, unix s; -1 = none */
        gint64 n;                                   /* samples                  */
        gint64 g_n[AUGUR_ROLLUP_N_GAUGES];          /* present values           */
        double g_sum[AUGUR_ROLLUP_N_GAUGES];
        double g_min[AUGUR_ROLLUP_N_GAUGES];
        double g_max[AUGUR_ROLLUP_N_GAUGES];
        double c_delta[AUGUR_ROLLUP_N_COUNTERS];    /* NAN = no usable delta    */
        gboolean closing;                           /* written by the open tick:
                                                     * reset when it commits    */
} AugurRollupAcc;

typedef struct {
        gint64 id;                 /* store id                                */
        char *name;                /* last name written                       */
        gint64 libvirt_id;
        gboolean have_prev;
        AugurDomainSample prev;    /* raw sample of the last committed tick   */
        gint64 prev_ms;
        /* The open rollup bucket per resolution (augur_store_rollup_res[]):
         * summed in memory, written once when it closes. */
        AugurRollupAcc acc[AUGUR_ROLLUP_N_RES];
        /* The bucket (start, unix s) per resolution that the open tick's
         * sample of this domain lands in once the tick commits; -1 = the
         * domain has no sample in the open tick. */
        gint64 tick_bucket_s[AUGUR_ROLLUP_N_RES];
} DomainCache;

/* checkpointer.c: WAL checkpoints on a thread of their own. */
typedef struct AugurCheckpointer AugurCheckpointer;
AugurCheckpointer *augur_store_checkpointer_start (sqlite3 *db, const char *path);
void augur_store_checkpointer_stop (AugurCheckpointer *ck, sqlite3 *db);
void augur_store_checkpointer_get_runs (AugurCheckpointer *ck, gint *ret_thread, gint *ret_inline);
void augur_store_checkpointer_set_pages (AugurCheckpointer *ck, int soft_pages);
void augur_store_checkpointer_set_max_age (AugurCheckpointer *ck, gint64 max_age_us);

struct AugurStore {
        sqlite3 *db;
        AugurCheckpointer *ckpt;          /* read-write stores only              */
        char *path;
        AugurStoreMode mode;
        AugurRetention retention;
        GHashTable *by_uuid;       /* uuid -> DomainCache*                    */
        sqlite3_stmt *ins_tick;
        sqlite3_stmt *ins_host;
        sqlite3_stmt *ins_sample;         /* into samples_recent                 */
        sqlite3_stmt *move_recent;        /* samples_recent -> samples_main      */
        sqlite3_stmt *clear_recent;
        sqlite3_stmt *move_decisions;     /* decisions_recent -> decisions_main  */
        sqlite3_stmt *clear_decisions;
        gint64 next_decision_id;          /* ids of decisions_recent rows        */
        gint64 recent_period;             /* ts / AUGUR_STORE_RECENT_S of the last
                                           * committed tick; -1 = none yet      */
        sqlite3_stmt *upsert_rollup;     /* merge an AugurRollupAcc into its row    */
        sqlite3_stmt *rebuild_rollups[AUGUR_ROLLUP_N_RES]; /* rows from the samples */
        sqlite3_stmt *find_domain;
        sqlite3_stmt *ins_domain;
        sqlite3_stmt *upd_domain;
        sqlite3_stmt *ins_name;
        sqlite3_stmt *ins_event;
        sqlite3_stmt *ins_decision;       /* store-decisions.c, prepared at first use */
        sqlite3_stmt *upsert_forecast;    /* store-decisions.c, likewise          */
        /* The open tick (augur_store_tick_begin() .. _commit()): what moves
         * into memory only once its transaction commits. */
        gboolean wal;                     /* in WAL mode (not ":memory:")         */
        gboolean wal_lost_said;           /* the -wal file vanished: logged once  */
        gboolean tick_open;
        gint64 tick_ms;
        GArray *tick_samples;             /* TickSample, in sample order           */
        GPtrArray *tick_closed;           /* AugurRollupAcc* written by the tick   */
        GPtrArray *tick_created;          /* uuids (owned) of domains created      */
        GArray *tick_gauges;              /* TickGauge: activity values for
                                           * buckets open after the commit       */
};

/* A sample of the open tick: what its commit moves into memory. */
typedef struct {
        DomainCache *dc;
        AugurDomainSample sample;      /* the next "previous"; name NULL   */
        double gauges[AUGUR_ROLLUP_N_GAUGES];
        AugurDeltas deltas;
} TickSample;

/* An activity value waiting for the open tick's commit (store-activity.c). */
typedef struct {
        DomainCache *dc;
        gsize r;
        gint64 ts_ms;
        gsize gauge;
        double value;
} TickGauge;

/* ---- store.c: SQL helpers and the store's lifecycle ---- */

/* Convert the connection's last error (rc: its SQLite result code) into
 * *error, naming what failed. */
void augur_store_set_sql_error (AugurStore *st, int rc, GError **error, const char *what);
gboolean augur_store_exec (AugurStore *st, const char *sql, GError **error);
/* Step a statement that returns no rows we read, then reset it; SQLITE_OK
 * or the SQLite result code. */
int augur_store_step_done (sqlite3_stmt *stmt);
/* ROLLBACK, ignoring its result; returns FALSE (for `return rollback`). */
gboolean augur_store_rollback (AugurStore *st);
/* The hash table value destructor of AugurStore.by_uuid. */
void augur_store_domain_cache_free (gpointer p);
/* After a tick's commit: start a new -wal file when the old one was
 * removed (store.c, THE -WAL FILE REMOVED UNDER US). */
void augur_store_wal_check (AugurStore *st);

/* NULL for NAN, and back. */
static inline void
augur_store_bind_double_or_null (sqlite3_stmt *stmt, int idx, double v)
{
        if (isnan (v))
                sqlite3_bind_null (stmt, idx);
        else
                sqlite3_bind_double (stmt, idx, v);
}

/* NULL for a negative count (unknown). */
static inline void
augur_store_bind_int_or_null (sqlite3_stmt *stmt, int idx, int v)
{
        if (v < 0)
                sqlite3_bind_null (stmt, idx);
        else
                sqlite3_bind_int (stmt, idx, v);
}

static inline double
augur_store_column_double_or_nan (sqlite3_stmt *stmt, int idx)
{
        if (sqlite3_column_type (stmt, idx) == SQLITE_NULL)
                return NAN;
        return sqlite3_column_double (stmt, idx);
}

/* ---- store-tick.c: the writes ---- */

/* A writer's own transaction: BEGIN IMMEDIATE .. COMMIT, or inside an open
 * tick a savepoint, so that a writer's failure undoes its own rows only and
 * the tick's samples still commit (and a failure of the tick's COMMIT
 * undoes the writer's rows with the tick's).  _commit rolls back on
 * failure; the caller still undoes its in-memory changes. */
gboolean augur_store_txn_begin (AugurStore *st, GError **error);
gboolean augur_store_txn_commit (AugurStore *st, GError **error);
void augur_store_txn_rollback (AugurStore *st);
/* Find or create the domain row for uuid inside the caller's transaction. */
DomainCache *augur_store_resolve_domain (AugurStore *st, const char *uuid, const char *name,
                                         const char *source, gint64 libvirt_id, gint64 ts_ms,
                                         gboolean *ret_created, GError **error);

/* Is the bucket of dc holding ts_ms open in memory (its row is not in the
 * table), as it will be once the open tick, if any, commits? */
gboolean augur_store_rollup_is_open (const DomainCache *dc, gsize res_index, gint64 ts_ms);
/* Add value to gauge (by rollups column name prefix, e.g. "sessions") of
 * the bucket of dc holding ts_ms, an open bucket (is_open above).  Call
 * after the writer's transaction committed: inside an open tick the value
 * is kept and added when the tick commits (dropped if it rolls back). */
void augur_store_rollup_add_gauge_committed (AugurStore *st, DomainCache *dc, gsize res_index,
                                             gint64 ts_ms, const char *gauge, double value);

/* An open bucket: empty from bucket_s on (-1 = none); one sample added
 * (gauges in augur_store_rollup_gauges[] order, NAN = missing; deltas
 * NULL = none).  Readers sum the buckets not yet in the table with these
 * (store-read.c), so history and the live path agree. */
void augur_store_acc_reset (AugurRollupAcc *acc, gint64 bucket_s);
void augur_store_acc_add (AugurRollupAcc *acc, const double *gauges, const AugurDeltas *deltas);
/* At close: write every open bucket (best effort). */
void augur_store_flush_open_buckets (AugurStore *st);
/* At open: rewrite the buckets a crash left open from the samples. */
gboolean augur_store_recover_open_buckets (AugurStore *st, GError **error);
