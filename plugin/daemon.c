/* daemon.c — augurd's connection, events and tick.  See daemon.h. */
#include "config.h"

#include "daemon.h"
#include "augur-log.h"
#include "collect.h"
#include "host.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

/* Reconnect backoff: first retry after one tick, doubling to this cap, so a
 * long libvirtd outage costs one failed connect per half minute. */
#define RECONNECT_BACKOFF_MAX_S 30.0
/* Retention runs at start and then at most once per this period. */
#define RETENTION_PERIOD_US ((gint64) G_USEC_PER_SEC * 3600)


static void
store_event (AugurDaemon *d, virDomainPtr dom, const char *kind, int event,
             int detail, const char *info)
{
        g_autoptr(GError) error = NULL;
        char uuid[VIR_UUID_STRING_BUFLEN] = "";
        const char *name = NULL;

        if (dom) {
                name = virDomainGetName (dom);
                if (virDomainGetUUIDString (dom, uuid) < 0) {
                        virResetLastError ();
                        uuid[0] = '\0';
                }
        }
        if (!d->store)
                return;
        if (!augur_store_write_event (d->store, augur_now_ms (), uuid[0] ? uuid : NULL,
                                      name, kind, event, detail, info, &error))
                g_warning ("recording %s event of %s failed: %s, ignoring",
                           kind, name ? name : "host", error->message);
}

static void
set_stats_period (AugurDaemon *d, virDomainPtr dom)
{
        const char *name = virDomainGetName (dom);

        /* Without a period the guest never reports balloon stats and every
         * memory field stays absent.  A domain without a balloon device
         * refuses: that is expected, and the samples just lack memory. */
        if (virDomainSetMemoryStatsPeriod (dom, d->config->balloon_period_s,
                                           VIR_DOMAIN_AFFECT_LIVE) < 0) {
                virErrorPtr e = virGetLastError ();

                g_debug ("setting balloon stats period on %s failed: %s, ignoring",
                         name ? name : "?", e && e->message ? e->message : "unknown");
                virResetLastError ();
        }
}

static void
set_stats_period_all (AugurDaemon *d)
{
        virDomainPtr *doms = NULL;
        int n = virConnectListAllDomains (d->conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);

        if (n < 0) {
                virResetLastError ();
                return;
        }
        for (int i = 0; i < n; i++) {
                set_stats_period (d, doms[i]);
                virDomainFree (doms[i]);
        }
        g_free (doms);
}

static int
on_lifecycle (virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
        AugurDaemon *d = opaque;
        g_autofree char *info = g_strdup_printf ("lifecycle event=%d detail=%d", event, detail);

        char uuid[VIR_UUID_STRING_BUFLEN];

        augur_log (G_LOG_LEVEL_INFO, virDomainGetName (dom), "lifecycle", NULL, NAN, NAN,
                   "domain %s lifecycle event %d detail %d", virDomainGetName (dom), event, detail);
        store_event (d, dom, "lifecycle", event, detail, info);
        if (event == VIR_DOMAIN_EVENT_STARTED || event == VIR_DOMAIN_EVENT_RESUMED)
                set_stats_period (d, dom);
        if (event == VIR_DOMAIN_EVENT_STOPPED && virDomainGetUUIDString (dom, uuid) == 0)
                augur_resize_forget (d->resize, uuid);
        virResetLastError ();
        return 0;
}

static int
on_balloon_change (virConnectPtr conn, virDomainPtr dom, unsigned long long actual_kib,
                   void *opaque)
{
        AugurDaemon *d = opaque;
        g_autofree char *info = g_strdup_printf ("actual=%llu KiB", actual_kib);
        char uuid[VIR_UUID_STRING_BUFLEN];

        g_debug ("domain %s balloon now %llu KiB", virDomainGetName (dom), actual_kib);
        store_event (d, dom, "balloon-change", 0, 0, info);
        if (virDomainGetUUIDString (dom, uuid) == 0)
                augur_resize_balloon_changed (d->resize, d->store, uuid, actual_kib, augur_now_ms ());
        virResetLastError ();
        return 0;
}

static int
on_agent_lifecycle (virConnectPtr conn, virDomainPtr dom, int state, int reason,
                    void *opaque)
{
        g_autofree char *info = g_strdup_printf ("agent %s (reason %d)",
                                                 state == VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_STATE_CONNECTED
                                                 ? "connected" : "disconnected", reason);

        AugurDaemon *d = opaque;
        char uuid[VIR_UUID_STRING_BUFLEN];

        augur_log (G_LOG_LEVEL_INFO, virDomainGetName (dom), "agent", NULL, NAN, NAN, "domain %s: %s",
                   virDomainGetName (dom), info);
        store_event (d, dom, "agent-lifecycle", state, reason, info);
        if (virDomainGetUUIDString (dom, uuid) == 0)
                augur_resize_agent_changed (d->resize, uuid,
                                            state == VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_STATE_CONNECTED);
        virResetLastError ();
        return 0;
}

static int
on_metadata_change (virConnectPtr conn, virDomainPtr dom, int type, const char *nsuri,
                    void *opaque)
{
        AugurDaemon *d = opaque;
        g_autofree char *info = g_strdup_printf ("metadata type=%d ns=%s", type, nsuri ? nsuri : "");
        char uuid[VIR_UUID_STRING_BUFLEN];

        store_event (d, dom, "metadata-change", type, 0, info);
        if (virDomainGetUUIDString (dom, uuid) == 0)
                augur_resize_metadata_changed (d->resize, uuid);
        virResetLastError ();
        return 0;
}

static void
on_close (virConnectPtr conn, int reason, void *opaque)
{
        AugurDaemon *d = opaque;

        /* Only record the fact; the tick reconnects (virsh does the same). */
        d->conn_lost = TRUE;
        g_debug ("libvirt connection closed (reason %d)", reason);
}

static void
disconnect (AugurDaemon *d)
{
        if (!d->conn)
                return;
        for (gsize i = 0; i < G_N_ELEMENTS (d->cb_ids); i++)
                if (d->cb_ids[i] >= 0) {
                        virConnectDomainEventDeregisterAny (d->conn, d->cb_ids[i]);
                        d->cb_ids[i] = -1;
                }
        virConnectUnregisterCloseCallback (d->conn, on_close);
        virConnectClose (d->conn);
        virResetLastError ();
        d->conn = NULL;
        if (d->store)
                augur_store_set_meta (d->store, "daemon.connected", "0", NULL);
}

static gboolean
connect_libvirt (AugurDaemon *d, GError **error)
{
        virConnectPtr conn = virConnectOpen (d->config->uri);

        if (!conn) {
                virErrorPtr e = virGetLastError ();

                g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                             "cannot connect to %s: %s", d->config->uri,
                             e && e->message ? e->message : "unknown error");
                virResetLastError ();
                return FALSE;
        }
        if (virConnectSetKeepAlive (conn, d->config->keepalive_interval_s,
                                    d->config->keepalive_count) < 0) {
                /* Local (non-remote) drivers don't do keepalive: fine. */
                virResetLastError ();
        }
        d->conn = conn;
        d->conn_lost = FALSE;
        virConnectRegisterCloseCallback (conn, on_close, d, NULL);
        d->cb_ids[0] = virConnectDomainEventRegisterAny (conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                         VIR_DOMAIN_EVENT_CALLBACK (on_lifecycle), d, NULL);
        d->cb_ids[1] = virConnectDomainEventRegisterAny (conn, NULL, VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE,
                                                         VIR_DOMAIN_EVENT_CALLBACK (on_balloon_change), d, NULL);
        d->cb_ids[2] = virConnectDomainEventRegisterAny (conn, NULL, VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE,
                                                         VIR_DOMAIN_EVENT_CALLBACK (on_agent_lifecycle), d, NULL);
        d->cb_ids[3] = virConnectDomainEventRegisterAny (conn, NULL, VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
                                                         VIR_DOMAIN_EVENT_CALLBACK (on_metadata_change), d, NULL);
        for (gsize i = 0; i < G_N_ELEMENTS (d->cb_ids); i++)
                if (d->cb_ids[i] < 0) {
                        g_warning ("registering domain event %zu on %s failed, ignoring", i, d->config->uri);
                        virResetLastError ();
                }
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

        if (d->conn && (d->conn_lost || virConnectIsAlive (d->conn) != 1)) {
                augur_log (G_LOG_LEVEL_WARNING, NULL, "disconnect", NULL, NAN, NAN,
                           "lost connection to %s; will reconnect", d->config->uri);
                store_event (d, NULL, "disconnect", 0, 0, d->config->uri);
                disconnect (d);
                d->next_connect_us = 0;
                d->connect_backoff_s = d->config->tick_s;
        }
        if (d->conn)
                return TRUE;
        if (now < d->next_connect_us)
                return FALSE;
        if (!connect_libvirt (d, &error)) {
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

void
augur_daemon_tick (AugurDaemon *d)
{
        g_autoptr(GArray) samples = NULL;
        g_autoptr(GError) error = NULL;
        AugurHostSample host;
        gint64 t0, collect_usec, ts_ms;

        d->ticks++;
        if (!ensure_connected (d))
                return;

        t0 = g_get_monotonic_time ();
        ts_ms = augur_now_ms ();
        if (!augur_collect_domains (d->conn, &samples, &error)) {
                if (g_error_matches (error, AUGUR_COLLECT_ERROR, AUGUR_COLLECT_ERROR_FATAL) ||
                    virConnectIsAlive (d->conn) != 1)
                        d->conn_lost = TRUE;
                g_warning ("tick %" G_GINT64_FORMAT ": %s; skipping this tick, ignoring",
                           d->ticks, error->message);
                return;
        }
        collect_usec = g_get_monotonic_time () - t0;
        augur_host_read (d->config->proc_root, &host);

        if (!augur_store_write_tick (d->store, ts_ms, (AugurDomainSample *) samples->data,
                                     samples->len, &host, collect_usec, NULL, &error)) {
                if (!d->warned_store)
                        g_warning ("storing tick failed: %s; tick dropped, nothing stored "
                                   "before was touched, ignoring", error->message);
                else
                        g_debug ("storing tick failed: %s", error->message);
                d->warned_store = TRUE;
                return;
        }
        if (d->warned_store)
                g_message ("storing ticks works again");
        d->warned_store = FALSE;
        d->ticks_stored++;
        g_debug ("tick %" G_GINT64_FORMAT ": %u domains, stats call %" G_GINT64_FORMAT " us",
                 d->ticks, samples->len, collect_usec);

        augur_resize_tick (d->resize, d->conn, d->store, d->config,
                           (AugurDomainSample *) samples->data, samples->len, &host, ts_ms);

        if (g_get_monotonic_time () - d->last_retention_us > RETENTION_PERIOD_US) {
                gint64 deleted = augur_store_apply_retention (d->store, &error);

                if (deleted < 0)
                        g_warning ("retention failed: %s, ignoring", error->message);
                else if (deleted > 0)
                        g_debug ("retention deleted %" G_GINT64_FORMAT " rows", deleted);
                d->last_retention_us = g_get_monotonic_time ();
        }
}

static gboolean
tick_cb (gpointer user_data)
{
        augur_daemon_tick (user_data);
        return G_SOURCE_CONTINUE;
}

static void
arm_timer (AugurDaemon *d)
{
        if (d->tick_source)
                g_source_remove (d->tick_source);
        d->tick_source = g_timeout_add ((guint) (d->config->tick_s * 1000), tick_cb, d);
}

AugurDaemon *
augur_daemon_new (AugurConfig *config)
{
        AugurDaemon *d = g_new0 (AugurDaemon, 1);

        d->config = config;
        d->loop = g_main_loop_new (NULL, FALSE);
        d->resize = augur_resize_new (NULL);
        for (gsize i = 0; i < G_N_ELEMENTS (d->cb_ids); i++)
                d->cb_ids[i] = -1;
        return d;
}

void
augur_daemon_free (AugurDaemon *d)
{
        if (!d)
                return;
        if (d->tick_source)
                g_source_remove (d->tick_source);
        disconnect (d);
        if (d->store)
                augur_store_set_meta (d->store, "daemon.pid", NULL, NULL);
        g_clear_pointer (&d->resize, augur_resize_free);
        g_clear_pointer (&d->store, augur_store_close);
        g_clear_pointer (&d->loop, g_main_loop_unref);
        g_clear_pointer (&d->config, augur_config_free);
        g_clear_pointer (&d->cmdline, augur_config_free);
        g_free (d->config_path);
        g_free (d);
}

gboolean
augur_daemon_start (AugurDaemon *d, GError **error)
{
        g_autofree char *dir = g_path_get_dirname (d->config->db_path);
        g_autofree char *pid = g_strdup_printf ("%d", (int) getpid ());
        AugurRetention r = { d->config->raw_keep_s, d->config->rollup_keep_s };

        if (g_mkdir_with_parents (dir, 0750) < 0) {
                g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                             "cannot create database directory %s: %s", dir, g_strerror (errno));
                return FALSE;
        }
        d->store = augur_store_open (d->config->db_path, AUGUR_STORE_READ_WRITE, error);
        if (!d->store)
                return FALSE;
        augur_store_set_retention (d->store, &r);
        augur_store_set_meta (d->store, "daemon.pid", pid, NULL);
        augur_store_set_meta (d->store, "daemon.connected", "0", NULL);
        augur_store_set_meta (d->store, "daemon.uri", d->config->uri, NULL);
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

        if (g_strcmp0 (config->db_path, d->config->db_path) != 0)
                g_warning ("store.db changed in the config; it takes effect at restart, ignoring");
        g_free (config->db_path);
        config->db_path = g_strdup (d->config->db_path);
        augur_config_free (d->config);
        d->config = config;
        augur_store_set_retention (d->store, &r);
        if (reconnect)
                disconnect (d);
        if (rearm)
                arm_timer (d);
        g_message ("configuration reloaded");
}
