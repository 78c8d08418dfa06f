/* store-decisions.h — the audit trail: decisions and actuations
 * (migrations/002-decisions.sql has the table design). */
#pragma once

#include "store.h"

/* One decision row.  Strings are static names (policy.h, augur-config.h).
 * NAN / -1 = unknown. */
typedef struct {
        gint64 ts_ms;
        gint64 domain_id;               /* ignored on write: uuid is used      */
        char uuid[AUGUR_UUID_STRLEN];
        char name[256];
        const char *mode, *policy, *model;
        double mem_used_kib, mem_alloc_kib, cpu_cores_used;
        int vcpus_online;
        double horizon_s;
        double mem_p50_kib, mem_upper_kib, cpu_p50_cores, cpu_upper_cores;
        double mem_target_kib;
        int vcpus_target;
        const char *mem_action, *cpu_action;
        const char *mem_reason, *cpu_reason, *mem_veto, *cpu_veto;
        char note[256];
} AugurDecisionRow;

/* Write rows in one transaction, or inside the open tick (store.h
 * augur_store_tick_begin()) as part of it.  Actuations, latencies and
 * forecasts below join an open tick likewise. */
gboolean augur_store_write_decisions (AugurStore *st, const AugurDecisionRow *rows,
                                      gsize n, GError **error);

/* Record an actuation; returns its id (> 0) or -1. */
gint64 augur_store_write_actuation (AugurStore *st, gint64 ts_ms, const char *uuid,
                                    const char *name, const char *kind,
                                    double from_value, double to_value, GError **error);
/* Record a disk I/O limit actuation (migrations/010-io-actuations.sql):
 * kind io-total / io-read / io-write, values in bytes/s, the disk and
 * the reason.  Returns its id (> 0) or -1. */
gint64 augur_store_write_io_actuation (AugurStore *st, gint64 ts_ms, const char *uuid,
                                       const char *name, const char *kind, const char *device,
                                       double from_bps, double to_bps, const char *reason,
                                       GError **error);
/* Fill in the measured latency of actuation id. */
gboolean augur_store_set_actuation_latency (AugurStore *st, gint64 id,
                                            gint64 latency_ms, GError **error);

/* Decisions of domain_id (or every domain when < 0) between from_ms and
 * to_ms, oldest first, the newest `limit` of them (0 = all).  Strings in
 * the rows are interned (g_intern_string): they live forever, free the
 * GArray of AugurDecisionRow with g_array_unref only. */
GArray *augur_store_decisions (AugurStore *st, gint64 domain_id, gint64 from_ms,
                               gint64 to_ms, guint limit, GError **error);

/* Horizons a stored forecast may have (policy.h AUGUR_POLICY_MAX_H). */
#define AUGUR_STORE_FORECAST_MAX_H 48

/* Replace the newest forecast of a domain: horizons 1..H (H at most
 * AUGUR_STORE_FORECAST_MAX_H) of step_s, each series H values, NAN = none.
 * Stored as float32 (store-decisions.c, FORECASTS ROW FORMAT). */
gboolean augur_store_write_forecast (AugurStore *st, gint64 ts_ms, const char *uuid,
                                     const char *name, const char *model, double step_s,
                                     guint H, const float *mem_p50_kib,
                                     const float *mem_upper_kib, const float *cpu_p50_cores,
                                     const float *cpu_upper_cores, GError **error);
/* The newest forecast of domain_id: FALSE with NOT_FOUND when none.
 * Out-strings are transfer full; *ret_horizons_json is a JSON array, one
 * object per horizon: {"h":1,"s":<s ahead>,"mem_p50_kib":…,"mem_upper_kib":…,
 * "cpu_p50_cores":…,"cpu_upper_cores":…} (null = none). */
gboolean augur_store_read_forecast (AugurStore *st, gint64 domain_id, gint64 *ret_ts_ms,
                                    char **ret_model, double *ret_step_s,
                                    char **ret_horizons_json, GError **error);

/* One actuation (virt-augur plot / top / actions / explain).  kind is
 * interned ("balloon", "vcpus", "io-total", "io-read", "io-write");
 * NAN = unknown value, latency_ms -1 = not seen in effect yet. */
typedef struct {
        gint64 ts_ms;
        gint64 domain_id;
        const char *kind;
        double from_value;              /* KiB for balloon, count for vcpus,
                                         * bytes/s for io-*                   */
        double to_value;
        gint64 latency_ms;
        const char *device;             /* io-*: the disk; NULL otherwise (interned) */
        const char *reason;             /* io-*: why; NULL otherwise (interned) */
} AugurActuationRow;

/* Actuations of domain_id (or every domain when < 0) between from_ms and
 * to_ms, oldest first, the newest `limit` of them (0 = all).  GArray of
 * AugurActuationRow; free with g_array_unref. */
GArray *augur_store_actuations (AugurStore *st, gint64 domain_id, gint64 from_ms,
                                gint64 to_ms, guint limit, GError **error);
