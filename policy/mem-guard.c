/* mem-guard.c — the memory guard.  Design: mem-guard.h. */
#include "config.h"

#include "mem-guard.h"

#include <math.h>

/* A deflation: the balloon rose by more than this, KiB.  Linux's
 * deflate-on-OOM gives back 1 MiB (256 pages) per OOM notification. */
#define DEFLATE_MIN_KIB 512.0

static const char *const event_names[AUGUR_GUARD_EVENT_N] = {
        [AUGUR_GUARD_EVENT_NONE] = "none",
        [AUGUR_GUARD_EVENT_OOM_KILL] = "guest-oom-kill",
        [AUGUR_GUARD_EVENT_DEFLATED] = "guest-deflated",
        [AUGUR_GUARD_EVENT_CUT_OFF] = "demand-cut-off",
        [AUGUR_GUARD_EVENT_PSI] = "guest-memory-pressure",
};

const char *
augur_guard_event_name (AugurGuardEvent e)
{
        return e < AUGUR_GUARD_EVENT_N ? event_names[e] : "?";
}

void
augur_guard_init (AugurGuardState *s)
{
        *s = (AugurGuardState) { 0 };
        s->born_s = NAN;
        s->oom_kills = NAN;
        s->hold_kib = NAN;
        s->burst_until_s = -1e18;
        s->last_event_s = NAN;
        s->last_alloc_kib = NAN;
}

/* The observation i ticks back (0 = newest); i < s->n. */
static const AugurGuardObs *
obs_back (const AugurGuardState *s, guint i)
{
        return &s->ring[(s->head + AUGUR_GUARD_RING - i) % AUGUR_GUARD_RING];
}

static void
push (AugurGuardState *s, const AugurGuardInput *in)
{
        if (s->n > 0)
                s->head = (s->head + 1) % AUGUR_GUARD_RING;
        s->ring[s->head] = (AugurGuardObs) {
                .t_s = in->now_s, .used_kib = in->used_kib,
                .alloc_kib = in->alloc_kib, .forecast_kib = in->forecast_kib,
        };
        if (s->n < AUGUR_GUARD_RING)
                s->n++;
}

/* The oldest observation within `window_s` before the newest (at least
 * the one before it), its index back in *ret_back; NULL with < 2. */
static const AugurGuardObs *
window_start (const AugurGuardState *s, double window_s, guint *ret_back)
{
        const AugurGuardObs *now = obs_back (s, 0);
        guint i;

        if (s->n < 2)
                return NULL;
        for (i = 1; i + 1 < s->n; i++)
                if (now->t_s - obs_back (s, i + 1)->t_s > window_s)
                        break;
        *ret_back = i;
        return obs_back (s, i);
}

static double
new_guest_floor (const AugurGuardState *s, double now_s, double max_kib)
{
        double age = isnan (s->born_s) ? 0 : now_s - s->born_s;
        double c;

        if (isnan (max_kib) || age >= AUGUR_GUARD_NEW_S)
                return 0;
        c = MAX (AUGUR_GUARD_NEW_CUSHION_FRAC * max_kib, AUGUR_GUARD_NEW_CUSHION_MIN_KIB);
        return c * (1 - age / AUGUR_GUARD_NEW_S);
}

/* Shift one scored burst into the record; closes an open one. */
static void
score_burst (AugurGuardState *s, gboolean foreseen)
{
        s->foreseen = (s->foreseen << 1) | (foreseen ? 1u : 0u);
        s->bursts = MIN (s->bursts + 1, 32);
        s->burst_open = FALSE;
}

static void
raise_event (AugurGuardState *s, const AugurGuardInput *in, AugurGuardEvent e,
             double seen_rise_kib, AugurGuardOut *o)
{
        double alloc = in->alloc_kib, cut, level;

        if (isnan (alloc))
                return;
        /* The allocation that failed plus the rise that was cut off: its
         * true size is censored, so the larger of what was seen, the
         * envelope and a quarter of the allocation. */
        cut = MAX (MAX (seen_rise_kib, s->envelope_kib), AUGUR_GUARD_CUT_FRAC * alloc);
        level = alloc + cut;
        if (!isnan (in->max_kib))
                level = MIN (level, in->max_kib);
        if (in->now_s < s->hold_until_s)
                s->hold_len_s = MIN (2 * s->hold_len_s, AUGUR_GUARD_HOLD_MAX_S);
        else
                s->hold_len_s = AUGUR_GUARD_HOLD_S;
        s->hold_kib = in->now_s < s->hold_until_s && !isnan (s->hold_kib) ? MAX (s->hold_kib, level) : level;
        s->hold_until_s = in->now_s + s->hold_len_s;
        /* What the host saw itself (the balloon, used memory) widens the
         * envelope too, an ordinary want; the guest's own word (its count,
         * its PSI) only makes the hold, an extra (mem-guard.h). */
        if ((e == AUGUR_GUARD_EVENT_CUT_OFF || e == AUGUR_GUARD_EVENT_DEFLATED) && !isnan (in->used_kib))
                s->envelope_kib = MAX (s->envelope_kib, level - MIN (in->used_kib, alloc));
        s->last_event = e;
        s->last_event_s = in->now_s;
        s->last_event_alloc_kib = alloc;
        /* A burst augur failed to serve: not foreseen (and one being
         * scored is this one). */
        score_burst (s, FALSE);
        o->event = e;
}

void
augur_guard_observe (AugurGuardState *s, const AugurGuardInput *in, AugurGuardOut *ret)
{
        const AugurGuardObs *start = NULL, *now;
        double min_used = NAN, peak_used = NAN, peak_alloc = NAN, rise_now = 0, window = in->lead_s;
        double envelope_before = 0;
        guint back = 0;
        gboolean recent;

        *ret = (AugurGuardOut) { .event = AUGUR_GUARD_EVENT_NONE, .hold_kib = NAN };
        if (isnan (s->born_s))
                s->born_s = in->now_s;
        if (s->envelope_s > 0 && in->now_s > s->envelope_s)
                s->envelope_kib *= exp2 (-(in->now_s - s->envelope_s) / AUGUR_GUARD_ENVELOPE_HALFLIFE_S);
        s->envelope_s = in->now_s;
        /* One failure shows in several signals over a few ticks (the
         * count, then used falling back): one event per lead window. */
        recent = !isnan (s->last_event_s) && in->now_s - s->last_event_s <= window + 2 * in->tick_s;

        /* The guest's own count: a rise is an OOM kill; a fall is a reboot
         * (or a lie): re-baseline, never an event. */
        if (!isnan (in->oom_kills)) {
                if (!isnan (s->oom_kills) && in->oom_kills > s->oom_kills)
                        raise_event (s, in, AUGUR_GUARD_EVENT_OOM_KILL, 0, ret);
                s->oom_kills = in->oom_kills;
        }
        if (!isnan (in->psi_mem_pct) && in->psi_mem_pct >= AUGUR_GUARD_PSI_PCT &&
            ret->event == AUGUR_GUARD_EVENT_NONE && !recent && !(in->now_s < s->hold_until_s))
                raise_event (s, in, AUGUR_GUARD_EVENT_PSI, 0, ret);

        /* Autodeflate: the balloon rose above every target augur set
         * lately: the guest took pages back itself. */
        if (!isnan (s->last_alloc_kib) && !isnan (in->alloc_kib) && !isnan (in->target_kib) &&
            in->alloc_kib > s->last_alloc_kib + DEFLATE_MIN_KIB &&
            in->alloc_kib > in->target_kib + DEFLATE_MIN_KIB &&
            ret->event == AUGUR_GUARD_EVENT_NONE && !recent)
                raise_event (s, in, AUGUR_GUARD_EVENT_DEFLATED, in->alloc_kib - s->last_alloc_kib, ret);
        if (!isnan (in->alloc_kib))
                s->last_alloc_kib = in->alloc_kib;
        if (in->fresh && !isnan (in->used_kib) && !isnan (in->alloc_kib)) {
                push (s, in);
                now = obs_back (s, 0);
                /* Window: one lead plus one tick back from now. */
                start = window_start (s, window + in->tick_s, &back);
        }
        if (start) {
                for (guint i = 0; i <= back; i++) {
                        const AugurGuardObs *o = obs_back (s, i);

                        if (isnan (min_used) || o->used_kib < min_used)
                                min_used = o->used_kib;
                        if (i > 0 && (isnan (peak_used) || o->used_kib > peak_used)) {
                                peak_used = o->used_kib;
                                peak_alloc = o->alloc_kib;
                        }
                }
                now = obs_back (s, 0);
                rise_now = MAX (0, now->used_kib - min_used);
                envelope_before = s->envelope_kib;
                s->envelope_kib = MAX (s->envelope_kib, rise_now);

                /* Cut off: an earlier sample of the window stood at the
                 * balloon after a rise, and used has fallen back by at
                 * least half of that rise now. */
                if (!isnan (peak_used) && ret->event == AUGUR_GUARD_EVENT_NONE && !recent) {
                        double rise = peak_used - min_used;
                        double thr = MAX (AUGUR_GUARD_BURST_MIN_KIB, AUGUR_GUARD_BURST_MIN_FRAC * peak_alloc);

                        if (rise >= thr && peak_used >= (1 - AUGUR_GUARD_NEAR_FRAC) * peak_alloc &&
                            now->used_kib <= peak_used - rise / 2)
                                raise_event (s, in, AUGUR_GUARD_EVENT_CUT_OFF, rise, ret);
                }
                /* Score a burst once (mem-guard.h): open it when used has
                 * risen by at least half the envelope within one lead,
                 * keep its peak for one lead, and call it foreseen only if
                 * the forecast made one lead before its start stayed above
                 * that peak.  A miss closes it at once. */
                if (s->burst_open) {
                        s->burst_peak_kib = MAX (s->burst_peak_kib, now->used_kib);
                        if (!(s->burst_forecast_kib >= s->burst_peak_kib))
                                score_burst (s, FALSE);
                        else if (in->now_s >= s->burst_until_s)
                                score_burst (s, TRUE);
                } else if (ret->event == AUGUR_GUARD_EVENT_NONE && !recent && in->now_s >= s->burst_until_s &&
                           rise_now >= MAX (MAX (AUGUR_GUARD_BURST_MIN_KIB, AUGUR_GUARD_BURST_MIN_FRAC * in->alloc_kib),
                                            AUGUR_GUARD_SCORE_FRAC * envelope_before)) {
                        s->burst_open = TRUE;
                        s->burst_forecast_kib = start->forecast_kib;
                        s->burst_peak_kib = now->used_kib;
                        s->burst_until_s = in->now_s + window + in->tick_s;
                        if (!(s->burst_forecast_kib >= s->burst_peak_kib))
                                score_burst (s, FALSE);
                }
        }
        if (in->now_s < s->hold_until_s) {
                ret->hold_kib = s->hold_kib;
                ret->hold_until_s = s->hold_until_s;
        }
        ret->confident = s->bursts >= AUGUR_GUARD_CONFIDENT_N &&
                         (s->foreseen & ((1u << AUGUR_GUARD_CONFIDENT_N) - 1)) ==
                         (1u << AUGUR_GUARD_CONFIDENT_N) - 1;
        ret->envelope_kib = MAX (s->envelope_kib, new_guest_floor (s, in->now_s, in->max_kib));
}

double
augur_guard_cushion (const AugurGuardOut *o, double max_kib, double reserve_kib, double g)
{
        double generous = AUGUR_GUARD_GENEROUS_MIN_KIB, eff;

        if (!isnan (max_kib))
                generous = MAX (generous, AUGUR_GUARD_GENEROUS_FRAC * max_kib);
        g = CLAMP (g, 0, 1);
        /* After the largest burst it has shown, the guest still has the
         * reserve free: at exactly its peak the kernel's watermarks kill
         * (a real run: OOM at a balloon 5 MiB above the job's peak). */
        eff = o->confident ? reserve_kib : o->envelope_kib + reserve_kib;
        return MAX (eff, g * MAX (o->envelope_kib, generous));
}

double
augur_guard_host_slack (double free_frac, double low, double high)
{
        if (isnan (free_frac))
                return 1;
        if (high <= low)
                return free_frac >= high ? 1 : 0;
        return CLAMP ((free_frac - low) / (high - low), 0, 1);
}
