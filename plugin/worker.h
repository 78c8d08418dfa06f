/* worker.h — one job off augurd's main loop: a thread at a nice value whose
 * result comes back on the main context, and that can be cancelled.
 *
 * Used by periodic retraining (retrain.h) and the host's 4-hour view
 * (host-plan.h): both read the store on their own connection, take
 * seconds to minutes, and must never hold up a tick.
 *
 * THE PROTOCOL
 *   start: the owner hands over a job (owned by the worker from then on)
 *   and two functions.  run(job, cancel) runs on the new thread, at nice
 *   (Linux: per thread, inherited by the threads it creates); it should
 *   look at *cancel (atomically) between steps and stop early when set.
 *   done(owner, job) then runs on the main context (the default one, an
 *   idle source), after the thread is joined: the owner reads the result
 *   there; the worker frees the job right after.
 *   clear: sets the cancel flag, joins a running thread, drops a pending
 *   done (a job that finished just before is not reported either) and
 *   frees the job, then the lock (augur_worker_init again to reuse it).
 * The lock orders the pending idle source against the cancel flag: a
 * worker cancelled while finishing never attaches a done the owner would
 * run after clear.
 */
#pragma once

#include <glib.h>

typedef void (*AugurWorkerRun) (gpointer job, const gint *cancel);
typedef void (*AugurWorkerDone) (gpointer owner, gpointer job);

typedef struct {
        GThread *thread;              /* running or finished, not joined    */
        GMutex lock;
        guint done_source;            /* pending done, or 0                 */
        gint cancel;                  /* set by clear, atomically           */
        int nice;
        gpointer job;
        AugurWorkerRun run;
        AugurWorkerDone done;
        gpointer owner;
        GDestroyNotify job_free;
} AugurWorker;

void augur_worker_init (AugurWorker *w);
/* FALSE (with error) when the thread cannot be created: the job is freed. */
gboolean augur_worker_start (AugurWorker *w, const char *name, int nice, AugurWorkerRun run,
                             AugurWorkerDone done, gpointer owner, gpointer job,
                             GDestroyNotify job_free, GError **error);
/* A job was started and its done has not run yet. */
gboolean augur_worker_busy (const AugurWorker *w);
/* Cancel, join and free what is running; then free the lock. */
void augur_worker_clear (AugurWorker *w);
