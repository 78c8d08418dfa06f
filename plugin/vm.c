/* vm.c — per-VM policy in libvirt <metadata> (see vm.h).  Parsing uses
 * GMarkup: the element is small and flat, and everything in it is checked. */
#include "config.h"

#include "vm.h"

#include <errno.h>
#include <math.h>
#include <string.h>

void
augur_vm_policy_init (AugurVmPolicy *p)
{
        p->mode_set = FALSE;
        p->mode = AUGUR_MODE_AUTO;
        p->mem_min_kib = NAN;
        p->mem_max_kib = NAN;
        p->vcpus_min = -1;
        p->vcpus_max = -1;
        p->priority = 1000;
        p->target_util = NAN;
        p->quantile = NAN;
        p->tags[0] = '\0';
        p->io_max_mib_s = NAN;
        p->net_max_mib_s = NAN;
        p->cpu_weight_max = NAN;
        p->io_max_iops = NAN;
}

gboolean
augur_vm_tag_valid (const char *text)
{
        gsize n = strlen (text);

        if (n == 0 || n > AUGUR_VM_TAG_MAX_CHARS)
                return FALSE;
        for (gsize i = 0; i < n; i++)
                if (!g_ascii_isalnum (text[i]) && !strchr ("_.-", text[i]))
                        return FALSE;
        return TRUE;
}

gboolean
augur_vm_tags_match (const char *tags, GPatternSpec *spec)
{
        g_auto(GStrv) words = g_strsplit (tags ? tags : "", " ", -1);

        for (gsize i = 0; words[i]; i++)
                if (words[i][0] && g_pattern_spec_match_string (spec, words[i]))
                        return TRUE;
        return FALSE;
}

/* "db, prod db" -> "db prod" in ret (AUGUR_VM_TAGS_MAX bytes); FALSE when
 * a word is not a tag or the list does not fit.  "" is the empty list.
 * Duplicates are found by looking back: O(n²) over at most 128 words. */
static gboolean
parse_tags (const char *v, char *ret)
{
        g_auto(GStrv) words = g_strsplit_set (v, " \t\n,", -1);
        g_autoptr(GString) out = g_string_new (NULL);

        for (gsize i = 0; words[i]; i++) {
                gboolean dup = FALSE;

                if (!words[i][0])
                        continue;
                if (!augur_vm_tag_valid (words[i]))
                        return FALSE;
                for (gsize j = 0; j < i && !dup; j++)
                        dup = strcmp (words[j], words[i]) == 0;
                if (!dup)
                        g_string_append_printf (out, "%s%s", out->len ? " " : "", words[i]);
        }
        if (out->len >= AUGUR_VM_TAGS_MAX)
                return FALSE;
        memcpy (ret, out->str, out->len + 1);
        return TRUE;
}

static gboolean
parse_num (const char *v, double lo, double hi, double *ret)
{
        char *end = NULL;
        double x;

        errno = 0;
        x = g_ascii_strtod (v, &end);
        if (errno || end == v || *end || !isfinite (x) || x < lo || x > hi)
                return FALSE;
        *ret = x;
        return TRUE;
}

#define NUM(id, nm, field, isint, whole, lo, hi, sc, f, words) \
        [id] = { nm, G_STRUCT_OFFSET (AugurVmPolicy, field), isint, whole, lo, hi, sc, f, words }

const AugurVmKey augur_vm_keys[AUGUR_VM_KEY_N] = {
        [AUGUR_VM_KEY_MODE] = { "mode", G_STRUCT_OFFSET (AugurVmPolicy, mode), .range = "auto, observe, recommend, act" },
        NUM (AUGUR_VM_KEY_MEM_MIN, "mem_min_mib", mem_min_kib, FALSE, FALSE, 16, 16 * 1024 * 1024, 1024, "%.0f",
             "16 to 16777216 MiB"),
        NUM (AUGUR_VM_KEY_MEM_MAX, "mem_max_mib", mem_max_kib, FALSE, FALSE, 16, 16 * 1024 * 1024, 1024, "%.0f",
             "16 to 16777216 MiB"),
        NUM (AUGUR_VM_KEY_VCPUS_MIN, "vcpus_min", vcpus_min, TRUE, TRUE, 1, 4096, 1, "%.0f",
             "an integer from 1 to 4096"),
        NUM (AUGUR_VM_KEY_VCPUS_MAX, "vcpus_max", vcpus_max, TRUE, TRUE, 1, 4096, 1, "%.0f",
             "an integer from 1 to 4096"),
        NUM (AUGUR_VM_KEY_PRIORITY, "priority", priority, TRUE, TRUE, 1, 1000000, 1, "%.0f",
             "an integer from 1 to 1000000"),
        NUM (AUGUR_VM_KEY_TARGET_UTIL, "target_util_pct", target_util, FALSE, FALSE, 10, 100, 0.01, "%.0f",
             "10 to 100"),
        NUM (AUGUR_VM_KEY_QUANTILE, "quantile", quantile, FALSE, FALSE, 0.5, 0.999, 1, "%.3f", "0.5 to 0.999"),
        [AUGUR_VM_KEY_TAGS] = { "tags", G_STRUCT_OFFSET (AugurVmPolicy, tags),
                                .range = "words of letters, digits, '_', '.' and '-', at most 64 characters "
                                         "each, separated by spaces or commas" },
        NUM (AUGUR_VM_KEY_IO_MAX, "io_max_mib_s", io_max_mib_s, FALSE, FALSE, 1, 1048576, 1, "%g",
             "1 to 1048576 MiB/s"),
        NUM (AUGUR_VM_KEY_NET_MAX, "net_max_mib_s", net_max_mib_s, FALSE, FALSE, 1, 1048576, 1, "%g",
             "1 to 1048576 MiB/s"),
        NUM (AUGUR_VM_KEY_CPU_WEIGHT_MAX, "cpu_weight_max", cpu_weight_max, FALSE, TRUE, 2, 262144, 1, "%.0f",
             "an integer from 2 to 262144 (cpu_shares)"),
        NUM (AUGUR_VM_KEY_IO_MAX_IOPS, "io_max_iops", io_max_iops, FALSE, FALSE, 1, AUGUR_VM_IO_MAX_IOPS_MAX, 1, "%g",
             "1 to 100000000 IO/s"),
};

const AugurVmKey *
augur_vm_key (const char *name)
{
        for (gsize i = 0; i < AUGUR_VM_KEY_N; i++)
                if (strcmp (augur_vm_keys[i].name, name) == 0)
                        return &augur_vm_keys[i];
        return NULL;
}

static double *
field_double (AugurVmPolicy *p, const AugurVmKey *k)
{
        return (double *) ((char *) p + k->offset);
}

static int *
field_int (AugurVmPolicy *p, const AugurVmKey *k)
{
        return (int *) ((char *) p + k->offset);
}

/* A number key's stored value in the key's unit (NAN for an int field at
 * its default: not a value). */
static double
key_number (const AugurVmPolicy *p, const AugurVmKey *k)
{
        AugurVmPolicy def;

        if (!k->int_field)
                return *field_double ((AugurVmPolicy *) p, k) / k->scale;
        augur_vm_policy_init (&def);
        if (*field_int ((AugurVmPolicy *) p, k) == *field_int (&def, k))
                return NAN;
        return *field_int ((AugurVmPolicy *) p, k);
}

char *
augur_vm_policy_value (const AugurVmPolicy *p, const AugurVmKey *k)
{
        char buf[G_ASCII_DTOSTR_BUF_SIZE];
        double x;

        if (k == &augur_vm_keys[AUGUR_VM_KEY_MODE])
                return p->mode_set ? g_strdup (augur_mode_to_string (p->mode)) : NULL;
        if (k == &augur_vm_keys[AUGUR_VM_KEY_TAGS])
                return p->tags[0] ? g_strdup (p->tags) : NULL;
        x = key_number (p, k);
        return isnan (x) ? NULL : g_strdup (g_ascii_formatd (buf, sizeof buf, k->fmt, x));
}

void
augur_vm_policy_unset (AugurVmPolicy *p, const AugurVmKey *k)
{
        AugurVmPolicy def;

        augur_vm_policy_init (&def);
        if (k == &augur_vm_keys[AUGUR_VM_KEY_MODE]) {
                p->mode_set = FALSE;
                p->mode = def.mode;
        } else if (k == &augur_vm_keys[AUGUR_VM_KEY_TAGS]) {
                p->tags[0] = '\0';
        } else if (k->int_field) {
                *field_int (p, k) = *field_int (&def, k);
        } else {
                *field_double (p, k) = *field_double (&def, k);
        }
}

gboolean
augur_vm_policy_set (AugurVmPolicy *p, const char *key, const char *value, GError **error)
{
        g_autofree char *v = g_strstrip (g_strdup (value ? value : ""));
        const AugurVmKey *k = augur_vm_key (key);
        double x;

        if (!k) {
                g_autoptr(GString) known = g_string_new (NULL);

                for (gsize i = 0; i < AUGUR_VM_KEY_N; i++)
                        g_string_append_printf (known, "%s%s", i ? ", " : "", augur_vm_keys[i].name);
                g_set_error (error, G_MARKUP_ERROR, G_MARKUP_ERROR_UNKNOWN_ELEMENT,
                             "unknown policy key '%s' (known: %s)", key, known->str);
                return FALSE;
        }
        if (k == &augur_vm_keys[AUGUR_VM_KEY_MODE]) {
                if (augur_mode_from_string (v, &p->mode)) {
                        p->mode_set = TRUE;
                        return TRUE;
                }
        } else if (k == &augur_vm_keys[AUGUR_VM_KEY_TAGS]) {
                if (parse_tags (v, p->tags))
                        return TRUE;
        } else if (parse_num (v, k->min, k->max, &x) && (!k->integer || x == floor (x))) {
                if (k->int_field)
                        *field_int (p, k) = (int) x;
                else
                        *field_double (p, k) = x * k->scale;
                return TRUE;
        }
        g_set_error (error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                     "policy %s = '%s' is out of range (allowed: %s)", key, v, k->range);
        return FALSE;
}

typedef struct {
        AugurVmPolicy *p;
        GString *text;
        GString *warnings;
        int depth;
} ParseCtx;

/* Element names may come with or without a namespace prefix. */
static const char *
local_name (const char *name)
{
        const char *colon = strchr (name, ':');

        return colon ? colon + 1 : name;
}

static void
on_start (GMarkupParseContext *ctx, const char *name, const char **attr_names,
          const char **attr_values, gpointer user_data, GError **error)
{
        ParseCtx *c = user_data;

        c->depth++;
        g_string_truncate (c->text, 0);
        if (c->depth == 1 && strcmp (local_name (name), "policy") != 0)
                g_string_append_printf (c->warnings, "root element is <%s>, not <policy>; ", name);
}

static void
on_end (GMarkupParseContext *ctx, const char *name, gpointer user_data, GError **error)
{
        ParseCtx *c = user_data;
        g_autoptr(GError) local = NULL;

        if (c->depth == 2 && !augur_vm_policy_set (c->p, local_name (name), c->text->str, &local))
                g_string_append_printf (c->warnings, "%s; ", local->message);
        c->depth--;
}

static void
on_text (GMarkupParseContext *ctx, const char *text, gsize len, gpointer user_data,
         GError **error)
{
        ParseCtx *c = user_data;

        if (c->text->len + len < 256)     /* values are short; ignore floods */
                g_string_append_len (c->text, text, len);
}

gboolean
augur_vm_policy_parse (const char *xml, AugurVmPolicy *p, char **ret_warnings)
{
        static const GMarkupParser parser = { on_start, on_end, on_text, NULL, NULL };
        g_autoptr(GString) warnings = g_string_new (NULL);
        g_autoptr(GString) text = g_string_new (NULL);
        AugurVmPolicy parsed;
        ParseCtx c = { &parsed, text, warnings, 0 };
        g_autoptr(GMarkupParseContext) ctx = NULL;
        g_autoptr(GError) error = NULL;

        augur_vm_policy_init (p);
        augur_vm_policy_init (&parsed);
        if (ret_warnings)
                *ret_warnings = NULL;
        if (!xml || strlen (xml) > 64 * 1024) {
                if (ret_warnings)
                        *ret_warnings = g_strdup ("policy metadata missing or larger than 64 KiB");
                return FALSE;
        }
        ctx = g_markup_parse_context_new (&parser, 0, &c, NULL);
        if (!g_markup_parse_context_parse (ctx, xml, -1, &error) ||
            !g_markup_parse_context_end_parse (ctx, &error)) {
                if (ret_warnings)
                        *ret_warnings = g_strdup_printf ("policy metadata is not valid XML: %s",
                                                         error->message);
                return FALSE;
        }
        if (!isnan (parsed.mem_min_kib) && !isnan (parsed.mem_max_kib) &&
            parsed.mem_min_kib > parsed.mem_max_kib) {
                g_string_append (warnings, "mem_min_mib > mem_max_mib, both ignored; ");
                parsed.mem_min_kib = parsed.mem_max_kib = NAN;
        }
        if (parsed.vcpus_min > 0 && parsed.vcpus_max > 0 && parsed.vcpus_min > parsed.vcpus_max) {
                g_string_append (warnings, "vcpus_min > vcpus_max, both ignored; ");
                parsed.vcpus_min = parsed.vcpus_max = -1;
        }
        *p = parsed;
        if (ret_warnings && warnings->len) {
                g_string_truncate (warnings, warnings->len - 2);
                *ret_warnings = g_string_free (g_steal_pointer (&warnings), FALSE);
        }
        return TRUE;
}

char *
augur_vm_policy_to_xml (const AugurVmPolicy *p)
{
        GString *s = g_string_new ("<policy>");

        for (gsize i = 0; i < AUGUR_VM_KEY_N; i++) {
                g_autofree char *v = augur_vm_policy_value (p, &augur_vm_keys[i]);

                if (v)
                        g_string_append_printf (s, "<%s>%s</%s>", augur_vm_keys[i].name, v, augur_vm_keys[i].name);
        }
        g_string_append (s, "</policy>");
        return g_string_free (s, FALSE);
}
