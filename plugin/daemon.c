/* daemon.c — augurd's connection, events and tick.  See daemon.h. */
#include "config.h"

#include "daemon.h"
#include "augur-log.h"
#include "store-activity.h"
#include "host.h"
#include "io-forecast.h"
#include "io-limit.h"
#include "resize-io.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

/* Reconnect backoff: first retry after one tick, doubling to this cap, so a
 * long libvirtd outage costs one failed connect per half minute. */
#define RECONNECT_BACKOFF_MAX_S 30.0
/* Retention runs at start and then at most once per this period. */
#define RETENTION_PERIOD_US ((gint64) G_USEC_PER_SEC * 3600)
/* After a "started" hook, sample once this much later, ms: libvirtd runs the
 * hook before it resumes the guest's vCPUs, and a second is enough for the
 * start to finish, yet well before the next regular tick (5 s by default).
 * At most one such tick is pending, so a storm of starts costs at most one
 * extra tick per this period. */
#define EARLY_TICK_DELAY_MS 1000


static void
store_event (AugurDaemon *d, AugurHvGuest *g, const char *kind, int event,
             int detail, const char *info)
{
        g_autoptr(GError) error = NULL;
        const char *name = g ? augur_hv_guest_get_name (g) : NULL;

        if (!d->store)
                return;
        if (!augur_store_write_event (d->store, augur_now_ms (), g ? augur_hv_guest_get_uuid (g) : NULL,
                                      name, kind, event, detail, info, &error))
                g_warning ("recording %s event of %s failed: %s, ignoring",
                           kind, name ? name : "host", error->message);
}

static void
set_stats_period (AugurDaemon *d, AugurHvGuest *g)
{
        g_autoptr(GError) error = NULL;

        /* Without a period the guest never reports balloon stats and every
         * memory field stays absent.  A domain without a balloon device
         * refuses: that is expected, and the samples just lack memory. */
        if (!augur_hv_guest_set_stats_period (g, d->config->balloon_period_s, &error))
                g_debug ("setting balloon stats period on %s failed: %s, ignoring",
                         augur_hv_guest_get_name (g), error->message);
}

static void
set_stats_period_all (AugurDaemon *d)
{
        g_autoptr(GPtrArray) guests = augur_hv_list_guests (d->hv, NULL);

        for (guint i = 0; guests && i < guests->len; i++)
                if (augur_guests_keep (g_ptr_array_index (guests, i), d->guests))
                        set_stats_period (d, g_ptr_array_index (guests, i));
}

static void
on_lifecycle (AugurDaemon *d, AugurHvGuest *g, const AugurHvEvent *e)
{
        g_autofree char *info = g_strdup_printf ("lifecycle event=%d detail=%d", e->code, e->detail);
        const char *name = augur_hv_guest_get_name (g);

        augur_log (G_LOG_LEVEL_INFO, name, "lifecycle", NULL, NAN, NAN,
                   "domain %s lifecycle event %d detail %d", name, e->code, e->detail);
        store_event (d, g, "lifecycle", e->code, e->detail, info);
        if (e->lifecycle == AUGUR_HV_LIFECYCLE_STARTED || e->lifecycle == AUGUR_HV_LIFECYCLE_RESUMED)
                set_stats_period (d, g);
}

static void
on_balloon_change (AugurDaemon *d, AugurHvGuest *g, const AugurHvEvent *e)
{
        g_autofree char *info = g_strdup_printf ("actual=%" G_GUINT64_FORMAT " KiB", e->balloon_kib);

        g_debug ("domain %s balloon now %" G_GUINT64_FORMAT " KiB", augur_hv_guest_get_name (g), e->balloon_kib);
        store_event (d, g, "balloon-change", 0, 0, info);
}

static void
on_agent_lifecycle (AugurDaemon *d, AugurHvGuest *g, const AugurHvEvent *e)
{
        g_autofree char *info = g_strdup_printf ("agent %s (reason %d)",
                                                 e->agent_connected ? "connected" : "disconnected", e->detail);
        const char *name = augur_hv_guest_get_name (g);

        augur_log (G_LOG_LEVEL_INFO, name, "agent", NULL, NAN, NAN, "domain %s: %s", name, info);
        store_event (d, g, "agent-lifecycle", e->code, e->detail, info);
}

static void
on_metadata_change (AugurDaemon *d, AugurHvGuest *g, const AugurHvEvent *e)
{
        g_autofree char *info = g_strdup_printf ("metadata type=%d ns=%s", e->code, e->nsuri ? e->nsuri : "");

        store_event (d, g, "metadata-change", e->code, 0, info);
}

/* Each event: logged and recorded, then the resize loop's and the
 * activity module's part.  An excluded guest's events are neither: a
 * METADATA_CHANGE only makes its tags read again, which may bring it in
 * (or, for a watched guest, take it out) at once. */
static void
on_event (AugurHv *hv, AugurHvGuest *g, const AugurHvEvent *e, gpointer user_data)
{
        AugurDaemon *d = user_data;
        const char *uuid = augur_hv_guest_get_uuid (g);

        if (e->kind == AUGUR_HV_EVENT_METADATA)
                augur_guests_metadata_changed (d->guests, uuid);
        if (!augur_guests_keep (g, d->guests))
                return;

        switch (e->kind) {
        case AUGUR_HV_EVENT_LIFECYCLE: on_lifecycle (d, g, e); break;
        case AUGUR_HV_EVENT_BALLOON: on_balloon_change (d, g, e); break;
        case AUGUR_HV_EVENT_AGENT: on_agent_lifecycle (d, g, e); break;
        case AUGUR_HV_EVENT_METADATA: on_metadata_change (d, g, e); break;
        }
        augur_resize_event (d->resize, d->store, uuid, e, augur_now_ms ());
        if (e->kind == AUGUR_HV_EVENT_LIFECYCLE && e->lifecycle == AUGUR_HV_LIFECYCLE_STOPPED)
                augur_activity_domain_stopped (d->activity, uuid);
        if (e->kind == AUGUR_HV_EVENT_AGENT)
                augur_activity_agent_changed (d->activity, uuid, e->agent_connected);
}

static void
on_closed (AugurHv *hv, gpointer user_data)
{
        AugurDaemon *d = user_data;

        /* Only record the fact; the tick reconnects (virsh does the same). */
        d->hv_lost = TRUE;
}

static void
disconnect (AugurDaemon *d)
{
        if (!d->hv)
                return;
        g_clear_pointer (&d->hv, augur_hv_close);
        if (d->store)
                augur_store_set_meta (d->store, "daemon.connected", "0", NULL);
}

static gboolean
connect_hv (AugurDaemon *d, GError **error)
{
        static const AugurHvCallbacks cb = { .event = on_event, .closed = on_closed };
        AugurHvOptions o = {
                .keepalive_interval_s = d->config->keepalive_interval_s,
                .keepalive_count = d->config->keepalive_count,
        };

        if (d->open_hv)
                d->hv = d->open_hv (&cb, d, d->open_hv_ctx);
        else
                d->hv = augur_hv_open (d->config->uri, &o, &cb, d, error);
        if (!d->hv)
                return FALSE;
        d->hv_lost = FALSE;
        /* Tags may have changed while disconnected: read again, before
         * the stats periods (which only watched guests get). */
        augur_guests_reconnected (d->guests);
        set_stats_period_all (d);
        if (d->store) {
                augur_store_set_meta (d->store, "daemon.connected", "1", NULL);
                augur_store_set_meta (d->store, "daemon.uri", d->config->uri, NULL);
        }
        return TRUE;
}

/* Step 1 of the tick.  Returns TRUE when a usable connection exists. */
static gboolean
ensure_connected (AugurDaemon *d)
{
        g_autoptr(GError) error = NULL;
        gint64 now = g_get_monotonic_time ();

        if (d->hv && (d->hv_lost || !augur_hv_is_alive (d->hv))) {
                augur_log (G_LOG_LEVEL_WARNING, NULL, "disconnect", NULL, NAN, NAN,
                           "lost connection to %s; will reconnect", d->config->uri);
                store_event (d, NULL, "disconnect", 0, 0, d->config->uri);
                disconnect (d);
                d->next_connect_us = 0;
                d->connect_backoff_s = d->config->tick_s;
        }
        if (d->hv)
                return TRUE;
        if (now < d->next_connect_us)
                return FALSE;
        if (!connect_hv (d, &error)) {
                if (!d->warned_connect)
                        augur_log (G_LOG_LEVEL_WARNING, NULL, "connect", NULL, NAN, NAN,
                                   "%s; retrying, ignoring", error->message);
                else
                        g_debug ("%s", error->message);
                d->warned_connect = TRUE;
                d->connect_backoff_s = MIN (MAX (d->connect_backoff_s * 2, d->config->tick_s),
                                            RECONNECT_BACKOFF_MAX_S);
                d->next_connect_us = now + (gint64) (d->connect_backoff_s * G_USEC_PER_SEC);
                return FALSE;
        }
        augur_log (G_LOG_LEVEL_MESSAGE, NULL, "connect", NULL, NAN, NAN, "connected to %s", d->config->uri);
        store_event (d, NULL, "connect", 0, 0, d->config->uri);
        /* Whatever we knew may be stale now: fresh samples before any action. */
        augur_resize_reconnected (d->resize);
        d->warned_connect = FALSE;
        d->connect_backoff_s = 0;
        return TRUE;
}

/* The activity readers' drop counts, for the metrics. */
static void
export_activity_drops (AugurDaemon *d, const GArray *samples)
{
        for (guint i = 0; i < samples->len; i++) {
                const AugurDomainSample *s = &g_array_index (samples, AugurDomainSample, i);
                AugurActivityCounters c;

                if (!augur_activity_get_counters (d->activity, s->uuid, &c))
                        continue;
                augur_metrics_set_dropped_reports (d->metrics, s->uuid, s->name, "malformed", c.dropped_malformed);
                augur_metrics_set_dropped_reports (d->metrics, s->uuid, s->name, "oversize", c.dropped_oversize);
                augur_metrics_set_dropped_reports (d->metrics, s->uuid, s->name, "rate", c.dropped_rate);
                augur_metrics_set_dropped_reports (d->metrics, s->uuid, s->name, "range", c.dropped_range);
        }
}

/* A failed tick write: warn once per failure episode. */
static void
warn_store (AugurDaemon *d, const GError *error)
{
        if (!d->warned_store)
                g_warning ("storing tick failed: %s; tick dropped, nothing stored "
                           "before was touched, ignoring", error->message);
        else
                g_debug ("storing tick failed: %s", error->message);
        d->warned_store = TRUE;
}

static gboolean reopen_store (AugurDaemon *d);

/* The excluded guests into the store's meta (guests.h), for `virt-augur
 * list`, `top` and `explain`: written when the set changes, outside the
 * tick's transaction. */
static void
write_excluded (AugurDaemon *d)
{
        g_autofree char *json = augur_guests_excluded_json (d->guests);
        g_autoptr(GError) error = NULL;

        if (g_strcmp0 (json, d->excluded_json) == 0)
                return;
        if (!augur_store_set_meta (d->store, AUGUR_GUESTS_META_EXCLUDED, json, &error)) {
                g_debug ("recording the excluded guests failed: %s", error->message);
                return;
        }
        g_free (d->excluded_json);
        d->excluded_json = g_steal_pointer (&json);
}

/* The filter in effect into the store's meta, and a reload's or start's
 * verdicts made afresh. */
static void
write_filter (AugurDaemon *d)
{
        g_autofree char *what = augur_guest_filter_describe (augur_guests_get_filter (d->guests));

        if (d->store)
                augur_store_set_meta (d->store, AUGUR_GUESTS_META_FILTER, what, NULL);
}

void
augur_daemon_tick (AugurDaemon *d)
{
        g_autoptr(GArray) samples = NULL;
        g_autoptr(GError) error = NULL;
        AugurHostSample host;
        gint64 t0, collect_usec, ts_ms;
        gboolean connected;

        d->ticks++;
        if (!d->store && !reopen_store (d))
                return;                       /* started on a full disk: dropped */
        if (d->retrain)
                augur_retrain_tick (d->retrain, d->config, augur_now_ms ());
        if (d->host_plan)
                augur_host_plan_tick (d->host_plan, d->config, augur_now_ms ());
        connected = ensure_connected (d);
        augur_metrics_set_connected (d->metrics, connected);
        if (!connected) {
                /* The channels are QEMU's sockets: they work without libvirtd. */
                augur_activity_sync (d->activity, NULL);
                return;
        }

        t0 = g_get_monotonic_time ();
        ts_ms = augur_now_ms ();
        augur_guests_new_round (d->guests);
        /* With a filter, an excluded guest is refused before its stats are
         * read (guests.h): it yields no sample, so nothing below sees it. */
        if (!augur_hv_guests_with_stats (d->hv, augur_guests_all (d->guests) ? NULL : augur_guests_keep,
                                         d->guests, &samples, &error)) {
                if (g_error_matches (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_LOST) || !augur_hv_is_alive (d->hv))
                        d->hv_lost = TRUE;
                g_warning ("tick %" G_GINT64_FORMAT ": %s; skipping this tick, ignoring",
                           d->ticks, error->message);
                return;
        }
        collect_usec = g_get_monotonic_time () - t0;
        augur_host_read (d->config->proc_root, &host);
        write_excluded (d);

        /* One transaction per tick (store.h augur_store_tick_begin()): the
         * samples, then the activity reports, forecasts, actuations and
         * audit rows written below join it, and it commits once.  It stays
         * open across the resize loop's hypervisor calls; only augurd writes
         * this file, and readers (WAL) are never blocked. */
        if (!augur_store_tick_begin (d->store, ts_ms, (AugurDomainSample *) samples->data,
                                     samples->len, &host, collect_usec, NULL, &error)) {
                warn_store (d, error);
                return;
        }

        /* After the samples (reports fill the newest one), before the
         * forecaster reads them. */
        augur_activity_sync (d->activity, d->hv);
        augur_resize_tick (d->resize, d->hv, d->store, d->config,
                           (AugurDomainSample *) samples->data, samples->len, &host, ts_ms);
        if (!augur_store_tick_commit (d->store, &error)) {
                /* The resize loop ran (and may have acted): only the
                 * record of this tick is lost. */
                warn_store (d, error);
                return;
        }
        if (d->warned_store)
                g_message ("storing ticks works again");
        d->warned_store = FALSE;
        d->ticks_stored++;
        d->last_tick_ms = ts_ms;
        g_clear_pointer (&d->last_samples, g_array_unref);
        d->last_samples = g_array_ref (samples);
        g_debug ("tick %" G_GINT64_FORMAT ": %u domains, stats call %" G_GINT64_FORMAT " us",
                 d->ticks, samples->len, collect_usec);
        export_activity_drops (d, samples);

        if (g_get_monotonic_time () - d->last_retention_us > RETENTION_PERIOD_US) {
                gint64 deleted = augur_store_apply_retention (d->store, &error);

                if (deleted >= 0) {
                        gint64 more = augur_store_activity_apply_retention (d->store, &error);

                        deleted = more < 0 ? -1 : deleted + more;
                }
                if (deleted < 0)
                        g_warning ("retention failed: %s, ignoring", error->message);
                else if (deleted > 0)
                        g_debug ("retention deleted %" G_GINT64_FORMAT " rows", deleted);
                d->last_retention_us = g_get_monotonic_time ();
        }
        if (d->forecaster)
                augur_forecaster_export_errors (d->forecaster, d->metrics);
        augur_metrics_observe_tick (d->metrics, g_get_monotonic_time () - t0);
}

/* ---- the local API's callbacks (api.h): answered from memory ---- */

static const char *
state_name (gint64 state)
{
        static const char *const names[] = {
                [AUGUR_GUEST_STATE_NOSTATE] = "nostate",
                [AUGUR_GUEST_STATE_RUNNING] = "running",
                [AUGUR_GUEST_STATE_BLOCKED] = "blocked",
                [AUGUR_GUEST_STATE_PAUSED] = "paused",
                [AUGUR_GUEST_STATE_SHUTDOWN] = "shutdown",
                [AUGUR_GUEST_STATE_SHUTOFF] = "shutoff",
                [AUGUR_GUEST_STATE_CRASHED] = "crashed",
                [AUGUR_GUEST_STATE_PMSUSPENDED] = "pmsuspended",
        };

        if (state >= 0 && state < (gint64) G_N_ELEMENTS (names) && names[state])
                return names[state];
        return "unknown";
}

static void
add_ts_or_null (JsonBuilder *b, const char *member, gint64 ms)
{
        json_builder_set_member_name (b, member);
        if (ms >= 0)
                json_builder_add_int_value (b, ms / 1000);
        else
                json_builder_add_null_value (b);
}

static void
api_status (gpointer data, JsonBuilder *b)
{
        AugurDaemon *d = data;
        gint64 now_ms = augur_now_ms ();

        json_builder_set_member_name (b, "version");
        json_builder_add_string_value (b, PACKAGE_VERSION);
        json_builder_set_member_name (b, "pid");
        json_builder_add_int_value (b, getpid ());
        json_builder_set_member_name (b, "uptime_s");
        json_builder_add_int_value (b, (g_get_monotonic_time () - d->started_us) / G_USEC_PER_SEC);
        json_builder_set_member_name (b, "uri");
        json_builder_add_string_value (b, d->config->uri);
        json_builder_set_member_name (b, "connected");
        json_builder_add_boolean_value (b, d->hv && !d->hv_lost);
        json_builder_set_member_name (b, "mode");
        json_builder_add_string_value (b, augur_mode_to_string (d->config->mode));
        json_builder_set_member_name (b, "policy");
        json_builder_add_string_value (b, augur_policy_to_string (d->config->policy));
        json_builder_set_member_name (b, "tick_seconds");
        json_builder_add_double_value (b, d->config->tick_s);
        json_builder_set_member_name (b, "ticks");
        json_builder_add_int_value (b, d->ticks);
        json_builder_set_member_name (b, "ticks_stored");
        json_builder_add_int_value (b, d->ticks_stored);
        add_ts_or_null (b, "last_tick_ts", d->last_tick_ms);
        json_builder_set_member_name (b, "last_tick_age_s");
        if (d->last_tick_ms >= 0)
                json_builder_add_int_value (b, (now_ms - d->last_tick_ms) / 1000);
        else
                json_builder_add_null_value (b);
        json_builder_set_member_name (b, "domains_watched");
        json_builder_add_int_value (b, d->last_samples ? d->last_samples->len : 0);
        {
                g_autoptr(GArray) ex = augur_guests_excluded (d->guests);
                g_autofree char *filter = augur_guest_filter_describe (augur_guests_get_filter (d->guests));

                json_builder_set_member_name (b, "domains_excluded");
                json_builder_add_int_value (b, ex->len);
                json_builder_set_member_name (b, "guests_filter");
                json_builder_add_string_value (b, filter);
        }
        json_builder_set_member_name (b, "db");
        json_builder_add_string_value (b, d->config->db_path);
        json_builder_set_member_name (b, "db_open");          /* FALSE: full disk at start */
        json_builder_add_boolean_value (b, d->store != NULL);
        json_builder_set_member_name (b, "metrics_port");
        if (augur_metrics_get_port (d->metrics) > 0)
                json_builder_add_int_value (b, augur_metrics_get_port (d->metrics));
        else
                json_builder_add_null_value (b);
        json_builder_set_member_name (b, "notifications");
        json_builder_begin_object (b);
        json_builder_set_member_name (b, "count");
        json_builder_add_int_value (b, d->n_notify);
        json_builder_set_member_name (b, "last");
        if (d->last_notify_ms >= 0) {
                json_builder_begin_object (b);
                add_ts_or_null (b, "ts", d->last_notify_ms);
                json_builder_set_member_name (b, "op");
                json_builder_add_string_value (b, d->last_notify_op);
                json_builder_set_member_name (b, "sub");
                json_builder_add_string_value (b, d->last_notify_sub);
                json_builder_set_member_name (b, "domain");
                json_builder_add_string_value (b, d->last_notify_domain);
                json_builder_end_object (b);
        } else {
                json_builder_add_null_value (b);
        }
        json_builder_end_object (b);
}

static void
api_domains (gpointer data, JsonBuilder *b)
{
        AugurDaemon *d = data;

        add_ts_or_null (b, "as_of_ts", d->last_tick_ms);
        json_builder_set_member_name (b, "domains");
        json_builder_begin_array (b);
        for (guint i = 0; d->last_samples && i < d->last_samples->len; i++) {
                const AugurDomainSample *s = &g_array_index (d->last_samples, AugurDomainSample, i);

                json_builder_begin_object (b);
                json_builder_set_member_name (b, "uuid");
                json_builder_add_string_value (b, s->uuid);
                json_builder_set_member_name (b, "name");
                json_builder_add_string_value (b, s->name);
                json_builder_set_member_name (b, "id");
                if (s->id >= 0)
                        json_builder_add_int_value (b, s->id);
                else
                        json_builder_add_null_value (b);
                json_builder_set_member_name (b, "state");
                json_builder_add_string_value (b, augur_sample_has (s, AUGUR_STAT_STATE)
                                               ? state_name (s->v[AUGUR_STAT_STATE]) : "unknown");
                json_builder_end_object (b);
        }
        json_builder_end_array (b);
        /* Running guests [guests] excludes: listed, never collected. */
        json_builder_set_member_name (b, "excluded");
        augur_guests_add_excluded (d->guests, b);
}

/* A hook event to record once the reply has gone out. */
typedef struct {
        AugurDaemon *d;
        gint64 ts_ms;
        char *uuid;                   /* from the last tick, or NULL          */
        char *name;
        int op_code;
        int sub_op_code;
        char *info;
} HookEvent;

static void
hook_event_free (gpointer data)
{
        HookEvent *e = data;

        g_free (e->uuid);
        g_free (e->name);
        g_free (e->info);
        g_free (e);
}

static gboolean
record_hook_event (gpointer data)
{
        HookEvent *e = data;
        g_autoptr(GError) error = NULL;

        if (e->d->store &&
            !augur_store_write_event (e->d->store, e->ts_ms, e->uuid, e->name, "hook",
                                      e->op_code, e->sub_op_code, e->info, &error))
                g_warning ("recording hook event failed: %s, ignoring", error->message);
        return G_SOURCE_REMOVE;
}

static gboolean
early_tick_cb (gpointer data)
{
        AugurDaemon *d = data;

        d->early_tick_source = 0;
        g_debug ("early tick after a started hook");
        augur_daemon_tick (d);
        return G_SOURCE_REMOVE;
}

static gboolean
api_notify (gpointer data, const AugurApiNotify *n, GError **error)
{
        AugurDaemon *d = data;
        g_autofree char *shown = g_strescape (n->domain, NULL);
        gboolean pve = d->hv && strcmp (augur_hv_backend_name (d->hv), "pve") == 0;
        HookEvent *e;

        /* An excluded guest's start or stop is not augurd's to record. */
        if (augur_guests_is_excluded_name (d->guests, n->domain)) {
                g_debug ("hook: domain \"%s\" %s %s: excluded by [guests], ignoring", shown, n->op, n->sub_op);
                return TRUE;
        }
        e = g_new0 (HookEvent, 1);

        /* The name is untrusted: escaped in the message, raw (it is just
         * bytes to journald) in AUGUR_GUEST, a bound parameter in SQL. */
        g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_INFO,
                          "AUGUR_GUEST", n->domain,
                          "AUGUR_ACTION", "hook",
                          "AUGUR_HOOK_OP", n->op,
                          "AUGUR_HOOK_SUB_OP", n->sub_op,
                          "MESSAGE", "hook: domain \"%s\" %s %s", shown, n->op, n->sub_op);
        d->n_notify++;
        d->last_notify_ms = augur_now_ms ();
        g_free (d->last_notify_op);
        d->last_notify_op = g_strdup (n->op);
        g_free (d->last_notify_sub);
        d->last_notify_sub = g_strdup (n->sub_op);
        g_free (d->last_notify_domain);
        d->last_notify_domain = g_strdup (n->domain);

        e->d = d;
        e->ts_ms = d->last_notify_ms;
        e->name = g_strdup (n->domain);
        e->op_code = n->op_code;
        e->sub_op_code = n->sub_op_code;
        e->info = g_strdup_printf ("%s %s domain=\"%s\"", n->op, n->sub_op, shown);
        for (guint i = 0; d->last_samples && i < d->last_samples->len; i++) {
                const AugurDomainSample *s = &g_array_index (d->last_samples, AugurDomainSample, i);

                /* a libvirt name; on pve:, a hookscript's vmid (the
                 * guest's id there) */
                if (g_strcmp0 (s->name, n->domain) == 0 ||
                    (pve && s->id > 0 && g_ascii_strtoll (n->domain, NULL, 10) == s->id &&
                     strspn (n->domain, "0123456789") == strlen (n->domain))) {
                        e->uuid = g_strdup (s->uuid);
                        if (s->name) {          /* the guest's name, not its vmid */
                                g_free (e->name);
                                e->name = g_strdup (s->name);
                        }
                        break;
                }
        }
        /* After the reply: a store write may wait on a lock, and libvirtd
         * is waiting for the hook.  Idle sources run once this client's
         * dispatch (which sends the reply) has returned. */
        g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, record_hook_event, e, hook_event_free);
        if (strcmp (n->op, "started") == 0 && !d->early_tick_source)
                d->early_tick_source = g_timeout_add (EARLY_TICK_DELAY_MS, early_tick_cb, d);
        return TRUE;
}

static gboolean
api_reload (gpointer data, GError **error)
{
        AugurDaemon *d = data;

        if (!d->reload) {
                g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                             "this augurd cannot reload its configuration");
                return FALSE;
        }
        if (!d->reload (d, error)) {
                g_warning ("reload failed, keeping the running configuration: %s, ignoring",
                           (*error)->message);
                g_prefix_error (error, "reload failed, the running configuration is kept: ");
                return FALSE;
        }
        return TRUE;
}

/* A number, or null for NAN. */
static void
add_num_or_null (JsonBuilder *b, const char *member, double v)
{
        json_builder_set_member_name (b, member);
        if (isnan (v))
                json_builder_add_null_value (b);
        else
                json_builder_add_double_value (b, v);
}

/* io_forecast: the guest's per-device I/O forecasts (resize-io.h
 * augur_resize_io_forecasts), one object per series: device, class
 * ("disk", "interface"), kind (io-limit.h: "io-read", "io-read-iops",
 * "net-in", ...), unit ("B/s", "IO/s"), rate (the last tick's), p50 and
 * upper (the largest over the lead; null: no forecast yet), source (the
 * champion that gave them: "period" or "recent-max"; null: none), the
 * period in seconds (0: none), censored, and the limit in force as read
 * (null: augurd does not read it, no consent; 0: none). */
static gboolean
api_io_forecast (gpointer data, const char *domain, JsonBuilder *b, GError **error)
{
        static const char *const cls_name[AUGUR_IO_DEV_N] = { "disk", "interface" };
        AugurDaemon *d = data;
        const AugurDomainSample *s = NULL;
        g_autoptr(GArray) rows = NULL;
        double lead_s, tick_s;

        for (guint i = 0; d->last_samples && i < d->last_samples->len && !s; i++) {
                const AugurDomainSample *x = &g_array_index (d->last_samples, AugurDomainSample, i);

                if (g_strcmp0 (x->uuid, domain) == 0 || g_strcmp0 (x->name, domain) == 0)
                        s = x;
        }
        if (!s || !d->resize) {
                g_set_error (error, AUGUR_API_ERROR, AUGUR_API_ERROR_INVALID_ARGS,
                             "no running guest of that name or UUID in augurd's last tick");
                return FALSE;
        }
        rows = augur_resize_io_forecasts (augur_resize_get_io (d->resize), s->uuid, &lead_s, &tick_s);
        json_builder_set_member_name (b, "uuid");
        json_builder_add_string_value (b, s->uuid);
        json_builder_set_member_name (b, "name");
        json_builder_add_string_value (b, s->name);
        add_ts_or_null (b, "as_of_ts", d->last_tick_ms);
        json_builder_set_member_name (b, "tick_s");
        json_builder_add_double_value (b, tick_s);
        json_builder_set_member_name (b, "lead_s");
        json_builder_add_double_value (b, lead_s);
        json_builder_set_member_name (b, "series");
        json_builder_begin_array (b);
        for (guint i = 0; i < rows->len; i++) {
                const AugurIoForecastRow *r = &g_array_index (rows, AugurIoForecastRow, i);

                json_builder_begin_object (b);
                json_builder_set_member_name (b, "device");
                json_builder_add_string_value (b, r->device);
                json_builder_set_member_name (b, "class");
                json_builder_add_string_value (b, cls_name[r->cls]);
                json_builder_set_member_name (b, "kind");
                json_builder_add_string_value (b, augur_io_kind_info[r->kind].name);
                json_builder_set_member_name (b, "unit");
                json_builder_add_string_value (b, augur_io_kind_info[r->kind].unit);
                add_num_or_null (b, "rate", r->rate);
                add_num_or_null (b, "p50", r->p50);
                add_num_or_null (b, "upper", r->upper);
                json_builder_set_member_name (b, "source");
                if (r->source < AUGUR_IO_SOURCE_N)
                        json_builder_add_string_value (b, augur_io_source_name (r->source));
                else
                        json_builder_add_null_value (b);
                json_builder_set_member_name (b, "period_s");
                json_builder_add_double_value (b, r->period_ticks * tick_s);
                json_builder_set_member_name (b, "censored");
                json_builder_add_boolean_value (b, r->censored);
                add_num_or_null (b, "limit", r->limit);
                json_builder_end_object (b);
        }
        json_builder_end_array (b);
        return TRUE;
}

static const AugurApiOps daemon_api_ops = {
        .status = api_status,
        .domains = api_domains,
        .notify = api_notify,
        .reload = api_reload,
        .io_forecast = api_io_forecast,
};

static gboolean
start_api (AugurDaemon *d, GError **error)
{
        AugurApiOptions o = { .group = d->config->api_group, .mode = d->config->api_mode };
        g_autoptr(GError) local = NULL;

        if (!d->config->socket_path || !*d->config->socket_path) {
                g_message ("local API disabled (daemon.socket is empty)");
                return TRUE;
        }
        d->api = augur_api_new_full (d->config->socket_path, &o, &daemon_api_ops, d, &local);
        if (d->api) {
                g_message ("local API on %s (group %s, mode %04o)", augur_api_get_path (d->api),
                           augur_api_get_group (d->api) ? augur_api_get_group (d->api) : "none, root only",
                           (unsigned) augur_api_get_mode (d->api));
                return TRUE;
        }
        /* A config mistake must be fixed; a socket we cannot bind (another
         * augurd, a read-only /run) only costs the operator surfaces:
         * history collection goes on. */
        if (g_error_matches (local, AUGUR_API_ERROR, AUGUR_API_ERROR_CONFIG)) {
                g_propagate_error (error, g_steal_pointer (&local));
                return FALSE;
        }
        augur_log (G_LOG_LEVEL_WARNING, NULL, "api", NULL, NAN, NAN,
                   "local API not started: %s; the hook and `virt-augur status` "
                   "will not reach this augurd, ignoring", local->message);
        return TRUE;
}

/* Like the API: a port we cannot bind costs the dashboards, not the
 * history. */
static void
start_metrics (AugurDaemon *d)
{
        g_autoptr(GError) error = NULL;
        AugurMetricsServeOptions opts = { .bind = d->config->metrics_bind };

        if (d->config->metrics_port <= 0)
                return;
        augur_metrics_set_names (d->metrics, d->config->metrics_names);
        if (!augur_metrics_serve_full (d->metrics, (guint) d->config->metrics_port, &opts, &error))
                augur_log (G_LOG_LEVEL_WARNING, NULL, "metrics", NULL, NAN, NAN,
                           "metrics not served: %s, ignoring", error->message);
}

/* The ticks keep to a fixed grid, tick_s apart from when the timer was
 * armed: each one arms a one-shot timer for the next grid point.  A
 * periodic g_timeout_add() re-arms from the time each dispatch began, so
 * the wake-up latency adds up: at a 0.5 s tick, 2 of 1 200 ticks were lost
 * in 10 minutes on a quiet machine (scripts/bench-soak).  A tick that
 * overruns its slot goes on at the next grid point after it ends. */
static gboolean tick_cb (gpointer user_data);

static void
schedule_tick (AugurDaemon *d)
{
        gint64 period = (gint64) (d->config->tick_s * G_USEC_PER_SEC), now = g_get_monotonic_time ();

        d->tick_next_us += period;
        if (d->tick_next_us <= now)
                d->tick_next_us += ((now - d->tick_next_us) / period + 1) * period;
        /* whole milliseconds, rounded up: never before the grid point */
        d->tick_source = g_timeout_add ((guint) ((d->tick_next_us - now + 999) / 1000), tick_cb, d);
}

static gboolean
tick_cb (gpointer user_data)
{
        AugurDaemon *d = user_data;

        d->tick_source = 0;
        augur_daemon_tick (d);
        if (!d->tick_source)            /* augur_daemon_tick may re-arm (a reload) */
                schedule_tick (d);
        return G_SOURCE_REMOVE;
}

static void
arm_timer (AugurDaemon *d)
{
        if (d->tick_source)
                g_source_remove (d->tick_source);
        d->tick_next_us = g_get_monotonic_time ();
        schedule_tick (d);
}

/* A guest augurd watched is excluded now: forget it (its forecaster
 * state and metrics series with it) and close its channel. */
static void
on_guest_excluded (const char *uuid, gpointer user_data)
{
        AugurDaemon *d = user_data;

        augur_resize_forget (d->resize, uuid);
        augur_activity_domain_stopped (d->activity, uuid);
}

/* The [guests] filter of config.  The config was validated (the patterns
 * parsed once already); should it fail here anyway, every guest is
 * watched, as before there was a filter. */
static void
set_guest_filter (AugurDaemon *d, const AugurConfig *config)
{
        g_autoptr(GError) error = NULL;
        AugurGuestFilter *f = augur_guest_filter_new (config->guests_include, config->guests_exclude, &error);

        if (!f)
                g_warning ("%s; watching every guest, ignoring", error->message);
        augur_guests_set_filter (d->guests, f);
        write_filter (d);
}

AugurDaemon *
augur_daemon_new (AugurConfig *config)
{
        AugurDaemon *d = g_new0 (AugurDaemon, 1);

        d->config = config;
        d->loop = g_main_loop_new (NULL, FALSE);
        {
                g_autoptr(GError) error = NULL;
                AugurForecastHooks hooks = { 0 };

                /* A bad model file falls back to the baselines inside;
                 * only an invalid predictor config fails, and then the
                 * loop runs without forecasts (it holds, never guesses). */
                g_autofree char *dir = augur_retrain_model_dir (config->db_path);
                g_autofree char *promoted = NULL;
                int version = 0;

                /* With retraining on, a model it promoted serves (retrain.h). */
                if (config->retrain_interval_s > 0)
                        promoted = augur_retrain_find_serving (dir, &version);
                d->forecaster = augur_forecaster_new (promoted ? promoted : config->model_path,
                                                      config->tick_s, config->price_per_gib,
                                                      config->precursor_bound, config->width_halflife_s,
                                                      &error);
                if (d->forecaster && promoted)
                        augur_forecaster_set_model_version (d->forecaster, version);
                if (d->forecaster)
                        augur_forecaster_hooks (d->forecaster, &hooks);
                else
                        g_warning ("forecaster unavailable: %s; no forecasts, ignoring", error->message);
                d->resize = augur_resize_new (&hooks);
        }
        d->metrics = augur_metrics_new ();
        augur_resize_set_metrics (d->resize, d->metrics);
        d->guests = augur_guests_new (on_guest_excluded, d);
        set_guest_filter (d, config);
        d->last_tick_ms = -1;
        d->last_notify_ms = -1;
        return d;
}

void
augur_daemon_free (AugurDaemon *d)
{
        if (!d)
                return;
        if (d->tick_source)
                g_source_remove (d->tick_source);
        if (d->early_tick_source)
                g_source_remove (d->early_tick_source);
        g_clear_pointer (&d->api, augur_api_free);
        /* Before the store closes: it stores what already arrived. */
        g_clear_pointer (&d->activity, augur_activity_free);
        disconnect (d);
        if (d->store)
                augur_store_set_meta (d->store, "daemon.pid", NULL, NULL);
        g_clear_pointer (&d->retrain, augur_retrain_free);
        g_clear_pointer (&d->resize, augur_resize_free);
        g_clear_pointer (&d->host_plan, augur_host_plan_free);
        g_clear_pointer (&d->forecaster, augur_forecaster_free);
        g_clear_pointer (&d->metrics, augur_metrics_free);
        g_clear_pointer (&d->guests, augur_guests_free);
        g_free (d->excluded_json);
        g_clear_pointer (&d->store, augur_store_close);
        g_clear_pointer (&d->loop, g_main_loop_unref);
        g_clear_pointer (&d->config, augur_config_free);
        g_clear_pointer (&d->cmdline, augur_config_free);
        g_clear_pointer (&d->last_samples, g_array_unref);
        g_free (d->last_notify_op);
        g_free (d->last_notify_sub);
        g_free (d->last_notify_domain);
        g_free (d->config_path);
        g_free (d);
}

/* A guest report older than this no longer counts: three of augur-guest's
 * default 5 s intervals (as the forecaster's activity inputs). */
#define GUEST_REPORT_MAX_AGE_MS 15000

/* The guest's own word on its memory, for the memory guard (resize.h). */
static void
guest_report (gpointer ctx, const char *uuid, gint64 now_ms, double *ret_oom_kills,
              double *ret_psi_mem_pct)
{
        AugurActivityLatest a;

        if (!augur_activity_latest (ctx, uuid, now_ms, GUEST_REPORT_MAX_AGE_MS, &a))
                return;
        *ret_oom_kills = a.oom_kill;
        *ret_psi_mem_pct = a.psi_mem;
}

/* Everything that needs the store, once it is open: at start, or at the
 * first tick that finds room after a start on a full disk. */
static void
attach_store (AugurDaemon *d, AugurStore *store)
{
        g_autofree char *pid = g_strdup_printf ("%d", (int) getpid ());
        AugurRetention r = { d->config->raw_keep_s, d->config->rollup_keep_s };

        d->store = store;
        augur_store_set_retention (d->store, &r);
        d->activity = augur_activity_new (d->store);
        augur_activity_set_keep (d->activity, augur_guests_keep, d->guests);
        augur_resize_set_guest_report (d->resize, guest_report, d->activity);
        d->host_plan = augur_host_plan_new (d->config->db_path);
        augur_host_plan_set_metrics (d->host_plan, d->metrics);
        augur_resize_set_host_plan (d->resize, d->host_plan);
        if (d->forecaster) {
                augur_forecaster_set_activity (d->forecaster, d->activity);
                d->retrain = augur_retrain_new (d->store, d->forecaster, d->config->db_path);
                augur_retrain_set_metrics (d->retrain, d->metrics);
        }
        augur_store_set_meta (d->store, "daemon.pid", pid, NULL);
        augur_store_set_meta (d->store, "daemon.connected", "0", NULL);
        augur_store_set_meta (d->store, "daemon.uri", d->config->uri, NULL);
        /* A previous run's list is not this one's. */
        augur_store_set_meta (d->store, AUGUR_GUESTS_META_EXCLUDED, "[]", NULL);
        g_clear_pointer (&d->excluded_json, g_free);
        d->excluded_json = g_strdup ("[]");
        write_filter (d);
}

/* Step 0 of a tick after a start on a full disk: try to open the store
 * again.  TRUE once it is open.  Said once when it opens; a failure other
 * than a full disk (the file was replaced meanwhile) is warned about once,
 * and retried like a full disk: augurd never exits at run time. */
static gboolean
reopen_store (AugurDaemon *d)
{
        g_autoptr(GError) error = NULL;
        AugurStore *store = augur_store_open (d->config->db_path, AUGUR_STORE_READ_WRITE, &error);

        if (!store) {
                if (g_error_matches (error, AUGUR_STORE_ERROR, AUGUR_STORE_ERROR_FULL) || d->warned_store_open)
                        g_debug ("history store still not open: %s", error->message);
                else
                        g_warning ("history store not open: %s; ticks are still dropped, retrying, ignoring",
                                   error->message);
                d->warned_store_open = TRUE;
                return FALSE;
        }
        attach_store (d, store);
        augur_log (G_LOG_LEVEL_MESSAGE, NULL, "store", NULL, NAN, NAN,
                   "history store %s open after %" G_GINT64_FORMAT " dropped ticks; storing ticks",
                   d->config->db_path, d->ticks - 1);
        d->warned_store_open = FALSE;
        return TRUE;
}

gboolean
augur_daemon_start (AugurDaemon *d, GError **error)
{
        g_autofree char *dir = g_path_get_dirname (d->config->db_path);
        g_autoptr(GError) local = NULL;
        AugurStore *store;

        if (g_mkdir_with_parents (dir, 0750) < 0) {
                g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                             "cannot create database directory %s: %s", dir, g_strerror (errno));
                return FALSE;
        }
        store = augur_store_open (d->config->db_path, AUGUR_STORE_READ_WRITE, &local);
        if (store) {
                attach_store (d, store);
        } else if (g_error_matches (local, AUGUR_STORE_ERROR, AUGUR_STORE_ERROR_FULL)) {
                /* A restart on a full disk must not fail: Restart=on-failure
                 * would loop every RestartSec and log each time.  The tick
                 * retries the open; until it works every tick is dropped
                 * (no sample, no action: nothing is decided on data augurd
                 * could not keep).  Said once, here, and once when it opens. */
                augur_log (G_LOG_LEVEL_WARNING, NULL, "store", NULL, NAN, NAN,
                           "%s; starting without history: ticks are dropped until there is room, "
                           "then storing resumes, ignoring", local->message);
        } else {
                g_propagate_error (error, g_steal_pointer (&local));
                return FALSE;
        }
        d->started_us = g_get_monotonic_time ();
        if (!start_api (d, error))
                return FALSE;
        start_metrics (d);
        arm_timer (d);
        /* First tick right away: connects, sets balloon periods, stores. */
        augur_daemon_tick (d);
        return TRUE;
}

void
augur_daemon_apply_config (AugurDaemon *d, AugurConfig *config)
{
        AugurRetention r = { config->raw_keep_s, config->rollup_keep_s };
        gboolean reconnect = g_strcmp0 (config->uri, d->config->uri) != 0;
        gboolean rearm = config->tick_s != d->config->tick_s;
        g_autofree char *old_include = NULL, *old_exclude = NULL;

        if (g_strcmp0 (config->db_path, d->config->db_path) != 0)
                g_warning ("store.db changed in the config; it takes effect at restart, ignoring");
        if (g_strcmp0 (config->socket_path, d->config->socket_path) != 0 ||
            g_strcmp0 (config->api_group, d->config->api_group) != 0 ||
            config->api_mode != d->config->api_mode)
                g_warning ("daemon.socket, api.group or api.mode changed in the config; "
                           "they take effect at restart, ignoring");
        if (config->metrics_port != d->config->metrics_port ||
            g_strcmp0 (config->metrics_bind, d->config->metrics_bind) != 0)
                g_warning ("metrics.port or metrics.bind changed in the config; they take effect at restart, "
                           "ignoring");
        if (config->price_per_gib != d->config->price_per_gib)
                g_warning ("forecast.memory_price_per_gib changed in the config; it takes effect at "
                           "restart, ignoring");
        if (config->width_halflife_s != d->config->width_halflife_s)
                g_warning ("forecast.width_halflife changed in the config; it takes effect at restart, ignoring");
        g_free (config->db_path);
        config->db_path = g_strdup (d->config->db_path);
        old_include = g_strdup (d->config->guests_include);
        old_exclude = g_strdup (d->config->guests_exclude);
        augur_config_free (d->config);
        d->config = config;
        if (d->store)
                augur_store_set_retention (d->store, &r);
        augur_metrics_set_names (d->metrics, config->metrics_names);
        if (g_strcmp0 (config->guests_include, old_include) != 0 ||
            g_strcmp0 (config->guests_exclude, old_exclude) != 0)
                set_guest_filter (d, config);
        if (reconnect)
                disconnect (d);
        if (rearm)
                arm_timer (d);
        g_message ("configuration reloaded");
}
