/* metrics.h — augurd's Prometheus metrics: a small registry the tick
 * updates, its text exposition, and a libsoup server that serves it.
 *
 * What it is: the numbers augurd already has in memory after a tick
 * (nothing here calls libvirt or SQLite), kept per guest and formatted on
 * each scrape.  What it is not: a general metrics library.  The families
 * are fixed and listed below; a scrape costs one pass over the guests.
 *
 * FAMILIES (exposition format 0.0.4, text/plain; version=0.0.4; base units
 * as Prometheus asks: bytes, seconds, cores)
 *   augur_guest_memory_used_bytes{domain,uuid}          gauge  MemTotal − MemAvailable
 *   augur_guest_memory_allocation_bytes{domain,uuid}    gauge  balloon size
 *   augur_guest_cpu_used_cores{domain,uuid}             gauge
 *   augur_guest_vcpus{domain,uuid}                      gauge  online
 *   augur_guest_memory_forecast_bytes{domain,uuid,horizon_seconds,bound}
 *   augur_guest_cpu_forecast_cores{domain,uuid,horizon_seconds,bound}
 *                                                       gauge  bound = p50 | upper
 *   augur_guest_forecast_error_percent{domain,uuid,resource,source}
 *                                                       gauge  EW mean absolute error of the
 *                                                              point forecast, % of capacity;
 *                                                              source = model | best_baseline
 *   augur_actions_total{domain,uuid,resource,action,reason}
 *                                                       counter one per decision that changed
 *                                                              or recommended a change
 *   augur_guest_reports_dropped_total{domain,uuid,reason}
 *                                                       counter guest activity reports dropped
 *                                                              (plugin/activity.c counts them;
 *                                                              reason = malformed | oversize |
 *                                                              rate | range)
 *   augur_tick_duration_seconds                         histogram one stored tick, collect to audit
 *   augur_ticks_total                                   counter ticks stored
 * A guest's series disappear when augurd forgets it (stopped): counters
 * of a guest that comes back restart at 0, which rate() handles.
 *
 * LABELS are escaped as the format requires (\ → \\, " → \", newline → \n);
 * domain names are the guest owner's choice and may hold any of them.
 *
 * THE SERVER listens on 127.0.0.1 only (the metrics name guests: do not
 * publish them beyond the host; a reverse proxy or node-exporter-style
 * scrape over SSH is the operator's choice), answers GET and HEAD on
 * /metrics and 404 elsewhere.  It runs in augurd's main loop: a scrape
 * runs between ticks and never waits on libvirt.
 */
#pragma once

#include <glib.h>
#include "policy.h"

typedef struct AugurMetrics AugurMetrics;

AugurMetrics *augur_metrics_new (void);
void augur_metrics_free (AugurMetrics *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurMetrics, augur_metrics_free)

/* ---- updates (the tick; every value may be NAN = unknown, not exported) */

void augur_metrics_set_guest (AugurMetrics *m, const char *uuid, const char *name,
                              double mem_used_kib, double mem_alloc_kib,
                              double cpu_cores_used, double vcpus);
/* The newest forecast of the guest; NULL clears it. */
void augur_metrics_set_forecast (AugurMetrics *m, const char *uuid, const AugurForecast *f);
/* resource "memory" or "cpu"; errors in % of capacity. */
void augur_metrics_set_error (AugurMetrics *m, const char *uuid, const char *resource,
                              double model_pct, double best_baseline_pct);
/* resource "memory" or "vcpus"; action and reason as in the audit trail. */
void augur_metrics_count_action (AugurMetrics *m, const char *uuid, const char *name,
                                 const char *resource, const char *action, const char *reason);
/* The guest's activity reports dropped so far for reason ("malformed",
 * "oversize", "rate", "range"): activity.c keeps the cumulative counts
 * (AugurActivityCounters) and the tick copies them here. */
void augur_metrics_set_dropped_reports (AugurMetrics *m, const char *uuid, const char *name,
                                        const char *reason, guint64 total);
void augur_metrics_observe_tick (AugurMetrics *m, gint64 duration_usec);
/* The guest is gone: drop all its series. */
void augur_metrics_forget (AugurMetrics *m, const char *uuid);

/* ---- exposition */

#define AUGUR_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Append the whole exposition to out. */
void augur_metrics_format (const AugurMetrics *m, GString *out);
/* Append value escaped as a label value (without the quotes). */
void augur_metrics_escape_label (GString *out, const char *value);

/* ---- the HTTP endpoint */

/* Serve /metrics on 127.0.0.1:port (0 = an ephemeral port, for tests).
 * FALSE with a GIOError when the port cannot be bound. */
gboolean augur_metrics_serve (AugurMetrics *m, guint port, GError **error);
/* The port served, 0 when not serving. */
guint augur_metrics_get_port (const AugurMetrics *m);
