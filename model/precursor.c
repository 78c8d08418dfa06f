/* precursor.c — the precursor bound.  API: precursor.h.
 *
 * Why.  A demand spike that a precursor announces (typing before a build,
 * logins before the day's applications, data staging before a nightly job,
 * the clock before a cron job) is rare: a few steps a day.  The model sees
 * the precursor in its features, but its upper head is trained on every
 * step and scored, by the champion and the calibration, mostly on the
 * quiet ones; what it learns there is a blend of "nothing follows" (false
 * precursors, and the early steps of a long precursor) and "the spike
 * follows".  The policy needs the other question answered: given this
 * precursor on this VM, how high has memory gone within the lead window in
 * the past?
 *
 * What.  Per VM and context c (typing, login, staging, schedule) a ring of
 * the last AUGUR_PREC_RING jumps J = max(y[k+1 .. k+W]) - y[k] over the
 * origins k where c was active, W = AUGUR_PREC_WINDOW steps.  While c is
 * active the memory upper bound for horizons 1..W is at least
 *     y[k] + max(0, Q95(J_c))
 * — the 95th percentile of what followed this precursor on this VM — but
 * only while that exceeds the 90th percentile of the jumps after *every*
 * step of the VM (a ring of the last AUGUR_PREC_REF): a precursor is worth
 * a bound only when more follows it than follows any step, so a context
 * that announces nothing on a VM (disk bursts on a file server, say)
 * bounds nothing there.  False precursors cost slack in proportion to how
 * often they fire, and the replay's buffer knob trades it back.  Causal (a jump
 * enters the ring only once its W steps are seen), O(ring) per active step.
 * The two quantiles: 0.9 for both was the first version (stop 10); the
 * bound at 0.95 was chosen on the validation scenario seed (a compile
 * spike that outgrew the Q90 of 32 jumps by a few percent was the common
 * miss); the same 0.95 for the reference too lost scheduled jobs there
 * (BENCHMARKS-replay.md, "Schedule context").
 *
 * Contexts (step signals, natural units):
 *   typing    input events per minute >= max(30, 3 x the EW mean of quiet
 *             steps): a burst of input; active in the burst's step and the
 *             W - 1 steps after (typing ends 0-2 steps before a build).
 *   login     sessions above the previous step's.
 *   staging   disk writes, KiB/s >= max(1024, 10 x the EW mean of quiet
 *             steps): data written ahead of the job that reads it.
 *   schedule  the next step is due on a schedule: a wall-clock period P
 *             and a phase at which memory rose SCHED_REPEATS times in a
 *             row (onsets at s - 2P, s - P and s, exactly), until
 *             SCHED_DROP of its last SCHED_WINDOW due steps showed no onset
 *             (a job that skips a run, or whose onset a spike already
 *             running hid, is not forgotten; a 3 h chain that a random
 *             spike half-way between two runs of a 6 h job made is, though
 *             every other due step of it is a hit).  A due step that could
 *             not show an onset (a missing sample, or none before it) is
 *             not counted.  An onset is a one-step rise of at least
 *             max(ONSET_MIN_PCT, the reference Q90).  P is one of cron's
 *             usual periods (1, 2, 3, 4, 6, 8, 12, 24 h) that is a whole
 *             number of steps and whose repeats fit the
 *             AUGUR_PREC_ONSET_BITS steps of onset history; a schedule a
 *             held one already covers (a 12 h chain of a 6 h job) is not
 *             added, and at most AUGUR_PREC_MAX_SCHED are held.  It is
 *             active in the step it fires only (the onset is due at k + 1,
 *             not somewhere in the next W steps as after typing), so a
 *             scheduled job costs one step of buffer, not W.  Why these
 *             periods and only exact repeats: a cron job recurs at the same
 *             minute, so its onset falls in the same slow step each time;
 *             any lag, or a tolerance of a step, fires on chance
 *             coincidences of a real VM's jumps (a daily context with a
 *             +-1 step tolerance cost Bitbrains half again its shortfall,
 *             BENCHMARKS-replay.md).  A schedule that fires by chance earns
 *             no bound anyway unless what follows it beats the reference.
 * The EW means (alpha 1/64) learn each VM's quiet level from the steps
 * where the context did not fire, so a busy VM needs a bigger burst.
 *
 * What it is not: a forecast of when or how much.  It is a bound, applied
 * as max() over the served upper (predictor.c, assemble()), never a lower
 * p50, never lower than what the other sources say. */

#include "config.h"

#include <math.h>
#include <string.h>

#include "precursor.h"

#define EW_ALPHA (1.0f / 64.0f)
#define INPUT_MIN_PER_MIN 30.0f
#define INPUT_FACTOR 3.0f
#define DISK_MIN_KIBPS 1024.0f
#define DISK_FACTOR 10.0f
#define BOUND_QUANTILE 0.95    /* of the jumps after a context: its bound      */
#define REF_QUANTILE 0.9        /* of the jumps after any step: what a context
                                 * must beat, and what an onset must rise by  */
#define ONSET_MIN_PCT 2.0f      /* an onset rises >= 2 % of capacity in a step */
#define SCHED_REPEATS 3         /* onsets one period apart make a schedule     */
#define SCHED_WINDOW 4          /* a schedule's latest due steps looked at     */
#define SCHED_DROP 2            /* ... of which this many without an onset
                                 * unmake it                                   */

/* Steps during which a context counts as active after it fired. */
static const guint active_steps[AUGUR_PREC_N] = {
        [AUGUR_PREC_INPUT] = AUGUR_PREC_WINDOW,
        [AUGUR_PREC_SESSIONS] = AUGUR_PREC_WINDOW,
        [AUGUR_PREC_DISK] = AUGUR_PREC_WINDOW,
        [AUGUR_PREC_SCHEDULE] = 1,
};

/* cron's usual periods, s */
static const gint64 sched_period_s[] = { 3600, 7200, 10800, 14400, 21600, 28800, 43200, 86400 };
G_STATIC_ASSERT (G_N_ELEMENTS (sched_period_s) <= AUGUR_PREC_MAX_PERIODS);

void
augur_precursor_init (AugurPrecursor *pc, gint64 step_s)
{
        memset (pc, 0, sizeof *pc);
        pc->ew_input = pc->ew_disk = NAN;
        pc->last_sessions = NAN;
        pc->last_mem = NAN;
        pc->bound_context = -1;
        for (int c = 0; c < AUGUR_PREC_N; c++)
                pc->since[c] = AUGUR_PREC_WINDOW;   /* never fired: inactive */
        for (guint i = 0; step_s > 0 && i < G_N_ELEMENTS (sched_period_s); i++) {
                gint64 P = sched_period_s[i] / step_s;

                if (sched_period_s[i] % step_s == 0 && P > AUGUR_PREC_WINDOW
                    && SCHED_REPEATS * P < AUGUR_PREC_ONSET_BITS)
                        pc->periods[pc->n_periods++] = (guint) P;
        }
}

/* Append v to a ring of cap floats holding *n, next slot *pos. */
static void
ring_push (float *ring, guint cap, guint *n, guint *pos, float v)
{
        ring[*pos] = v;
        *pos = (*pos + 1) % cap;
        if (*n < cap)
                (*n)++;
}

static int
cmp_float (const void *a, const void *b)
{
        float x = *(const float *) a, y = *(const float *) b;

        return (x > y) - (x < y);
}

static float
quantile (const float *a, guint n, double q)
{
        float s[MAX (AUGUR_PREC_RING, AUGUR_PREC_REF)];

        memcpy (s, a, n * sizeof *s);
        qsort (s, n, sizeof *s, cmp_float);
        return s[(guint) MIN ((double) n - 1, floor (q * n))];
}

/* An episode is over: its jump, when it saw any memory, joins the
 * reference ring and the rings of the contexts active at its origin. */
static void
episode_close (AugurPrecursor *pc, AugurPrecEpisode *e)
{
        if (!isnan (e->max)) {
                float j = e->max - e->level;

                ring_push (pc->ref, AUGUR_PREC_REF, &pc->ref_n, &pc->ref_pos, j);
                for (int c = 0; c < AUGUR_PREC_N; c++)
                        if (e->mask & (1u << c))
                                ring_push (pc->ring[c], AUGUR_PREC_RING, &pc->ring_n[c], &pc->ring_pos[c], j);
        }
        e->open = FALSE;
}

static void
onset_set (AugurPrecursor *pc, guint64 step, gboolean on)
{
        guint b = (guint) (step % AUGUR_PREC_ONSET_BITS);

        if (on)
                pc->onset[b / 64] |= G_GUINT64_CONSTANT (1) << (b % 64);
        else
                pc->onset[b / 64] &= ~(G_GUINT64_CONSTANT (1) << (b % 64));
}

static gboolean
onset_at (const AugurPrecursor *pc, guint64 step)
{
        guint b = (guint) (step % AUGUR_PREC_ONSET_BITS);

        return (pc->onset[b / 64] >> (b % 64)) & 1;
}

static guint
miss_count (const AugurPrecSchedule *s)
{
        return (guint) __builtin_popcount (s->misses);
}

/* Does a held schedule already fire at every step = phase mod P? */
static gboolean
schedule_covered (const AugurPrecursor *pc, guint P, guint phase)
{
        for (guint i = 0; i < pc->n_sched; i++) {
                const AugurPrecSchedule *s = &pc->sched[i];

                if (P % s->period == 0 && phase % s->period == s->phase)
                        return TRUE;
        }
        return FALSE;
}

/* The schedules after step's onset bit is set: a due step without an
 * onset is a miss (SCHED_DROP in the last SCHED_WINDOW drop it) when it
 * could have shown one (seen); an onset that ends SCHED_REPEATS onsets
 * one period apart makes a schedule, in place of the one that missed most
 * when all slots are held. */
static void
schedule_update (AugurPrecursor *pc, guint64 step, gboolean seen, gboolean onset)
{
        for (guint i = 0; seen && i < pc->n_sched; i++) {
                AugurPrecSchedule *s = &pc->sched[i];

                if (step % s->period != s->phase)
                        continue;
                s->misses = ((s->misses << 1) | !onset) & ((1u << SCHED_WINDOW) - 1);
                if (miss_count (s) >= SCHED_DROP)
                        pc->sched[i--] = pc->sched[--pc->n_sched];
        }
        if (!onset)
                return;
        for (guint i = 0; i < pc->n_periods; i++) {
                guint P = pc->periods[i], phase = (guint) (step % P), slot = pc->n_sched, m;

                if (step < (guint64) (SCHED_REPEATS - 1) * P || schedule_covered (pc, P, phase))
                        continue;
                for (m = 1; m < SCHED_REPEATS && onset_at (pc, step - (guint64) m * P); m++)
                        ;
                if (m < SCHED_REPEATS)
                        continue;
                if (slot == AUGUR_PREC_MAX_SCHED) {
                        for (guint j = 0; j < pc->n_sched; j++)
                                if (miss_count (&pc->sched[j]) > 0
                                    && (slot == AUGUR_PREC_MAX_SCHED
                                        || miss_count (&pc->sched[j]) > miss_count (&pc->sched[slot])))
                                        slot = j;
                        if (slot == AUGUR_PREC_MAX_SCHED)
                                continue;   /* all held and showing up */
                } else {
                        pc->n_sched++;
                }
                pc->sched[slot] = (AugurPrecSchedule) { P, phase, 0 };
        }
}

/* Is step + 1 due on a held schedule? */
static gboolean
schedule_due (const AugurPrecursor *pc, guint64 step)
{
        for (guint i = 0; i < pc->n_sched; i++)
                if ((step + 1) % pc->sched[i].period == pc->sched[i].phase)
                        return TRUE;
        return FALSE;
}

/* Does the value fire against the EW mean of quiet steps?  Updates the
 * mean on quiet steps. */
static gboolean
burst (float x, float *ew, float floor_v, float factor)
{
        gboolean fired;

        if (isnan (x))
                return FALSE;
        fired = x >= floor_v && (isnan (*ew) || x >= factor * *ew);
        if (!fired)
                *ew = isnan (*ew) ? x : *ew + EW_ALPHA * (x - *ew);
        return fired;
}

float
augur_precursor_step (AugurPrecursor *pc, guint64 step, float input,
                      float sessions, float disk_wr, float mem)
{
        guint64 k = pc->started ? step - pc->last_step : 1;
        gboolean fired[AUGUR_PREC_N];
        guint8 active = 0;
        float bound = NAN, ref_q = NAN;   /* the reference's Q90, computed once:
                                           * the ring changes in step 1 only */
        gboolean onset = FALSE;

        if (pc->started && step <= pc->last_step)
                return NAN;
        pc->bound_context = -1;
        /* 1. mature: this step's memory counts for the origins within W. */
        for (guint i = 0; i < G_N_ELEMENTS (pc->ep); i++) {
                AugurPrecEpisode *e = &pc->ep[i];

                if (!e->open)
                        continue;
                if (step - e->step <= AUGUR_PREC_WINDOW && !isnan (mem))
                        e->max = isnan (e->max) ? mem : MAX (e->max, mem);
                if (step - e->step >= AUGUR_PREC_WINDOW)
                        episode_close (pc, e);
        }
        /* 2. onsets: this step's bit, and the skipped steps' cleared */
        if (pc->n_periods > 0) {
                gboolean seen = pc->started && k == 1 && !isnan (mem) && !isnan (pc->last_mem)
                                && pc->ref_n >= AUGUR_PREC_MIN_N;

                if (seen && mem - pc->last_mem >= ONSET_MIN_PCT) {
                        ref_q = quantile (pc->ref, pc->ref_n, REF_QUANTILE);
                        onset = mem - pc->last_mem >= ref_q;
                }
                for (guint64 i = 1; pc->started && i < k && i <= AUGUR_PREC_ONSET_BITS; i++)
                        onset_set (pc, step - i, FALSE);
                onset_set (pc, step, onset);
                schedule_update (pc, step, seen, onset);
        }
        pc->last_mem = mem;
        /* 3. contexts */
        fired[AUGUR_PREC_INPUT] = burst (input, &pc->ew_input, INPUT_MIN_PER_MIN, INPUT_FACTOR);
        fired[AUGUR_PREC_SESSIONS] = !isnan (sessions) && !isnan (pc->last_sessions) && sessions > pc->last_sessions;
        fired[AUGUR_PREC_DISK] = burst (disk_wr, &pc->ew_disk, DISK_MIN_KIBPS, DISK_FACTOR);
        fired[AUGUR_PREC_SCHEDULE] = schedule_due (pc, step);
        if (!isnan (sessions))
                pc->last_sessions = sessions;
        for (int c = 0; c < AUGUR_PREC_N; c++) {
                /* counted up to the window only: past it, inactive */
                pc->since[c] = fired[c] ? 0 : MIN (pc->since[c] + k, AUGUR_PREC_WINDOW);
                if (pc->since[c] < active_steps[c])
                        active |= (guint8) (1u << c);
        }
        pc->started = TRUE;
        pc->last_step = step;
        if (isnan (mem))
                return NAN;
        /* 4. every step is an origin (for the reference); its slot is free:
         * the older ones closed above */
        for (guint i = 0; i < G_N_ELEMENTS (pc->ep); i++) {
                AugurPrecEpisode *e = &pc->ep[i];

                if (e->open)
                        continue;
                *e = (AugurPrecEpisode) { step, mem, NAN, active, TRUE };
                break;
        }
        if (!active || pc->ref_n < AUGUR_PREC_MIN_N)
                return NAN;
        /* 5. the bound: informative contexts only */
        if (isnan (ref_q))
                ref_q = quantile (pc->ref, pc->ref_n, REF_QUANTILE);
        for (int c = 0; c < AUGUR_PREC_N; c++) {
                float q;

                if (!(active & (1u << c)) || pc->ring_n[c] < AUGUR_PREC_MIN_N)
                        continue;
                q = quantile (pc->ring[c], pc->ring_n[c], BOUND_QUANTILE);
                if (q > 0 && q > ref_q && (isnan (bound) || mem + q > bound)) {
                        bound = mem + q;
                        pc->bound_context = c;
                }
        }
        return bound;
}

const char *
augur_precursor_context_name (int c)
{
        static const char *const names[AUGUR_PREC_N] = {
                [AUGUR_PREC_INPUT] = "typing",
                [AUGUR_PREC_SESSIONS] = "login",
                [AUGUR_PREC_DISK] = "staging",
                [AUGUR_PREC_SCHEDULE] = "schedule",
        };

        return c >= 0 && c < AUGUR_PREC_N ? names[c] : NULL;
}
