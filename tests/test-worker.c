/* test-worker.c — one job off the main loop (plugin/worker.h): the result
 * comes back on the main context after the thread is joined, at the nice
 * value asked for; clear cancels a running job, drops its result and frees
 * it; a job that finished but whose done has not run yet is dropped too. */
#include "config.h"

#include <errno.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "worker.h"

typedef struct {
        gint spin;                    /* 1: run until cancelled           */
        gint started;                 /* set by run, atomically           */
        int nice_seen;
        gboolean cancelled_seen;
        gint *freed;                  /* counts job_free calls            */
} Job;

typedef struct {
        guint done;
        int nice_seen;
} Owner;

static void
run (gpointer data, const gint *cancel)
{
        Job *j = data;

        errno = 0;
        j->nice_seen = getpriority (PRIO_PROCESS, (id_t) syscall (SYS_gettid));
        g_atomic_int_set (&j->started, 1);
        while (j->spin && !g_atomic_int_get (cancel))
                g_usleep (1000);
        j->cancelled_seen = g_atomic_int_get (cancel);
}

static void
done (gpointer owner, gpointer data)
{
        Owner *o = owner;
        Job *j = data;

        o->done++;
        o->nice_seen = j->nice_seen;
}

static void
job_free (gpointer data)
{
        Job *j = data;

        (*j->freed)++;
        g_free (j);
}

static Job *
job_new (gint *freed, gboolean spin)
{
        Job *j = g_new0 (Job, 1);

        j->freed = freed;
        j->spin = spin;
        return j;
}

static void
test_done (void)
{
        AugurWorker w;
        Owner o = { 0 };
        gint freed = 0;
        g_autoptr(GError) error = NULL;

        augur_worker_init (&w);
        g_assert_true (augur_worker_start (&w, "t", 7, run, done, &o, job_new (&freed, FALSE), job_free, &error));
        g_assert_no_error (error);
        g_assert_true (augur_worker_busy (&w));
        while (o.done == 0)
                g_main_context_iteration (NULL, TRUE);
        g_assert_false (augur_worker_busy (&w));
        g_assert_cmpint (freed, ==, 1);
        g_assert_cmpint (o.nice_seen, >=, 7);
        /* Again, on the same worker. */
        g_assert_true (augur_worker_start (&w, "t", 7, run, done, &o, job_new (&freed, FALSE), job_free, &error));
        while (o.done == 1)
                g_main_context_iteration (NULL, TRUE);
        g_assert_cmpint (freed, ==, 2);
        augur_worker_clear (&w);
        g_assert_cmpint (freed, ==, 2);
}

static void
test_cancel (void)
{
        AugurWorker w;
        Owner o = { 0 };
        gint freed = 0;
        Job *j = job_new (&freed, TRUE);

        augur_worker_init (&w);
        g_assert_true (augur_worker_start (&w, "t", 0, run, done, &o, j, job_free, NULL));
        while (!g_atomic_int_get (&j->started))
                g_usleep (1000);
        augur_worker_clear (&w);                /* returns: the job saw the flag */
        g_assert_cmpint (freed, ==, 1);
        while (g_main_context_iteration (NULL, FALSE))
                ;
        g_assert_cmpuint (o.done, ==, 0);
}

/* Finished, done pending on the main context: clear drops it. */
static void
test_drop_pending (void)
{
        AugurWorker w;
        Owner o = { 0 };
        gint freed = 0;

        augur_worker_init (&w);
        g_assert_true (augur_worker_start (&w, "t", 0, run, done, &o, job_new (&freed, FALSE), job_free, NULL));
        while (!g_atomic_int_get (&w.done_source) && !g_main_context_pending (NULL))
                g_usleep (1000);
        g_usleep (10000);
        augur_worker_clear (&w);
        g_assert_cmpint (freed, ==, 1);
        while (g_main_context_iteration (NULL, FALSE))
                ;
        g_assert_cmpuint (o.done, ==, 0);
}

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
        g_test_add_func ("/worker/done", test_done);
        g_test_add_func ("/worker/cancel", test_cancel);
        g_test_add_func ("/worker/drop-pending", test_drop_pending);
        return g_test_run ();
}
