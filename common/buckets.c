/* buckets.c — hashed program / user buckets.  Design and units: buckets.h. */
#include "buckets.h"
#include "util.h"

#include <string.h>

guint32
augur_bucket_hash (const char *name, gsize len)
{
        return augur_fnv1a32 (name, len);
}

guint
augur_bucket_of (const char *name, guint n_buckets)
{
        g_return_val_if_fail (name != NULL && n_buckets > 0, 0);
        return augur_bucket_hash (name, strlen (name)) % n_buckets;
}

void
augur_buckets_add_program (float *prog_pct, const char *comm, float cpu_pct)
{
        g_return_if_fail (prog_pct != NULL && comm != NULL);
        prog_pct[augur_bucket_of (comm, AUGUR_PROG_BUCKETS)] += cpu_pct;
}

void
augur_buckets_add_user (float *user_sessions, const char *user, float sessions)
{
        g_return_if_fail (user_sessions != NULL && user != NULL);
        user_sessions[augur_bucket_of (user, AUGUR_USER_BUCKETS)] += sessions;
}
