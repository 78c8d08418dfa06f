/* fake-hv.c — the fake hypervisor backend.  See fake-hv.h. */
#include "config.h"

#include "fake-hv.h"
#include "collect.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* A modelled guest's balloon lands this long after a target is set, ms:
 * what a real idle TCG guest took (the actuations of tests/data/
 * domstats-pressure-oom.txt's run: 24-1050 ms). */
#define DEFAULT_BALLOON_LATENCY_MS 1000

typedef struct {
        gint64 t_ms;
        AugurDomainSample s;
} Record;

typedef struct {
        gint64 t_ms;
        double oom_kills, psi_mem_pct;  /* NAN = none                         */
} Report;

/* A report line of a dump, before its guest exists. */
typedef struct {
        char name[64];
        Report r;
} NamedReport;

typedef struct {
        AugurFakeCallKind kind;
        char *name;                     /* NULL = any guest                   */
        AugurHvError code;
        int times;                      /* -1 = until cleared                 */
} Failure;

typedef struct {
        AugurFake *f;
        AugurHv *hv;
        AugurHvCallbacks cb;
        gpointer user_data;
} Conn;

/* A guest handle's backend part: the guest by UUID, so that a handle to a
 * removed guest fails instead of dangling. */
typedef struct {
        AugurFake *f;
        char uuid[AUGUR_UUID_STRLEN];
} Handle;

struct AugurFakeGuest {
        AugurFake *f;
        char *name;
        char uuid[AUGUR_UUID_STRLEN];
        gboolean removed;
        GArray *replay;                 /* Record by time; NULL = modelled    */
        GArray *reports;                /* Report by time                     */
        gboolean agent;
        gboolean autodeflate;
        const char *balloon_owner;
        char *meta_nsuri, *meta_xml;
        GHashTable *iotune;             /* disk -> AugurBlockIoTune           */
        GHashTable *bandwidth;          /* iface -> AugurIfaceBandwidth       */
        guint64 cpu_shares;             /* live CPU weight, 0 = none          */
        /* modelled */
        AugurDomainSample rec;          /* the record as last served          */
        guint64 dropped;                /* fields the test removed (bits)     */
        double balloon_kib;
        double reservation_kib;         /* balloon − MemTotal, as captured     */
        double used_kib;                /* MemTotal − MemAvailable, NAN = ?   */
        double cores;
        double pending_kib;             /* target on its way, 0 = none        */
        gint64 pending_at_ms;
        gint64 balloon_latency_ms;
        gboolean stale;
        gint64 stats_ms;                /* last stats call, -1 = none         */
        int plugged, online, vmax;
};

struct AugurFake {
        gint64 now_ms;
        GPtrArray *guests;              /* AugurFakeGuest (owned), add order  */
        GHashTable *by_uuid;            /* uuid -> AugurFakeGuest (borrowed):
                                         * a lookup per VM per tick           */
        GArray *calls;                  /* AugurFakeCall                      */
        GArray *failures;               /* Failure                            */
        GMutex lock;                    /* calls and failures: augurd runs the
                                         * guest agent's call on a worker
                                         * thread (activity.c) while the tick
                                         * calls the hypervisor               */
        GPtrArray *conns;               /* Conn (owned by their AugurHv)      */
        gboolean down;
};

static const AugurHvOps fake_ops;

static void
record_clear (gpointer p)
{
        augur_domain_sample_clear (&((Record *) p)->s);
}

static void
guest_free (gpointer p)
{
        AugurFakeGuest *g = p;

        g_free (g->name);
        g_clear_pointer (&g->replay, g_array_unref);
        g_clear_pointer (&g->reports, g_array_unref);
        g_free (g->meta_nsuri);
        g_free (g->meta_xml);
        g_clear_pointer (&g->iotune, g_hash_table_unref);
        g_clear_pointer (&g->bandwidth, g_hash_table_unref);
        augur_domain_sample_clear (&g->rec);
        g_free (g);
}

static void
failure_clear (gpointer p)
{
        g_free (((Failure *) p)->name);
}

AugurFake *
augur_fake_new (gint64 now_ms)
{
        AugurFake *f = g_new0 (AugurFake, 1);

        f->now_ms = now_ms;
        f->guests = g_ptr_array_new_with_free_func (guest_free);
        f->by_uuid = g_hash_table_new (g_str_hash, g_str_equal);
        f->calls = g_array_new (FALSE, TRUE, sizeof (AugurFakeCall));
        f->failures = g_array_new (FALSE, TRUE, sizeof (Failure));
        g_array_set_clear_func (f->failures, failure_clear);
        f->conns = g_ptr_array_new ();
        g_mutex_init (&f->lock);
        return f;
}

void
augur_fake_free (AugurFake *f)
{
        if (!f)
                return;
        /* Connections are closed first (fake-hv.h); defensive: one still
         * open is cut loose from the world. */
        for (guint i = 0; i < f->conns->len; i++)
                ((Conn *) g_ptr_array_index (f->conns, i))->f = NULL;
        g_ptr_array_unref (f->conns);
        g_hash_table_unref (f->by_uuid);
        g_ptr_array_unref (f->guests);
        g_array_unref (f->calls);
        g_array_unref (f->failures);
        g_mutex_clear (&f->lock);
        g_free (f);
}

gint64
augur_fake_now_ms (const AugurFake *f)
{
        return f->now_ms;
}

static AugurFakeGuest *
guest_by_uuid (AugurFake *f, const char *uuid)
{
        return g_hash_table_lookup (f->by_uuid, uuid);
}

AugurFakeGuest *
augur_fake_guest (AugurFake *f, const char *name)
{
        for (guint i = 0; i < f->guests->len; i++) {
                AugurFakeGuest *g = g_ptr_array_index (f->guests, i);

                if (strcmp (g->name, name) == 0)
                        return g;
        }
        return NULL;
}

const char *
augur_fake_guest_uuid (const AugurFakeGuest *g)
{
        return g->uuid;
}

/* ---- the record of calls, and failures ---- */

/* The index + 1 of the newest call this thread recorded (0 = none): what a
 * fake op annotates after call() returned (a refusal, a disk name), even
 * when another thread recorded a call in between. */
static GPrivate last_call_idx;

/* Annotate this thread's newest call: failed (disk NULL), or its device. */
static void
annotate_last (AugurFake *f, gboolean failed, const char *disk)
{
        guint i;
        AugurFakeCall *c;

        g_mutex_lock (&f->lock);
        i = GPOINTER_TO_UINT (g_private_get (&last_call_idx));
        g_assert (i > 0 && i <= f->calls->len);
        c = &g_array_index (f->calls, AugurFakeCall, i - 1);
        if (failed)
                c->ok = FALSE;
        if (disk)
                g_strlcpy (c->disk, disk, sizeof c->disk);
        g_mutex_unlock (&f->lock);
}

/* Record a call and decide whether it fails: the hypervisor down (LOST),
 * the guest gone (NO_GUEST), or an injected failure.  g may be NULL (a
 * connection call); name is what the record shows. */
static gboolean
call (AugurFake *f, AugurFakeCallKind kind, const AugurFakeGuest *g, const char *name, gint64 value,
      AugurHvVcpuMethod method, GError **error)
{
        AugurFakeCall c = { .t_ms = f->now_ms, .kind = kind, .value = value, .method = method, .ok = TRUE };

        g_strlcpy (c.guest, g ? g->name : (name ? name : ""), sizeof c.guest);
        g_mutex_lock (&f->lock);
        if (f->down) {
                c.ok = FALSE;
                g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_LOST, "fake: the hypervisor is down");
        } else if (g && g->removed) {
                c.ok = FALSE;
                g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_NO_GUEST, "fake: guest %s is gone", g->name);
        } else {
                for (guint i = 0; i < f->failures->len; i++) {
                        Failure *x = &g_array_index (f->failures, Failure, i);

                        if (x->kind != kind || x->times == 0 || (x->name && strcmp (x->name, c.guest) != 0))
                                continue;
                        if (x->times > 0)
                                x->times--;
                        c.ok = FALSE;
                        g_set_error (error, AUGUR_HV_ERROR, x->code, "fake: injected failure");
                        break;
                }
        }
        g_array_append_val (f->calls, c);
        g_private_set (&last_call_idx, GUINT_TO_POINTER (f->calls->len));
        g_mutex_unlock (&f->lock);
        return c.ok;
}

void
augur_fake_fail (AugurFake *f, AugurFakeCallKind kind, const char *name, AugurHvError code, int times)
{
        Failure x = { .kind = kind, .name = g_strdup (name), .code = code, .times = times };

        g_mutex_lock (&f->lock);
        g_array_append_val (f->failures, x);
        g_mutex_unlock (&f->lock);
}

void
augur_fake_clear_failures (AugurFake *f)
{
        g_mutex_lock (&f->lock);
        g_array_set_size (f->failures, 0);
        g_mutex_unlock (&f->lock);
}

const GArray *
augur_fake_calls (const AugurFake *f)
{
        return f->calls;
}

guint
augur_fake_count (const AugurFake *f, AugurFakeCallKind kind, const char *name)
{
        guint n = 0;

        g_mutex_lock ((GMutex *) &f->lock);
        for (guint i = 0; i < f->calls->len; i++) {
                const AugurFakeCall *c = &g_array_index (f->calls, AugurFakeCall, i);

                if (c->kind == kind && (!name || strcmp (c->guest, name) == 0))
                        n++;
        }
        g_mutex_unlock ((GMutex *) &f->lock);
        return n;
}

const AugurFakeCall *
augur_fake_last (const AugurFake *f, AugurFakeCallKind kind, const char *name)
{
        const AugurFakeCall *found = NULL;

        g_mutex_lock ((GMutex *) &f->lock);
        for (guint i = f->calls->len; i > 0 && !found; i--) {
                const AugurFakeCall *c = &g_array_index (f->calls, AugurFakeCall, i - 1);

                if (c->kind == kind && (!name || strcmp (c->guest, name) == 0))
                        found = c;
        }
        g_mutex_unlock ((GMutex *) &f->lock);
        return found;
}

void
augur_fake_clear_calls (AugurFake *f)
{
        g_mutex_lock (&f->lock);
        g_array_set_size (f->calls, 0);
        g_mutex_unlock (&f->lock);
}

/* ---- events ---- */

static AugurHvGuest *
handle_new (AugurFakeGuest *g)
{
        Handle *h = g_new0 (Handle, 1);

        h->f = g->f;
        g_strlcpy (h->uuid, g->uuid, sizeof h->uuid);
        return augur_hv_guest_new (&fake_ops, g->uuid, g->name, -1, h);
}

static void
deliver (AugurFake *f, AugurFakeGuest *g, const AugurHvEvent *e)
{
        g_autoptr(AugurHvGuest) h = handle_new (g);

        if (f->down)
                return;
        for (guint i = 0; i < f->conns->len; i++) {
                Conn *c = g_ptr_array_index (f->conns, i);

                if (c->cb.event)
                        c->cb.event (c->hv, h, e, c->user_data);
        }
}

void
augur_fake_set_down (AugurFake *f, gboolean down)
{
        gboolean was = f->down;

        f->down = down;
        if (!down || was)
                return;
        for (guint i = 0; i < f->conns->len; i++) {
                Conn *c = g_ptr_array_index (f->conns, i);

                if (c->cb.closed)
                        c->cb.closed (c->hv, c->user_data);
        }
}

/* ---- time ---- */

/* The modelled guest whose balloon lands first, at or before t_ms. */
static AugurFakeGuest *
next_landing (AugurFake *f, gint64 t_ms)
{
        AugurFakeGuest *best = NULL;

        for (guint i = 0; i < f->guests->len; i++) {
                AugurFakeGuest *g = g_ptr_array_index (f->guests, i);

                if (g->removed || g->pending_kib <= 0 || g->pending_at_ms > t_ms)
                        continue;
                if (!best || g->pending_at_ms < best->pending_at_ms)
                        best = g;
        }
        return best;
}

static void
land (AugurFake *f, AugurFakeGuest *g)
{
        AugurHvEvent e = { .kind = AUGUR_HV_EVENT_BALLOON };

        g->balloon_kib = g->pending_kib;
        g->pending_kib = 0;
        e.balloon_kib = (guint64) g->balloon_kib;
        deliver (f, g, &e);
}

void
augur_fake_advance_to (AugurFake *f, gint64 t_ms)
{
        AugurFakeGuest *g;

        g_return_if_fail (t_ms >= f->now_ms);
        while ((g = next_landing (f, t_ms))) {
                f->now_ms = MAX (f->now_ms, g->pending_at_ms);
                land (f, g);
        }
        f->now_ms = t_ms;
}

void
augur_fake_advance (AugurFake *f, gint64 ms)
{
        augur_fake_advance_to (f, f->now_ms + ms);
}

gboolean
augur_fake_next_record_ms (const AugurFake *f, gint64 *ret_ms)
{
        gint64 best = G_MAXINT64;

        for (guint i = 0; i < f->guests->len; i++) {
                const AugurFakeGuest *g = g_ptr_array_index (f->guests, i);

                for (guint k = 0; g->replay && k < g->replay->len; k++) {
                        gint64 t = g_array_index (g->replay, Record, k).t_ms;

                        if (t > f->now_ms) {
                                best = MIN (best, t);
                                break;
                        }
                }
        }
        if (best == G_MAXINT64)
                return FALSE;
        *ret_ms = best;
        return TRUE;
}

/* ---- guests ---- */

static double
field (const AugurDomainSample *s, AugurStat f)
{
        return augur_sample_has (s, f) ? (double) s->v[f] : NAN;
}

static AugurFakeGuest *
guest_new (AugurFake *f, const char *name)
{
        AugurFakeGuest *g = g_new0 (AugurFakeGuest, 1);

        g->f = f;
        g->name = g_strdup (name);
        augur_uuid_v5_from_name (name, g->uuid);
        g->reports = g_array_new (FALSE, TRUE, sizeof (Report));
        g->agent = TRUE;
        g->stats_ms = -1;
        g->cpu_shares = 1024;           /* libvirt's default on cgroup v1 */
        g_ptr_array_add (f->guests, g);
        g_hash_table_replace (f->by_uuid, g->uuid, g);
        return g;
}

AugurFakeGuest *
augur_fake_add_guest (AugurFake *f, const char *name, const AugurDomainSample *record)
{
        AugurFakeGuest *g = guest_new (f, name);
        double cur = field (record, AUGUR_STAT_BALLOON_CURRENT_KIB);
        double avail = field (record, AUGUR_STAT_BALLOON_AVAILABLE_KIB);
        double usable = field (record, AUGUR_STAT_BALLOON_USABLE_KIB);

        g->rec = *record;
        g->rec.name = g_strdup (name);
        g_strlcpy (g->rec.uuid, g->uuid, sizeof g->rec.uuid);
        g->rec.id = -1;
        g->balloon_kib = isnan (cur) ? field (record, AUGUR_STAT_BALLOON_MAXIMUM_KIB) : cur;
        g->reservation_kib = isnan (cur) || isnan (avail) ? 0 : cur - avail;
        g->used_kib = isnan (avail) || isnan (usable) ? NAN : avail - usable;
        g->balloon_latency_ms = DEFAULT_BALLOON_LATENCY_MS;
        g->plugged = augur_sample_has (record, AUGUR_STAT_VCPU_CURRENT) ? (int) record->v[AUGUR_STAT_VCPU_CURRENT] : 1;
        g->vmax = augur_sample_has (record, AUGUR_STAT_VCPU_MAXIMUM) ? (int) record->v[AUGUR_STAT_VCPU_MAXIMUM]
                  : g->plugged;
        g->online = g->plugged;
        return g;
}

void
augur_fake_guest_remove (AugurFake *f, AugurFakeGuest *g)
{
        AugurHvEvent e = { .kind = AUGUR_HV_EVENT_LIFECYCLE, .lifecycle = AUGUR_HV_LIFECYCLE_STOPPED };

        deliver (f, g, &e);
        g->removed = TRUE;
}

void
augur_fake_guest_set_used (AugurFakeGuest *g, double used_kib)
{
        g->used_kib = used_kib;
}

void
augur_fake_guest_set_cpu (AugurFakeGuest *g, double cores)
{
        g->cores = cores;
}

void
augur_fake_guest_set_stale (AugurFakeGuest *g, gboolean stale)
{
        g->stale = stale;
}

void
augur_fake_guest_set_balloon_latency (AugurFakeGuest *g, gint64 ms)
{
        g->balloon_latency_ms = ms;
}

void
augur_fake_guest_set_stat (AugurFakeGuest *g, AugurStat stat, gint64 v)
{
        if (v < 0) {
                g->rec.present &= ~(G_GUINT64_CONSTANT (1) << stat);
                g->dropped |= G_GUINT64_CONSTANT (1) << stat;
                return;
        }
        g->dropped &= ~(G_GUINT64_CONSTANT (1) << stat);
        augur_sample_set (&g->rec, stat, v);
}

void
augur_fake_guest_set_balloon (AugurFakeGuest *g, double kib)
{
        g->balloon_kib = kib;
        g->pending_kib = 0;
}

void
augur_fake_guest_move_balloon (AugurFakeGuest *g, double kib)
{
        g->balloon_kib = kib;
}

void
augur_fake_guest_balloon_event (AugurFake *f, AugurFakeGuest *g, double kib)
{
        AugurHvEvent e = { .kind = AUGUR_HV_EVENT_BALLOON, .balloon_kib = (guint64) kib };

        g->balloon_kib = kib;
        deliver (f, g, &e);
}

double
augur_fake_guest_balloon_kib (const AugurFakeGuest *g)
{
        return g->balloon_kib;
}

int
augur_fake_guest_vcpus_online (const AugurFakeGuest *g)
{
        return g->online;
}

void
augur_fake_guest_set_vcpus (AugurFakeGuest *g, int plugged, int online)
{
        g->plugged = MIN (plugged, g->vmax);
        g->online = MIN (online, g->plugged);
}

void
augur_fake_guest_set_autodeflate (AugurFakeGuest *g, gboolean on)
{
        g->autodeflate = on;
}

void
augur_fake_guest_set_balloon_owner (AugurFakeGuest *g, const char *owner)
{
        g->balloon_owner = owner;
}

void
augur_fake_guest_set_agent (AugurFake *f, AugurFakeGuest *g, gboolean present)
{
        AugurHvEvent e = {
                .kind = AUGUR_HV_EVENT_AGENT, .agent_connected = present,
                .code = present ? 1 : 2,        /* libvirt's CONNECTED, DISCONNECTED */
        };

        g->agent = present;
        deliver (f, g, &e);
}

void
augur_fake_guest_set_metadata (AugurFake *f, AugurFakeGuest *g, const char *nsuri, const char *xml)
{
        AugurHvEvent e = { .kind = AUGUR_HV_EVENT_METADATA, .nsuri = nsuri, .code = 2 };   /* ELEMENT */

        g_free (g->meta_nsuri);
        g_free (g->meta_xml);
        g->meta_nsuri = g_strdup (nsuri);
        g->meta_xml = g_strdup (xml);
        deliver (f, g, &e);
}

void
augur_fake_guest_set_report (AugurFakeGuest *g, double oom_kills, double psi_mem_pct)
{
        Report r = { g->f->now_ms, oom_kills, psi_mem_pct };

        g_array_append_val (g->reports, r);
}

void
augur_fake_guest_report (gpointer ctx, const char *uuid, gint64 now_ms, double *ret_oom_kills,
                         double *ret_psi_mem_pct)
{
        AugurFakeGuest *g = guest_by_uuid (ctx, uuid);

        for (guint i = g ? g->reports->len : 0; i > 0; i--) {
                const Report *r = &g_array_index (g->reports, Report, i - 1);

                if (r->t_ms > now_ms)
                        continue;
                *ret_oom_kills = r->oom_kills;
                *ret_psi_mem_pct = r->psi_mem_pct;
                return;
        }
}

/* ---- the dump ---- */

/* Parse the records of one "# at" block and file them by guest name. */
static gboolean
load_block (GHashTable *by_name, GPtrArray *order, const GString *text, gint64 t_ms, GError **error)
{
        g_autoptr(GArray) a = NULL;

        if (text->len == 0)
                return TRUE;
        a = augur_collect_parse_domstats_text (text->str, error);
        if (!a)
                return FALSE;
        for (guint i = 0; i < a->len; i++) {
                AugurDomainSample *s = &g_array_index (a, AugurDomainSample, i);
                GArray *recs = g_hash_table_lookup (by_name, s->name);
                Record r = { .t_ms = t_ms, .s = *s };

                if (!recs) {
                        recs = g_array_new (FALSE, TRUE, sizeof (Record));
                        g_array_set_clear_func (recs, record_clear);
                        g_hash_table_insert (by_name, g_strdup (s->name), recs);
                        g_ptr_array_add (order, g_strdup (s->name));
                }
                g_array_append_val (recs, r);
                memset (s, 0, sizeof *s);       /* moved into the record */
        }
        return TRUE;
}

gboolean
augur_fake_load (AugurFake *f, const char *path, GError **error)
{
        g_autofree char *text = NULL;
        g_auto(GStrv) lines = NULL;
        g_autoptr(GHashTable) by_name = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                               (GDestroyNotify) g_array_unref);
        g_autoptr(GPtrArray) order = g_ptr_array_new_with_free_func (g_free);
        g_autoptr(GArray) reports = g_array_new (FALSE, TRUE, sizeof (NamedReport));
        g_autoptr(GString) block = g_string_new (NULL);
        gint64 t_ms = f->now_ms;
        gboolean timed = FALSE;

        if (!g_file_get_contents (path, &text, NULL, error))
                return FALSE;
        lines = g_strsplit (text, "\n", -1);
        for (guint i = 0; lines[i]; i++) {
                const char *l = lines[i];
                NamedReport nr = { .r.t_ms = t_ms };

                if (g_str_has_prefix (l, "# at ")) {
                        if (!load_block (by_name, order, block, t_ms, error))
                                return FALSE;
                        g_string_truncate (block, 0);
                        t_ms = g_ascii_strtoll (l + 5, NULL, 10);
                        timed = TRUE;
                } else if (sscanf (l, "# report %63s oom_kill=%lf psi_mem=%lf", nr.name, &nr.r.oom_kills,
                                   &nr.r.psi_mem_pct) == 3) {
                        g_array_append_val (reports, nr);
                } else {
                        g_string_append_printf (block, "%s\n", l);
                }
        }
        if (!load_block (by_name, order, block, t_ms, error))
                return FALSE;
        for (guint i = 0; i < order->len; i++) {
                const char *name = g_ptr_array_index (order, i);
                GArray *recs = g_hash_table_lookup (by_name, name);
                AugurFakeGuest *g;

                if (timed) {
                        g = guest_new (f, name);
                        g->replay = g_array_ref (recs);
                } else {
                        g = augur_fake_add_guest (f, name, &g_array_index (recs, Record, 0).s);
                }
        }
        for (guint i = 0; i < reports->len; i++) {
                const NamedReport *nr = &g_array_index (reports, NamedReport, i);
                AugurFakeGuest *g = augur_fake_guest (f, nr->name);

                if (g)
                        g_array_append_val (g->reports, nr->r);
        }
        return TRUE;
}

/* ---- what a stats call serves ---- */

/* A replayed guest's newest record at or before now, NULL before its first. */
static const AugurDomainSample *
replay_now (const AugurFakeGuest *g)
{
        const AugurDomainSample *s = NULL;

        for (guint k = 0; k < g->replay->len; k++) {
                const Record *r = &g_array_index (g->replay, Record, k);

                if (r->t_ms > g->f->now_ms)
                        break;
                s = &r->s;
        }
        return s;
}

/* Move a modelled guest's record on to now (fake-hv.h, GUESTS). */
static void
model_now (AugurFakeGuest *g)
{
        AugurDomainSample *s = &g->rec;
        gint64 now = g->f->now_ms;

        if (g->stats_ms >= 0 && augur_sample_has (s, AUGUR_STAT_CPU_TIME_NS))
                s->v[AUGUR_STAT_CPU_TIME_NS] += (gint64) llround (g->cores * (now - g->stats_ms) * 1e6);
        g->stats_ms = now;
        augur_sample_set (s, AUGUR_STAT_BALLOON_CURRENT_KIB, (gint64) g->balloon_kib);
        augur_sample_set (s, AUGUR_STAT_VCPU_CURRENT, g->plugged);
        if (!g->stale && !isnan (g->used_kib)) {
                double memtotal = g->balloon_kib - g->reservation_kib;

                augur_sample_set (s, AUGUR_STAT_BALLOON_AVAILABLE_KIB, (gint64) memtotal);
                augur_sample_set (s, AUGUR_STAT_BALLOON_USABLE_KIB, (gint64) MAX (0, memtotal - g->used_kib));
                augur_sample_set (s, AUGUR_STAT_BALLOON_LAST_UPDATE_S, now / 1000);
        }
        s->present &= ~g->dropped;
}

/* ---- the table ---- */

AugurHv *
augur_fake_open (AugurFake *f, const AugurHvCallbacks *cb, gpointer user_data)
{
        Conn *c = g_new0 (Conn, 1);

        c->f = f;
        c->cb = *cb;
        c->user_data = user_data;
        c->hv = augur_hv_new (&fake_ops, c);
        g_ptr_array_add (f->conns, c);
        return c->hv;
}

static void
fk_close (AugurHv *hv)
{
        Conn *c = augur_hv_get_priv (hv);

        if (c->f)
                g_ptr_array_remove (c->f->conns, c);
        g_free (c);
}

static gboolean
fk_is_alive (AugurHv *hv)
{
        Conn *c = augur_hv_get_priv (hv);

        return !c->f->down;
}

static gboolean
fk_guests_with_stats (AugurHv *hv, AugurHvKeepFunc keep, gpointer keep_data, GArray **ret_samples,
                      GError **error)
{
        AugurFake *f = ((Conn *) augur_hv_get_priv (hv))->f;
        g_autoptr(GArray) out = NULL;

        if (!call (f, AUGUR_FAKE_CALL_STATS, NULL, NULL, 0, 0, error))
                return FALSE;
        out = augur_collect_sample_array_new (f->guests->len);
        for (guint i = 0; i < f->guests->len; i++) {
                AugurFakeGuest *g = g_ptr_array_index (f->guests, i);
                const AugurDomainSample *src;
                AugurDomainSample s;

                if (g->removed)
                        continue;
                if (keep) {
                        g_autoptr(AugurHvGuest) h = handle_new (g);

                        if (!keep (h, keep_data))
                                continue;
                }
                /* Its stats were read: recorded per guest. */
                call (f, AUGUR_FAKE_CALL_GUEST_STATS, g, NULL, 0, 0, NULL);
                if (g->replay) {
                        src = replay_now (g);
                        if (!src)
                                continue;        /* not started yet */
                } else {
                        model_now (g);
                        src = &g->rec;
                }
                s = *src;
                s.name = g_strdup (g->name);
                g_strlcpy (s.uuid, g->uuid, sizeof s.uuid);
                g_array_append_val (out, s);
        }
        *ret_samples = g_steal_pointer (&out);
        return TRUE;
}

static GPtrArray *
fk_list_guests (AugurHv *hv, GError **error)
{
        AugurFake *f = ((Conn *) augur_hv_get_priv (hv))->f;
        GPtrArray *out;

        if (!call (f, AUGUR_FAKE_CALL_LIST, NULL, NULL, 0, 0, error))
                return NULL;
        out = g_ptr_array_new_with_free_func ((GDestroyNotify) augur_hv_guest_unref);
        for (guint i = 0; i < f->guests->len; i++) {
                AugurFakeGuest *g = g_ptr_array_index (f->guests, i);

                if (!g->removed)
                        g_ptr_array_add (out, handle_new (g));
        }
        return out;
}

static AugurHvGuest *
fk_lookup_guest (AugurHv *hv, const char *uuid, GError **error)
{
        AugurFake *f = ((Conn *) augur_hv_get_priv (hv))->f;
        AugurFakeGuest *g = guest_by_uuid (f, uuid);

        if (!call (f, AUGUR_FAKE_CALL_LOOKUP, g, uuid, 0, 0, error))
                return NULL;
        if (!g) {
                g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_NO_GUEST, "fake: no guest %s", uuid);
                return NULL;
        }
        return handle_new (g);
}

static void
fk_guest_free (gpointer priv)
{
        g_free (priv);
}

/* A call on a guest handle: recorded, and FALSE (with error) when it
 * fails.  *ret_g is the guest (NULL when it is gone). */
static gboolean
guest_call (AugurHvGuest *hg, AugurFakeCallKind kind, gint64 value, AugurHvVcpuMethod method,
            AugurFakeGuest **ret_g, GError **error)
{
        Handle *h = augur_hv_guest_get_priv (hg);
        AugurFakeGuest *g = guest_by_uuid (h->f, h->uuid);

        *ret_g = g;
        if (!call (h->f, kind, g, augur_hv_guest_get_name (hg), value, method, error))
                return FALSE;
        if (!g) {
                g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_NO_GUEST, "fake: guest %s is gone",
                             augur_hv_guest_get_name (hg));
                return FALSE;
        }
        return TRUE;
}

/* A refusal by the guest itself: the call is recorded as failed. */
static gboolean
refuse (AugurFakeGuest *g, GError **error, const char *why)
{
        annotate_last (g->f, TRUE, NULL);
        g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED, "fake: %s", why);
        return FALSE;
}

static char *
fk_read_metadata (AugurHvGuest *hg, const char *nsuri, GError **error)
{
        AugurFakeGuest *g;

        if (!guest_call (hg, AUGUR_FAKE_CALL_READ_METADATA, 0, 0, &g, error))
                return NULL;
        return g_strcmp0 (g->meta_nsuri, nsuri) == 0 ? g_strdup (g->meta_xml) : NULL;
}

static gboolean
fk_read_devices (AugurHvGuest *hg, AugurHvDevices *ret, GError **error)
{
        AugurFakeGuest *g;

        if (!guest_call (hg, AUGUR_FAKE_CALL_READ_DEVICES, 0, 0, &g, error))
                return FALSE;
        ret->balloon_autodeflate = g->autodeflate;
        ret->balloon_owner = g->balloon_owner;
        ret->activity_socket = NULL;
        return TRUE;
}

static gboolean
fk_set_stats_period (AugurHvGuest *hg, int period_s, GError **error)
{
        AugurFakeGuest *g;

        return guest_call (hg, AUGUR_FAKE_CALL_SET_STATS_PERIOD, period_s, 0, &g, error);
}

static gboolean
fk_set_agent_timeout (AugurHvGuest *hg, int timeout_s, GError **error)
{
        AugurFakeGuest *g;

        return guest_call (hg, AUGUR_FAKE_CALL_SET_AGENT_TIMEOUT, timeout_s, 0, &g, error);
}

static void
fk_probe_vcpus (AugurHvGuest *hg, AugurVcpuCaps *ret)
{
        AugurFakeGuest *g;
        const AugurDomainSample *s;

        ret->plugged = ret->online = ret->maximum = -1;
        ret->agent = FALSE;
        if (!guest_call (hg, AUGUR_FAKE_CALL_PROBE_VCPUS, 0, 0, &g, NULL))
                return;
        if (g->replay) {
                s = replay_now (g);
                if (!s)
                        return;
                ret->plugged = (int) field (s, AUGUR_STAT_VCPU_CURRENT);
                ret->maximum = (int) field (s, AUGUR_STAT_VCPU_MAXIMUM);
                ret->online = g->agent ? ret->plugged : -1;
        } else {
                ret->plugged = g->plugged;
                ret->maximum = g->vmax;
                ret->online = g->agent ? g->online : -1;
        }
        ret->agent = g->agent;
}

static gboolean
fk_set_balloon (AugurHvGuest *hg, guint64 target_kib, GError **error)
{
        AugurFakeGuest *g;

        if (!guest_call (hg, AUGUR_FAKE_CALL_SET_BALLOON, (gint64) target_kib, 0, &g, error))
                return FALSE;
        if (g->replay)
                return TRUE;                    /* open loop: recorded only */
        if (augur_sample_has (&g->rec, AUGUR_STAT_BALLOON_MAXIMUM_KIB) &&
            (gint64) target_kib > g->rec.v[AUGUR_STAT_BALLOON_MAXIMUM_KIB])
                return refuse (g, error, "cannot set memory higher than the maximum");
        g->pending_kib = (double) target_kib;
        g->pending_at_ms = g->f->now_ms + g->balloon_latency_ms;
        if (g->balloon_latency_ms <= 0)
                land (g->f, g);
        return TRUE;
}

static gboolean
fk_set_vcpus (AugurHvGuest *hg, int n, AugurHvVcpuMethod method, GError **error)
{
        AugurFakeGuest *g;

        if (!guest_call (hg, AUGUR_FAKE_CALL_SET_VCPUS, n, method, &g, error))
                return FALSE;
        if (g->replay)
                return TRUE;
        if (method == AUGUR_HV_VCPUS_AGENT) {
                if (!g->agent)
                        return refuse (g, error, "the guest agent is not connected");
                if (n > g->plugged)
                        return refuse (g, error, "more vCPUs online than plugged");
                g->online = n;
                return TRUE;
        }
        /* Live unplug is what augurd must never ask for (actuate.h). */
        if (n < g->plugged)
                return refuse (g, error, "live vCPU unplug");
        if (n > g->vmax)
                return refuse (g, error, "more vCPUs than the maximum");
        g->plugged = g->online = n;            /* the guest onlines them itself */
        return TRUE;
}

static gboolean
fk_agent_users (AugurHvGuest *hg, gint64 *ret_users, GError **error)
{
        AugurFakeGuest *g;

        if (!guest_call (hg, AUGUR_FAKE_CALL_AGENT_USERS, 0, 0, &g, error))
                return FALSE;
        if (!g->agent)
                return refuse (g, error, "the guest agent is not connected");
        *ret_users = 0;
        return TRUE;
}

void
augur_fake_guest_set_iotune (AugurFakeGuest *g, const char *disk, const AugurBlockIoTune *t)
{
        if (!g->iotune)
                g->iotune = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
        g_hash_table_replace (g->iotune, g_strdup (disk), g_memdup2 (t, sizeof *t));
}

gboolean
augur_fake_guest_iotune (const AugurFakeGuest *g, const char *disk, AugurBlockIoTune *ret)
{
        const AugurBlockIoTune *t = g->iotune ? g_hash_table_lookup (g->iotune, disk) : NULL;

        if (!t)
                return FALSE;
        *ret = *t;
        return TRUE;
}

static gboolean
fk_get_block_iotune (AugurHvGuest *hg, const char *disk, AugurBlockIoTune *ret, GError **error)
{
        AugurFakeGuest *g;

        if (!guest_call (hg, AUGUR_FAKE_CALL_GET_BLOCK_IOTUNE, 0, 0, &g, error))
                return FALSE;
        annotate_last (g->f, FALSE, disk);
        if (!augur_fake_guest_iotune (g, disk, ret))
                *ret = (AugurBlockIoTune) { 0 };
        return TRUE;
}

static gboolean
fk_set_block_iotune (AugurHvGuest *hg, const char *disk, const AugurBlockIoTune *t, GError **error)
{
        AugurFakeGuest *g;
        AugurBlockIoTune cur = { 0 };
        /* AugurBlockIoTune as its six limits, bytes then IOPS: the call's
         * value is the first one set, and the set merges the nonzero ones. */
        enum { N_LIMITS = sizeof (AugurBlockIoTune) / sizeof (guint64) };
        const guint64 *set = (const guint64 *) t;
        guint64 *now = (guint64 *) &cur;
        gint64 v = 0;

        G_STATIC_ASSERT (sizeof (AugurBlockIoTune) == 6 * sizeof (guint64));
        for (int i = 0; i < N_LIMITS && !v; i++)
                v = (gint64) set[i];

        if (!guest_call (hg, AUGUR_FAKE_CALL_SET_BLOCK_IOTUNE, v, 0, &g, error))
                return FALSE;
        annotate_last (g->f, FALSE, disk);
        augur_fake_guest_iotune (g, disk, &cur);
        for (int i = 0; i < N_LIMITS; i++)
                if (set[i])
                        now[i] = set[i];
        if (cur.total_bytes_sec && (cur.read_bytes_sec || cur.write_bytes_sec))
                return refuse (g, error, "total and read/write bytes limits cannot be set at the same time");
        if (cur.total_iops_sec && (cur.read_iops_sec || cur.write_iops_sec))
                return refuse (g, error, "total and read/write IOPS limits cannot be set at the same time");
        augur_fake_guest_set_iotune (g, disk, &cur);
        return TRUE;
}

void
augur_fake_guest_set_bandwidth (AugurFakeGuest *g, const char *iface, const AugurIfaceBandwidth *b)
{
        if (!g->bandwidth)
                g->bandwidth = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
        g_hash_table_replace (g->bandwidth, g_strdup (iface), g_memdup2 (b, sizeof *b));
}

gboolean
augur_fake_guest_bandwidth (const AugurFakeGuest *g, const char *iface, AugurIfaceBandwidth *ret)
{
        const AugurIfaceBandwidth *b = g->bandwidth ? g_hash_table_lookup (g->bandwidth, iface) : NULL;

        if (!b)
                return FALSE;
        *ret = *b;
        return TRUE;
}

/* Slot idx of a device array of n_max (disk[] or iface[]): name and the
 * first two counters, or an empty slot; *n is the slots in use. */
static void
set_dev (AugurDevCounters *devs, guint n_max, guint *n, guint idx, const char *name, gint64 v0, gint64 v1)
{
        AugurDevCounters *c;

        g_return_if_fail (idx < n_max);
        c = &devs[idx];
        *c = (AugurDevCounters) { 0 };
        if (name) {
                g_strlcpy (c->name, name, sizeof c->name);
                c->v[0] = v0;
                c->v[1] = v1;
                c->present = 1u << 0 | 1u << 1;
        }
        *n = 0;
        for (guint i = 0; i < n_max; i++)
                if (devs[i].name[0])
                        *n = i + 1;
}

void
augur_fake_guest_set_iface (AugurFakeGuest *g, guint idx, const char *name, gint64 rx_bytes, gint64 tx_bytes)
{
        G_STATIC_ASSERT (AUGUR_IFACE_RX_BYTES == 0 && AUGUR_IFACE_TX_BYTES == 1);
        set_dev (g->rec.iface, AUGUR_MAX_IFACES, &g->rec.n_ifaces, idx, name, rx_bytes, tx_bytes);
}

void
augur_fake_guest_set_disk (AugurFakeGuest *g, guint idx, const char *name, gint64 rd_bytes, gint64 wr_bytes)
{
        G_STATIC_ASSERT (AUGUR_DISK_RD_BYTES == 0 && AUGUR_DISK_WR_BYTES == 1);
        set_dev (g->rec.disk, AUGUR_MAX_DISKS, &g->rec.n_disks, idx, name, rd_bytes, wr_bytes);
}

void
augur_fake_guest_set_disk_reqs (AugurFakeGuest *g, guint idx, gint64 rd_reqs, gint64 wr_reqs)
{
        AugurDevCounters *c;

        g_return_if_fail (idx < AUGUR_MAX_DISKS && g->rec.disk[idx].name[0]);
        c = &g->rec.disk[idx];
        c->v[AUGUR_DISK_RD_REQS] = rd_reqs;
        c->v[AUGUR_DISK_WR_REQS] = wr_reqs;
        c->present |= 1u << AUGUR_DISK_RD_REQS | 1u << AUGUR_DISK_WR_REQS;
}

/* The interface is the guest's (its record names it): libvirt refuses an
 * interface it does not know. */
static gboolean
has_iface (const AugurFakeGuest *g, const char *iface)
{
        for (guint i = 0; i < g->rec.n_ifaces; i++)
                if (strcmp (g->rec.iface[i].name, iface) == 0)
                        return TRUE;
        return FALSE;
}

static gboolean
fk_get_iface_bandwidth (AugurHvGuest *hg, const char *iface, AugurIfaceBandwidth *ret, GError **error)
{
        AugurFakeGuest *g;

        if (!guest_call (hg, AUGUR_FAKE_CALL_GET_IFACE_BANDWIDTH, 0, 0, &g, error))
                return FALSE;
        annotate_last (g->f, FALSE, iface);
        if (!has_iface (g, iface))
                return refuse (g, error, "not a known interface");
        if (!augur_fake_guest_bandwidth (g, iface, ret))
                *ret = (AugurIfaceBandwidth) { 0 };
        return TRUE;
}

static gboolean
fk_set_iface_bandwidth (AugurHvGuest *hg, const char *iface, const AugurIfaceBandwidth *b, GError **error)
{
        AugurFakeGuest *g;
        AugurIfaceBandwidth cur = { 0 };
        gint64 v = b->inbound_kib_s ? b->inbound_kib_s : b->outbound_kib_s;

        if (!guest_call (hg, AUGUR_FAKE_CALL_SET_IFACE_BANDWIDTH, v, 0, &g, error))
                return FALSE;
        annotate_last (g->f, FALSE, iface);
        if (!has_iface (g, iface))
                return refuse (g, error, "not a known interface");
        augur_fake_guest_bandwidth (g, iface, &cur);
        if (b->inbound_kib_s)
                cur.inbound_kib_s = b->inbound_kib_s;
        if (b->outbound_kib_s)
                cur.outbound_kib_s = b->outbound_kib_s;
        augur_fake_guest_set_bandwidth (g, iface, &cur);
        return TRUE;
}

void
augur_fake_guest_set_cpu_shares (AugurFakeGuest *g, guint64 shares)
{
        g->cpu_shares = shares;
}

guint64
augur_fake_guest_cpu_shares (const AugurFakeGuest *g)
{
        return g->cpu_shares;
}

static gboolean
fk_get_cpu_shares (AugurHvGuest *hg, guint64 *ret_shares, GError **error)
{
        AugurFakeGuest *g;

        if (!guest_call (hg, AUGUR_FAKE_CALL_GET_CPU_SHARES, 0, 0, &g, error))
                return FALSE;
        if (!g->cpu_shares) {
                g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_UNSUPPORTED, "guest %s: no cpu_shares",
                             g->name);
                return FALSE;
        }
        *ret_shares = g->cpu_shares;
        return TRUE;
}

static gboolean
fk_set_cpu_shares (AugurHvGuest *hg, guint64 shares, GError **error)
{
        AugurFakeGuest *g;

        if (!guest_call (hg, AUGUR_FAKE_CALL_SET_CPU_SHARES, (gint64) shares, 0, &g, error))
                return FALSE;
        if (!g->cpu_shares)
                return refuse (g, error, "no cpu_shares");
        g->cpu_shares = shares;
        return TRUE;
}

static const AugurHvOps fake_ops = {
        .name = "fake",
        .close = fk_close,
        .is_alive = fk_is_alive,
        .guests_with_stats = fk_guests_with_stats,
        .list_guests = fk_list_guests,
        .lookup_guest = fk_lookup_guest,
        .guest_free = fk_guest_free,
        .read_metadata = fk_read_metadata,
        .read_devices = fk_read_devices,
        .set_stats_period = fk_set_stats_period,
        .set_agent_timeout = fk_set_agent_timeout,
        .probe_vcpus = fk_probe_vcpus,
        .set_balloon = fk_set_balloon,
        .set_vcpus = fk_set_vcpus,
        .agent_users = fk_agent_users,
        .get_block_iotune = fk_get_block_iotune,
        .set_block_iotune = fk_set_block_iotune,
        .get_iface_bandwidth = fk_get_iface_bandwidth,
        .set_iface_bandwidth = fk_set_iface_bandwidth,
        .get_cpu_shares = fk_get_cpu_shares,
        .set_cpu_shares = fk_set_cpu_shares,
};
