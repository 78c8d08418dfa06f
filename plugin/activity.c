/* activity.c — augurd's end of the in-guest activity channel: the daemon
 * glue.  See activity.h for what the module is, the trust model and the
 * limits, and guest/REPORT-SCHEMA.md for the report format.
 *
 * What it is: one ActDomain per running domain (by UUID), created when a
 * sync first lists it, dropped at the first sync after it stops; the guest
 * agent polls; the flush of accepted reports into the store once per tick;
 * the getters the daemon and the forecaster read.  Its reader (and so its
 * counters) lives as long as the ActDomain; the socket comes and goes
 * (activity-channel.c).  What it is not: the parser and the line reader
 * (activity-parse.c) or the socket (activity-channel.c).
 *
 * FEEDBACK LOOPS AND LAGS
 *   A report describes the guest interval that ended when it was written; it
 *   reaches the store at the next tick, so it lags the tick it is attached
 *   to by up to one report interval plus one tick.  Sample filling
 *   therefore uses a window (store-activity.h), not exact timestamps.
 *   Reading pauses (throttle) push back on the guest: its port queue fills
 *   and augur-guest drops reports instead of blocking — on purpose.
 *
 * GUEST AGENT USERS: at most one augur_hv_guest_agent_users() in flight per
 * domain and AGENT_INFLIGHT_MAX overall, each in a GTask worker thread with
 * its own reference on the guest handle (and so on the connection).  That
 * call can block for as long as the hypervisor waits for the agent; the
 * tick never waits for it.  Results come back on the main context and are
 * queued like channel reports.  If the AugurActivity is freed meanwhile,
 * the job sees shared->act == NULL and does nothing.
 */
#include "config.h"

#include "activity.h"
#include "activity-private.h"
#include "store-activity.h"

#include <gio/gio.h>
#include <math.h>
#include <string.h>

#define AGENT_INFLIGHT_MAX 2

static Shared *
shared_ref (Shared *s)
{
        g_atomic_int_inc (&s->ref);
        return s;
}

static void
shared_unref (Shared *s)
{
        if (g_atomic_int_dec_and_test (&s->ref))
                g_free (s);
}

static void
act_domain_free (gpointer p)
{
        ActDomain *ad = p;

        augur_activity_channel_close (ad);
        augur_activity_reader_free (ad->reader);
        if (ad->pending)
                g_array_unref (ad->pending);
        augur_hv_guest_unref (ad->guest);
        g_free (ad->name);
        g_free (ad->path);
        g_free (ad);
}

static gint64
unique_ts_ms (ActDomain *ad, AugurActivitySource src)
{
        gint64 ts = g_get_real_time () / 1000;

        if (ts <= ad->last_ts_ms[src])
                ts = ad->last_ts_ms[src] + 1;
        ad->last_ts_ms[src] = ts;
        return ts;
}

static void
queue_row (ActDomain *ad, AugurActivitySource src, const AugurActivityReport *r)
{
        PendingRow row;

        if (ad->pending->len >= AUGUR_ACTIVITY_PENDING_MAX) {
                ad->queue_drops++;
                g_debug ("activity of %s: store queue full, report dropped", ad->name);
                return;
        }
        row.source = src;
        row.ts_ms = unique_ts_ms (ad, src);
        row.report = *r;
        g_array_append_val (ad->pending, row);
}

static void
on_report (const AugurActivityReport *report, gint64 now_us, gpointer user_data)
{
        ActDomain *ad = user_data;

        ad->latest.input_events_per_min = augur_activity_report_has (report, AUGUR_ACTIVITY_F_INPUT_EVENTS)
                                          ? report->input_events_per_min : NAN;
        ad->latest.sessions = augur_activity_report_has (report, AUGUR_ACTIVITY_F_SESSIONS)
                              ? (double) report->sessions : NAN;
        ad->latest.proc_starts_per_min = augur_activity_report_has (report, AUGUR_ACTIVITY_F_PROC_STARTS)
                                         ? report->proc_starts_per_min : NAN;
        augur_activity_report_buckets (report, ad->latest.prog_pct, ad->latest.user_sessions);
        ad->latest.psi_mem = augur_activity_report_has (report, AUGUR_ACTIVITY_F_PSI_MEM)
                             ? report->psi_mem : NAN;
        ad->latest.oom_kill = augur_activity_report_has (report, AUGUR_ACTIVITY_F_OOM_KILL)
                              ? (double) report->oom_kill : NAN;
        ad->latest_ms = g_get_real_time () / 1000;
        queue_row (ad, AUGUR_ACTIVITY_SOURCE_CHANNEL, report);
}

/* (Re)attach a listed domain; g is consumed. */
static void
attach (AugurActivity *act, AugurHvGuest *g)
{
        const char *uuid = augur_hv_guest_get_uuid (g);
        ActDomain *ad = g_hash_table_lookup (act->doms, uuid);
        const char *name = augur_hv_guest_get_name (g);
        int id = augur_hv_guest_get_id (g);

        if (!ad) {
                ad = g_new0 (ActDomain, 1);
                ad->latest_ms = -1;
                ad->act = act;
                g_strlcpy (ad->uuid, uuid, sizeof ad->uuid);
                ad->name = g_strdup (name ? name : uuid);
                ad->libvirt_id = -2;      /* forces the read below */
                ad->reader = augur_activity_reader_new (ad->name, on_report, ad);
                ad->pending = g_array_new (FALSE, FALSE, sizeof (PendingRow));
                g_hash_table_insert (act->doms, g_strdup (uuid), ad);
        }
        if (ad->libvirt_id != id || ad->gone || !ad->xml_read) {
                /* New, or restarted (new QEMU, maybe a new socket path). */
                augur_activity_channel_close (ad);
                g_clear_pointer (&ad->path, g_free);
                /* On failure the next sync reads it again. */
                ad->xml_read = augur_activity_channel_fetch_path (g, ad->name, &ad->path);
                ad->libvirt_id = id;
                ad->gone = FALSE;
                ad->backoff_s = 0;
                ad->next_connect_us = 0;
                ad->warned_connect = FALSE;
                if (ad->agent == AGENT_ABSENT) {
                        ad->agent = AGENT_UNKNOWN;     /* a new guest: ask again */
                        ad->next_agent_us = 0;
                }
                if (!ad->path && ad->xml_read)
                        augur_activity_log (G_LOG_LEVEL_INFO, ad->name,
                                 "domain %s has no %s channel (bind mode): no in-guest activity",
                                 ad->name, AUGUR_ACTIVITY_PORT_NAME);
        }
        if (name && g_strcmp0 (ad->name, name) != 0) {
                g_free (ad->name);
                ad->name = g_strdup (name);
        }
        augur_hv_guest_unref (ad->guest);
        ad->guest = g;
        ad->seen = TRUE;
}

static void
refresh_domains (AugurActivity *act, AugurHv *hv)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GPtrArray) guests = augur_hv_list_guests (hv, &error);
        GHashTableIter it;
        gpointer v;

        if (!guests) {
                g_debug ("activity: listing domains failed: %s, ignoring", error->message);
                return;
        }
        g_hash_table_iter_init (&it, act->doms);
        while (g_hash_table_iter_next (&it, NULL, &v))
                ((ActDomain *) v)->seen = FALSE;
        for (guint i = 0; i < guests->len; i++) {
                AugurHvGuest *g = g_ptr_array_index (guests, i);

                /* An excluded guest is not seen: its channel closes below. */
                if (!act->keep || act->keep (g, act->keep_data))
                        attach (act, augur_hv_guest_ref (g));
        }
        g_hash_table_iter_init (&it, act->doms);
        while (g_hash_table_iter_next (&it, NULL, &v)) {
                ActDomain *ad = v;

                if (!ad->seen && !ad->gone) {
                        augur_activity_channel_close (ad);
                        ad->gone = TRUE;
                }
        }
}

/* ---- guest agent users ---- */

typedef struct {
        Shared *shared;
        AugurHvGuest *guest;
        char uuid[AUGUR_UUID_STRLEN];
        gboolean ok;
        gint64 users;
        char *message;
} AgentJob;

static void
agent_job_free (gpointer p)
{
        AgentJob *j = p;

        shared_unref (j->shared);
        augur_hv_guest_unref (j->guest);
        g_free (j->message);
        g_free (j);
}

static void
agent_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
        AgentJob *j = task_data;
        g_autoptr(GError) error = NULL;

        j->ok = augur_hv_guest_agent_users (j->guest, &j->users, &error);
        if (!j->ok)
                j->message = g_strdup (error->message);
        g_task_return_boolean (task, TRUE);
}

static void
agent_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
        AgentJob *j = g_task_get_task_data (G_TASK (res));
        AugurActivity *act = j->shared->act;
        gint64 now = g_get_monotonic_time ();
        ActDomain *ad;

        if (!act)
                return;                       /* freed meanwhile */
        act->agent_inflight--;
        ad = g_hash_table_lookup (act->doms, j->uuid);
        if (!ad)
                return;
        ad->agent_busy = FALSE;
        if (!j->ok) {
                g_debug ("activity: guest agent users of %s: %s", ad->name, j->message);
                ad->agent = AGENT_ABSENT;
                ad->next_agent_us = now + (gint64) AUGUR_ACTIVITY_AGENT_RETRY_S * G_USEC_PER_SEC;
                return;
        }
        ad->agent = AGENT_CONNECTED;
        ad->next_agent_us = now + (gint64) AUGUR_ACTIVITY_AGENT_POLL_S * G_USEC_PER_SEC;
        if (j->users < 0 || j->users > AUGUR_ACTIVITY_MAX_SESSIONS) {
                /* The agent runs in the guest: its answer is as hostile as
                 * the channel's. */
                augur_activity_reader_drop_range (ad->reader, "guest agent", "user count out of range");
                return;
        }
        {
                AugurActivityReport r;

                memset (&r, 0, sizeof r);
                r.version = AUGUR_ACTIVITY_VERSION;
                r.users = j->users;
                r.present = 1u << AUGUR_ACTIVITY_F_USERS;
                queue_row (ad, AUGUR_ACTIVITY_SOURCE_AGENT, &r);
        }
}

static void
maybe_poll_agent (AugurActivity *act, ActDomain *ad, gint64 now)
{
        g_autoptr(GTask) task = NULL;
        AgentJob *j;

        if (ad->gone || !ad->guest || ad->agent_busy || now < ad->next_agent_us ||
            act->agent_inflight >= AGENT_INFLIGHT_MAX)
                return;
        j = g_new0 (AgentJob, 1);
        j->shared = shared_ref (act->shared);
        j->guest = augur_hv_guest_ref (ad->guest);
        g_strlcpy (j->uuid, ad->uuid, sizeof j->uuid);
        ad->agent_busy = TRUE;
        act->agent_inflight++;
        task = g_task_new (NULL, NULL, agent_done, NULL);
        g_task_set_task_data (task, j, agent_job_free);
        g_task_run_in_thread (task, agent_thread);
}

/* ---- flush ---- */

static void
fill_row (AugurActivityRow *row, const ActDomain *ad, const PendingRow *p)
{
        const AugurActivityReport *r = &p->report;
        static const struct {
                AugurActivityField f;
                AugurActivityCol c;
        } map[] = {
                { AUGUR_ACTIVITY_F_DROPPED, AUGUR_ACTCOL_GUEST_DROPPED },
                { AUGUR_ACTIVITY_F_INPUT_EVENTS, AUGUR_ACTCOL_INPUT_EVENTS_PER_MIN },
                { AUGUR_ACTIVITY_F_SESSIONS, AUGUR_ACTCOL_SESSIONS },
                { AUGUR_ACTIVITY_F_USERS, AUGUR_ACTCOL_USERS },
                { AUGUR_ACTIVITY_F_PROC_STARTS, AUGUR_ACTCOL_PROC_STARTS_PER_MIN },
                { AUGUR_ACTIVITY_F_NET_RX, AUGUR_ACTCOL_NET_RX_BYTES },
                { AUGUR_ACTIVITY_F_NET_TX, AUGUR_ACTCOL_NET_TX_BYTES },
                { AUGUR_ACTIVITY_F_LOAD1, AUGUR_ACTCOL_LOAD1 },
                { AUGUR_ACTIVITY_F_PSI_CPU, AUGUR_ACTCOL_PSI_CPU },
                { AUGUR_ACTIVITY_F_PSI_MEM, AUGUR_ACTCOL_PSI_MEM },
                { AUGUR_ACTIVITY_F_PSI_IO, AUGUR_ACTCOL_PSI_IO },
                { AUGUR_ACTIVITY_F_OOM_KILL, AUGUR_ACTCOL_OOM_KILL },
        };
        double vals[AUGUR_ACTIVITY_F_N] = { 0 };

        memset (row, 0, sizeof *row);
        g_strlcpy (row->uuid, ad->uuid, sizeof row->uuid);
        row->name = ad->name;
        row->libvirt_id = ad->libvirt_id;
        row->ts_ms = p->ts_ms;
        row->source = p->source;
        vals[AUGUR_ACTIVITY_F_DROPPED] = (double) r->dropped;
        vals[AUGUR_ACTIVITY_F_INPUT_EVENTS] = r->input_events_per_min;
        vals[AUGUR_ACTIVITY_F_SESSIONS] = (double) r->sessions;
        vals[AUGUR_ACTIVITY_F_USERS] = (double) r->users;
        vals[AUGUR_ACTIVITY_F_PROC_STARTS] = r->proc_starts_per_min;
        vals[AUGUR_ACTIVITY_F_NET_RX] = (double) r->net_rx_bytes;
        vals[AUGUR_ACTIVITY_F_NET_TX] = (double) r->net_tx_bytes;
        vals[AUGUR_ACTIVITY_F_LOAD1] = r->load1;
        vals[AUGUR_ACTIVITY_F_PSI_CPU] = r->psi_cpu;
        vals[AUGUR_ACTIVITY_F_PSI_MEM] = r->psi_mem;
        vals[AUGUR_ACTIVITY_F_PSI_IO] = r->psi_io;
        vals[AUGUR_ACTIVITY_F_OOM_KILL] = (double) r->oom_kill;   /* <= 2^53: exact */
        for (gsize i = 0; i < G_N_ELEMENTS (map); i++)
                if (augur_activity_report_has (r, map[i].f)) {
                        row->v[map[i].c] = vals[map[i].f];
                        row->present |= 1u << map[i].c;
                }
        if (p->source == AUGUR_ACTIVITY_SOURCE_CHANNEL) {
                double bkt[AUGUR_PROG_BUCKETS + AUGUR_USER_BUCKETS];

                augur_activity_report_buckets (r, bkt, bkt + AUGUR_PROG_BUCKETS);
                for (guint b = 0; b < G_N_ELEMENTS (bkt); b++)
                        if (!isnan (bkt[b])) {
                                row->v[AUGUR_ACTCOL_PROG_B0 + b] = bkt[b];
                                row->present |= 1u << (AUGUR_ACTCOL_PROG_B0 + b);
                        }
        }
        if (p->source == AUGUR_ACTIVITY_SOURCE_CHANNEL) {
                row->v[AUGUR_ACTCOL_SEQ] = (double) r->seq;
                row->v[AUGUR_ACTCOL_INTERVAL_MS] = (double) r->interval_ms;
                row->present |= (1u << AUGUR_ACTCOL_SEQ) | (1u << AUGUR_ACTCOL_INTERVAL_MS);
        }
        if (augur_activity_report_has (r, AUGUR_ACTIVITY_F_INPUT_SRC)) {
                static const char *const src[] = { "none", "evdev", "irq" };

                row->input_src = src[r->input_src];
        }
}

static void
counters_now (const ActDomain *ad, AugurActivityCounters *ret)
{
        *ret = *augur_activity_reader_counters (ad->reader);
        ret->dropped_rate += ad->queue_drops;
}

static void
flush (AugurActivity *act)
{
        g_autoptr(GArray) rows = g_array_new (FALSE, TRUE, sizeof (AugurActivityRow));
        g_autoptr(GArray) drops = g_array_new (FALSE, TRUE, sizeof (AugurActivityDropsDelta));
        g_autoptr(GPtrArray) strings = g_ptr_array_new_with_free_func (g_free);
        g_autoptr(GPtrArray) flushed = g_ptr_array_new ();
        g_autoptr(GError) error = NULL;
        GHashTableIter it;
        gpointer v;
        gsize filled = 0;

        g_hash_table_iter_init (&it, act->doms);
        while (g_hash_table_iter_next (&it, NULL, &v)) {
                ActDomain *ad = v;
                AugurActivityCounters c;

                for (guint i = 0; i < ad->pending->len; i++) {
                        const PendingRow *p = &g_array_index (ad->pending, PendingRow, i);
                        AugurActivityRow row;

                        fill_row (&row, ad, p);
                        if (p->source == AUGUR_ACTIVITY_SOURCE_CHANNEL) {
                                char *top = augur_activity_top_to_json (&p->report);

                                if (top)
                                        g_ptr_array_add (strings, top);
                                row.top_programs = top;
                        }
                        g_array_append_val (rows, row);
                }
                counters_now (ad, &c);
                if (memcmp (&c, &ad->flushed, sizeof c) != 0) {
                        AugurActivityDropsDelta d;

                        memset (&d, 0, sizeof d);
                        g_strlcpy (d.uuid, ad->uuid, sizeof d.uuid);
                        d.name = ad->name;
                        d.libvirt_id = ad->libvirt_id;
                        d.bytes_read = (gint64) (c.bytes_read - ad->flushed.bytes_read);
                        d.lines = (gint64) (c.lines - ad->flushed.lines);
                        d.accepted = (gint64) (c.accepted - ad->flushed.accepted);
                        d.dropped_malformed = (gint64) (c.dropped_malformed - ad->flushed.dropped_malformed);
                        d.dropped_oversize = (gint64) (c.dropped_oversize - ad->flushed.dropped_oversize);
                        d.dropped_rate = (gint64) (c.dropped_rate - ad->flushed.dropped_rate);
                        d.dropped_range = (gint64) (c.dropped_range - ad->flushed.dropped_range);
                        d.connects = (gint64) (c.connects - ad->flushed.connects);
                        g_array_append_val (drops, d);
                }
                if (ad->pending->len > 0 || memcmp (&c, &ad->flushed, sizeof c) != 0)
                        g_ptr_array_add (flushed, ad);
        }
        if (rows->len == 0 && drops->len == 0)
                return;
        if (act->store &&
            !augur_store_write_activity (act->store, (AugurActivityRow *) rows->data, rows->len,
                                         (AugurActivityDropsDelta *) drops->data, drops->len,
                                         &filled, &error)) {
                if (!act->warned_store)
                        g_warning ("storing activity failed: %s; %u reports dropped, ignoring",
                                   error->message, rows->len);
                else
                        g_debug ("storing activity failed: %s", error->message);
                act->warned_store = TRUE;
                /* Reports are dropped (a failing store must not grow the
                 * queues); counters stay unflushed and go with the next
                 * successful write. */
                for (guint i = 0; i < flushed->len; i++)
                        g_array_set_size (((ActDomain *) flushed->pdata[i])->pending, 0);
                return;
        }
        if (act->warned_store)
                g_message ("storing activity works again");
        act->warned_store = FALSE;
        for (guint i = 0; i < flushed->len; i++) {
                ActDomain *ad = flushed->pdata[i];

                g_array_set_size (ad->pending, 0);
                counters_now (ad, &ad->flushed);
        }
        g_debug ("activity: stored %u reports, filled %" G_GSIZE_FORMAT " samples",
                 rows->len, filled);
}

/* ---- public ---- */

AugurActivity *
augur_activity_new (AugurStore *store)
{
        AugurActivity *act = g_new0 (AugurActivity, 1);

        act->store = store;
        act->ctx = g_main_context_ref_thread_default ();
        act->doms = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, act_domain_free);
        act->shared = g_new0 (Shared, 1);
        act->shared->ref = 1;
        act->shared->act = act;
        return act;
}

void
augur_activity_free (AugurActivity *act)
{
        if (!act)
                return;
        flush (act);                      /* best effort: what already arrived */
        act->shared->act = NULL;          /* in-flight agent jobs become no-ops */
        shared_unref (act->shared);
        g_clear_pointer (&act->doms, g_hash_table_unref);
        g_main_context_unref (act->ctx);
        g_free (act);
}

static gboolean
remove_gone (gpointer key, gpointer value, gpointer user_data)
{
        const ActDomain *ad = value;

        /* An agent job still running for it finds no domain when it ends
         * and only gives its in-flight slot back (agent_done). */
        return ad->gone;
}

void
augur_activity_sync (AugurActivity *act, AugurHv *hv)
{
        GHashTableIter it;
        gpointer v;
        gint64 now;

        if (!act)
                return;             /* the daemon ticks before/without it */
        if (hv)
                refresh_domains (act, hv);
        now = g_get_monotonic_time ();
        g_hash_table_iter_init (&it, act->doms);
        while (g_hash_table_iter_next (&it, NULL, &v)) {
                ActDomain *ad = v;

                if (ad->gone)
                        continue;
                if (ad->path && !ad->sock && now >= ad->next_connect_us)
                        augur_activity_channel_connect (ad);
                if (hv)
                        maybe_poll_agent (act, ad, now);
        }
        flush (act);
        g_hash_table_foreach_remove (act->doms, remove_gone, NULL);
}

void
augur_activity_set_keep (AugurActivity *act, AugurHvKeepFunc keep, gpointer keep_data)
{
        act->keep = keep;
        act->keep_data = keep_data;
}

void
augur_activity_domain_stopped (AugurActivity *act, const char *uuid)
{
        ActDomain *ad = act ? g_hash_table_lookup (act->doms, uuid) : NULL;

        if (!ad)
                return;
        augur_activity_channel_close (ad);
        ad->gone = TRUE;
}

void
augur_activity_agent_changed (AugurActivity *act, const char *uuid, gboolean connected)
{
        ActDomain *ad = act ? g_hash_table_lookup (act->doms, uuid) : NULL;

        if (!ad)
                return;
        if (connected) {
                /* Ask soon: the next sync. */
                ad->agent = AGENT_CONNECTED;
                ad->next_agent_us = 0;
        } else {
                ad->agent = AGENT_ABSENT;
                ad->next_agent_us = g_get_monotonic_time () +
                                    (gint64) AUGUR_ACTIVITY_AGENT_RETRY_S * G_USEC_PER_SEC;
        }
}

gboolean
augur_activity_get_counters (AugurActivity *act, const char *uuid,
                             AugurActivityCounters *ret)
{
        ActDomain *ad;

        g_return_val_if_fail (act != NULL && uuid != NULL && ret != NULL, FALSE);
        ad = g_hash_table_lookup (act->doms, uuid);
        if (!ad)
                return FALSE;
        counters_now (ad, ret);
        return TRUE;
}

void
augur_activity_get_stats (AugurActivity *act, guint *ret_domains, guint *ret_connected)
{
        GHashTableIter it;
        gpointer v;
        guint n = 0, c = 0;

        g_return_if_fail (act != NULL);
        g_hash_table_iter_init (&it, act->doms);
        while (g_hash_table_iter_next (&it, NULL, &v)) {
                n++;
                if (((ActDomain *) v)->sock)
                        c++;
        }
        if (ret_domains)
                *ret_domains = n;
        if (ret_connected)
                *ret_connected = c;
}

gboolean
augur_activity_latest (AugurActivity *act, const char *uuid, gint64 now_ms,
                       gint64 max_age_ms, AugurActivityLatest *ret)
{
        ActDomain *ad = act ? g_hash_table_lookup (act->doms, uuid) : NULL;

        if (!ad || ad->latest_ms < 0 || now_ms - ad->latest_ms > max_age_ms)
                return FALSE;
        *ret = ad->latest;
        return TRUE;
}
