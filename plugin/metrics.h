/* metrics.h — augurd's Prometheus metrics: a small registry the tick
 * updates, its text exposition, and a minimal HTTP responder that serves it.
 *
 * What it is: the numbers augurd already has in memory after a tick
 * (nothing here calls libvirt or SQLite), kept per guest and formatted on
 * each scrape.  What it is not: a general metrics library.  The families
 * are fixed and listed below; a scrape costs one pass over the guests.
 *
 * FAMILIES (exposition format 0.0.4, text/plain; version=0.0.4; base units
 * as Prometheus asks: bytes, seconds, ratios; CPU in cores, i.e. CPU
 * seconds per second, the unit of rate(…_cpu_seconds_total), because
 * there is no base unit for a rate of CPU time and admins size vCPUs in
 * cores)
 *   augur_guest_memory_used_bytes{domain,uuid}          gauge  MemTotal − MemAvailable
 *   augur_guest_memory_allocation_bytes{domain,uuid}    gauge  balloon size
 *   augur_guest_cpu_used_cores{domain,uuid}             gauge
 *   augur_guest_vcpus{domain,uuid}                      gauge  online
 *   augur_guest_yielded{domain,uuid}                    gauge  1 while augur yields the guest to
 *                                                              another controller (something
 *                                                              else moved its balloon:
 *                                                              plugin/resize-controller.c
 *                                                              SECOND CONTROLLER), else 0
 *   augur_guest_memory_forecast_bytes{domain,uuid,horizon_seconds,bound}
 *   augur_guest_cpu_forecast_cores{domain,uuid,horizon_seconds,bound}
 *                                                       gauge  see FORECAST SERIES
 *   augur_guest_forecast_error_ratio{domain,uuid,resource,source}
 *                                                       gauge  EW mean absolute error of the
 *                                                              point forecast, fraction of
 *                                                              capacity; source = model |
 *                                                              best_baseline
 *   augur_guest_forecast_coverage_ratio{domain,uuid,resource}
 *                                                       gauge  recent fraction of steps at or
 *                                                              below the upper bound served a
 *                                                              step before (target 0.95)
 *   augur_actions_total{domain,uuid,resource,action,reason}
 *                                                       counter one per decision that changed
 *                                                              or recommended a change
 *   augur_guest_reports_dropped_total{domain,uuid,reason}
 *                                                       counter guest activity reports dropped
 *                                                              (plugin/activity-parse.c counts them;
 *                                                              reason = malformed | oversize |
 *                                                              rate | range)
 *   augur_guest_memory_events_total{domain,uuid,event}  counter the guest ran out of memory
 *                                                              (policy/mem-guard.h rule 2:
 *                                                              guest-oom-kill, guest-deflated,
 *                                                              demand-cut-off,
 *                                                              guest-memory-pressure)
 *   augur_cpu_shares{domain,uuid}                       gauge  CPU WEIGHT: cpu_shares in force
 *   augur_cpu_shares_floor{domain,uuid}                 gauge  ... and the admin's value
 *   augur_tick_duration_seconds                         histogram one stored tick, collect to audit
 *   augur_ticks_total                                   counter ticks stored
 *   augur_retrain_runs_total{outcome}                   counter periodic retraining runs:
 *                                                              promoted | rejected | skipped |
 *                                                              failed
 *   augur_last_tick_timestamp_seconds                   gauge  wall clock of the last tick
 *                                                              (absent before the first)
 *   augur_libvirt_connected                             gauge  1 connected, 0 not
 *   augur_build_info{version}                           gauge  always 1
 *
 * FORECAST SERIES are bounded: per guest and resource, the calibrated
 * upper bound over the lead window (bound="upper", horizon_seconds = the
 * window, what the policy grows to) and the median at the first, middle
 * and last horizon (bound="p50"): at most 8 series per guest whatever the
 * tick and horizon (a 1 s tick with 12 horizons exported 48 before).
 *
 * A guest's series disappear when augurd forgets it (stopped): counters
 * of a guest that comes back restart at 0, which rate() handles.
 *
 * LABELS are escaped as the format requires (\ → \\, " → \", newline → \n);
 * domain names are the guest owner's choice and may hold any of them.
 *
 * WHO SEES WHAT.  A TCP port on 127.0.0.1 is open to every local uid,
 * while the API socket refuses strangers (api.h).  So by default the
 * domain label carries the guest's UUID, not its name: any local user can
 * count the guests and read their sizes, but not learn what they are
 * called.  augur_metrics_set_names (TRUE) ([metrics] names=true) puts the
 * names back, for hosts where every local uid may know them (or where a
 * firewall or a proxy with authentication stands in front).  The label
 * set is the same either way, so dashboards keep working.
 *
 * THE SERVER (see the top of metrics.c for why not libsoup) listens on
 * 127.0.0.1 unless [metrics] bind names other addresses (up to
 * AUGUR_METRICS_MAX_BIND; TLS and authentication are a reverse proxy's
 * job, README) and speaks just enough HTTP/1.x for a scraper: one
 * request per connection, whose head (request line and headers) must fit
 * in AUGUR_METRICS_MAX_REQUEST_BYTES; GET and HEAD on /metrics (a query
 * string is ignored), 404 on other paths, 405 for other methods, every
 * answer with Content-Length and "Connection: close", then the connection
 * is closed.  At most max_clients connections at once (more are answered
 * 503 and closed), each with a deadline of timeout_ms from accept to the
 * last byte sent.  It runs in augurd's main loop: a scrape runs between
 * ticks and never waits on libvirt.
 */
#pragma once

#include <glib.h>
#include "policy.h"

typedef struct AugurMetrics AugurMetrics;

AugurMetrics *augur_metrics_new (void);
void augur_metrics_free (AugurMetrics *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurMetrics, augur_metrics_free)

/* Export guest names in the domain label (TRUE), or UUIDs there too
 * (FALSE, the default: see WHO SEES WHAT above).  Takes effect at the
 * next scrape. */
void augur_metrics_set_names (AugurMetrics *m, gboolean names);

/* ---- updates (the tick; every value may be NAN = unknown, not exported) */

void augur_metrics_set_guest (AugurMetrics *m, const char *uuid, const char *name,
                              double mem_used_kib, double mem_alloc_kib,
                              double cpu_cores_used, double vcpus);
/* Whether augur yields the guest to another controller (resize.c). */
void augur_metrics_set_yielded (AugurMetrics *m, const char *uuid, const char *name, gboolean yielded);
/* Medians exported per resource (FORECAST SERIES). */
#define AUGUR_METRICS_P50_HORIZONS 3
/* The newest forecast of the guest and the policy's lead window, s; NULL
 * clears it. */
void augur_metrics_set_forecast (AugurMetrics *m, const char *uuid, const AugurForecast *f, double lead_s);
/* resource "memory" or "cpu"; errors in % of capacity (exported as a
 * ratio). */
void augur_metrics_set_error (AugurMetrics *m, const char *uuid, const char *resource,
                              double model_pct, double best_baseline_pct);
/* Realized coverage of the upper bound (forecaster.c REALIZED COVERAGE)
 * over `steps` (decayed) scored steps; exported from this many on. */
#define AUGUR_METRICS_COVERAGE_MIN_STEPS 10
void augur_metrics_set_coverage (AugurMetrics *m, const char *uuid, const char *resource,
                                 double ratio, double steps);
/* resource "memory" or "vcpus"; action and reason as in the audit trail. */
void augur_metrics_count_action (AugurMetrics *m, const char *uuid, const char *name,
                                 const char *resource, const char *action, const char *reason);
/* The guest's activity reports dropped so far for reason ("malformed",
 * "oversize", "rate", "range"): activity.c keeps the cumulative counts
 * (AugurActivityCounters) and the tick copies them here. */
void augur_metrics_set_dropped_reports (AugurMetrics *m, const char *uuid, const char *name,
                                        const char *reason, guint64 total);
/* The guest ran out of memory: event as augur_guard_event_name() says. */
void augur_metrics_count_memory_event (AugurMetrics *m, const char *uuid, const char *name, const char *event);
/* A periodic retraining run finished: outcome as retrain.h names it
 * (promoted, rejected, skipped, failed). */
void augur_metrics_count_retrain (AugurMetrics *m, const char *outcome);
/* Connected to the hypervisor or not (unknown, not exported, until set). */
void augur_metrics_set_connected (AugurMetrics *m, gboolean connected);
/* The host's 4-hour memory view (host-plan.h): the guests' used memory
 * summed when it was made, and the growth above it the cushion plans on
 * (NAN: not calibrated; not exported).  KiB. */
void augur_metrics_set_host_plan (AugurMetrics *m, double held_kib, double growth_kib);
/* One tick stored, taking duration_usec; also its wall-clock time. */
void augur_metrics_observe_tick (AugurMetrics *m, gint64 duration_usec);
/* I/O LIMITS (resize-io.c, each tick): one series per limit augur
 * watches on a guest's device (a disk's <iotune> kind, an interface's
 * <bandwidth> direction; kind as the audit names it, "io-total",
 * "net-out", "io-read-iops"), in the kind's unit: the limit in force as
 * read, the admin's value (the floor augur never goes below) and the
 * forecast upper bound over the lead (NAN: none).  A byte-rate limit's
 * are the augur_io_{limit,floor,forecast_upper}_bytes_per_second
 * families, an IOPS limit's augur_io_{limit,floor,forecast_upper}_iops
 * (requests per second; same labels, device and kind).  At most AUGUR_METRICS_IO_MAX per guest, the rest
 * dropped; clear_io before a tick's set_io, so a device gone or a guest
 * no longer opted in leaves no series behind. */
#define AUGUR_METRICS_IO_MAX 24
void augur_metrics_clear_io (AugurMetrics *m, const char *uuid);
void augur_metrics_set_io (AugurMetrics *m, const char *uuid, const char *name, const char *device,
                           const char *kind, double limit_bps, double floor_bps, double upper_bps);
/* CPU WEIGHT (resize-cpu.c, each tick): a guest that opted in
 * (cpu_weight_max), its cpu_shares in force as read and the admin's value
 * (the floor); NAN, NAN when not watched (no series). */
void augur_metrics_set_cpu_shares (AugurMetrics *m, const char *uuid, const char *name, double shares,
                                   double floor_shares);
/* The guest is gone: drop all its series. */
void augur_metrics_forget (AugurMetrics *m, const char *uuid);

/* ---- exposition */

#define AUGUR_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Append the whole exposition to out. */
void augur_metrics_format (const AugurMetrics *m, GString *out);
/* Append value escaped as a label value (without the quotes). */
void augur_metrics_escape_label (GString *out, const char *value);

/* ---- the HTTP endpoint */

/* Longest request head (request line and headers), bytes.  Prometheus
 * sends ~250 bytes; 8 KiB is what common servers allow and bounds what a
 * client can make us hold (one buffer per connection). */
#define AUGUR_METRICS_MAX_REQUEST_BYTES 8192
/* Connections at once.  A scraper or two and a curl need a handful; each
 * costs one fd, the request buffer and one formatted response. */
#define AUGUR_METRICS_MAX_CLIENTS 16
/* Deadline of a connection from accept to its last byte sent, ms: covers a
 * client that sends its head slowly and one that reads slowly.  Prometheus'
 * own scrape timeout defaults to 10 s. */
#define AUGUR_METRICS_CLIENT_TIMEOUT_MS 10000

/* Addresses one endpoint listens on, at most. */
#define AUGUR_METRICS_MAX_BIND 4

typedef struct {
        guint max_clients;            /* 0: AUGUR_METRICS_MAX_CLIENTS         */
        guint timeout_ms;             /* 0: AUGUR_METRICS_CLIENT_TIMEOUT_MS   */
        const char *bind;             /* addresses, comma-separated; NULL:
                                       * 127.0.0.1                           */
} AugurMetricsServeOptions;

/* Split [metrics] bind: IPv4 or IPv6 literals ("0.0.0.0" and "::" for
 * all), comma- or space-separated, 1 to AUGUR_METRICS_MAX_BIND of them,
 * no duplicates.  Host names are refused: a listener must not depend on
 * DNS at start.  FALSE with a message saying which word is wrong. */
gboolean augur_metrics_parse_bind (const char *text, GStrv *ret, GError **error);

/* Parse the request head received so far, buf[0..len).  Pure: the
 * server calls it after every read, tests and the fuzzer call it directly.
 * Returns the status to answer, or 0 when more bytes are needed:
 *   0    the request line is fine (or not complete yet) and the head has
 *        not ended (no empty line yet), and len < AUGUR_METRICS_MAX_REQUEST_BYTES
 *   200  GET or HEAD of /metrics (origin form "/metrics[?query]", or the
 *        absolute form "http://host/metrics"); *ret_head is TRUE for HEAD
 *   400  a malformed request line (not "METHOD SP target SP HTTP/d.d"),
 *        or a NUL or other control byte in it
 *   404  another path
 *   405  another method on /metrics
 *   431  no end of head within AUGUR_METRICS_MAX_REQUEST_BYTES
 *   505  an HTTP major version other than 1
 * *ret_head is always written (FALSE unless 200 for HEAD). */
guint augur_metrics_parse_request (const char *buf, gsize len, gboolean *ret_head);

/* Serve /metrics on port (0 = an ephemeral port, for tests; with several
 * addresses the first one's) of each bind address, on the thread-default
 * main context.  options may be NULL (defaults: 127.0.0.1).  FALSE with a
 * G_IO_ERROR when an address cannot be bound (then none is served).
 * Logs "metrics on http://ADDR:PORT/metrics" per address once served. */
gboolean augur_metrics_serve_full (AugurMetrics *m, guint port,
                                   const AugurMetricsServeOptions *options, GError **error);
/* augur_metrics_serve_full() with default options. */
gboolean augur_metrics_serve (AugurMetrics *m, guint port, GError **error);
/* The port served, 0 when not serving. */
guint augur_metrics_get_port (const AugurMetrics *m);
/* Connections open now (tests). */
guint augur_metrics_get_n_clients (const AugurMetrics *m);
