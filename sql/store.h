/* store.h — augur's history store (SQLite).  The only module that speaks SQL.
 * See schema.sql for the design of the tables. */
#pragma once

#include <glib.h>
#include "series.h"
#include "units.h"

#define AUGUR_STORE_ERROR (augur_store_error_quark ())
GQuark augur_store_error_quark (void);

typedef enum {
        AUGUR_STORE_ERROR_OPEN,        /* cannot open / create the file     */
        AUGUR_STORE_ERROR_CORRUPT,     /* not a database, or damaged        */
        AUGUR_STORE_ERROR_NEWER,       /* schema newer than this binary     */
        AUGUR_STORE_ERROR_FULL,        /* disk full: nothing was written    */
        AUGUR_STORE_ERROR_BUSY,        /* locked by another writer          */
        AUGUR_STORE_ERROR_NOT_FOUND,   /* no such domain                    */
        AUGUR_STORE_ERROR_FAILED,      /* any other SQLite error            */
} AugurStoreError;

typedef struct AugurStore AugurStore;

typedef enum {
        AUGUR_STORE_READ_WRITE,
        AUGUR_STORE_READ_ONLY,
} AugurStoreMode;

typedef enum {
        AUGUR_RES_RAW = 0,
        AUGUR_RES_1M = 60,
        AUGUR_RES_5M = 300,
} AugurResolution;

typedef struct {
        gint64 raw_keep_s;             /* raw samples kept, s (default 48 h)  */
        gint64 rollup_keep_s;          /* rollups kept, s (default 90 days)   */
} AugurRetention;

/* Open (creating and migrating if needed) the store at path.  path must
 * be a regular file or not exist yet: anything else (a device, a FIFO, a
 * directory) is AUGUR_STORE_ERROR_OPEN, and nothing is created next to it. */
AugurStore *augur_store_open (const char *path, AugurStoreMode mode, GError **error);
void augur_store_close (AugurStore *st);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurStore, augur_store_close)

int augur_store_schema_version (void);

/* Load one domain's history as a series in trace units, between from_s and
 * to_s inclusive (unix seconds; use G_MININT64/G_MAXINT64 for open ends), at
 * the given resolution (rollups give per-bucket means).  The domain is named
 * by name, UUID or numeric store id.  Host context columns are filled from
 * host samples where the history has them. */
AugurSeries *augur_store_load_series (AugurStore *st, const char *domain,
                                      gint64 from_s, gint64 to_s,
                                      AugurResolution res, GError **error);
/* Names of every domain in the store (transfer full, NULL-terminated). */
char **augur_store_list_domain_names (AugurStore *st, GError **error);
/* Every domain's history between from_s and to_s (as load_series), in the
 * order of list_domain_names, the domains with samples only, at most
 * max_series of them (0 = all): a GPtrArray of AugurSeries*, owning them.
 * An error names the domain it came from. */
GPtrArray *augur_store_load_all_series (AugurStore *st, gint64 from_s, gint64 to_s,
                                        AugurResolution res, guint max_series, GError **error);

/* ---- writing (augurd) ---- */

void augur_store_set_retention (AugurStore *st, const AugurRetention *r);

/* Write one tick in ONE transaction: the tick row, the host sample (may be
 * NULL), one sample per domain (derived values computed against each
 * domain's previous sample) and the rollup updates.  On failure nothing of
 * the tick is written and the previous-sample memory is unchanged, so the
 * next tick derives rates as if this one never happened.
 * = augur_store_tick_begin() + augur_store_tick_commit(). */
gboolean augur_store_write_tick (AugurStore *st, gint64 ts_ms,
                                 const AugurDomainSample *samples, gsize n,
                                 const AugurHostSample *host,
                                 gint64 collect_usec,
                                 gint64 *ret_tick_id, GError **error);

/* The same tick, left open so that the tick's other rows (activity,
 * forecasts, actuations, decisions, events: every writer of this store)
 * join its transaction; then one commit (store-tick.c, THE TICK'S
 * TRANSACTION).  A writer failing inside the open tick undoes only its own
 * rows, except where SQLite rolls back the whole transaction (disk full,
 * I/O error): then the whole tick is lost and tick_commit fails.  samples
 * are copied: they may be freed after tick_begin.
 *
 *   tick_begin     TRUE: the tick is open (and *ret_tick_id set); FALSE:
 *                  *error set, nothing written, no tick open.
 *   tick_commit    TRUE: the tick and everything written since begin are
 *                  in the file, the in-memory state moved on; FALSE: *error
 *                  set, all of it rolled back, nothing committed before is
 *                  touched, no tick open.
 *   tick_rollback  undo an open tick (no-op when none is open).
 *
 * Retention and import refuse to run inside an open tick; closing the
 * store rolls an open tick back. */
gboolean augur_store_tick_begin (AugurStore *st, gint64 ts_ms,
                                 const AugurDomainSample *samples, gsize n,
                                 const AugurHostSample *host,
                                 gint64 collect_usec,
                                 gint64 *ret_tick_id, GError **error);
gboolean augur_store_tick_commit (AugurStore *st, GError **error);
void augur_store_tick_rollback (AugurStore *st);

/* Record one libvirt event.  uuid may be NULL for host-wide events. */
gboolean augur_store_write_event (AugurStore *st, gint64 ts_ms,
                                  const char *uuid, const char *name,
                                  const char *kind, int event, int detail,
                                  const char *info, GError **error);

gboolean augur_store_set_meta (AugurStore *st, const char *key,
                               const char *value, GError **error);
/* (transfer full) value or NULL when unset. */
char *augur_store_get_meta (AugurStore *st, const char *key);

/* Delete raw samples and rollups beyond retention, counted back from each
 * domain's newest sample.  Returns the number of rows deleted, or -1. */
gint64 augur_store_apply_retention (AugurStore *st, GError **error);

/* Import a series (trace units) as domain s->vm with a UUID derived from
 * the name (or s->uuid).  Re-importing the same (vm, ts) updates the row.
 * One transaction; rollups of the touched range are recomputed. */
gboolean augur_store_import_series (AugurStore *st, const AugurSeries *s,
                                    const char *source, gsize *ret_rows,
                                    GError **error);

/* ---- reading (virt-augur, model) ---- */

typedef struct {
        gint64 id;                /* store id                                */
        char *uuid;
        char *name;
        char *source;
        gint64 libvirt_id;        /* -1 when unknown                         */
        gint64 first_ms;          /* first sample, ms, or -1                 */
        gint64 last_ms;           /* newest sample, ms, or -1                */
        gint64 n_samples;         /* raw samples kept                        */
} AugurDomainInfo;

void augur_domain_info_free (AugurDomainInfo *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurDomainInfo, augur_domain_info_free)

/* All domains, ordered by name (GPtrArray of AugurDomainInfo, owned). */
GPtrArray *augur_store_list_domains (AugurStore *st, GError **error);
/* Resolve spec as exact name, then UUID, then numeric libvirt id. */
AugurDomainInfo *augur_store_find_domain (AugurStore *st, const char *spec,
                                          GError **error);

typedef struct {
        gint64 last_tick_ms;      /* -1 when no tick yet                     */
        gint64 last_tick_domains;
        gint64 n_ticks;
        gint64 n_domains;
        gint64 db_bytes;
        char *connected;          /* meta daemon.connected ("1"/"0"/NULL)    */
        char *uri;                /* meta daemon.uri                         */
        char *pid;                /* meta daemon.pid                         */
} AugurStoreStatus;

void augur_store_status_clear (AugurStoreStatus *s);
gboolean augur_store_status (AugurStore *st, AugurStoreStatus *ret, GError **error);

/* History columns, in output order (virt-augur history). */
typedef enum {
        AUGUR_HIST_MEM_ACTUAL_KIB = 0,
        AUGUR_HIST_MEM_UNUSED_KIB,
        AUGUR_HIST_MEM_USABLE_KIB,
        AUGUR_HIST_MEM_AVAILABLE_KIB,
        AUGUR_HIST_MEM_USED_KIB,
        AUGUR_HIST_CPU_TIME_NS,
        AUGUR_HIST_CPU_CORES_USED,
        AUGUR_HIST_VCPUS_CURRENT,
        AUGUR_HIST_VCPUS_MAX,
        AUGUR_HIST_BLOCK_RD_BYTES,
        AUGUR_HIST_BLOCK_WR_BYTES,
        AUGUR_HIST_NET_RX_BYTES,
        AUGUR_HIST_NET_TX_BYTES,
        AUGUR_HIST_CPU_PCT,
        AUGUR_HIST_MEM_PROV_KIB,
        AUGUR_HIST_INPUT_EVENTS_PER_MIN,   /* in-guest activity (augur-guest) */
        AUGUR_HIST_SESSIONS,
        AUGUR_HIST_PROC_STARTS_PER_MIN,
        AUGUR_HIST_VCPUS_ONLINE,           /* from the decisions, see below  */
        AUGUR_HIST_N,
} AugurHistCol;

typedef struct {
        const char *name;         /* JSON key / table header                 */
        gboolean integer;         /* print as integer                        */
        gboolean counter;         /* raw counter; a delta in rollups         */
        gboolean from_decisions;  /* not a samples column (vcpus_online)     */
} AugurHistColInfo;

extern const AugurHistColInfo augur_hist_col_info[AUGUR_HIST_N];

typedef struct {
        gint64 ts_s;
        double v[AUGUR_HIST_N];   /* NAN = unknown                           */
} AugurHistRow;

/* Rows of domain_id between from_ms and to_ms inclusive (GArray of
 * AugurHistRow).  In rollup resolutions gauges are bucket means and
 * counters per-interval deltas.
 *
 * vcpus_online is the vCPUs online in the guest: a vCPU the guest agent
 * took offline is still plugged, and libvirt's vcpu.current
 * (vcpus_current) still counts it.  augurd's resize loop records the
 * agent's count in the decision of each tick (decisions.vcpus_online:
 * the agent's count where it answers, vcpu.current otherwise; resize.c
 * build_input), so a row takes the online count of its tick's decision,
 * and vcpus_current where the tick has none (observe mode, before the
 * first decision).  In rollups: the mean over the bucket's decisions,
 * else vcpus_current's. */
GArray *augur_store_history (AugurStore *st, gint64 domain_id,
                             gint64 from_ms, gint64 to_ms,
                             AugurResolution res, GError **error);
