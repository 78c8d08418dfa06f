/* resize.c — forecast → plan → arbitrate → actuate → audit.  See resize.h.
 *
 * A balloon that something else moves (MoM, pvestatd, an admin's `virsh
 * setmem`) is judged in resize-controller.c (SECOND CONTROLLER, the rule
 * and why); a guest it holds is planned, arbitrated and actuated here as
 * holding what it has.
 */
#include "config.h"

#include "resize.h"
#include "resize-private.h"
#include "resize-io.h"
#include "actuate.h"
#include "augur-log.h"
#include "host-plan.h"
#include "mem-guard.h"
#include "metrics.h"
#include "store-decisions.h"
#include "vm.h"

#include <math.h>
#include <string.h>

/* Guest-agent calls block the loop for at most this, s. */
#define AGENT_TIMEOUT_S 1
/* vCPU capabilities (an agent round trip) are re-probed at most this often. */
#define VCPU_PROBE_PERIOD_MS 5000
/* Samples a VM must show after start or reconnect before any action:
 * two, so that rates (and so CPU demand) exist. */
#define FRESH_SAMPLES_NEEDED 2
/* Latency EWMA weight of a new measurement, and the start value, s. */
#define LATENCY_ALPHA 0.3
#define LATENCY_INITIAL_S 2.0
/* Pressure: a major-fault rate above this (faults/s) is pressure. */
#define PRESSURE_MAJOR_FAULTS_PER_S 100.0
/* Pressure: usable memory below this fraction of the balloon is pressure. */
#define PRESSURE_USABLE_FRAC 0.03
/* A balloon lands within this after a new target on a loaded TCG guest, ms. */
#define SETTLE_MS 10000
/* The balloon's page, KiB (virtio-balloon works in 4 KiB pages). */
#define BALLOON_PAGE_KIB 4.0
/* A change smaller than this is not worth an actuation, KiB. */
#define MIN_CHANGE_KIB 1024.0
/* The newest forecast of a VM (for `virt-augur forecast`, shown with its
 * time) is stored once per this period, ms.  Stored every tick it was the
 * largest write of a tick (BENCHMARKS-replay.md, "3. Tick path"); the
 * audit row of every tick still carries the forecast's maximum over the
 * lead window. */
#define AUGUR_RESIZE_FORECAST_PERIOD_MS 60000

/* Every horizon of a forecast fits the forecasts table. */
G_STATIC_ASSERT (AUGUR_POLICY_MAX_H <= AUGUR_STORE_FORECAST_MAX_H);

static void
resize_vm_free (gpointer p)
{
        ResizeVm *vm = p;

        g_free (vm->name);
        g_free (vm->meta_warning);
        augur_domain_sample_clear (&vm->prev);
        g_free (vm);
}

AugurResize *
augur_resize_new (const AugurForecastHooks *hooks)
{
        AugurResize *r = g_new0 (AugurResize, 1);

        if (hooks)
                r->hooks = *hooks;
        r->vms = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, resize_vm_free);
        r->io = augur_resize_io_new ();
        r->cpu = augur_resize_cpu_new ();
        return r;
}

void
augur_resize_free (AugurResize *r)
{
        if (!r)
                return;
        g_hash_table_unref (r->vms);
        augur_resize_io_free (r->io);
        augur_resize_cpu_free (r->cpu);
        g_free (r);
}

static ResizeVm *
get_vm (AugurResize *r, const AugurDomainSample *s, gint64 now_ms)
{
        ResizeVm *vm = g_hash_table_lookup (r->vms, s->uuid);

        if (!vm) {
                vm = g_new0 (ResizeVm, 1);
                g_strlcpy (vm->uuid, s->uuid, sizeof vm->uuid);
                augur_vm_policy_init (&vm->meta);
                augur_policy_state_init (&vm->pstate);
                augur_guard_init (&vm->guard);
                vm->set_target_kib = vm->set_target_prev_kib = NAN;
                vm->way_lo_kib = vm->way_hi_kib = vm->foreign_kib = vm->cur_seen_kib = NAN;
                vm->overhead_kib = NAN;
                vm->alloc_seen_kib = NAN;
                vm->mem_latency_s = LATENCY_INITIAL_S;
                vm->vcpu_latency_s = LATENCY_INITIAL_S;
                vm->caps.plugged = vm->caps.online = vm->caps.maximum = -1;
                vm->last_update_seen_ms = now_ms;
                g_hash_table_insert (r->vms, vm->uuid, vm);
        }
        if (g_strcmp0 (vm->name, s->name) != 0) {
                g_free (vm->name);
                vm->name = g_strdup (s->name);
        }
        return vm;
}

/* The per-VM policy and whether the balloon deflates on its own under
 * pressure: read at start and on METADATA_CHANGE / reconnect, not per
 * tick.  Without autodeflate a balloon that rises above augur's target
 * was moved by someone else (an admin's setmem, MoM, pvestatd), not by
 * the guest.  Either read failing leaves the defaults (no metadata: no
 * per-VM policy). */
static void
load_metadata (ResizeVm *vm, AugurHvGuest *g)
{
        g_autofree char *xml = augur_hv_guest_read_metadata (g, AUGUR_POLICY_NS_URI, NULL);
        g_autofree char *warn = NULL;
        AugurHvDevices dev = { 0 };

        vm->meta_loaded = TRUE;
        if (augur_hv_guest_read_devices (g, &dev, NULL)) {
                vm->autodeflate = dev.balloon_autodeflate;
                if (dev.balloon_owner && dev.balloon_owner != vm->balloon_owner)
                        augur_log (G_LOG_LEVEL_MESSAGE, vm->name, "balloon-owner", NULL, NAN, NAN,
                                   "guest %s: its balloon is moved by %s: augur leaves it alone "
                                   "(its vCPUs and disk limits stay augur's)", vm->name, dev.balloon_owner);
                else if (!dev.balloon_owner && vm->balloon_owner)
                        augur_log (G_LOG_LEVEL_MESSAGE, vm->name, "balloon-owner", NULL, NAN, NAN,
                                   "guest %s: its balloon is augur's again", vm->name);
                vm->balloon_owner = dev.balloon_owner;
        } else {
                vm->autodeflate = FALSE;
        }
        augur_hv_devices_clear (&dev);
        if (!xml) {
                augur_vm_policy_init (&vm->meta);
                return;
        }
        augur_vm_policy_parse (xml, &vm->meta, &warn);
        if (warn && g_strcmp0 (warn, vm->meta_warning) != 0) {
                g_warning ("guest %s: per-VM policy metadata: %s; using defaults for those keys, ignoring",
                           vm->name, warn);
                g_free (vm->meta_warning);
                vm->meta_warning = g_steal_pointer (&warn);
        }
}

static AugurMode
effective_mode (AugurResize *r, const ResizeVm *vm, const AugurConfig *config)
{
        AugurMode m = vm->meta.mode_set ? vm->meta.mode : config->mode;

        if (m != AUGUR_MODE_AUTO)
                return m;
        if (r->hooks.model_trusted && r->hooks.model_trusted (r->hooks.ctx, vm->uuid))
                return AUGUR_MODE_ACT;
        return AUGUR_MODE_RECOMMEND;
}

/* A count libvirt reported, or -1 (a NAN cast to int is undefined: it
 * came out as 0, and explain said "0 vCPUs online"). */
static int
gauge_count (const AugurDomainSample *s, AugurStat f)
{
        return augur_sample_has (s, f) ? (int) s->v[f] : -1;
}

/* Three stats periods (or ticks, when those are longer), ms: a guest that
 * has sent no memory stats for this long since augurd first saw it has no
 * balloon driver or stats (note_no_stats). */
static gint64
three_periods_ms (const AugurConfig *config)
{
        return (gint64) (MAX (3.0 * config->balloon_period_s, 3.0 * config->tick_s) * 1000);
}

/* Memory stats older than this are stale, ms: three periods, and never
 * less than STALE_AFTER_MIN_S.  The floor: with the shipped 1 s stats
 * period a guest whose vCPU is starved for three seconds (a TCG guest
 * beside two others on a 2-core CI host) missed its reports now and then,
 * each stale tick reset the 60 s shrink evidence, and an idle oversized
 * guest was never shrunk (integration/host-plan.sh, 1 run in 6).  Stats
 * 10 s old are fresh enough for a decision that needs 60 s of evidence; a
 * guest whose stats stop is still never shrunk 10 s later. */
#define STALE_AFTER_MIN_S 10.0
static gint64
stale_after_ms (const AugurConfig *config)
{
        return MAX ((gint64) (STALE_AFTER_MIN_S * 1000), three_periods_ms (config));
}

/* What the policy sees, with staleness and pressure judged here. */
static void
build_input (ResizeVm *vm, const AugurDomainSample *s, const AugurDerived *d,
             const AugurConfig *config, double dt_s, gint64 now_ms, AugurPolicyInput *in)
{
        double maxmem = gauge (s, AUGUR_STAT_BALLOON_MAXIMUM_KIB);
        double usable = gauge (s, AUGUR_STAT_BALLOON_USABLE_KIB);
        double alloc = gauge (s, AUGUR_STAT_BALLOON_CURRENT_KIB);
        int vmax;

        double avail = gauge (s, AUGUR_STAT_BALLOON_AVAILABLE_KIB);
        double overhead = 0;
        gint64 settle_ms;

        memset (in, 0, sizeof *in);
        /* Used in balloon terms (units.h). */
        overhead = augur_units_reservation_kib (alloc, avail, maxmem);
        /* While the balloon moves, balloon.current (QEMU's) runs ahead of
         * the guest's MemTotal (its last stats report), and their
         * difference swings by the size of the move: used read then
         * jumped 182 -> 684 -> 226 MiB in three ticks on a real guest,
         * and a floor built on it broke the host budget.  The reservation
         * is a property of the guest kernel: measure it only when the
         * balloon has held still for three stats periods, and use the
         * last such value in between. */
        if (alloc != vm->alloc_seen_kib) {
                if (!(alloc > vm->alloc_seen_kib))
                        vm->inflate_since_ms = now_ms;
                vm->alloc_seen_kib = alloc;
                vm->alloc_since_ms = now_ms;
        }
        settle_ms = (gint64) (2000 * MAX (config->balloon_period_s, config->tick_s));
        /* While the balloon inflates the guest's driver holds pages it has
         * not yet handed over: used swings up by them (90 -> 125 -> 89 MiB
         * in a real run).  The memory guard skips those ticks. */
        vm->balloon_still = !isnan (alloc) && now_ms - vm->inflate_since_ms >= settle_ms;
        if (!isnan (overhead) && now_ms - vm->alloc_since_ms >= settle_ms)
                vm->overhead_kib = overhead;
        else if (!isnan (vm->overhead_kib))
                overhead = vm->overhead_kib;
        /* NAN: the balloon moves and no still reading yet: used unknown,
         * which the policy treats as stale (no shrink). */
        in->mem_used_kib = d->mem_used_kib + overhead;
        in->mem_alloc_kib = alloc;
        in->mem_max_kib = maxmem;
        if (!isnan (vm->meta.mem_max_kib))
                in->mem_max_kib = isnan (maxmem) ? vm->meta.mem_max_kib : MIN (maxmem, vm->meta.mem_max_kib);
        in->mem_min_kib = vm->meta.mem_min_kib;

        if (augur_sample_has (s, AUGUR_STAT_BALLOON_LAST_UPDATE_S) &&
            s->v[AUGUR_STAT_BALLOON_LAST_UPDATE_S] != vm->last_update_value) {
                vm->last_update_value = s->v[AUGUR_STAT_BALLOON_LAST_UPDATE_S];
                vm->last_update_seen_ms = now_ms;
        }
        in->mem_stats_fresh = vm->fresh_samples >= FRESH_SAMPLES_NEEDED &&
                              !isnan (d->mem_used_kib) && !isnan (alloc) &&
                              augur_sample_has (s, AUGUR_STAT_BALLOON_LAST_UPDATE_S) &&
                              now_ms - vm->last_update_seen_ms <= stale_after_ms (config);

        if (vm->have_prev && dt_s > 0) {
                if (augur_sample_has (s, AUGUR_STAT_BALLOON_SWAP_IN_KIB) &&
                    augur_sample_has (&vm->prev, AUGUR_STAT_BALLOON_SWAP_IN_KIB) &&
                    s->v[AUGUR_STAT_BALLOON_SWAP_IN_KIB] > vm->prev.v[AUGUR_STAT_BALLOON_SWAP_IN_KIB])
                        in->mem_pressure = TRUE;
                if (augur_sample_has (s, AUGUR_STAT_BALLOON_MAJOR_FAULT) &&
                    augur_sample_has (&vm->prev, AUGUR_STAT_BALLOON_MAJOR_FAULT) &&
                    (s->v[AUGUR_STAT_BALLOON_MAJOR_FAULT] - vm->prev.v[AUGUR_STAT_BALLOON_MAJOR_FAULT]) / dt_s >
                    PRESSURE_MAJOR_FAULTS_PER_S)
                        in->mem_pressure = TRUE;
        }
        if (!isnan (usable) && !isnan (alloc) && usable < PRESSURE_USABLE_FRAC * alloc)
                in->mem_pressure = TRUE;

        in->cpu_cores_used = d->cpu_cores_used;
        in->vcpus_online = vm->caps.online > 0 ? vm->caps.online : gauge_count (s, AUGUR_STAT_VCPU_CURRENT);
        vmax = vm->caps.maximum > 0 ? vm->caps.maximum : gauge_count (s, AUGUR_STAT_VCPU_MAXIMUM);
        in->vcpus_max = vm->meta.vcpus_max > 0 ? MIN (vm->meta.vcpus_max, vmax) : vmax;
        in->vcpus_min = vm->meta.vcpus_min > 0 ? vm->meta.vcpus_min : 1;
        in->can_offline_vcpus = vm->caps.agent;
        in->can_add_vcpus = in->vcpus_online > 0 && in->vcpus_online < vmax;
}

/* Say once per guest that it reports no memory statistics (no used
 * memory, and no balloon update for three stats periods: after start
 * augurd waits that long for the first stats).  Every decision row
 * says stale-stats; the log says why, once, and `virt-augur explain`
 * how to fix it. */
static void
note_no_stats (ResizeVm *vm, const AugurDerived *d, const AugurConfig *config, gint64 now_ms)
{
        if (vm->no_stats_logged || !isnan (d->mem_used_kib) ||
            now_ms - vm->last_update_seen_ms <= three_periods_ms (config))
                return;
        augur_log (G_LOG_LEVEL_MESSAGE, vm->name, "no-memory-stats", NULL, NAN, NAN,
                   "guest %s reports no memory statistics: it has no balloon device, its balloon stats "
                   "period is off, or it has no balloon driver; augur cannot see its used memory and "
                   "never shrinks it (`virt-augur explain %s` says how to fix it)", vm->name, vm->name);
        vm->no_stats_logged = TRUE;
}

static void
policy_config (const ResizeVm *vm, const AugurConfig *config, AugurPolicyConfig *pc)
{
        augur_policy_config_init (pc);
        pc->headroom_kib = config->headroom_kib;
        pc->reserve_kib = config->reserve_kib;
        pc->shrink_step_kib = config->shrink_step_kib;
        pc->shrink_sustain_s = config->shrink_sustain_s;
        pc->shrink_cooldown_s = config->shrink_cooldown_s;
        pc->target_util = isnan (vm->meta.target_util) ? config->target_util : vm->meta.target_util;
        pc->lead_s = MAX (vm->mem_latency_s, vm->vcpu_latency_s) + config->lead_margin_s;
        pc->buffer = 1.0;
}

/* Max over the lead window of a forecast series, for the audit row. */
static double
window_max (const float *v, const AugurForecast *f, double lead_s)
{
        guint n = f->step_s > 0 ? (guint) ceil (lead_s / f->step_s) : 1;
        double best = NAN;

        n = CLAMP (n, 1, f->H);
        for (guint h = 0; h < n; h++)
                if (!isnan (v[h]) && (isnan (best) || v[h] > best))
                        best = v[h];
        return best;
}

static void
act_memory (Work *w, AugurHvGuest *g, AugurStore *store, gint64 now_ms)
{
        ResizeVm *vm = w->vm;
        double from = w->in.mem_alloc_kib;
        /* QEMU rounds a balloon target up to whole 4 KiB pages: round down
         * here, or two guests granted exactly the budget hold 4 KiB more. */
        double to = floor (w->plan.mem_target_kib / BALLOON_PAGE_KIB) * BALLOON_PAGE_KIB;
        const char *action = to > from ? "grow" : "shrink";
        g_autoptr(GError) error = NULL;

        if (isnan (from) || isnan (to) || fabs (to - from) < MIN_CHANGE_KIB) {
                w->row.mem_action = "none";
                return;
        }
        if (w->mode != AUGUR_MODE_ACT || !g) {
                w->row.mem_action = to > from ? "recommend-grow" : "recommend-shrink";
                return;
        }
        /* The balloon reached augur's target and sits within tolerance of
         * it: QEMU holds that target already.  Sending it again would only
         * overwrite another controller's new target before its move shows
         * (SECOND CONTROLLER).  Only when the new target is not below the
         * one QEMU holds: a target a little lower (arbitration squeezing
         * the host budget) must be sent, or the guest keeps up to
         * FOREIGN_TOLERANCE_KIB more than its grant and the guests' sum
         * goes over the budget. */
        if (!isnan (vm->set_target_kib) && to >= vm->set_target_kib &&
            to - vm->set_target_kib <= FOREIGN_TOLERANCE_KIB &&
            vm->way_lo_kib == vm->set_target_kib && vm->way_hi_kib == vm->set_target_kib &&
            fabs (from - vm->set_target_kib) <= FOREIGN_TOLERANCE_KIB) {
                w->row.mem_action = "none";
                return;
        }
        if (!augur_actuate_memory (g, (guint64) to, &error)) {
                w->row.mem_action = "failed";
                g_snprintf (w->row.note, sizeof w->row.note, "%s", error->message);
                g_warning ("guest %s: balloon %.0f -> %.0f KiB failed: %s, ignoring",
                           vm->name, from, to, error->message);
                return;
        }
        w->row.mem_action = action;
        /* The way to the new target: from where the balloon is, and from
         * wherever an earlier target of augur's still takes it. */
        if (isnan (vm->way_lo_kib) || isnan (vm->way_hi_kib)) {
                vm->way_lo_kib = MIN (from, to);
                vm->way_hi_kib = MAX (from, to);
        } else {
                vm->way_lo_kib = MIN (vm->way_lo_kib, MIN (from, to));
                vm->way_hi_kib = MAX (vm->way_hi_kib, MAX (from, to));
        }
        vm->set_target_prev_kib = vm->set_target_kib;
        vm->set_target_kib = to;
        vm->set_target_ms = now_ms;
        augur_log (G_LOG_LEVEL_MESSAGE, vm->name, action, augur_reason_name (w->plan.mem_reason),
                          from, to, "guest %s: balloon %s %.0f -> %.0f MiB (%s; used %.0f MiB, upper %.0f MiB over %.0f s)",
                          vm->name, action, from / 1024, to / 1024, augur_reason_name (w->plan.mem_reason),
                          w->in.mem_used_kib / 1024, w->row.mem_upper_kib / 1024, w->horizon_s);
        vm->mem_pending_kib = to;
        vm->mem_pending_since_ms = now_ms;
        vm->mem_pending_id = store ? augur_store_write_actuation (store, now_ms, vm->uuid, vm->name, "balloon",
                                                                  from, to, NULL) : -1;
}

static void
act_vcpus (Work *w, AugurHvGuest *g, AugurStore *store, gint64 now_ms)
{
        ResizeVm *vm = w->vm;
        int from = w->in.vcpus_online, to = w->plan.vcpus_target;
        const char *action = to > from ? "vcpu-up" : "vcpu-down";
        g_autoptr(GError) error = NULL;

        if (to == from || from <= 0) {
                w->row.cpu_action = "none";
                return;
        }
        if (w->mode != AUGUR_MODE_ACT || !g) {
                w->row.cpu_action = to > from ? "recommend-up" : "recommend-down";
                return;
        }
        if (!augur_actuate_vcpus (g, to, &vm->caps, &error)) {
                w->row.cpu_action = "failed";
                g_snprintf (w->row.note, sizeof w->row.note, "%s", error->message);
                g_warning ("guest %s: vCPUs %d -> %d failed: %s, ignoring", vm->name, from, to, error->message);
                return;
        }
        w->row.cpu_action = action;
        augur_log (G_LOG_LEVEL_MESSAGE, vm->name, action, augur_reason_name (w->plan.cpu_reason),
                          from, to, "guest %s: vCPUs %d -> %d (%s; cores used %.2f)",
                          vm->name, from, to, augur_reason_name (w->plan.cpu_reason), w->in.cpu_cores_used);
        vm->vcpu_pending = to;
        vm->vcpu_pending_since_ms = now_ms;
        vm->vcpu_pending_id = store ? augur_store_write_actuation (store, now_ms, vm->uuid, vm->name, "vcpus",
                                                                   from, to, NULL) : -1;
        vm->caps_probe_ms = 0;          /* re-probe next tick */
}

/* The forecasts table's schedule: TRUE when the VM's newest forecast is to
 * be stored at now_ms; *written_ms (0 before the first write) moves on.
 * The first write is at once; then each VM keeps its own phase of the
 * period (from its UUID), so that every tick writes a share of the VMs
 * rather than all of them every twelfth tick. */
static gboolean
forecast_due (gint64 *written_ms, const char *uuid, gint64 now_ms)
{
        const gint64 period = AUGUR_RESIZE_FORECAST_PERIOD_MS;

        if (*written_ms == 0) {
                *written_ms = now_ms - (gint64) (g_str_hash (uuid) % period);
                return TRUE;
        }
        if (now_ms - *written_ms < period)
                return FALSE;
        *written_ms += (now_ms - *written_ms) / period * period;
        return TRUE;
}

/* Store the newest forecast for `virt-augur forecast` (as float32: the
 * store prints the JSON when it is read, not every tick). */
static void
write_forecast (AugurStore *store, ResizeVm *vm, const AugurForecast *f, gint64 now_ms)
{
        if (!store || !forecast_due (&vm->forecast_written_ms, vm->uuid, now_ms))
                return;
        augur_store_write_forecast (store, now_ms, vm->uuid, vm->name, f->model, f->step_s,
                                    MIN (f->H, AUGUR_STORE_FORECAST_MAX_H), f->mem_p50_kib,
                                    f->mem_upper_kib, f->cpu_p50_cores, f->cpu_upper_cores, NULL);
}

static void
record_latency (AugurStore *store, gint64 id, double *ewma, gint64 since_ms, gint64 now_ms)
{
        double s = (now_ms - since_ms) / 1000.0;

        *ewma = (1 - LATENCY_ALPHA) * *ewma + LATENCY_ALPHA * s;
        if (store && id > 0)
                augur_store_set_actuation_latency (store, id, now_ms - since_ms, NULL);
}

/* The forecast of used memory in balloon terms: + the guest kernel's
 * reservation (policy.h), as the observed used the policy compares. */
static void
forecast_to_balloon_terms (AugurForecast *f, double reservation_kib)
{
        for (guint h = 0; h < f->H; h++) {
                f->mem_p50_kib[h] += (float) reservation_kib;
                f->mem_upper_kib[h] += (float) reservation_kib;
        }
}

/* Feed the memory guard this tick's view of the VM (mem-guard.h). */
static void
observe_guard (AugurResize *r, Work *w, const AugurConfig *config, double now_s)
{
        ResizeVm *vm = w->vm;
        double fc = w->have_f ? augur_policy_mem_forecast_want (&w->f, &w->pc) : NAN;
        double used = w->in.mem_used_kib;
        AugurGuardInput gi = {
                .now_s = now_s, .tick_s = config->tick_s,
                /* "within one actuation lead": measured latency + a tick */
                .lead_s = vm->mem_latency_s + config->tick_s,
                .used_kib = used, .alloc_kib = w->in.mem_alloc_kib,
                .max_kib = w->in.mem_max_kib,
                .target_kib = vm->autodeflate ? vm->set_target_kib : NAN,
                .reserve_kib = config->reserve_kib, .forecast_kib = fc,
                .fresh = w->in.mem_stats_fresh && vm->fresh_samples >= FRESH_SAMPLES_NEEDED &&
                         vm->balloon_still && !isnan (vm->overhead_kib),
                .oom_kills = NAN, .psi_mem_pct = NAN,
        };

        /* A balloon takes a few seconds to land: an earlier, larger target
         * may still be being reached after a smaller one was set. */
        if (vm->autodeflate && !isnan (vm->set_target_prev_kib) &&
            (gint64) (now_s * 1000) - vm->set_target_ms < SETTLE_MS)
                gi.target_kib = MAX (gi.target_kib, vm->set_target_prev_kib);

        if (r->guest_report)
                r->guest_report (r->guest_report_ctx, vm->uuid, (gint64) (now_s * 1000),
                                 &gi.oom_kills, &gi.psi_mem_pct);
        /* Under another controller augur's target is not in force: a
         * balloon above it is not the guest deflating. */
        if (augur_resize_held (vm))
                gi.target_kib = NAN;
        augur_guard_observe (&vm->guard, &gi, &w->guard);
        /* What this guest may need soon: its forecast, and what its own
         * history says it can grab within a lead (the envelope). */
        if (isnan (used))
                used = w->in.mem_alloc_kib;
        w->need_kib = used + MAX (config->reserve_kib, w->guard.envelope_kib);
        if (!isnan (fc))
                w->need_kib = MAX (w->need_kib, fc);
        if (!isnan (w->guard.hold_kib))
                w->need_kib = MAX (w->need_kib, w->guard.hold_kib);
        if (w->guard.event != AUGUR_GUARD_EVENT_NONE && r->metrics)
                augur_metrics_count_memory_event (r->metrics, vm->uuid, vm->name,
                                                  augur_guard_event_name (w->guard.event));
        if (w->guard.event != AUGUR_GUARD_EVENT_NONE)
                augur_log (G_LOG_LEVEL_WARNING, vm->name, "out-of-memory", augur_guard_event_name (w->guard.event),
                           w->in.mem_alloc_kib, w->guard.hold_kib,
                           "guest %s ran out of memory (%s) at a balloon of %.0f MiB, used %.0f MiB: "
                           "growing at once to %.0f MiB and holding at least that for %.0f h",
                           vm->name, augur_guard_event_name (w->guard.event), w->in.mem_alloc_kib / 1024,
                           w->in.mem_used_kib / 1024, w->guard.hold_kib / 1024,
                           (w->guard.hold_until_s - now_s) / 3600);
}

/* Rule 3's slack g (mem-guard.h), for the tick and the audit note. */
typedef struct {
        double g;                       /* the slack the plans use            */
        double g_tick;                  /* on the tick's lead window alone    */
        double plan_growth_kib;         /* the host plan's growth, NAN = none */
} HostSlack;

/* The share of the host's memory (or of the budget) left once every guest
 * has its forecast need.  The guests' growth above what they use now is
 * the larger of the tick's (each guest's lead-window need above its used,
 * summed) and the host plan's over the next 4 h (host-plan.h; NAN when it
 * has no calibrated view): the plan can only tighten the cushion ahead of
 * a host-wide crunch, never widen it.  An unknown host is tight (0). */
static void
host_slack (const Work *work, gsize n, const AugurConfig *config, const AugurHostSample *host,
            double plan_growth_kib, HostSlack *ret)
{
        double cap, free_kib[2], need = 0, used = 0, growth = 0;

        ret->plan_growth_kib = plan_growth_kib;
        for (gsize i = 0; i < n; i++) {
                double u = work[i].in.mem_used_kib;

                need += work[i].need_kib;
                if (!isnan (u)) {
                        used += u;
                        growth += MAX (0, work[i].need_kib - u);
                }
        }
        if (config->host_budget_kib > 0) {
                cap = config->host_budget_kib;
                free_kib[0] = cap - need;
                free_kib[1] = cap - MAX (need, used + plan_growth_kib);
        } else if (((host->present >> AUGUR_HOST_MEM_TOTAL_KIB) & 1) &&
                   ((host->present >> AUGUR_HOST_MEM_AVAILABLE_KIB) & 1)) {
                /* MemAvailable already counts what the guests use now:
                 * take off what they may grow by. */
                cap = host->v[AUGUR_HOST_MEM_TOTAL_KIB];
                free_kib[0] = host->v[AUGUR_HOST_MEM_AVAILABLE_KIB] - config->host_reserve_kib - growth;
                free_kib[1] = free_kib[0] + growth - MAX (growth, plan_growth_kib);
        } else {
                ret->g = ret->g_tick = 0;
                return;
        }
        ret->g_tick = cap > 0 ? augur_guard_host_slack (free_kib[0] / cap, config->cushion_free_low,
                                                        config->cushion_free_high) : 0;
        ret->g = cap > 0 && !isnan (plan_growth_kib)
                 ? augur_guard_host_slack (free_kib[1] / cap, config->cushion_free_low, config->cushion_free_high)
                 : ret->g_tick;
}

/* The audit note of a VM that ran out of memory or is held after it. */
static void
note_guard (AugurDecisionRow *row, const ResizeVm *vm, const AugurGuardOut *o)
{
        gsize len = strlen (row->note);
        g_autoptr(GDateTime) at = NULL, until = NULL;
        g_autofree char *at_s = NULL, *until_s = NULL;

        if (isnan (o->hold_kib))
                return;
        at = g_date_time_new_from_unix_local ((gint64) vm->guard.last_event_s);
        until = g_date_time_new_from_unix_local ((gint64) o->hold_until_s);
        at_s = at ? g_date_time_format (at, "%F %T") : g_strdup ("?");
        until_s = until ? g_date_time_format (until, "%F %T") : g_strdup ("?");
        g_snprintf (row->note + len, sizeof row->note - len,
                    "%sthe guest ran out of memory at %s (%s%s) with a balloon of %.0f MiB; "
                    "%s, and no shrink below %.0f MiB until %s",
                    len ? "; " : "", at_s, augur_guard_event_name (vm->guard.last_event),
                    vm->guard.last_event == AUGUR_GUARD_EVENT_DEFLATED ? ": the guest deflated its balloon itself" : "",
                    vm->guard.last_event_alloc_kib / 1024,
                    o->event != AUGUR_GUARD_EVENT_NONE ? "emergency grow" : "holding",
                    o->hold_kib / 1024, until_s);
}

/* Where a guest's balloon ends up whatever augur now sends it: where it
 * is, or augur's last target when that is larger: QEMU holds it until the
 * next target arrives (a change under MIN_CHANGE_KIB is not sent), and a
 * guest deflates toward it within seconds, whether the target is still
 * pending, "landed" within 1 % but a few MiB short (seen: 472 888 of
 * 474 948 KiB, and another guest's grow took the 2 MiB), or held on
 * suspicion of another controller.  Not once augur yielded: the target
 * then is the other controller's. */
static double
balloon_base (const Work *w)
{
        double base = MAX (w->in.mem_alloc_kib, w->vm->mem_pending_kib);

        if (!w->vm->yielded && !isnan (w->vm->set_target_kib))
                base = MAX (base, w->vm->set_target_kib);
        return base;
}

/* Apply the arbitration's grants, then keep the budget true at every
 * instant, not only in targets: a balloon grows within a second, while
 * the one it makes room for shrinks only as fast as that guest frees
 * pages.  So a grow uses only what is free now — the budget minus every
 * VM's max(balloon_base(), target) — and waits a tick for the rest.  Only
 * the part of a grow above its balloon_base() commits new memory, so only
 * that part is scaled down: a guest whose earlier, larger target is still
 * landing cannot give room back by growing less now (seen on a real guest:
 * the pair 1 MiB over the budget while one balloon landed). */
static void
apply_grants (Work *work, gsize n, const AugurArbItem *arb, double budget)
{
        double committed = 0, growth = 0, f, room;

        for (gsize i = 0, k = 0; i < n; i++) {
                Work *w = &work[i];
                double a = w->in.mem_alloc_kib, base;

                if (w->mode == AUGUR_MODE_OBSERVE)
                        continue;
                if (arb[k].lost && arb[k].granted_kib < w->plan.mem_target_kib) {
                        g_snprintf (w->row.note, sizeof w->row.note,
                                    "arbitration: granted %.0f of %.0f MiB (priority %d, host budget %.0f MiB)",
                                    arb[k].granted_kib / 1024, w->plan.mem_target_kib / 1024,
                                    w->vm->meta.priority, budget / 1024);
                        w->plan.mem_target_kib = arb[k].granted_kib;
                }
                k++;
                if (isnan (a) || isnan (w->plan.mem_target_kib))
                        continue;
                /* A change under MIN_CHANGE_KIB is not made (act_memory):
                 * that balloon stays where it is. */
                if (fabs (w->plan.mem_target_kib - a) < MIN_CHANGE_KIB)
                        w->plan.mem_target_kib = a;
                base = balloon_base (w);
                committed += MAX (base, w->plan.mem_target_kib);
                if (w->plan.mem_target_kib > base)
                        growth += w->plan.mem_target_kib - base;
        }
        /* A landed balloon sits a few pages off its target (132 KiB seen):
         * grows keep that much below the budget. */
        room = budget - BALLOON_WOBBLE_KIB;
        if (committed <= room || growth <= 0)
                return;
        f = MAX (0, 1 - (committed - room) / growth);
        for (gsize i = 0; i < n; i++) {
                Work *w = &work[i];
                double a = w->in.mem_alloc_kib, t = w->plan.mem_target_kib, base;
                gsize len;

                if (w->mode == AUGUR_MODE_OBSERVE || isnan (a) || isnan (t))
                        continue;
                base = balloon_base (w);
                if (t <= base)
                        continue;
                w->plan.mem_target_kib = base + f * (t - base);
                len = strlen (w->row.note);
                g_snprintf (w->row.note + len, sizeof w->row.note - len,
                            "%sgrowing to %.0f of %.0f MiB now: the rest waits for other guests' balloons "
                            "to give it back (host budget %.0f MiB)", len ? "; " : "",
                            w->plan.mem_target_kib / 1024, t / 1024, budget / 1024);
        }
}

/* Metadata at first sight (and after a change), the agent timeout once
 * per connection, the vCPU capabilities every VCPU_PROBE_PERIOD_MS: each a
 * call on the guest, looked up only when one is due.  A guest that
 * vanished since the stats call keeps what was known. */
static void
refresh_guest (ResizeVm *vm, AugurHv *hv, gint64 now_ms)
{
        g_autoptr(AugurHvGuest) g = NULL;

        if (vm->meta_loaded && vm->agent_timeout_set && now_ms - vm->caps_probe_ms <= VCPU_PROBE_PERIOD_MS)
                return;
        g = augur_hv_lookup_guest (hv, vm->uuid, NULL);
        if (!g)
                return;
        if (!vm->meta_loaded)
                load_metadata (vm, g);
        if (!vm->agent_timeout_set) {
                augur_hv_guest_set_agent_timeout (g, AGENT_TIMEOUT_S, NULL);
                vm->agent_timeout_set = TRUE;
        }
        augur_hv_guest_probe_vcpus (g, &vm->caps);
        vm->caps_probe_ms = now_ms;
}

/* Step 1, per VM: this tick's sample in, the policy's input, the
 * forecast, the memory guard's view. */
static void
prepare_vm (AugurResize *r, AugurHv *hv, AugurStore *store, const AugurConfig *config,
            const AugurDomainSample *s, const AugurHostSample *host, gint64 now_ms, Work *w)
{
        ResizeVm *vm = get_vm (r, s, now_ms);
        double dt_s = vm->have_prev ? (now_ms - vm->prev_ms) / 1000.0 : 0;
        double now_s = now_ms / 1000.0;
        AugurDerived d;

        w->vm = vm;
        augur_units_derive (vm->have_prev ? &vm->prev : NULL, s, dt_s, &d, NULL);
        vm->fresh_samples++;
        refresh_guest (vm, hv, now_ms);
        if (vm->vcpu_pending > 0 && vm->caps.online == vm->vcpu_pending) {
                record_latency (store, vm->vcpu_pending_id, &vm->vcpu_latency_s,
                                vm->vcpu_pending_since_ms, now_ms);
                vm->vcpu_pending = 0;
        }

        w->mode = effective_mode (r, vm, config);
        build_input (vm, s, &d, config, dt_s, now_ms, &w->in);
        note_no_stats (vm, &d, config, now_ms);
        augur_resize_judge_controller (r, vm, s);
        if (r->metrics)
                augur_metrics_set_yielded (r->metrics, vm->uuid, vm->name, vm->yielded);
        /* The forecaster gets the model's input row as the store
         * writes it (units.h); its memory forecast is put in balloon
         * terms here, the one place that knows the reservation. */
        w->have_f = r->hooks.forecast &&
                    r->hooks.forecast (r->hooks.ctx, vm->uuid, vm->name, &d, host, now_s, &w->f);
        if (w->have_f && !isnan (w->in.mem_used_kib) && !isnan (d.mem_used_kib))
                forecast_to_balloon_terms (&w->f, w->in.mem_used_kib - d.mem_used_kib);
        if (w->have_f)
                write_forecast (store, vm, &w->f, now_ms);
        if (r->metrics) {
                augur_metrics_set_guest (r->metrics, vm->uuid, vm->name, d.mem_used_kib,
                                         w->in.mem_alloc_kib, d.cpu_cores_used,
                                         w->in.vcpus_online > 0 ? w->in.vcpus_online : NAN);
        }

        augur_domain_sample_clear (&vm->prev);
        vm->prev = *s;
        vm->prev.name = NULL;
        vm->prev_ms = now_ms;
        vm->have_prev = TRUE;
        policy_config (vm, config, &w->pc);
        w->horizon_s = w->pc.lead_s;
        if (r->metrics)
                augur_metrics_set_forecast (r->metrics, vm->uuid, w->have_f ? &w->f : NULL, w->pc.lead_s);
        observe_guard (r, w, config, now_s);
}

/* Step 2, per VM that plans: the plan, and what it asks of the host
 * (*ret_arb) for arbitration.  g is the host slack (mem-guard.h rule 3). */
static void
plan_vm (Work *w, const AugurConfig *config, double g, double now_s, AugurArbItem *ret_arb)
{
        ResizeVm *vm = w->vm;

        if (config->policy == AUGUR_POLICY_REACTIVE) {
                w->pc.buffer = 0.2;
                augur_policy_plan_reactive (&w->in, &w->pc, now_s, &w->plan);
                if (!w->in.mem_stats_fresh && w->plan.mem_target_kib < w->in.mem_alloc_kib) {
                        /* Even the reference policy never shrinks on stale data. */
                        w->plan.mem_target_kib = w->in.mem_alloc_kib;
                        w->plan.mem_veto = AUGUR_VETO_STALE;
                }
        } else {
                w->in.mem_cushion_kib = augur_guard_cushion (&w->guard, w->in.mem_max_kib,
                                                             config->reserve_kib, g);
                w->in.mem_hold_kib = w->guard.hold_kib;
                augur_policy_plan (&w->in, w->have_f ? &w->f : NULL, &w->pc, &vm->pstate, now_s, &w->plan);
        }
        if (vm->fresh_samples < FRESH_SAMPLES_NEEDED) {
                /* Just (re)connected: no action until fresh samples arrive. */
                w->plan.mem_target_kib = w->in.mem_alloc_kib;
                w->plan.mem_extra_kib = 0;
                w->plan.vcpus_target = w->in.vcpus_online;
                w->plan.mem_veto = w->plan.cpu_veto = AUGUR_VETO_STALE;
        }
        if (config->policy == AUGUR_POLICY_REACTIVE || vm->fresh_samples < FRESH_SAMPLES_NEEDED ||
            !(w->plan.mem_need_kib > 0))
                w->plan.mem_need_kib = w->plan.mem_target_kib - w->plan.mem_extra_kib;
        augur_resize_hold_for_other_controller (w);
        /* Never shrunk on data augurd could not read: not by the
         * plan (its vetoes) and not by arbitration either. */
        if ((!w->in.mem_stats_fresh || isnan (w->in.mem_used_kib)) && !isnan (w->in.mem_alloc_kib))
                w->plan.mem_need_kib = MAX (w->plan.mem_need_kib,
                                            MIN (w->in.mem_alloc_kib,
                                                 w->plan.mem_target_kib - w->plan.mem_extra_kib));
        ret_arb->want_kib = isnan (w->plan.mem_need_kib) ? 0 : w->plan.mem_need_kib;
        ret_arb->cushion_kib = isnan (w->plan.mem_target_kib) ? 0
                               : w->plan.mem_target_kib - w->plan.mem_extra_kib - ret_arb->want_kib;
        ret_arb->extra_kib = w->plan.mem_extra_kib;
        ret_arb->floor_kib = w->in.mem_stats_fresh && !isnan (w->in.mem_used_kib)
                             ? w->in.mem_used_kib + config->reserve_kib
                             : (isnan (w->in.mem_alloc_kib) ? 0 : w->in.mem_alloc_kib);
        ret_arb->alloc_kib = w->in.mem_alloc_kib;
        ret_arb->priority = vm->meta.priority;
        if (augur_resize_held (vm) || vm->balloon_owner)
                ret_arb->floor_kib = isnan (w->in.mem_alloc_kib) ? 0 : w->in.mem_alloc_kib;
}

/* Step 4, per VM that plans: the audit row, after arbitration (whose
 * notes are already in it). */
static void
fill_row (Work *w, const AugurConfig *config, const HostSlack *hs, gint64 now_ms)
{
        ResizeVm *vm = w->vm;
        AugurDecisionRow *row = &w->row;

        note_guard (row, vm, &w->guard);
        if (w->have_f && w->f.precursor) {
                gsize len = strlen (row->note);

                g_snprintf (row->note + len, sizeof row->note - len,
                            "%sprecursor %s: the memory bound covers how far memory rose after it "
                            "before on this guest", len ? "; " : "", w->f.precursor);
        }
        if (hs->g < hs->g_tick) {
                gsize len = strlen (row->note);

                g_snprintf (row->note + len, sizeof row->note - len,
                            "%shost plan: the guests may grow by %.0f MiB within 4 h, so the cushion "
                            "tightens ahead of it (slack %.2f, %.2f on the next minutes' forecasts)",
                            len ? "; " : "", hs->plan_growth_kib / 1024, hs->g, hs->g_tick);
        }
        if (w->have_f && w->f.model_wait_s > 0) {
                gsize len = strlen (row->note);

                g_snprintf (row->note + len, sizeof row->note - len,
                            "%sthe baselines forecast: the model needs %.0f min of history (its window) and "
                            "serves in %.0f min", len ? "; " : "", w->f.model_window_s / 60,
                            ceil (w->f.model_wait_s / 60));
        }
        row->ts_ms = now_ms;
        g_strlcpy (row->uuid, vm->uuid, sizeof row->uuid);
        g_strlcpy (row->name, vm->name ? vm->name : vm->uuid, sizeof row->name);
        row->mode = augur_mode_to_string (w->mode);
        row->policy = augur_policy_to_string (config->policy);
        row->model = w->have_f ? w->f.model : NULL;
        row->mem_used_kib = w->in.mem_used_kib;
        row->mem_alloc_kib = w->in.mem_alloc_kib;
        row->cpu_cores_used = w->in.cpu_cores_used;
        row->vcpus_online = w->in.vcpus_online;
        row->horizon_s = w->horizon_s;
        row->mem_p50_kib = w->have_f ? window_max (w->f.mem_p50_kib, &w->f, w->horizon_s) : NAN;
        row->mem_upper_kib = w->have_f ? window_max (w->f.mem_upper_kib, &w->f, w->horizon_s) : NAN;
        row->cpu_p50_cores = w->have_f ? window_max (w->f.cpu_p50_cores, &w->f, w->horizon_s) : NAN;
        row->cpu_upper_cores = w->have_f ? window_max (w->f.cpu_upper_cores, &w->f, w->horizon_s) : NAN;
        row->mem_target_kib = w->plan.mem_target_kib;
        row->vcpus_target = w->plan.vcpus_target;
        row->mem_reason = augur_reason_name (w->plan.mem_reason);
        row->cpu_reason = augur_reason_name (w->plan.cpu_reason);
        row->mem_veto = augur_veto_name (w->plan.mem_veto);
        row->cpu_veto = augur_veto_name (w->plan.cpu_veto);
}

/* Step 5, per VM that plans: act (in act mode, on a guest still there),
 * or only say what would be done; the row records which. */
static void
apply_vm (AugurResize *r, AugurHv *hv, AugurStore *store, Work *w, gint64 now_ms)
{
        ResizeVm *vm = w->vm;
        AugurDecisionRow *row = &w->row;
        g_autoptr(AugurHvGuest) g = NULL;

        /* A guest held for another controller is never actuated. */
        if (w->mode == AUGUR_MODE_ACT && !augur_resize_held (vm))
                g = augur_hv_lookup_guest (hv, vm->uuid, NULL);
        /* State moves on only with what was decided. */
        vm->pstate = w->plan.state;
        act_memory (w, g, store, now_ms);
        act_vcpus (w, g, store, now_ms);
        if (w->plan.cpu_veto == AUGUR_VETO_NO_AGENT && !vm->no_agent_logged) {
                /* The row says no-agent every tick; the log says it
                 * once per episode, with what was wanted. */
                augur_log (G_LOG_LEVEL_MESSAGE, vm->name, "vcpu-hold", augur_veto_name (w->plan.cpu_veto),
                           w->in.vcpus_online, w->plan.vcpus_wanted,
                           "guest %s: %d vCPUs would do, %d online; giving vCPUs back needs the guest agent, "
                           "which is absent: holding (never a live unplug)",
                           vm->name, w->plan.vcpus_wanted, w->in.vcpus_online);
                vm->no_agent_logged = TRUE;
        } else if (vm->caps.agent) {
                vm->no_agent_logged = FALSE;
        }
        if (r->metrics && strcmp (row->mem_action, "none") != 0)
                augur_metrics_count_action (r->metrics, vm->uuid, vm->name, "memory",
                                            row->mem_action, row->mem_reason);
        if (r->metrics && strcmp (row->cpu_action, "none") != 0)
                augur_metrics_count_action (r->metrics, vm->uuid, vm->name, "vcpus",
                                            row->cpu_action, row->cpu_reason);
}

/* The CPU weight, after memory, vCPUs and I/O (resize-cpu.h), on the
 * CPU demand the vCPU decisions planned for. */
static void
cpu_weight_tick (AugurResize *r, AugurHv *hv, AugurStore *store, const AugurConfig *config, const Work *work,
                 const AugurDomainSample *samples, gsize n, gint64 now_ms)
{
        g_autofree AugurCpuGuest *cg = g_new0 (AugurCpuGuest, MAX (n, 1));

        for (gsize i = 0; i < n; i++) {
                const Work *w = &work[i];
                gboolean settled = w->vm->fresh_samples >= FRESH_SAMPLES_NEEDED;

                cg[i].s = &samples[i];
                cg[i].mode = settled ? w->mode : AUGUR_MODE_OBSERVE;   /* just (re)connected */
                cg[i].ceiling = w->vm->meta.cpu_weight_max;
                cg[i].priority = w->vm->meta.priority;
                cg[i].cores_used = w->in.cpu_cores_used;
                cg[i].demand_cores = w->have_f ? augur_policy_cpu_demand (&w->f, &w->pc) : NAN;
                cg[i].vcpus_max = MAX (w->in.vcpus_max, w->vm->caps.maximum);
                cg[i].fresh = settled && !isnan (w->in.cpu_cores_used);
        }
        augur_resize_cpu_tick (r->cpu, hv, store, r->metrics, config, cg, n, now_ms);
}

void
augur_resize_tick (AugurResize *r, AugurHv *hv, AugurStore *store,
                   const AugurConfig *config, const AugurDomainSample *samples, gsize n,
                   const AugurHostSample *host, gint64 now_ms)
{
        g_autofree Work *work = g_new0 (Work, MAX (n, 1));
        g_autofree AugurArbItem *arb = g_new0 (AugurArbItem, MAX (n, 1));
        g_autoptr(GArray) rows = g_array_new (FALSE, TRUE, sizeof (AugurDecisionRow));
        g_autofree AugurIoGuest *io = g_new0 (AugurIoGuest, MAX (n, 1));
        g_autoptr(GError) error = NULL;
        double now_s = now_ms / 1000.0, budget;
        HostSlack hs;
        gsize n_arb = 0;

        g_return_if_fail (hv != NULL);

        for (gsize i = 0; i < n; i++)
                prepare_vm (r, hv, store, config, &samples[i], host, now_ms, &work[i]);

        /* Rule 3 of mem-guard.h: how much the host can spare, forecast. */
        host_slack (work, n, config, host, augur_host_plan_growth_kib (r->host_plan, now_ms), &hs);
        budget = config->host_budget_kib > 0 ? config->host_budget_kib
                 : ((host->present >> AUGUR_HOST_MEM_TOTAL_KIB) & 1)
                   ? host->v[AUGUR_HOST_MEM_TOTAL_KIB] - config->host_reserve_kib : G_MAXDOUBLE;

        for (gsize i = 0; i < n; i++)
                if (work[i].mode != AUGUR_MODE_OBSERVE)
                        plan_vm (&work[i], config, hs.g, now_s, &arb[n_arb++]);

        /* Step 3: host arbitration over the VMs that plan. */
        augur_policy_arbitrate (arb, n_arb, budget);
        apply_grants (work, n, arb, budget);

        for (gsize i = 0; i < n; i++) {
                Work *w = &work[i];

                if (w->mode == AUGUR_MODE_OBSERVE)
                        continue;
                augur_resize_hold_for_other_controller (w);
                fill_row (w, config, &hs, now_ms);
                apply_vm (r, hv, store, w, now_ms);
                g_array_append_val (rows, w->row);
        }
        if (store && !augur_store_write_decisions (store, (AugurDecisionRow *) rows->data, rows->len, &error))
                g_warning ("writing %u decisions failed: %s, ignoring", rows->len, error->message);

        /* The disk I/O limits, after memory and vCPUs (resize-io.h). */
        for (gsize i = 0; i < n; i++) {
                io[i].s = &samples[i];
                io[i].mode = work[i].mode;
                io[i].ceiling_mib_s[AUGUR_IO_DEV_DISK] = work[i].vm->meta.io_max_mib_s;
                io[i].ceiling_mib_s[AUGUR_IO_DEV_IFACE] = work[i].vm->meta.net_max_mib_s;
                io[i].ceiling_iops = work[i].vm->meta.io_max_iops;
                io[i].priority = work[i].vm->meta.priority;
                if (work[i].vm->fresh_samples < FRESH_SAMPLES_NEEDED)
                        io[i].mode = AUGUR_MODE_OBSERVE;        /* just (re)connected */
        }
        augur_resize_io_tick (r->io, hv, store, r->metrics, config, io, n, now_ms);
        cpu_weight_tick (r, hv, store, config, work, samples, n, now_ms);
}

AugurResizeIo *
augur_resize_get_io (AugurResize *r)
{
        return r->io;
}

void
augur_resize_set_metrics (AugurResize *r, AugurMetrics *metrics)
{
        r->metrics = metrics;
}

void
augur_resize_set_host_plan (AugurResize *r, const AugurHostPlan *plan)
{
        r->host_plan = plan;
}

void
augur_resize_set_yield (AugurResize *r, gboolean yield)
{
        r->no_yield = !yield;
}

void
augur_resize_set_guest_report (AugurResize *r, AugurGuestReportFunc func, gpointer ctx)
{
        r->guest_report = func;
        r->guest_report_ctx = ctx;
}

/* The balloon reached a size: the pending actuation's latency, if it is
 * its target. */
static void
balloon_changed (AugurResize *r, AugurStore *store, const char *uuid, guint64 actual_kib, gint64 now_ms)
{
        ResizeVm *vm = g_hash_table_lookup (r->vms, uuid);

        if (!vm || vm->mem_pending_kib <= 0)
                return;
        if (fabs ((double) actual_kib - vm->mem_pending_kib) <= MAX (1024.0, 0.01 * vm->mem_pending_kib)) {
                record_latency (store, vm->mem_pending_id, &vm->mem_latency_s, vm->mem_pending_since_ms, now_ms);
                /* Landed: from now on only the target explains the balloon
                 * (SECOND CONTROLLER), once it is within the tolerance the
                 * judge uses.  Within 1 % of a large target it may still be
                 * a few MiB short and moving: the way there stays open, or
                 * the rest of its landing would look like another
                 * controller's move (seen on a real guest: 498 of 501 MiB
                 * held as suspected, its room given to the other guest). */
                if (fabs ((double) actual_kib - vm->mem_pending_kib) <= FOREIGN_TOLERANCE_KIB)
                        vm->way_lo_kib = vm->way_hi_kib = vm->mem_pending_kib;
                g_debug ("guest %s: balloon reached %" G_GUINT64_FORMAT " KiB after %" G_GINT64_FORMAT " ms",
                         vm->name, actual_kib, now_ms - vm->mem_pending_since_ms);
                vm->mem_pending_kib = 0;
        }
}

static void
agent_changed (AugurResize *r, const char *uuid, gboolean connected)
{
        ResizeVm *vm = g_hash_table_lookup (r->vms, uuid);

        if (!vm)
                return;
        vm->agent_event = connected;
        vm->caps_probe_ms = 0;          /* re-probe at the next tick */
        if (!connected)
                vm->caps.agent = FALSE;
}

/* The guest's metadata changed: read its policy again at the next tick.
 * A change in augur's own namespace (virt-augur policy) takes a yielded
 * guest back (SECOND CONTROLLER): augur forgets the target it had set, so
 * that the balloon where the other controller left it is its new start. */
static void
metadata_changed (AugurResize *r, const char *uuid, const char *nsuri)
{
        ResizeVm *vm = g_hash_table_lookup (r->vms, uuid);

        if (!vm)
                return;
        vm->meta_loaded = FALSE;
        if (!vm->yielded || (nsuri && strcmp (nsuri, AUGUR_POLICY_NS_URI) != 0))
                return;
        vm->yielded = FALSE;
        vm->foreign_ticks = 0;
        vm->foreign_kib = NAN;
        vm->set_target_kib = vm->set_target_prev_kib = NAN;
        vm->way_lo_kib = vm->way_hi_kib = NAN;
        vm->mem_pending_kib = 0;
        augur_log (G_LOG_LEVEL_MESSAGE, vm->name, "take-back", NULL, NAN, NAN,
                   "guest %s: its augur policy changed: augur takes it back from the other controller "
                   "and resizes it again", vm->name);
        if (r->metrics)
                augur_metrics_set_yielded (r->metrics, vm->uuid, vm->name, FALSE);
}

void
augur_resize_forget (AugurResize *r, const char *uuid)
{
        if (r->hooks.forget)
                r->hooks.forget (r->hooks.ctx, uuid);
        if (r->metrics)
                augur_metrics_forget (r->metrics, uuid);
        augur_resize_io_forget (r->io, uuid);
        augur_resize_cpu_forget (r->cpu, uuid);
        g_hash_table_remove (r->vms, uuid);
}

void
augur_resize_event (AugurResize *r, AugurStore *store, const char *uuid, const AugurHvEvent *e, gint64 now_ms)
{
        switch (e->kind) {
        case AUGUR_HV_EVENT_BALLOON:
                balloon_changed (r, store, uuid, e->balloon_kib, now_ms);
                break;
        case AUGUR_HV_EVENT_AGENT:
                agent_changed (r, uuid, e->agent_connected);
                break;
        case AUGUR_HV_EVENT_METADATA:
                metadata_changed (r, uuid, e->nsuri);
                break;
        case AUGUR_HV_EVENT_LIFECYCLE:
                if (e->lifecycle == AUGUR_HV_LIFECYCLE_STOPPED)
                        augur_resize_forget (r, uuid);
                break;
        }
}

void
augur_resize_reconnected (AugurResize *r)
{
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init (&it, r->vms);
        while (g_hash_table_iter_next (&it, NULL, &v)) {
                ResizeVm *vm = v;

                vm->fresh_samples = 0;
                vm->have_prev = FALSE;
                vm->agent_timeout_set = FALSE;
                vm->meta_loaded = FALSE;
                vm->caps_probe_ms = 0;
        }
}
