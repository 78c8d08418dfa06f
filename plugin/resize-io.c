/* resize-io.c — the I/O limit loop, disks and interfaces (see resize-io.h). */
#include "config.h"

#include "resize-io.h"
#include "augur-log.h"
#include "io-forecast.h"
#include "io-limit.h"
#include "store-decisions.h"

#include <math.h>
#include <string.h>

#define MIB 1048576.0

/* The two classes of device whose limits move.  Each has its kinds
 * (io-limit.h AugurIoKind, the ones whose net flag matches) and its byte
 * ceiling (AugurIoGuest ceiling_mib_s[]). */
static const struct {
        const char *noun;                    /* "disk", "interface"             */
} dev_class[AUGUR_IO_DEV_N] = {
        [AUGUR_IO_DEV_DISK] = { "disk" },
        [AUGUR_IO_DEV_IFACE] = { "interface" },
};

/* Per kind: the counters (AugurDevCounters.v bits) whose sum it limits;
 * the step its limit is kept in, its unit (libvirt keeps <iotune> in
 * bytes/s and IO/s, <bandwidth> in KiB/s, so a target is rounded down to
 * a whole step: a raise never passes the ceiling, and what is read back
 * is what augur set, no false yield); its AugurBlockIoTune field (a
 * disk's kinds); and whether it is forecast for every device, limit or
 * not (`virt-augur forecast`: a disk's read and write, bytes and
 * requests, an interface's rx and tx; a total is forecast only for a
 * limit on it, as the sum of those). */
static const struct {
        guint8 counters;
        double step;
        gsize tune_offset;
        gboolean shown;
} kind_io[AUGUR_IO_KIND_N] = {
        [AUGUR_IO_KIND_TOTAL] = { 1u << AUGUR_DISK_RD_BYTES | 1u << AUGUR_DISK_WR_BYTES, 1,
                                  G_STRUCT_OFFSET (AugurBlockIoTune, total_bytes_sec), FALSE },
        [AUGUR_IO_KIND_READ] = { 1u << AUGUR_DISK_RD_BYTES, 1, G_STRUCT_OFFSET (AugurBlockIoTune, read_bytes_sec), TRUE },
        [AUGUR_IO_KIND_WRITE] = { 1u << AUGUR_DISK_WR_BYTES, 1, G_STRUCT_OFFSET (AugurBlockIoTune, write_bytes_sec),
                                  TRUE },
        [AUGUR_IO_KIND_NET_IN] = { 1u << AUGUR_IFACE_RX_BYTES, 1024, 0, TRUE },
        [AUGUR_IO_KIND_NET_OUT] = { 1u << AUGUR_IFACE_TX_BYTES, 1024, 0, TRUE },
        [AUGUR_IO_KIND_TOTAL_IOPS] = { 1u << AUGUR_DISK_RD_REQS | 1u << AUGUR_DISK_WR_REQS, 1,
                                       G_STRUCT_OFFSET (AugurBlockIoTune, total_iops_sec), FALSE },
        [AUGUR_IO_KIND_READ_IOPS] = { 1u << AUGUR_DISK_RD_REQS, 1, G_STRUCT_OFFSET (AugurBlockIoTune, read_iops_sec),
                                      TRUE },
        [AUGUR_IO_KIND_WRITE_IOPS] = { 1u << AUGUR_DISK_WR_REQS, 1,
                                       G_STRUCT_OFFSET (AugurBlockIoTune, write_iops_sec), TRUE },
};

#define FOR_KINDS(k, cls)                                                                  \
        for (AugurIoKind k = 0; k < AUGUR_IO_KIND_N; k++)                                  \
                if (augur_io_kind_info[k].net == ((cls) == AUGUR_IO_DEV_IFACE))

typedef struct {
        char name[AUGUR_DISK_NAME_LEN];
        AugurIoDev cls;
        AugurDevCounters prev;
        gint64 prev_ms;
        gboolean have_prev;
        double prev_limit[AUGUR_IO_KIND_N];  /* in force over the last interval */
        gboolean limits_read;                /* prev_limit[] was read this tick */
        double rate[AUGUR_IO_KIND_N];        /* this tick's, NAN = unknown      */
        AugurIoForecast *fc[AUGUR_IO_KIND_N]; /* a shown kind's, else NULL
                                              * until the kind has a limit     */
        AugurIoLimitState st[AUGUR_IO_KIND_N];
        guint64 seen_tick;                   /* last tick it was in the stats   */
} IoDev;

typedef struct {
        char uuid[AUGUR_UUID_STRLEN];
        char *name;
        GHashTable *devs[AUGUR_IO_DEV_N];    /* name -> IoDev, per class        */
        gboolean unsupported_said[AUGUR_IO_DEV_N];
        gboolean failed_said;
} IoVm;

struct AugurResizeIo {
        GHashTable *vms;                     /* uuid -> IoVm                    */
        guint64 tick;
        guint lead_ticks;                    /* the forecasts' look-ahead       */
        double tick_s;                       /* [daemon] tick, s                */
};

/* One limit's plan of this tick, for the host budget and the apply. */
typedef struct {
        IoVm *vm;
        IoDev *d;
        AugurIoKind k;
        AugurMode mode;
        int priority;
        double limit_bps, rate_bps, upper_bps;
        AugurIoPlan plan;
} IoWork;

static void
io_dev_free (gpointer p)
{
        IoDev *d = p;

        for (int k = 0; k < AUGUR_IO_KIND_N; k++)
                augur_io_forecast_free (d->fc[k]);
        g_free (d);
}

static void
io_vm_free (gpointer p)
{
        IoVm *vm = p;

        for (int c = 0; c < AUGUR_IO_DEV_N; c++)
                g_hash_table_unref (vm->devs[c]);
        g_free (vm->name);
        g_free (vm);
}

AugurResizeIo *
augur_resize_io_new (void)
{
        AugurResizeIo *io = g_new0 (AugurResizeIo, 1);

        io->vms = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, io_vm_free);
        return io;
}

void
augur_resize_io_free (AugurResizeIo *io)
{
        if (!io)
                return;
        g_hash_table_unref (io->vms);
        g_free (io);
}

void
augur_resize_io_forget (AugurResizeIo *io, const char *uuid)
{
        g_hash_table_remove (io->vms, uuid);
}

static gboolean
holds_raise (IoVm *vm, AugurIoDev cls)
{
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init (&it, vm->devs[cls]);
        while (g_hash_table_iter_next (&it, NULL, &v))
                FOR_KINDS (k, cls)
                        if (((IoDev *) v)->st[k].set_bps > 0)
                                return TRUE;
        return FALSE;
}

/* The limits in force on device name of class cls, bytes/s (0 = none),
 * into limit[] at the class's kinds. */
static gboolean
read_limits (AugurHvGuest *g, AugurIoDev cls, const char *name, double *limit, GError **error)
{
        AugurBlockIoTune t = { 0 };
        AugurIfaceBandwidth b = { 0 };

        if (cls == AUGUR_IO_DEV_DISK) {
                if (!augur_hv_guest_get_block_iotune (g, name, &t, error))
                        return FALSE;
                FOR_KINDS (k, cls)
                        limit[k] = (double) G_STRUCT_MEMBER (guint64, &t, kind_io[k].tune_offset);
                return TRUE;
        }
        if (!augur_hv_guest_get_iface_bandwidth (g, name, &b, error))
                return FALSE;
        limit[AUGUR_IO_KIND_NET_IN] = (double) b.inbound_kib_s * kind_io[AUGUR_IO_KIND_NET_IN].step;
        limit[AUGUR_IO_KIND_NET_OUT] = (double) b.outbound_kib_s * kind_io[AUGUR_IO_KIND_NET_OUT].step;
        return TRUE;
}

/* Set the one limit of kind k on device name to to_bps (a whole step). */
static gboolean
write_limit (AugurHvGuest *g, AugurIoDev cls, const char *name, AugurIoKind k, double to_bps, GError **error)
{
        AugurBlockIoTune t = { 0 };
        AugurIfaceBandwidth b = { 0 };
        guint64 v = (guint64) (to_bps / kind_io[k].step);

        if (cls == AUGUR_IO_DEV_DISK) {
                G_STRUCT_MEMBER (guint64, &t, kind_io[k].tune_offset) = v;
                return augur_hv_guest_set_block_iotune (g, name, &t, error);
        }
        if (k == AUGUR_IO_KIND_NET_IN)
                b.inbound_kib_s = v;
        else
                b.outbound_kib_s = v;
        return augur_hv_guest_set_iface_bandwidth (g, name, &b, error);
}

/* The rate a limit of kind k limits, from two readings of the device:
 * the sum of its counters, NAN when one is missing or absurd (above
 * AUGUR_IO_MAX_BPS, or AUGUR_IO_MAX_IOPS for an IOPS kind). */
static double
rate_of (const AugurDevCounters *prev, const AugurDevCounters *cur, double dt_s, AugurIoKind k)
{
        double sum = 0, max = augur_io_kind_is_iops (k) ? AUGUR_IO_MAX_IOPS : AUGUR_IO_MAX_BPS;

        for (int c = 0; c < AUGUR_DISK_N; c++) {
                if (!(kind_io[k].counters & (1u << c)))
                        continue;
                if (!(prev->present & cur->present & (1u << c)))
                        return NAN;
                sum += augur_io_rate (prev->v[c], cur->v[c], dt_s, max);
        }
        return sum;
}

/* The forecast's look-ahead, ticks: the lead margin plus one tick (the
 * limit is set at the tick, the burst may start right after it). */
static guint
lead_ticks (const AugurConfig *config)
{
        double h = ceil ((config->lead_margin_s + config->tick_s) / config->tick_s);

        return (guint) CLAMP (h, 1, AUGUR_IO_FORECAST_MAX_H);
}

static IoVm *
get_vm (AugurResizeIo *io, const AugurDomainSample *s)
{
        IoVm *vm = g_hash_table_lookup (io->vms, s->uuid);

        if (!vm) {
                vm = g_new0 (IoVm, 1);
                g_strlcpy (vm->uuid, s->uuid, sizeof vm->uuid);
                for (int c = 0; c < AUGUR_IO_DEV_N; c++)
                        vm->devs[c] = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, io_dev_free);
                g_hash_table_insert (io->vms, vm->uuid, vm);
        }
        if (g_strcmp0 (vm->name, s->name) != 0) {
                g_free (vm->name);
                vm->name = g_strdup (s->name);
        }
        return vm;
}

/* Devices of vm's class cls not in this tick's stats: gone (hot-unplug).
 * Said once, when augur held a raise on it; nothing to give back. */
static void
drop_vanished (AugurResizeIo *io, IoVm *vm, AugurIoDev cls)
{
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init (&it, vm->devs[cls]);
        while (g_hash_table_iter_next (&it, NULL, &v)) {
                IoDev *d = v;

                if (d->seen_tick == io->tick)
                        continue;
                FOR_KINDS (k, cls) {
                        g_autofree char *held = NULL;

                        if (d->st[k].set_bps <= 0)
                                continue;
                        held = augur_io_kind_format (k, d->st[k].set_bps, TRUE);
                        augur_log (G_LOG_LEVEL_MESSAGE, vm->name, "io-vanished", "vanished",
                                   d->st[k].set_bps, NAN,
                                   "guest %s: %s %s is gone (hot-unplug?) while augur held its %s "
                                   "at %s; forgetting it", vm->name, dev_class[cls].noun, d->name,
                                   augur_io_kind_info[k].words, held);
                }
                g_hash_table_iter_remove (&it);
        }
}

/* The guest no longer consents to limits of class cls (no ceiling, no
 * raise held): its devices keep their forecasts, but no limit state (a
 * later consent starts from the admin's value as read then). */
static void
forget_limits (IoVm *vm, AugurIoDev cls)
{
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init (&it, vm->devs[cls]);
        while (g_hash_table_iter_next (&it, NULL, &v)) {
                IoDev *d = v;

                FOR_KINDS (k, cls) {
                        augur_io_limit_state_init (&d->st[k]);
                        d->prev_limit[k] = 0;
                        if (!kind_io[k].shown)
                                g_clear_pointer (&d->fc[k], augur_io_forecast_free);
                }
                d->limits_read = FALSE;
        }
        vm->unsupported_said[cls] = FALSE;
}

/* The ceiling of kind k for guest gi, in the kind's unit; NAN = none. */
static double
kind_ceiling (const AugurIoGuest *gi, AugurIoKind k)
{
        double c;

        if (augur_io_kind_is_iops (k))
                return gi->ceiling_iops > 0 ? gi->ceiling_iops : NAN;
        c = gi->ceiling_mib_s[augur_io_kind_info[k].net ? AUGUR_IO_DEV_IFACE : AUGUR_IO_DEV_DISK];
        return !isnan (c) && c > 0 ? c * MIB : NAN;
}

/* Has guest gi consented to raises of class cls (a ceiling of one of its
 * kinds)? */
static gboolean
has_ceiling (const AugurIoGuest *gi, AugurIoDev cls)
{
        FOR_KINDS (k, cls)
                if (!isnan (kind_ceiling (gi, k)))
                        return TRUE;
        return FALSE;
}

/* One device: its rates and forecasts (every device of every guest), and
 * when g is not NULL (the guest consented to this class) its limits and
 * plans into work.  FALSE when the backend cannot do this class at all
 * (said once); the device is still forecast. */
static gboolean
plan_device (AugurResizeIo *io, IoVm *vm, AugurHvGuest *g, const AugurConfig *config, const AugurIoGuest *gi,
             AugurIoDev cls, const AugurDevCounters *c, gint64 now_ms, GArray *work)
{
        g_autoptr(GError) error = NULL;
        double limits[AUGUR_IO_KIND_N] = { 0 };
        gboolean have_limits = FALSE, supported = TRUE;
        AugurIoPlanConfig pc;
        guint h = lead_ticks (config);
        IoDev *d;
        double dt_s;

        if (g && read_limits (g, cls, c->name, limits, &error)) {
                have_limits = TRUE;
                vm->failed_said = FALSE;
        } else if (g && g_error_matches (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_UNSUPPORTED)) {
                augur_log (G_LOG_LEVEL_MESSAGE, vm->name, "io-unsupported", NULL, NAN, NAN,
                           "guest %s: %s; its %s limits stay as they are", vm->name, error->message,
                           dev_class[cls].noun);
                vm->unsupported_said[cls] = TRUE;
                supported = FALSE;
        } else if (g) {
                if (!vm->failed_said)
                        g_warning ("guest %s: reading %s %s's limits failed: %s, ignoring", vm->name,
                                   dev_class[cls].noun, c->name, error->message);
                vm->failed_said = TRUE;
        }
        augur_io_plan_config_init (&pc);
        d = g_hash_table_lookup (vm->devs[cls], c->name);
        if (!d) {
                d = g_new0 (IoDev, 1);
                g_strlcpy (d->name, c->name, sizeof d->name);
                d->cls = cls;
                for (int k = 0; k < AUGUR_IO_KIND_N; k++)
                        augur_io_limit_state_init (&d->st[k]);
                g_hash_table_insert (vm->devs[cls], d->name, d);
        }
        d->seen_tick = io->tick;
        d->limits_read = have_limits;
        dt_s = d->have_prev ? (now_ms - d->prev_ms) / 1000.0 : 0;
        FOR_KINDS (k, cls) {
                double limit = limits[k];
                double rate = d->have_prev ? rate_of (&d->prev, c, dt_s, k) : NAN;
                double in_force = d->have_prev && d->prev_limit[k] > 0 ? d->prev_limit[k] : limit;
                double ceiling = kind_ceiling (gi, k);
                gboolean plans = have_limits && (limit > 0 || d->st[k].seen);
                IoWork w = { .vm = vm, .d = d, .k = k, .mode = gi->mode, .priority = gi->priority,
                             .limit_bps = limit, .rate_bps = rate, .upper_bps = NAN };
                AugurIoLimitInput in = { .limit_bps = limit, .rate_bps = rate, .upper_bps = NAN,
                                         .ceiling_bps = ceiling };
                double p50, up;
                gboolean cens = FALSE;

                d->rate[k] = rate;
                if (!plans && !kind_io[k].shown)
                        continue;       /* no limit of this kind: never one */
                if (!d->fc[k]) {
                        AugurIoForecastConfig fcc;

                        augur_io_forecast_config_init (&fcc);
                        if (augur_io_kind_is_iops (k))
                                fcc.detect_scale = AUGUR_IO_DETECT_SCALE_IOPS;
                        d->fc[k] = augur_io_forecast_new (&fcc);
                }
                if (d->have_prev)
                        augur_io_forecast_push (d->fc[k], rate,
                                                have_limits && in_force > 0 &&
                                                        rate >= AUGUR_IO_AT_LIMIT_FRAC * in_force,
                                                (guint) MAX (1, lround (dt_s / config->tick_s)));
                d->prev_limit[k] = have_limits ? limit : 0;
                if (!plans)
                        continue;
                if (augur_io_forecast_upper (d->fc[k], h, &p50, &up, &cens)) {
                        in.upper_bps = up;
                        in.censored = cens;
                        w.upper_bps = up;
                }
                augur_io_plan (&in, &pc, &d->st[k], now_ms / 1000.0, &w.plan);
                d->st[k] = w.plan.state;
                g_array_append_val (work, w);
        }
        d->prev = *c;
        d->prev_ms = now_ms;
        d->have_prev = TRUE;
        return supported;
}

/* One guest: every device forecast; per class of device it opted in for
 * (a ceiling, or a raise still held), the devices' limits read and
 * planned; plans into work. */
static void
plan_guest (AugurResizeIo *io, AugurHv *hv, const AugurConfig *config, const AugurIoGuest *gi,
            gint64 now_ms, GArray *work)
{
        const AugurDomainSample *s = gi->s;
        IoVm *vm = get_vm (io, s);
        g_autoptr(AugurHvGuest) g = NULL;
        const AugurDevCounters *devs[AUGUR_IO_DEV_N] = { s->disk, s->iface };
        const guint n_devs[AUGUR_IO_DEV_N] = { s->n_disks, s->n_ifaces };

        for (int c = 0; c < AUGUR_IO_DEV_N; c++) {
                gboolean want = has_ceiling (gi, c) || holds_raise (vm, c);
                gboolean read = want && gi->mode != AUGUR_MODE_OBSERVE;

                if (!want)
                        forget_limits (vm, c);  /* not opted in: no limit state, no calls */
                if (read && vm->unsupported_said[c])
                        read = FALSE;
                if (read && !g && !(g = augur_hv_lookup_guest (hv, vm->uuid, NULL)))
                        read = FALSE;
                for (guint i = 0; i < n_devs[c]; i++)
                        if (devs[c][i].name[0] &&
                            !plan_device (io, vm, read ? g : NULL, config, gi, c, &devs[c][i], now_ms, work))
                                read = FALSE;
                drop_vanished (io, vm, c);
        }
}

static void
apply (AugurHv *hv, AugurStore *store, IoWork *w, gint64 now_ms)
{
        IoVm *vm = w->vm;
        IoDev *d = w->d;
        AugurIoPlan *p = &w->plan;
        double step = kind_io[w->k].step;
        double to = floor (p->target_bps / step) * step;
        const char *noun = dev_class[d->cls].noun, *words = augur_io_kind_info[w->k].words;
        const char *kind = augur_io_kind_info[w->k].name;
        g_autoptr(AugurHvGuest) g = NULL;
        g_autoptr(GError) error = NULL;
        const char *reason = augur_io_reason_name (p->reason);
        g_autofree char *from_s = augur_io_kind_format (w->k, w->limit_bps, FALSE);
        g_autofree char *to_s = augur_io_kind_format (w->k, to, TRUE);
        const char *unit = augur_io_kind_info[w->k].shown_unit;

        if (p->yielded) {
                g_autofree char *now_s = augur_io_kind_format (w->k, w->limit_bps, TRUE);

                /* Rule 1: once per change (the plan fires once). */
                augur_log (G_LOG_LEVEL_MESSAGE, vm->name, "io-yield", reason, NAN, w->limit_bps,
                           "guest %s: %s %s's %s was changed to %s by someone else; augur keeps "
                           "it as the floor and does not set its own value back", vm->name, noun, d->name,
                           words, now_s);
                if (store)
                        augur_store_write_io_actuation (store, now_ms, vm->uuid, vm->name, kind, d->name,
                                                        NAN, w->limit_bps, reason, NULL);
                return;
        }
        if (!augur_io_plan_moves (p))
                return;
        if (fabs (to - w->limit_bps) < step)
                return;
        if (w->mode != AUGUR_MODE_ACT) {
                g_debug ("guest %s: %s %s %s %s -> %s recommended (%s, %s mode)", vm->name, noun,
                         d->name, words, from_s, to_s, reason, augur_mode_to_string (w->mode));
                return;
        }
        g = augur_hv_lookup_guest (hv, vm->uuid, NULL);
        if (!g || !write_limit (g, d->cls, d->name, w->k, to, &error)) {
                g_warning ("guest %s: %s %s %s %s -> %s failed: %s, ignoring", vm->name, noun, d->name,
                           words, from_s, to_s, error ? error->message : "guest gone");
                return;
        }
        augur_io_limit_applied (&d->st[w->k], to, now_ms / 1000.0);
        d->prev_limit[w->k] = to;
        {
                g_autofree char *rate_s = augur_io_kind_format (w->k, w->rate_bps, FALSE);
                g_autofree char *up_s = augur_io_kind_format (w->k, w->upper_bps, FALSE);
                g_autofree char *floor_s = augur_io_kind_format (w->k, d->st[w->k].floor_bps, FALSE);

                augur_log (G_LOG_LEVEL_MESSAGE, vm->name, kind, reason, w->limit_bps, to,
                           "guest %s: %s %s %s %s -> %s (%s%s; rate %s %s, forecast upper %s %s, "
                           "admin's %s %s)", vm->name, noun, d->name, words, from_s, to_s, reason,
                           p->veto == AUGUR_IO_VETO_BUDGET ? ", cut by the host budget" : "", rate_s, unit,
                           up_s, unit, floor_s, unit);
        }
        if (store)
                augur_store_write_io_actuation (store, now_ms, vm->uuid, vm->name, kind, d->name,
                                                w->limit_bps, to, reason, NULL);
}

void
augur_resize_io_tick (AugurResizeIo *io, AugurHv *hv, AugurStore *store, AugurMetrics *metrics,
                      const AugurConfig *config, const AugurIoGuest *guests, gsize n, gint64 now_ms)
{
        g_autoptr(GArray) work = g_array_new (FALSE, TRUE, sizeof (IoWork));
        g_autofree AugurIoPlan *plans = NULL;
        g_autofree int *prio = NULL;
        gsize n_bytes = 0;

        io->tick++;
        io->lead_ticks = lead_ticks (config);
        io->tick_s = config->tick_s;
        for (gsize i = 0; i < n; i++) {
                plan_guest (io, hv, config, &guests[i], now_ms, work);
                if (metrics)
                        augur_metrics_clear_io (metrics, guests[i].s->uuid);
        }
        for (guint i = 0; metrics && i < work->len; i++) {
                const IoWork *w = &g_array_index (work, IoWork, i);

                augur_metrics_set_io (metrics, w->vm->uuid, w->vm->name, w->d->name, augur_io_kind_info[w->k].name,
                                      w->limit_bps, w->plan.state.floor_bps, w->upper_bps);
        }
        if (work->len == 0)
                return;
        /* The host budget over every byte limit that plans (io-limit.h;
         * the IOPS limits are bounded by their guest's io_max_iops only). */
        plans = g_new (AugurIoPlan, work->len);
        prio = g_new (int, work->len);
        for (guint i = 0; i < work->len; i++) {
                IoWork *w = &g_array_index (work, IoWork, i);

                if (augur_io_kind_is_iops (w->k))
                        continue;
                plans[n_bytes] = w->plan;
                prio[n_bytes++] = w->priority;
        }
        augur_io_arbitrate (plans, prio, n_bytes, config->io_budget_mib_s * MIB);
        for (guint i = 0, j = 0; i < work->len; i++) {
                IoWork *w = &g_array_index (work, IoWork, i);

                if (!augur_io_kind_is_iops (w->k))
                        w->plan = plans[j++];
                apply (hv, store, w, now_ms);
        }
}

static gint
row_cmp (gconstpointer a, gconstpointer b)
{
        const AugurIoForecastRow *x = a, *y = b;
        int c = strcmp (x->device, y->device);

        if (x->cls != y->cls)
                return x->cls < y->cls ? -1 : 1;
        if (c != 0)
                return c;
        return x->kind < y->kind ? -1 : x->kind > y->kind;
}

GArray *
augur_resize_io_forecasts (const AugurResizeIo *io, const char *uuid, double *ret_lead_s, double *ret_tick_s)
{
        GArray *out = g_array_new (FALSE, TRUE, sizeof (AugurIoForecastRow));
        IoVm *vm = g_hash_table_lookup (io->vms, uuid);

        *ret_lead_s = io->lead_ticks * io->tick_s;
        *ret_tick_s = io->tick_s;
        for (int c = 0; vm && c < AUGUR_IO_DEV_N; c++) {
                GHashTableIter it;
                gpointer v;

                g_hash_table_iter_init (&it, vm->devs[c]);
                while (g_hash_table_iter_next (&it, NULL, &v)) {
                        const IoDev *d = v;

                        FOR_KINDS (k, c) {
                                AugurIoForecastRow r = { .cls = c, .kind = k, .rate = d->rate[k], .p50 = NAN,
                                                         .upper = NAN, .source = AUGUR_IO_SOURCE_N,
                                                         .limit = d->limits_read ? d->prev_limit[k] : NAN };
                                AugurIoSource src = AUGUR_IO_SOURCE_N;

                                if (!d->fc[k])
                                        continue;
                                g_strlcpy (r.device, d->name, sizeof r.device);
                                r.period_ticks = augur_io_forecast_period (d->fc[k]);
                                if (augur_io_forecast_champion (d->fc[k], MAX (io->lead_ticks, 1), &r.p50, &r.upper,
                                                                &r.censored, &src))
                                        r.source = src;
                                g_array_append_val (out, r);
                        }
                }
        }
        g_array_sort (out, row_cmp);
        return out;
}
