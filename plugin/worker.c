/* worker.c — one job off the main loop (see worker.h). */
#include "config.h"

#include "worker.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

void
augur_worker_init (AugurWorker *w)
{
        memset (w, 0, sizeof *w);
        g_mutex_init (&w->lock);
}

static gboolean
finished (gpointer data)
{
        AugurWorker *w = data;
        gpointer job;

        g_mutex_lock (&w->lock);
        w->done_source = 0;
        g_mutex_unlock (&w->lock);
        g_thread_join (g_steal_pointer (&w->thread));
        job = g_steal_pointer (&w->job);
        w->done (w->owner, job);
        w->job_free (job);
        return G_SOURCE_REMOVE;
}

static gpointer
thread_main (gpointer data)
{
        AugurWorker *w = data;
        GSource *src;

        if (setpriority (PRIO_PROCESS, (id_t) syscall (SYS_gettid), w->nice) < 0)
                g_debug ("setpriority: %s", g_strerror (errno));
        w->run (w->job, &w->cancel);
        g_mutex_lock (&w->lock);
        if (!g_atomic_int_get (&w->cancel)) {   /* else augur_worker_clear joins and frees */
                src = g_idle_source_new ();
                g_source_set_callback (src, finished, w, NULL);
                w->done_source = g_source_attach (src, NULL);
                g_source_unref (src);
        }
        g_mutex_unlock (&w->lock);
        return NULL;
}

gboolean
augur_worker_start (AugurWorker *w, const char *name, int nice, AugurWorkerRun run, AugurWorkerDone done,
                    gpointer owner, gpointer job, GDestroyNotify job_free, GError **error)
{
        g_return_val_if_fail (!w->thread && job && run && done && job_free, FALSE);
        w->nice = nice;
        w->run = run;
        w->done = done;
        w->owner = owner;
        w->job = job;
        w->job_free = job_free;
        g_atomic_int_set (&w->cancel, 0);
        w->thread = g_thread_try_new (name, thread_main, w, error);
        if (!w->thread) {
                job_free (g_steal_pointer (&w->job));
                return FALSE;
        }
        return TRUE;
}

gboolean
augur_worker_busy (const AugurWorker *w)
{
        return w->thread != NULL;
}

void
augur_worker_clear (AugurWorker *w)
{
        if (w->thread) {
                g_mutex_lock (&w->lock);
                g_atomic_int_set (&w->cancel, 1);
                g_mutex_unlock (&w->lock);
                g_thread_join (g_steal_pointer (&w->thread));
                /* It may have finished before the flag was set: then its
                 * result is dropped with the pending idle. */
                if (w->done_source)
                        g_source_remove (w->done_source);
                w->done_source = 0;
                w->job_free (g_steal_pointer (&w->job));
        }
        g_mutex_clear (&w->lock);
}
