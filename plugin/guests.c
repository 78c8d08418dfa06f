/* guests.c — [guests] include / exclude and the daemon's record of each
 * guest's verdict.  See guests.h. */
#include "config.h"

#include "guests.h"
#include "augur-log.h"
#include "util.h"
#include "vm.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

typedef enum {
        MATCH_NAME,
        MATCH_TAG,
        MATCH_UUID,
        MATCH_NAME_OR_UUID,             /* a bare UUID                        */
} MatchKind;

typedef struct {
        MatchKind kind;
        char *word;                     /* as written, for messages           */
        GPatternSpec *spec;             /* of the text after the prefix; UUID
                                         * patterns lowercased                */
} Pattern;

struct AugurGuestFilter {
        GPtrArray *include;             /* Pattern                            */
        GPtrArray *exclude;
};

static void
pattern_free (gpointer p)
{
        Pattern *x = p;

        g_free (x->word);
        g_pattern_spec_free (x->spec);
        g_free (x);
}

static gboolean
only_chars (const char *s, const char *extra, gboolean hex)
{
        for (; *s; s++)
                if (!(hex ? g_ascii_isxdigit (*s) : g_ascii_isalnum (*s)) && !strchr (extra, *s))
                        return FALSE;
        return TRUE;
}

/* Is word[0..n) a prefix: letters only ("tag", "tags", "id")? */
static gboolean
is_prefix (const char *word, gsize n)
{
        for (gsize i = 0; i < n; i++)
                if (!g_ascii_isalpha (word[i]))
                        return FALSE;
        return n > 0;
}

/* One word of a key: a Pattern, or NULL with why. */
static Pattern *
pattern_parse (const char *word, GError **error)
{
        const char *colon = strchr (word, ':');
        const char *body = word;
        MatchKind kind = MATCH_NAME;
        g_autofree char *lower = NULL;
        Pattern *x;

        if (colon && is_prefix (word, colon - word)) {
                g_autofree char *prefix = g_strndup (word, colon - word);

                body = colon + 1;
                if (strcmp (prefix, "tag") == 0)
                        kind = MATCH_TAG;
                else if (strcmp (prefix, "uuid") == 0)
                        kind = MATCH_UUID;
                else if (strcmp (prefix, "name") != 0) {
                        g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                                     "'%s': unknown prefix '%s:' (known: tag:, uuid:, name:)", word, prefix);
                        return NULL;
                }
                if (!*body) {
                        g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                                     "'%s': nothing after '%s:'", word, prefix);
                        return NULL;
                }
        } else if (augur_is_uuid (word)) {
                kind = MATCH_NAME_OR_UUID;
        }
        if (kind == MATCH_TAG && !only_chars (body, "_.-*?", FALSE)) {
                g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                             "'%s': a tag has only letters, digits, '_', '.' and '-' (and a pattern * and ?)",
                             word);
                return NULL;
        }
        if (kind == MATCH_UUID && !only_chars (body, "-*?", TRUE)) {
                g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                             "'%s': a UUID has only hexadecimal digits and '-' (and a pattern * and ?)", word);
                return NULL;
        }
        if (kind == MATCH_UUID || kind == MATCH_NAME_OR_UUID)
                body = lower = g_ascii_strdown (body, -1);
        x = g_new0 (Pattern, 1);
        x->kind = kind;
        x->word = g_strdup (word);
        x->spec = g_pattern_spec_new (body);
        return x;
}

/* Patterns of text into out; FALSE with why. */
static gboolean
parse_list (const char *text, GPtrArray *out, GError **error)
{
        g_auto(GStrv) words = g_strsplit_set (text ? text : "", " \t,", -1);

        for (gsize i = 0; words[i]; i++) {
                Pattern *x;

                if (!words[i][0])
                        continue;
                if (out->len >= AUGUR_GUESTS_MAX_PATTERNS) {
                        g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                                     "more than %d patterns", AUGUR_GUESTS_MAX_PATTERNS);
                        return FALSE;
                }
                if (!(x = pattern_parse (words[i], error)))
                        return FALSE;
                g_ptr_array_add (out, x);
        }
        return TRUE;
}

gboolean
augur_guest_patterns_check (const char *text, GError **error)
{
        g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func (pattern_free);

        return parse_list (text, list, error);
}

AugurGuestFilter *
augur_guest_filter_new (const char *include, const char *exclude, GError **error)
{
        g_autoptr(AugurGuestFilter) f = g_new0 (AugurGuestFilter, 1);
        g_autoptr(GError) local = NULL;

        f->include = g_ptr_array_new_with_free_func (pattern_free);
        f->exclude = g_ptr_array_new_with_free_func (pattern_free);
        if (!parse_list (include, f->include, &local)) {
                g_propagate_prefixed_error (error, g_steal_pointer (&local), "guests.include: ");
                return NULL;
        }
        if (!parse_list (exclude, f->exclude, &local)) {
                g_propagate_prefixed_error (error, g_steal_pointer (&local), "guests.exclude: ");
                return NULL;
        }
        return g_steal_pointer (&f);
}

void
augur_guest_filter_free (AugurGuestFilter *f)
{
        if (!f)
                return;
        g_clear_pointer (&f->include, g_ptr_array_unref);
        g_clear_pointer (&f->exclude, g_ptr_array_unref);
        g_free (f);
}

gboolean
augur_guest_filter_is_all (const AugurGuestFilter *f)
{
        return !f || (f->include->len == 0 && f->exclude->len == 0);
}

static gboolean
list_needs_tags (const GPtrArray *list)
{
        for (guint i = 0; i < list->len; i++)
                if (((const Pattern *) list->pdata[i])->kind == MATCH_TAG)
                        return TRUE;
        return FALSE;
}

gboolean
augur_guest_filter_needs_tags (const AugurGuestFilter *f)
{
        return f && (list_needs_tags (f->include) || list_needs_tags (f->exclude));
}

static gboolean
pattern_match (const Pattern *x, const char *name, const char *uuid, const char *tags)
{
        g_autofree char *lower = NULL;

        switch (x->kind) {
        case MATCH_NAME:
                return g_pattern_spec_match_string (x->spec, name);
        case MATCH_TAG:
                return augur_vm_tags_match (tags, x->spec);
        case MATCH_NAME_OR_UUID:
                lower = g_ascii_strdown (name, -1);
                if (g_pattern_spec_match_string (x->spec, lower))
                        return TRUE;
                g_clear_pointer (&lower, g_free);
                G_GNUC_FALLTHROUGH;
        case MATCH_UUID:
                lower = g_ascii_strdown (uuid, -1);
                return g_pattern_spec_match_string (x->spec, lower);
        }
        g_assert_not_reached ();
}

static const Pattern *
first_match (const GPtrArray *list, const char *name, const char *uuid, const char *tags)
{
        for (guint i = 0; i < list->len; i++)
                if (pattern_match (list->pdata[i], name, uuid, tags))
                        return list->pdata[i];
        return NULL;
}

static char *
join_words (const GPtrArray *list)
{
        g_autoptr(GString) s = g_string_new (NULL);

        for (guint i = 0; i < list->len; i++)
                g_string_append_printf (s, "%s%s", i ? " " : "", ((const Pattern *) list->pdata[i])->word);
        return g_string_free (g_steal_pointer (&s), FALSE);
}

gboolean
augur_guest_filter_match (const AugurGuestFilter *f, const char *name, const char *uuid, const char *tags,
                          char **ret_rule)
{
        const Pattern *x;

        g_return_val_if_fail (name != NULL && uuid != NULL, TRUE);
        if (augur_guest_filter_is_all (f))
                return TRUE;
        if ((x = first_match (f->exclude, name, uuid, tags))) {
                if (ret_rule)
                        *ret_rule = g_strdup_printf ("exclude = %s", x->word);
                return FALSE;
        }
        if (f->include->len == 0 || first_match (f->include, name, uuid, tags))
                return TRUE;
        if (ret_rule) {
                g_autofree char *words = join_words (f->include);

                *ret_rule = g_strdup_printf ("include = %s (nothing matched)", words);
        }
        return FALSE;
}

char *
augur_guest_filter_describe (const AugurGuestFilter *f)
{
        g_autofree char *inc = NULL, *exc = NULL;

        if (augur_guest_filter_is_all (f))
                return g_strdup ("include = all, exclude = none");
        inc = join_words (f->include);
        exc = join_words (f->exclude);
        return g_strdup_printf ("include = %s, exclude = %s", *inc ? inc : "all", *exc ? exc : "none");
}

/* ---- the daemon's record ---- */

typedef struct {
        char uuid[AUGUR_UUID_STRLEN];
        char *name;
        gboolean tags_known;
        char tags[AUGUR_VM_TAGS_MAX];   /* as AugurVmPolicy.tags              */
        gboolean verdict_known;         /* under the current filter           */
        gboolean decided;               /* a verdict was ever made            */
        gboolean excluded;              /* the last verdict                   */
        char *rule;                     /* why, when excluded                 */
        gint64 seen_round;              /* last listed in this round          */
} GuestState;

struct AugurGuests {
        AugurGuestFilter *filter;       /* owned, NULL = all                  */
        GHashTable *guests;             /* uuid -> GuestState*                */
        gint64 round;
        AugurGuestsExcludedFunc excluded;
        gpointer user_data;
};

static void
guest_state_free (gpointer p)
{
        GuestState *st = p;

        g_free (st->name);
        g_free (st->rule);
        g_free (st);
}

AugurGuests *
augur_guests_new (AugurGuestsExcludedFunc excluded, gpointer user_data)
{
        AugurGuests *gs = g_new0 (AugurGuests, 1);

        gs->guests = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, guest_state_free);
        gs->excluded = excluded;
        gs->user_data = user_data;
        return gs;
}

void
augur_guests_free (AugurGuests *gs)
{
        if (!gs)
                return;
        g_clear_pointer (&gs->guests, g_hash_table_unref);
        g_clear_pointer (&gs->filter, augur_guest_filter_free);
        g_free (gs);
}

void
augur_guests_set_filter (AugurGuests *gs, AugurGuestFilter *f)
{
        g_autofree char *what = augur_guest_filter_describe (f);
        GHashTableIter it;
        gpointer v;

        g_clear_pointer (&gs->filter, augur_guest_filter_free);
        gs->filter = f;
        g_hash_table_iter_init (&it, gs->guests);
        while (g_hash_table_iter_next (&it, NULL, &v)) {
                GuestState *st = v;

                st->verdict_known = FALSE;
                /* No filter: keep() asks nothing, so it is said here. */
                if (augur_guest_filter_is_all (f) && st->decided && st->excluded)
                        augur_log (G_LOG_LEVEL_MESSAGE, st->name, "include", NULL, NAN, NAN,
                                   "guest %s (%s) is watched again: [guests] no longer excludes it",
                                   st->name, st->uuid);
                if (augur_guest_filter_is_all (f))
                        g_hash_table_iter_remove (&it);
        }
        augur_log (G_LOG_LEVEL_MESSAGE, NULL, "guests", NULL, NAN, NAN, "guests watched: %s%s", what,
                   augur_guest_filter_is_all (f) ? " (every running guest)" : "");
}

const AugurGuestFilter *
augur_guests_get_filter (const AugurGuests *gs)
{
        return gs->filter;
}

gboolean
augur_guests_all (const AugurGuests *gs)
{
        return augur_guest_filter_is_all (gs->filter);
}

void
augur_guests_new_round (AugurGuests *gs)
{
        GHashTableIter it;
        gpointer v;

        gs->round++;
        g_hash_table_iter_init (&it, gs->guests);
        while (g_hash_table_iter_next (&it, NULL, &v))
                if (((GuestState *) v)->seen_round < gs->round - 2)
                        g_hash_table_iter_remove (&it);
}

/* Read the guest's tags; FALSE when the read failed (no metadata is an
 * empty list, not a failure). */
static gboolean
read_tags (GuestState *st, AugurHvGuest *g)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *xml = augur_hv_guest_read_metadata (g, AUGUR_POLICY_NS_URI, &error);
        AugurVmPolicy p;

        if (!xml && error) {
                g_debug ("guest %s: reading its tags failed: %s; keeping its last verdict",
                         augur_hv_guest_get_name (g), error->message);
                return FALSE;
        }
        /* Invalid keys are the resize loop's to warn about (resize.c); an
         * invalid tag list is no tags. */
        augur_vm_policy_parse (xml, &p, NULL);
        g_strlcpy (st->tags, xml ? p.tags : "", sizeof st->tags);
        st->tags_known = TRUE;
        return TRUE;
}

gboolean
augur_guests_keep (AugurHvGuest *g, gpointer data)
{
        AugurGuests *gs = data;
        const char *uuid = augur_hv_guest_get_uuid (g);
        const char *name = augur_hv_guest_get_name (g);
        GuestState *st = g_hash_table_lookup (gs->guests, uuid);
        g_autofree char *rule = NULL;
        gboolean keep, was_excluded;

        if (augur_guests_all (gs))
                return TRUE;
        if (!st) {
                st = g_new0 (GuestState, 1);
                g_strlcpy (st->uuid, uuid, sizeof st->uuid);
                g_hash_table_insert (gs->guests, st->uuid, st);
        }
        st->seen_round = gs->round;
        if (g_strcmp0 (st->name, name) != 0) {
                g_free (st->name);
                st->name = g_strdup (name);
                st->verdict_known = FALSE;          /* renamed: match again */
        }
        if (st->verdict_known)
                return !st->excluded;
        if (augur_guest_filter_needs_tags (gs->filter) && !st->tags_known && !read_tags (st, g))
                return st->decided && !st->excluded;
        keep = augur_guest_filter_match (gs->filter, name, uuid, st->tags_known ? st->tags : NULL, &rule);
        was_excluded = st->decided && st->excluded;
        if (keep && st->decided && st->excluded)
                augur_log (G_LOG_LEVEL_MESSAGE, name, "include", NULL, NAN, NAN,
                           "guest %s (%s) is watched again: [guests] no longer excludes it", name, uuid);
        else if (!keep && (!st->decided || !st->excluded || g_strcmp0 (st->rule, rule) != 0))
                augur_log (G_LOG_LEVEL_MESSAGE, name, "exclude", rule, NAN, NAN,
                           "guest %s (%s) is excluded by [guests] %s: not collected, no decisions, "
                           "no actions", name, uuid, rule);
        st->decided = st->verdict_known = TRUE;
        st->excluded = !keep;
        g_free (st->rule);
        st->rule = g_steal_pointer (&rule);
        /* Watched before, or under a filter that asked nothing (all). */
        if (!keep && !was_excluded && gs->excluded)
                gs->excluded (uuid, gs->user_data);
        return keep;
}

void
augur_guests_metadata_changed (AugurGuests *gs, const char *uuid)
{
        GuestState *st = g_hash_table_lookup (gs->guests, uuid);

        if (st)
                st->tags_known = st->verdict_known = FALSE;
}

void
augur_guests_reconnected (AugurGuests *gs)
{
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init (&it, gs->guests);
        while (g_hash_table_iter_next (&it, NULL, &v))
                ((GuestState *) v)->tags_known = ((GuestState *) v)->verdict_known = FALSE;
}

gboolean
augur_guests_is_excluded (const AugurGuests *gs, const char *uuid, const char **ret_rule)
{
        const GuestState *st = uuid ? g_hash_table_lookup (gs->guests, uuid) : NULL;

        if (!st || !st->decided || !st->excluded)
                return FALSE;
        if (ret_rule)
                *ret_rule = st->rule;
        return TRUE;
}

gboolean
augur_guests_is_excluded_name (const AugurGuests *gs, const char *name)
{
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init (&it, gs->guests);
        while (g_hash_table_iter_next (&it, NULL, &v)) {
                const GuestState *st = v;

                if (st->decided && st->excluded && g_strcmp0 (st->name, name) == 0)
                        return TRUE;
        }
        return FALSE;
}

static gint
by_name (gconstpointer a, gconstpointer b)
{
        return g_strcmp0 (((const AugurExcludedGuest *) a)->name, ((const AugurExcludedGuest *) b)->name);
}

GArray *
augur_guests_excluded (const AugurGuests *gs)
{
        GArray *out = g_array_new (FALSE, FALSE, sizeof (AugurExcludedGuest));
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init (&it, gs->guests);
        while (g_hash_table_iter_next (&it, NULL, &v)) {
                const GuestState *st = v;
                AugurExcludedGuest e = { st->uuid, st->name, st->rule };

                if (st->decided && st->excluded && st->seen_round >= gs->round - 1)
                        g_array_append_val (out, e);
        }
        g_array_sort (out, by_name);
        return out;
}

void
augur_guests_add_excluded (const AugurGuests *gs, JsonBuilder *b)
{
        g_autoptr(GArray) ex = augur_guests_excluded (gs);

        json_builder_begin_array (b);
        for (guint i = 0; i < ex->len; i++) {
                const AugurExcludedGuest *e = &g_array_index (ex, AugurExcludedGuest, i);

                json_builder_begin_object (b);
                json_builder_set_member_name (b, "uuid");
                json_builder_add_string_value (b, e->uuid);
                json_builder_set_member_name (b, "name");
                json_builder_add_string_value (b, e->name);
                json_builder_set_member_name (b, "rule");
                json_builder_add_string_value (b, e->rule);
                json_builder_end_object (b);
        }
        json_builder_end_array (b);
}

char *
augur_guests_excluded_json (const AugurGuests *gs)
{
        g_autoptr(JsonBuilder) b = json_builder_new ();
        g_autoptr(JsonGenerator) gen = json_generator_new ();
        g_autoptr(JsonNode) root = NULL;

        augur_guests_add_excluded (gs, b);
        root = json_builder_get_root (b);
        json_generator_set_root (gen, root);
        return json_generator_to_data (gen, NULL);
}

GPtrArray *
augur_guests_excluded_parse (const char *json)
{
        GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
        g_autoptr(JsonParser) parser = json_parser_new ();
        JsonNode *root;
        JsonArray *a;

        if (!json || !json_parser_load_from_data (parser, json, -1, NULL))
                return out;
        root = json_parser_get_root (parser);
        if (!root || !JSON_NODE_HOLDS_ARRAY (root))
                return out;
        a = json_node_get_array (root);
        for (guint i = 0; i < json_array_get_length (a); i++) {
                JsonNode *n = json_array_get_element (a, i);
                JsonObject *o = JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
                const char *v[3] = { NULL, NULL, NULL };
                static const char *const keys[3] = { "uuid", "name", "rule" };

                for (gsize k = 0; o && k < 3; k++)
                        v[k] = json_object_get_string_member_with_default (o, keys[k], NULL);
                if (v[0] && v[1] && v[2])
                        g_ptr_array_add (out, g_strdupv ((char **) (const char *[]) { v[0], v[1], v[2], NULL }));
        }
        return out;
}

gboolean
augur_guests_excluded_lookup (const char *json, const char *domain, char **ret_name, char **ret_uuid,
                              char **ret_rule)
{
        g_autoptr(GPtrArray) all = augur_guests_excluded_parse (json);

        for (guint i = 0; domain && i < all->len; i++) {
                char **e = all->pdata[i];

                if (strcmp (e[1], domain) != 0 && g_ascii_strcasecmp (e[0], domain) != 0)
                        continue;
                if (ret_name)
                        *ret_name = g_strdup (e[1]);
                if (ret_uuid)
                        *ret_uuid = g_strdup (e[0]);
                if (ret_rule)
                        *ret_rule = g_strdup (e[2]);
                return TRUE;
        }
        return FALSE;
}
