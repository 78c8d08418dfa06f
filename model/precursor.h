/* precursor.h — the precursor bound: per VM, how far memory rose after each
 * kind of activity precursor, and a memory upper bound while one is active.
 * Design: precursor.c.  Plain state, embedded in the predictor's per-VM
 * state (predictor.c), stepped once per slow (model) step. */
#pragma once

#include <glib.h>

/* The contexts: typing (an input-event burst), a login (sessions rising),
 * data staging (a disk burst), and a schedule (the next step is due on a
 * wall-clock period at which memory rose the last times). */
enum {
        AUGUR_PREC_INPUT = 0,
        AUGUR_PREC_SESSIONS,
        AUGUR_PREC_DISK,
        AUGUR_PREC_SCHEDULE,
        AUGUR_PREC_N,
};

/* Steps after a context fired during which it counts as active; the jump
 * is looked for over the same number of steps after each origin, and the
 * bound covers horizons 1..AUGUR_PREC_WINDOW. */
#define AUGUR_PREC_WINDOW 3
#define AUGUR_PREC_RING 32      /* newest jumps kept per context            */
#define AUGUR_PREC_MIN_N 4      /* jumps seen before a context bounds        */
#define AUGUR_PREC_REF 128      /* newest jumps after any step (reference)   */
#define AUGUR_PREC_ONSET_BITS 2048 /* steps of onset history (7 d at 5 min)  */
#define AUGUR_PREC_MAX_PERIODS 8   /* schedule periods tried                 */
#define AUGUR_PREC_MAX_SCHED 4     /* schedules held per VM                  */

/* A schedule found in the onsets: due at the steps = phase mod period. */
typedef struct {
        guint period;            /* steps                                    */
        guint phase;             /* step % period of its onsets              */
        guint misses;            /* bit i: the i-th latest due step had no
                                  * onset (the last SCHED_WINDOW)           */
} AugurPrecSchedule;

typedef struct {
        guint64 step;            /* origin (slow step index)                 */
        float level;             /* memory at the origin, signal units       */
        float max;               /* highest memory seen since, NAN = none    */
        guint8 mask;             /* contexts active at the origin            */
        gboolean open;
} AugurPrecEpisode;

typedef struct {
        gboolean started;
        guint64 last_step;
        float last_mem;                     /* memory of the previous step, NAN */
        guint periods[AUGUR_PREC_MAX_PERIODS];   /* schedule periods, steps  */
        guint n_periods;
        guint64 onset[AUGUR_PREC_ONSET_BITS / 64]; /* bit step % BITS: memory
                                             * rose at that step (onset)   */
        AugurPrecSchedule sched[AUGUR_PREC_MAX_SCHED];
        guint n_sched;
        float ew_input, ew_disk;            /* baselines of quiet steps, NAN = none */
        float last_sessions;
        guint64 since[AUGUR_PREC_N];        /* steps since it fired, at most
                                             * AUGUR_PREC_WINDOW (= inactive) */
        AugurPrecEpisode ep[AUGUR_PREC_WINDOW + 1];
        float ring[AUGUR_PREC_N][AUGUR_PREC_RING];
        guint ring_n[AUGUR_PREC_N], ring_pos[AUGUR_PREC_N];
        float ref[AUGUR_PREC_REF];          /* jumps after every origin     */
        int bound_context;                  /* the context that set the newest
                                             * bound, -1 = none             */
        guint ref_n, ref_pos;
} AugurPrecursor;

/* step_s: the slow step, s; it sets which wall-clock periods the
 * schedule context can see (those that are whole numbers of steps). */
void augur_precursor_init (AugurPrecursor *pc, gint64 step_s);

/* One slow step: the step's input events per minute, sessions, disk
 * writes in KiB/s and memory signal (mem_pct); NAN = missing.  Matures the
 * earlier origins' jumps, updates the contexts, and returns the memory
 * bound for horizons 1..AUGUR_PREC_WINDOW from this origin (signal units),
 * or NAN when no active context has AUGUR_PREC_MIN_N jumps yet. */
float augur_precursor_step (AugurPrecursor *pc, guint64 step, float input,
                            float sessions, float disk_wr, float mem);
/* Static name of context c ("typing", "login", "staging", "schedule"). */
const char *augur_precursor_context_name (int c);
