/* store-test.c — the test hooks of store-test.h.  Built into
 * libaugur-store-test.a, which only the unit tests link. */
#include "config.h"

#include "store-test.h"
#include "store-private.h"

void
augur_store_test_checkpoint_age (AugurStore *st, int max_age_ms)
{
        augur_store_checkpointer_set_max_age (st->ckpt, (gint64) max_age_ms * 1000);
}

void
augur_store_test_checkpoints (AugurStore *st, int soft_pages, int *ret_thread_runs, int *ret_inline_runs)
{
        if (soft_pages > 0)
                augur_store_checkpointer_set_pages (st->ckpt, soft_pages);
        augur_store_checkpointer_get_runs (st->ckpt, ret_thread_runs, ret_inline_runs);
}

void
augur_store_test_set_max_pages (AugurStore *st, gint64 max_pages)
{
        g_autofree char *sql = g_strdup_printf ("PRAGMA max_page_count = %" G_GINT64_FORMAT, max_pages);

        sqlite3_exec (st->db, sql, NULL, NULL, NULL);
}

