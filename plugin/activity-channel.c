/* activity-channel.c — the activity channel's socket: where it is in the
 * live domain XML, connecting to it, reading it without ever blocking or
 * reading without bound.  The bytes go to the domain's line reader
 * (activity-parse.c); the rest of the domain's state is activity.c's.
 *
 * THE SOCKET OF ONE DOMAIN (ActDomain, activity-private.h)
 *
 *   no channel in the XML --(never connects; XML re-read on restart only)
 *   DISCONNECTED --sync, backoff over--> connect() (non-blocking, AF_UNIX:
 *     completes or fails at once) --ok--> CONNECTED (a G_IO_IN source)
 *   CONNECTED --EOF / error--> DISCONNECTED (retry after 1 s, doubling to 30 s)
 *   CONNECTED --read budget used--> THROTTLED (no source; a 50 ms timer
 *     puts it back)
 *
 * FEEDBACK: reading pauses (throttle) push back on the guest: its port
 * queue fills and augur-guest drops reports instead of blocking — on
 * purpose.
 */
#include "config.h"

#include "activity.h"
#include "activity-private.h"

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <string.h>

/* ======================================================== the live XML */

typedef struct {
        int depth;
        int devices_depth;              /* depth of <devices>, or -1          */
        int channel_depth;              /* depth of the open <channel>, or -1 */
        gboolean ch_unix;
        char *src_mode, *src_path, *tgt_type, *tgt_name;
        char *result;
} XmlCtx;

static const char *
attr (const char **names, const char **values, const char *want)
{
        for (int i = 0; names[i]; i++)
                if (strcmp (names[i], want) == 0)
                        return values[i];
        return NULL;
}

static void
xml_start (GMarkupParseContext *ctx, const char *element, const char **names,
           const char **values, gpointer user_data, GError **error)
{
        XmlCtx *x = user_data;

        if (x->depth == 1 && strcmp (element, "devices") == 0) {
                x->devices_depth = x->depth;
        } else if (x->devices_depth >= 0 && x->depth == x->devices_depth + 1 &&
                   strcmp (element, "channel") == 0) {
                x->channel_depth = x->depth;
                x->ch_unix = g_strcmp0 (attr (names, values, "type"), "unix") == 0;
                g_clear_pointer (&x->src_mode, g_free);
                g_clear_pointer (&x->src_path, g_free);
                g_clear_pointer (&x->tgt_type, g_free);
                g_clear_pointer (&x->tgt_name, g_free);
        } else if (x->channel_depth >= 0 && x->depth == x->channel_depth + 1) {
                if (strcmp (element, "source") == 0 && !x->src_path) {
                        x->src_mode = g_strdup (attr (names, values, "mode"));
                        x->src_path = g_strdup (attr (names, values, "path"));
                } else if (strcmp (element, "target") == 0 && !x->tgt_name) {
                        x->tgt_type = g_strdup (attr (names, values, "type"));
                        x->tgt_name = g_strdup (attr (names, values, "name"));
                }
        }
        x->depth++;
}

static void
xml_end (GMarkupParseContext *ctx, const char *element, gpointer user_data, GError **error)
{
        XmlCtx *x = user_data;

        x->depth--;
        if (x->depth == x->channel_depth) {
                if (!x->result && x->ch_unix && x->src_path && *x->src_path &&
                    g_strcmp0 (x->src_mode, "bind") == 0 &&
                    g_strcmp0 (x->tgt_type, "virtio") == 0 &&
                    g_strcmp0 (x->tgt_name, AUGUR_ACTIVITY_PORT_NAME) == 0)
                        x->result = g_strdup (x->src_path);
                x->channel_depth = -1;
        } else if (x->depth == x->devices_depth) {
                x->devices_depth = -1;
        }
}

char *
augur_activity_channel_path_from_xml (const char *xml, GError **error)
{
        static const GMarkupParser parser = { xml_start, xml_end, NULL, NULL, NULL };
        XmlCtx x = { 0, -1, -1, FALSE, NULL, NULL, NULL, NULL, NULL };
        GMarkupParseContext *ctx;
        gboolean ok;

        g_return_val_if_fail (xml != NULL, NULL);
        ctx = g_markup_parse_context_new (&parser, 0, &x, NULL);
        ok = g_markup_parse_context_parse (ctx, xml, -1, error) &&
             g_markup_parse_context_end_parse (ctx, error);
        g_markup_parse_context_free (ctx);
        g_free (x.src_mode);
        g_free (x.src_path);
        g_free (x.tgt_type);
        g_free (x.tgt_name);
        if (!ok) {
                g_free (x.result);
                return NULL;
        }
        return x.result;
}

/* ========================================================== the socket */

void
augur_activity_channel_close (ActDomain *ad)
{
        if (ad->watch) {
                g_source_destroy (ad->watch);
                g_clear_pointer (&ad->watch, g_source_unref);
        }
        if (ad->throttle) {
                g_source_destroy (ad->throttle);
                g_clear_pointer (&ad->throttle, g_source_unref);
        }
        if (ad->sock) {
                g_socket_close (ad->sock, NULL);
                g_clear_object (&ad->sock);
        }
        if (ad->reader)
                augur_activity_reader_reset_line (ad->reader);
}

static void watch_start (ActDomain *ad);

static void
schedule_reconnect (ActDomain *ad)
{
        ad->backoff_s = ad->backoff_s <= 0 ? AUGUR_ACTIVITY_RECONNECT_MIN_S
                        : MIN (ad->backoff_s * 2, AUGUR_ACTIVITY_RECONNECT_MAX_S);
        ad->next_connect_us = g_get_monotonic_time () + (gint64) (ad->backoff_s * G_USEC_PER_SEC);
}

static gboolean
on_throttle_over (gpointer user_data)
{
        ActDomain *ad = user_data;

        g_clear_pointer (&ad->throttle, g_source_unref);
        if (ad->sock)
                watch_start (ad);
        return G_SOURCE_REMOVE;
}

static gboolean
on_readable (GSocket *sock, GIOCondition cond, gpointer user_data)
{
        ActDomain *ad = user_data;
        g_autoptr(GError) error = NULL;
        AugurActivityReadStatus st;

        st = augur_activity_reader_read_fd (ad->reader, g_socket_get_fd (sock),
                                            AUGUR_ACTIVITY_READ_BUDGET_BYTES,
                                            g_get_monotonic_time (), &error);
        if (st == AUGUR_ACTIVITY_READ_AGAIN) {
                if (!(cond & (G_IO_HUP | G_IO_ERR)))
                        return G_SOURCE_CONTINUE;
                st = AUGUR_ACTIVITY_READ_EOF;   /* HUP, nothing left to read */
        }
        switch (st) {
        case AUGUR_ACTIVITY_READ_AGAIN:
        case AUGUR_ACTIVITY_READ_EOF:
                augur_activity_log (G_LOG_LEVEL_INFO, ad->name,
                         "activity channel of %s closed by QEMU; will reconnect", ad->name);
                break;
        case AUGUR_ACTIVITY_READ_ERROR:
                augur_activity_log (G_LOG_LEVEL_WARNING, ad->name, "activity channel of %s: %s; will reconnect, ignoring",
                         ad->name, error->message);
                break;
        case AUGUR_ACTIVITY_READ_BUDGET:
                /* Bounded work per wakeup: stop watching for a while.  The
                 * source is destroyed here and re-created by the timer. */
                g_clear_pointer (&ad->watch, g_source_unref);
                ad->throttle = g_timeout_source_new (AUGUR_ACTIVITY_THROTTLE_MS);
                g_source_set_callback (ad->throttle, on_throttle_over, ad, NULL);
                g_source_attach (ad->throttle, ad->act->ctx);
                return G_SOURCE_REMOVE;
        }
        /* Closed: the watch is this source; let GLib remove it. */
        g_clear_pointer (&ad->watch, g_source_unref);
        augur_activity_channel_close (ad);
        ad->backoff_s = 0;
        schedule_reconnect (ad);
        return G_SOURCE_REMOVE;
}

static void
watch_start (ActDomain *ad)
{
        g_assert (ad->sock && !ad->watch);
        ad->watch = g_socket_create_source (ad->sock, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
        g_source_set_callback (ad->watch, (GSourceFunc) G_CALLBACK (on_readable), ad, NULL);
        g_source_attach (ad->watch, ad->act->ctx);
}

void
augur_activity_channel_connect (ActDomain *ad)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GSocket) sock = NULL;
        g_autoptr(GSocketAddress) addr = NULL;

        sock = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
                             G_SOCKET_PROTOCOL_DEFAULT, &error);
        if (sock) {
                g_socket_set_blocking (sock, FALSE);
                addr = g_unix_socket_address_new (ad->path);
        }
        /* AF_UNIX connect() completes or fails at once; a full listen backlog
         * (EAGAIN, "pending") is a failure we retry like any other. */
        if (!sock || !g_socket_connect (sock, addr, NULL, &error)) {
                if (!ad->warned_connect)
                        augur_activity_log (G_LOG_LEVEL_WARNING, ad->name,
                                 "cannot connect to the activity channel of %s (%s): %s; retrying, ignoring",
                                 ad->name, ad->path, error->message);
                else
                        g_debug ("activity channel of %s: %s", ad->name, error->message);
                ad->warned_connect = TRUE;
                schedule_reconnect (ad);
                return;
        }
        ad->sock = g_steal_pointer (&sock);
        augur_activity_reader_reset_line (ad->reader);
        ad->backoff_s = 0;
        ad->warned_connect = FALSE;
        augur_activity_reader_count_connect (ad->reader);
        augur_activity_log (G_LOG_LEVEL_INFO, ad->name, "activity channel of %s connected (%s)",
                 ad->name, ad->path);
        watch_start (ad);
}

/* The channel socket of a running domain.  Returns FALSE when its devices
 * could not be read (try again at the next sync); TRUE with *ret_path NULL
 * when the domain has no activity channel. */
gboolean
augur_activity_channel_fetch_path (AugurHvGuest *g, const char *name, char **ret_path)
{
        g_autoptr(GError) error = NULL;
        AugurHvDevices dev = { 0 };

        *ret_path = NULL;
        if (!augur_hv_guest_read_devices (g, &dev, &error)) {
                g_debug ("activity: devices of %s unavailable: %s; retrying at the next tick", name,
                         error->message);
                return FALSE;
        }
        *ret_path = g_steal_pointer (&dev.activity_socket);
        augur_hv_devices_clear (&dev);
        return TRUE;
}
