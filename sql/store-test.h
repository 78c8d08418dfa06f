/* store-test.h — hooks into a store's internals for the unit tests only
 * (tests/test-store.c, tests/test-activity.c): fault injection and the
 * checkpointer's knobs.  augurd and virt-augur never include it, and the
 * hooks are not in libaugur-store.a: a test links libaugur-store-test.a
 * (store-test.c) besides. */
#pragma once

#include "store.h"

/* Cap the database at max_pages pages (PRAGMA max_page_count on the
 * store's own connection), so tests can make SQLite hit SQLITE_FULL
 * exactly as on a full disk. */
void augur_store_test_set_max_pages (AugurStore *st, gint64 max_pages);
/* Checkpoint from soft_pages WAL frames on (> 0; 0 keeps it), and the
 * checkpoints run so far by the thread and by the writer's fallback. */
void augur_store_test_checkpoints (AugurStore *st, int soft_pages, int *ret_thread_runs, int *ret_inline_runs);
/* Checkpoint once the WAL's content is max_age_ms old (default a minute;
 * checkpointer.c, "Age"). */
void augur_store_test_checkpoint_age (AugurStore *st, int max_age_ms);
