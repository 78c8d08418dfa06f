/* checkpointer.c — WAL checkpoints off the writer's thread.
 *
 * Design.  In WAL mode every commit appends the pages it dirtied to the
 * -wal file; a checkpoint copies them back into the database and fsyncs
 * both, after which the next writer starts the WAL over.  SQLite's default
 * runs that checkpoint inside the COMMIT that crosses the threshold
 * (wal_autocheckpoint), so once every ~20 ticks at 1000 VMs one tick paid
 * for copying 32 MiB and two fdatasync: the tick path's largest single
 * cost after the minute's move (BENCHMARKS-replay.md).
 *
 * Here the writer connection's wal_hook (called after each commit with the
 * WAL's size in frames) only wakes a thread, "augur-ckpt", once the WAL
 * holds AUGUR_STORE_CHECKPOINT_PAGES frames.  The thread has its own
 * connection and runs a PASSIVE checkpoint: it takes no lock a writer or a
 * reader waits on, copies what is committed, and is retried at the next
 * wake-up when a reader still holds old frames.  Durability is unchanged:
 * with synchronous=NORMAL a commit is durable against a process crash once
 * it is in the WAL, whoever checkpoints it later.
 *
 * Age.  On a small host the page threshold alone is reached late: a tick
 * of a few guests appends a few pages, so 8192 of them gather over hours
 * or days, and until then every row lives only in the -wal file (measured:
 * after 3 s at a 0.5 s tick a 552 KiB WAL beside a 4 KiB database).  That
 * is durable (synchronous=NORMAL), but a backup of augur.db alone, or a
 * lost -wal, has none of it, and every reader searches a WAL index that
 * keeps growing.  So the hook also wakes the thread when the WAL holds any
 * frame and the last wake-up is AUGUR_STORE_CHECKPOINT_MAX_AGE_US old: a
 * passive checkpoint of a minute's pages, one fdatasync of the database
 * per minute, off the tick's thread.  A large host reaches the page
 * threshold first and sees no difference.
 *
 * Bound.  If the thread falls behind (a long reader, a slow disk) and the
 * WAL reaches AUGUR_STORE_CHECKPOINT_HARD_FACTOR times the threshold, the
 * writer checkpoints itself in the hook, as SQLite would have, so the WAL
 * stays bounded (~64 MiB) whatever the thread does.
 *
 * Lifetime.  augur_store_checkpointer_start() after the store is open,
 * _stop() before its connection closes: the thread is joined, its
 * connection closed, and the writer's close then checkpoints and removes
 * the WAL as the last connection.  The thread opens its connection at its
 * first wake-up, and again after a failure; failures (cannot open three
 * times in a row, an I/O error) are logged once and leave the writer's
 * fallback in charge. */

#include "config.h"

#include "store-private.h"

#define AUGUR_STORE_CHECKPOINT_PAGES 8192
#define AUGUR_STORE_CHECKPOINT_HARD_FACTOR 2
/* Oldest the WAL's content may get before a checkpoint, us (see Age). */
#define AUGUR_STORE_CHECKPOINT_MAX_AGE_US ((gint64) 60 * G_USEC_PER_SEC)

struct AugurCheckpointer {
        char *path;
        GThread *thread;
        GMutex lock;
        GCond wake;
        gboolean pending;          /* a checkpoint is asked for    (lock) */
        gboolean stop;             /*                              (lock) */
        int soft_pages;            /* wake the thread from here         */
        int hard_pages;            /* the writer checkpoints from here  */
        gint64 max_age_us;         /* wake the thread at least this often
                                    * while the WAL has frames           */
        gint64 woken_us;           /* monotonic time of the last wake-up
                                    * (writer's thread only)             */
        gint runs;                 /* checkpoints by the thread (atomic) */
        gint inline_runs;          /* by the writer's fallback (atomic)  */
        gboolean warned;           /* (thread only) */
};

/* The thread's connection, opened at its first wake-up and again at the
 * next one after a failure (a database busy being created or migrated, a
 * -wal file being replaced): only CHECKPOINT_OPEN_TRIES failures in a row
 * are worth a warning; until the thread has a connection the writer's
 * fallback keeps the WAL bounded. */
#define CHECKPOINT_OPEN_TRIES 3

static sqlite3 *
open_connection (AugurCheckpointer *ck, int *failures)
{
        sqlite3 *db = NULL;
        int rc = sqlite3_open_v2 (ck->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);

        if (rc == SQLITE_OK)
                rc = sqlite3_exec (db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
                if (++*failures == CHECKPOINT_OPEN_TRIES)
                        g_warning ("%s: checkpoint thread: cannot open the database (%d tries): %s; "
                                   "the writer checkpoints itself", ck->path, *failures,
                                   db ? sqlite3_errmsg (db) : sqlite3_errstr (rc));
                else
                        g_debug ("%s: checkpoint thread: cannot open the database: %s; retrying at the next "
                                 "wake-up", ck->path, db ? sqlite3_errmsg (db) : sqlite3_errstr (rc));
                sqlite3_close_v2 (db);
                return NULL;
        }
        *failures = 0;
        /* The connection must not checkpoint on its own (it never writes,
         * but a close of a non-last connection does not checkpoint either). */
        sqlite3_wal_autocheckpoint (db, 0);
        return db;
}

static gpointer
checkpointer_main (gpointer data)
{
        AugurCheckpointer *ck = data;
        sqlite3 *db = NULL;
        int rc, failures = 0;

        g_mutex_lock (&ck->lock);
        for (;;) {
                while (!ck->pending && !ck->stop)
                        g_cond_wait (&ck->wake, &ck->lock);
                if (ck->stop)
                        break;
                ck->pending = FALSE;
                g_mutex_unlock (&ck->lock);

                if (!db)
                        db = open_connection (ck, &failures);
                if (db) {
                        rc = sqlite3_wal_checkpoint_v2 (db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
                        if (rc == SQLITE_OK)
                                g_atomic_int_inc (&ck->runs);
                        else if (rc != SQLITE_BUSY && !ck->warned) {
                                /* BUSY: the writer's fallback holds the checkpoint lock. */
                                g_warning ("%s: checkpoint thread: %s (logged once; the writer checkpoints itself "
                                           "past %d pages)", ck->path, sqlite3_errmsg (db), ck->hard_pages);
                                ck->warned = TRUE;
                        }
                }
                g_mutex_lock (&ck->lock);
        }
        g_mutex_unlock (&ck->lock);
        sqlite3_close_v2 (db);
        return NULL;
}

/* sqlite3_wal_hook callback: after each commit of the writer, with the
 * WAL's size in frames (pages).  Runs on the writer's thread, after the
 * commit's locks are released. */
static int
wal_hook (void *data, sqlite3 *db, const char *schema, int frames)
{
        AugurCheckpointer *ck = data;

        if (frames >= ck->hard_pages) {
                if (sqlite3_wal_checkpoint_v2 (db, schema, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL) == SQLITE_OK)
                        g_atomic_int_inc (&ck->inline_runs);
                return SQLITE_OK;
        }
        if (frames >= ck->soft_pages ||
            (frames > 0 && g_get_monotonic_time () - ck->woken_us >= ck->max_age_us)) {
                ck->woken_us = g_get_monotonic_time ();
                g_mutex_lock (&ck->lock);
                if (!ck->pending) {
                        ck->pending = TRUE;
                        g_cond_signal (&ck->wake);
                }
                g_mutex_unlock (&ck->lock);
        }
        return SQLITE_OK;
}

AugurCheckpointer *
augur_store_checkpointer_start (sqlite3 *db, const char *path)
{
        AugurCheckpointer *ck = g_new0 (AugurCheckpointer, 1);
        g_autoptr(GError) error = NULL;

        ck->path = g_strdup (path);
        ck->soft_pages = AUGUR_STORE_CHECKPOINT_PAGES;
        ck->hard_pages = AUGUR_STORE_CHECKPOINT_PAGES * AUGUR_STORE_CHECKPOINT_HARD_FACTOR;
        ck->max_age_us = AUGUR_STORE_CHECKPOINT_MAX_AGE_US;
        ck->woken_us = g_get_monotonic_time ();
        g_mutex_init (&ck->lock);
        g_cond_init (&ck->wake);
        ck->thread = g_thread_try_new ("augur-ckpt", checkpointer_main, ck, &error);
        if (!ck->thread) {
                /* The hook's fallback is then the only checkpoint, at the
                 * soft threshold instead of the hard one. */
                g_warning ("%s: no checkpoint thread (%s); the writer checkpoints itself", path, error->message);
                ck->hard_pages = ck->soft_pages;
        }
        /* Replaces wal_autocheckpoint: the two share SQLite's hook slot. */
        sqlite3_wal_hook (db, wal_hook, ck);
        return ck;
}

void
augur_store_checkpointer_stop (AugurCheckpointer *ck, sqlite3 *db)
{
        if (!ck)
                return;
        if (db)
                sqlite3_wal_hook (db, NULL, NULL);
        if (ck->thread) {
                g_mutex_lock (&ck->lock);
                ck->stop = TRUE;
                g_cond_signal (&ck->wake);
                g_mutex_unlock (&ck->lock);
                g_thread_join (ck->thread);
        }
        g_mutex_clear (&ck->lock);
        g_cond_clear (&ck->wake);
        g_free (ck->path);
        g_free (ck);
}

void
augur_store_checkpointer_get_runs (AugurCheckpointer *ck, gint *ret_thread, gint *ret_inline)
{
        *ret_thread = ck ? g_atomic_int_get (&ck->runs) : 0;
        *ret_inline = ck ? g_atomic_int_get (&ck->inline_runs) : 0;
}

void
augur_store_checkpointer_set_pages (AugurCheckpointer *ck, int soft_pages)
{
        if (!ck)
                return;
        ck->soft_pages = soft_pages;
        ck->hard_pages = ck->thread ? soft_pages * AUGUR_STORE_CHECKPOINT_HARD_FACTOR : soft_pages;
}

void
augur_store_checkpointer_set_max_age (AugurCheckpointer *ck, gint64 max_age_us)
{
        if (ck)
                ck->max_age_us = max_age_us;
}
