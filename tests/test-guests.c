/* test-guests.c — [guests] include / exclude (plugin/guests.h): the
 * patterns, the match, the config file's errors, and augurd's tick against
 * the fake hypervisor (tests/fake-hv.h): an excluded guest is not even
 * collected (no stats read, no sample, no decision, no action, no metrics
 * series, no stats period set), exclude wins over include, and a guest
 * whose tags change at run time goes out and comes back in. */
#include "config.h"

#include "augur-config.h"
#include "collect.h"
#include "daemon.h"
#include "fake-hv.h"
#include "guests.h"
#include "store.h"
#include "store-decisions.h"
#include "util.h"
#include "vm.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

/* ---- the patterns ---- */

static void
test_parse (void)
{
        static const struct {
                const char *text;
                const char *error;      /* a part of the message; NULL = valid */
        } rows[] = {
                { "", NULL },
                { "db-* web?  test", NULL },
                { "db-*,web-1, tag:prod", NULL },
                { "tag:db-* uuid:1B4E28BA-*", NULL },
                { "name:odd:name", NULL },
                { "1b4e28ba-2fa1-11d2-883f-0016d3cca427", NULL },
                { "tags:db", "unknown prefix 'tags:' (known: tag:, uuid:, name:)" },
                { "id:3", "unknown prefix 'id:'" },
                { "tag:", "'tag:': nothing after 'tag:'" },
                { "uuid:", "nothing after 'uuid:'" },
                { "tag:d/b", "'tag:d/b': a tag has only letters" },
                { "uuid:xyz", "'uuid:xyz': a UUID has only hexadecimal digits" },
        };
        g_autoptr(GString) many = g_string_new (NULL);
        g_autoptr(GError) error = NULL;

        for (gsize i = 0; i < G_N_ELEMENTS (rows); i++) {
                g_autoptr(GError) e = NULL;
                gboolean ok = augur_guest_patterns_check (rows[i].text, &e);

                g_test_message ("'%s': %s", rows[i].text, ok ? "ok" : e->message);
                g_assert_cmpint (ok, ==, rows[i].error == NULL);
                if (rows[i].error)
                        g_assert_nonnull (strstr (e->message, rows[i].error));
        }
        /* N, N+1 patterns */
        for (int i = 0; i < AUGUR_GUESTS_MAX_PATTERNS; i++)
                g_string_append_printf (many, "g%d ", i);
        g_assert_true (augur_guest_patterns_check (many->str, NULL));
        g_string_append (many, "one-more");
        g_assert_false (augur_guest_patterns_check (many->str, &error));
        g_assert_nonnull (strstr (error->message, "more than 256 patterns"));
}

#define UUID_A "1b4e28ba-2fa1-11d2-883f-0016d3cca427"

static void
test_match (void)
{
        static const struct {
                const char *include, *exclude;
                const char *name, *uuid, *tags;
                gboolean watched;
                const char *rule;       /* when not watched */
        } rows[] = {
                /* no filter: everything */
                { NULL, NULL, "x", UUID_A, NULL, TRUE, NULL },
                /* name globs */
                { "db-*", NULL, "db-1", UUID_A, NULL, TRUE, NULL },
                { "db-*", NULL, "web-1", UUID_A, NULL, FALSE, "include = db-* (nothing matched)" },
                { NULL, "test-* scratch", "scratch", UUID_A, NULL, FALSE, "exclude = scratch" },
                { NULL, "test-?", "test-12", UUID_A, NULL, TRUE, NULL },
                /* a name glob never matches a UUID: "*db*" and a UUID with "db" */
                { NULL, "*2fa1*", "web", UUID_A, NULL, TRUE, NULL },
                /* tags */
                { "tag:prod", NULL, "a", UUID_A, "db prod", TRUE, NULL },
                { "tag:prod", NULL, "a", UUID_A, NULL, FALSE, "include = tag:prod (nothing matched)" },
                { NULL, "tag:d*", "a", UUID_A, "web db", FALSE, "exclude = tag:d*" },
                { NULL, "tag:Prod", "a", UUID_A, "prod", TRUE, NULL },       /* case-sensitive */
                /* exclude wins */
                { "tag:prod db-*", "tag:db", "db-1", UUID_A, "db prod", FALSE, "exclude = tag:db" },
                /* UUIDs: bare (any case), uuid:GLOB */
                { NULL, "1B4E28BA-2FA1-11D2-883F-0016D3CCA427", "a", UUID_A, NULL, FALSE,
                  "exclude = 1B4E28BA-2FA1-11D2-883F-0016D3CCA427" },
                { "uuid:1b4e*", NULL, "a", UUID_A, NULL, TRUE, NULL },
                { "uuid:ffff*", NULL, "a", UUID_A, NULL, FALSE, "include = uuid:ffff* (nothing matched)" },
                /* name: prefix */
                { "name:odd:one", NULL, "odd:one", UUID_A, NULL, TRUE, NULL },
        };

        for (gsize i = 0; i < G_N_ELEMENTS (rows); i++) {
                g_autoptr(GError) error = NULL;
                g_autoptr(AugurGuestFilter) f = augur_guest_filter_new (rows[i].include, rows[i].exclude, &error);
                g_autofree char *rule = NULL;
                gboolean w;

                g_assert_no_error (error);
                w = augur_guest_filter_match (f, rows[i].name, rows[i].uuid, rows[i].tags, &rule);
                g_test_message ("row %zu: %s -> %s %s", i, rows[i].name, w ? "watched" : "excluded", rule ? rule : "");
                g_assert_cmpint (w, ==, rows[i].watched);
                g_assert_cmpstr (rule, ==, rows[i].rule);
        }
}

/* A bad pattern in augur.conf: the file, the line, the key, the word. */
static void
test_config_error (void)
{
        g_autoptr(AugurConfig) base = augur_config_new_default ();
        g_autofree char *path = NULL;
        g_autofree char *want = NULL;
        g_autoptr(GError) error = NULL;
        g_autoptr(AugurConfig) c = NULL;
        int fd = g_file_open_tmp ("augur-guests-XXXXXX.conf", &path, &error);

        g_assert_no_error (error);
        close (fd);
        g_assert_true (g_file_set_contents (path, "[daemon]\nmode = act\n\n[guests]\ninclude = db-*\n"
                                            "exclude = test-* tags:scratch\n", -1, NULL));
        c = augur_config_load (base, path, FALSE, &error);
        g_assert_null (c);
        want = g_strdup_printf ("%s:6: guests.exclude = test-* tags:scratch: 'tags:scratch': unknown prefix "
                                "'tags:' (known: tag:, uuid:, name:)", path);
        g_assert_cmpstr (error->message, ==, want);
        g_unlink (path);
}

/* The tag list in the policy metadata (vm.h). */
static void
test_tags_metadata (void)
{
        AugurVmPolicy p;
        g_autofree char *xml = NULL, *warn = NULL;
        AugurVmPolicy back;

        g_assert_true (augur_vm_policy_parse ("<policy><mode>act</mode><tags>db, prod db\tweb.1</tags></policy>",
                                              &p, &warn));
        g_assert_null (warn);
        g_assert_cmpstr (p.tags, ==, "db prod web.1");
        xml = augur_vm_policy_to_xml (&p);
        g_assert_nonnull (strstr (xml, "<tags>db prod web.1</tags>"));
        g_assert_true (augur_vm_policy_parse (xml, &back, NULL));
        g_assert_cmpstr (back.tags, ==, p.tags);
        /* a bad tag: the key is dropped with a warning, the rest kept */
        g_assert_true (augur_vm_policy_parse ("<policy><mode>act</mode><tags>db p/rod</tags></policy>", &p, &warn));
        g_assert_nonnull (strstr (warn, "tags"));
        g_assert_cmpstr (p.tags, ==, "");
        g_assert_true (p.mode_set);
}

/* ---- augurd's tick against the fake hypervisor ---- */

typedef struct {
        char *dir;
        AugurFake *fake;
        AugurDaemon *d;
        AugurFakeGuest *web, *db, *test, *other;
} Fx;

static AugurHv *
open_fake (const AugurHvCallbacks *cb, gpointer cb_data, gpointer ctx)
{
        return augur_fake_open (ctx, cb, cb_data);
}

static AugurFakeGuest *
add_guest (Fx *fx, const char *name, const char *tags)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "domstats-2guests.txt", NULL);
        g_autofree char *text = NULL;
        g_autoptr(GArray) a = NULL;
        AugurFakeGuest *g = NULL;

        g_assert_true (g_file_get_contents (path, &text, NULL, &error));
        a = augur_collect_parse_domstats_text (text, &error);
        g_assert_no_error (error);
        for (guint i = 0; i < a->len && !g; i++)
                if (strcmp (g_array_index (a, AugurDomainSample, i).name, "full") == 0)
                        g = augur_fake_add_guest (fx->fake, name, &g_array_index (a, AugurDomainSample, i));
        g_assert_nonnull (g);
        augur_fake_guest_set_used (g, 200 * 1024);
        augur_fake_guest_set_cpu (g, 0.2);
        if (tags) {
                g_autofree char *xml = g_strdup_printf ("<policy><tags>%s</tags></policy>", tags);

                augur_fake_guest_set_metadata (fx->fake, g, AUGUR_POLICY_NS_URI, xml);
        }
        return g;
}

static void
fx_setup (Fx *fx, gconstpointer data)
{
        g_autoptr(GError) error = NULL;
        AugurConfig *c = augur_config_new_default ();

        fx->dir = g_dir_make_tmp ("augur-guests-XXXXXX", &error);
        g_assert_no_error (error);
        g_free (c->db_path);
        c->db_path = g_build_filename (fx->dir, "augur.db", NULL);
        g_free (c->socket_path);
        c->socket_path = g_strdup ("");
        c->retrain_interval_s = 0;
        c->mode = AUGUR_MODE_ACT;
        /* include by tag or name; exclude by tag, and it wins */
        c->guests_include = g_strdup ("tag:prod test-*");
        c->guests_exclude = g_strdup ("tag:db");
        fx->fake = augur_fake_new (augur_now_ms ());
        fx->web = add_guest (fx, "web-1", "prod");
        fx->db = add_guest (fx, "db-1", "db prod");
        fx->test = add_guest (fx, "test-1", NULL);
        fx->other = add_guest (fx, "other", NULL);
        fx->d = augur_daemon_new (c);
        fx->d->open_hv = open_fake;
        fx->d->open_hv_ctx = fx->fake;
        g_assert_true (augur_daemon_start (fx->d, &error));
        g_assert_no_error (error);
}

static void
fx_teardown (Fx *fx, gconstpointer data)
{
        g_autoptr(GDir) dir = NULL;
        const char *n;

        augur_daemon_free (fx->d);
        augur_fake_free (fx->fake);
        dir = g_dir_open (fx->dir, 0, NULL);
        while (dir && (n = g_dir_read_name (dir))) {
                g_autofree char *p = g_build_filename (fx->dir, n, NULL);

                g_unlink (p);
        }
        g_rmdir (fx->dir);
        g_free (fx->dir);
}

/* n ticks, a few ms apart (samples are keyed by the wall clock). */
static void
run (Fx *fx, guint n)
{
        for (guint i = 0; i < n; i++) {
                g_usleep (5000);
                augur_fake_advance_to (fx->fake, augur_now_ms ());
                augur_daemon_tick (fx->d);
        }
}

static gint64
samples_of (Fx *fx, const char *name)
{
        g_autoptr(AugurDomainInfo) info = augur_store_find_domain (fx->d->store, name, NULL);

        return info ? info->n_samples : 0;
}

static guint
decisions_of (Fx *fx, const char *name)
{
        g_autoptr(GArray) all = augur_store_decisions (fx->d->store, -1, 0, G_MAXINT64, 0, NULL);
        guint n = 0;

        for (guint i = 0; all && i < all->len; i++)
                n += strcmp (g_array_index (all, AugurDecisionRow, i).name, name) == 0;
        return n;
}

static gboolean
in_metrics (Fx *fx, const AugurFakeGuest *g)
{
        g_autoptr(GString) out = g_string_new (NULL);

        augur_metrics_format (fx->d->metrics, out);
        return strstr (out->str, augur_fake_guest_uuid (g)) != NULL;
}

/* Everything augurd does with a guest, or nothing at all. */
static void
assert_watched (Fx *fx, AugurFakeGuest *g, const char *name, gboolean watched)
{
        guint stats = augur_fake_count (fx->fake, AUGUR_FAKE_CALL_GUEST_STATS, name);

        g_test_message ("%s: %u stats reads, %" G_GINT64_FORMAT " samples, %u decisions, %s", name, stats,
                        samples_of (fx, name), decisions_of (fx, name), in_metrics (fx, g) ? "in metrics" : "");
        if (watched) {
                g_assert_cmpuint (stats, >, 0);
                g_assert_cmpint (samples_of (fx, name), >, 0);
                g_assert_cmpuint (decisions_of (fx, name), >, 0);
                g_assert_true (in_metrics (fx, g));
                g_assert_false (augur_guests_is_excluded (fx->d->guests, augur_fake_guest_uuid (g), NULL));
                return;
        }
        g_assert_cmpuint (stats, ==, 0);
        g_assert_cmpint (samples_of (fx, name), ==, 0);
        g_assert_cmpuint (decisions_of (fx, name), ==, 0);
        g_assert_cmpuint (augur_fake_count (fx->fake, AUGUR_FAKE_CALL_SET_BALLOON, name), ==, 0);
        g_assert_cmpuint (augur_fake_count (fx->fake, AUGUR_FAKE_CALL_SET_VCPUS, name), ==, 0);
        g_assert_cmpuint (augur_fake_count (fx->fake, AUGUR_FAKE_CALL_SET_STATS_PERIOD, name), ==, 0);
        g_assert_cmpuint (augur_fake_count (fx->fake, AUGUR_FAKE_CALL_PROBE_VCPUS, name), ==, 0);
        g_assert_false (in_metrics (fx, g));
        g_assert_true (augur_guests_is_excluded (fx->d->guests, augur_fake_guest_uuid (g), NULL));
}

static void
test_tick_filter (Fx *fx, gconstpointer data)
{
        g_autofree char *json = NULL, *rule = NULL;

        run (fx, 6);
        assert_watched (fx, fx->web, "web-1", TRUE);           /* include tag:prod */
        assert_watched (fx, fx->test, "test-1", TRUE);         /* include test-*   */
        assert_watched (fx, fx->db, "db-1", FALSE);            /* exclude wins     */
        assert_watched (fx, fx->other, "other", FALSE);        /* not included     */
        /* what `explain` and `list` read */
        json = augur_store_get_meta (fx->d->store, AUGUR_GUESTS_META_EXCLUDED);
        g_test_message ("%s", json);
        g_assert_true (augur_guests_excluded_lookup (json, "db-1", NULL, NULL, &rule));
        g_assert_cmpstr (rule, ==, "exclude = tag:db");
        g_assert_true (augur_guests_excluded_lookup (json, augur_fake_guest_uuid (fx->other), NULL, NULL, NULL));
        g_assert_false (augur_guests_excluded_lookup (json, "web-1", NULL, NULL, NULL));
        /* one metadata read per guest, not one per tick */
        g_assert_cmpuint (augur_fake_count (fx->fake, AUGUR_FAKE_CALL_READ_METADATA, "other"), ==, 1);
}

/* Tags changed at run time (METADATA_CHANGE): out at once, then back. */
static void
test_tick_tags_change (Fx *fx, gconstpointer data)
{
        guint stats_before;
        gint64 samples_before;

        run (fx, 4);
        assert_watched (fx, fx->web, "web-1", TRUE);
        augur_fake_guest_set_metadata (fx->fake, fx->web, AUGUR_POLICY_NS_URI,
                                       "<policy><tags>prod db</tags></policy>");
        g_assert_true (augur_guests_is_excluded (fx->d->guests, augur_fake_guest_uuid (fx->web), NULL));
        stats_before = augur_fake_count (fx->fake, AUGUR_FAKE_CALL_GUEST_STATS, "web-1");
        samples_before = samples_of (fx, "web-1");
        g_assert_false (in_metrics (fx, fx->web));             /* series dropped */
        run (fx, 4);
        g_assert_cmpuint (augur_fake_count (fx->fake, AUGUR_FAKE_CALL_GUEST_STATS, "web-1"), ==, stats_before);
        g_assert_cmpint (samples_of (fx, "web-1"), ==, samples_before);
        g_assert_false (in_metrics (fx, fx->web));
        /* db-1 loses its db tag: watched from the next tick */
        augur_fake_guest_set_metadata (fx->fake, fx->db, AUGUR_POLICY_NS_URI, "<policy><tags>prod</tags></policy>");
        run (fx, 4);
        assert_watched (fx, fx->db, "db-1", TRUE);
}

/* A reload (SIGHUP) with another filter: made again at the next tick. */
static void
test_tick_reload (Fx *fx, gconstpointer data)
{
        AugurConfig *c = augur_config_copy (fx->d->config);

        run (fx, 3);
        assert_watched (fx, fx->other, "other", FALSE);
        g_clear_pointer (&c->guests_include, g_free);
        g_free (c->guests_exclude);
        c->guests_exclude = g_strdup ("web-*");
        augur_daemon_apply_config (fx->d, c);
        run (fx, 4);
        assert_watched (fx, fx->other, "other", TRUE);
        assert_watched (fx, fx->db, "db-1", TRUE);
        g_assert_true (augur_guests_is_excluded (fx->d->guests, augur_fake_guest_uuid (fx->web), NULL));
        g_assert_false (in_metrics (fx, fx->web));
        /* no filter at all: everything again */
        c = augur_config_copy (fx->d->config);
        g_clear_pointer (&c->guests_exclude, g_free);
        augur_daemon_apply_config (fx->d, c);
        run (fx, 3);
        assert_watched (fx, fx->web, "web-1", TRUE);
        g_assert_false (augur_guests_is_excluded (fx->d->guests, augur_fake_guest_uuid (fx->web), NULL));
}

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
        g_test_add_func ("/guests/filter/parse", test_parse);
        g_test_add_func ("/guests/filter/match", test_match);
        g_test_add_func ("/guests/config/error-line", test_config_error);
        g_test_add_func ("/guests/metadata/tags", test_tags_metadata);
        g_test_add ("/guests/tick/filter", Fx, NULL, fx_setup, test_tick_filter, fx_teardown);
        g_test_add ("/guests/tick/tags-change", Fx, NULL, fx_setup, test_tick_tags_change, fx_teardown);
        g_test_add ("/guests/tick/reload", Fx, NULL, fx_setup, test_tick_reload, fx_teardown);
        return g_test_run ();
}
