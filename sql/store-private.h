/* store-private.h — the store's internals, shared by the files of sql/
 * only (store.c and the per-table files such as store-activity.c).  Nothing
 * outside sql/ may include it: the rest of augur sees store.h. */
#pragma once

#include <sqlite3.h>
#include "store.h"

typedef struct {
        gint64 id;                 /* store id                                */
        char *name;                /* last name written                       */
        gint64 libvirt_id;
        gboolean have_prev;
        AugurDomainSample prev;    /* raw sample of the last committed tick   */
        gint64 prev_ms;
} DomainCache;

struct AugurStore {
        sqlite3 *db;
        char *path;
        AugurStoreMode mode;
        AugurRetention retention;
        GHashTable *by_uuid;       /* uuid -> DomainCache*                    */
        sqlite3_stmt *ins_tick;
        sqlite3_stmt *ins_host;
        sqlite3_stmt *ins_sample;
        sqlite3_stmt *upsert_rollup;
        sqlite3_stmt *find_domain;
        sqlite3_stmt *ins_domain;
        sqlite3_stmt *upd_domain;
        sqlite3_stmt *ins_name;
        sqlite3_stmt *ins_event;
};

/* Helpers of store.c for the other sql/ files. */
void augur_store_set_sql_error (AugurStore *st, int rc, GError **error, const char *what);
gboolean augur_store_exec (AugurStore *st, const char *sql, GError **error);
/* Find or create the domain row for uuid inside the caller's transaction. */
DomainCache *augur_store_resolve_domain (AugurStore *st, const char *uuid, const char *name,
                                         const char *source, gint64 libvirt_id, gint64 ts_ms,
                                         gboolean *ret_created, GError **error);
