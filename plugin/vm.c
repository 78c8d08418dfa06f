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

gboolean
augur_vm_policy_set (AugurVmPolicy *p, const char *key, const char *value, GError **error)
{
        g_autofree char *v = g_strstrip (g_strdup (value ? value : ""));
        const char *range = NULL;
        double x;

        if (strcmp (key, "mode") == 0) {
                if (augur_mode_from_string (v, &p->mode)) {
                        p->mode_set = TRUE;
                        return TRUE;
                }
                range = "auto, observe, recommend, act";
        } else if (strcmp (key, "mem_min_mib") == 0) {
                if (parse_num (v, 16, 16 * 1024 * 1024, &x)) {
                        p->mem_min_kib = x * 1024;
                        return TRUE;
                }
                range = "16 to 16777216 MiB";
        } else if (strcmp (key, "mem_max_mib") == 0) {
                if (parse_num (v, 16, 16 * 1024 * 1024, &x)) {
                        p->mem_max_kib = x * 1024;
                        return TRUE;
                }
                range = "16 to 16777216 MiB";
        } else if (strcmp (key, "vcpus_min") == 0 || strcmp (key, "vcpus_max") == 0) {
                if (parse_num (v, 1, 4096, &x) && x == floor (x)) {
                        if (strcmp (key, "vcpus_min") == 0)
                                p->vcpus_min = (int) x;
                        else
                                p->vcpus_max = (int) x;
                        return TRUE;
                }
                range = "an integer from 1 to 4096";
        } else if (strcmp (key, "priority") == 0) {
                if (parse_num (v, 1, 1000000, &x) && x == floor (x)) {
                        p->priority = (int) x;
                        return TRUE;
                }
                range = "an integer from 1 to 1000000";
        } else if (strcmp (key, "target_util_pct") == 0) {
                if (parse_num (v, 10, 100, &x)) {
                        p->target_util = x / 100;
                        return TRUE;
                }
                range = "10 to 100";
        } else if (strcmp (key, "quantile") == 0) {
                if (parse_num (v, 0.5, 0.999, &x)) {
                        p->quantile = x;
                        return TRUE;
                }
                range = "0.5 to 0.999";
        } else if (strcmp (key, "tags") == 0) {
                if (parse_tags (v, p->tags))
                        return TRUE;
                range = "words of letters, digits, '_', '.' and '-', at most 64 characters each, "
                        "separated by spaces or commas";
        } else if (strcmp (key, "io_max_mib_s") == 0 || strcmp (key, "net_max_mib_s") == 0) {
                if (parse_num (v, 1, 1048576, &x)) {
                        *(key[0] == 'i' ? &p->io_max_mib_s : &p->net_max_mib_s) = x;
                        return TRUE;
                }
                range = "1 to 1048576 MiB/s";
        } else if (strcmp (key, "cpu_weight_max") == 0) {
                if (parse_num (v, 2, 262144, &x) && x == floor (x)) {
                        p->cpu_weight_max = x;
                        return TRUE;
                }
                range = "an integer from 2 to 262144 (cpu_shares)";
        } else if (strcmp (key, "io_max_iops") == 0) {
                if (parse_num (v, 1, AUGUR_VM_IO_MAX_IOPS_MAX, &x)) {
                        p->io_max_iops = x;
                        return TRUE;
                }
                range = "1 to 100000000 IO/s";
        } else {
                g_set_error (error, G_MARKUP_ERROR, G_MARKUP_ERROR_UNKNOWN_ELEMENT,
                             "unknown policy key '%s' (known: mode, mem_min_mib, mem_max_mib, "
                             "vcpus_min, vcpus_max, priority, target_util_pct, quantile, tags, io_max_mib_s, net_max_mib_s, "
                             "cpu_weight_max, io_max_iops)", key);
                return FALSE;
        }
        g_set_error (error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                     "policy %s = '%s' is out of range (allowed: %s)", key, v, range);
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

/* <key>v</key> for a ceiling that is set. */
static void
append_mib_s (GString *s, const char *key, double v)
{
        char buf[G_ASCII_DTOSTR_BUF_SIZE];

        if (!isnan (v))
                g_string_append_printf (s, "<%s>%s</%s>", key, g_ascii_formatd (buf, sizeof buf, "%g", v), key);
}

char *
augur_vm_policy_to_xml (const AugurVmPolicy *p)
{
        GString *s = g_string_new ("<policy>");

        if (p->mode_set)
                g_string_append_printf (s, "<mode>%s</mode>", augur_mode_to_string (p->mode));
        if (!isnan (p->mem_min_kib))
                g_string_append_printf (s, "<mem_min_mib>%.0f</mem_min_mib>", p->mem_min_kib / 1024);
        if (!isnan (p->mem_max_kib))
                g_string_append_printf (s, "<mem_max_mib>%.0f</mem_max_mib>", p->mem_max_kib / 1024);
        if (p->vcpus_min > 0)
                g_string_append_printf (s, "<vcpus_min>%d</vcpus_min>", p->vcpus_min);
        if (p->vcpus_max > 0)
                g_string_append_printf (s, "<vcpus_max>%d</vcpus_max>", p->vcpus_max);
        if (p->priority != 1000)
                g_string_append_printf (s, "<priority>%d</priority>", p->priority);
        if (!isnan (p->target_util))
                g_string_append_printf (s, "<target_util_pct>%.0f</target_util_pct>", p->target_util * 100);
        if (!isnan (p->quantile)) {
                char buf[G_ASCII_DTOSTR_BUF_SIZE];

                g_string_append_printf (s, "<quantile>%s</quantile>",
                                        g_ascii_formatd (buf, sizeof buf, "%.3f", p->quantile));
        }
        if (p->tags[0])
                g_string_append_printf (s, "<tags>%s</tags>", p->tags);
        append_mib_s (s, "io_max_mib_s", p->io_max_mib_s);
        append_mib_s (s, "net_max_mib_s", p->net_max_mib_s);
        if (!isnan (p->cpu_weight_max))
                g_string_append_printf (s, "<cpu_weight_max>%.0f</cpu_weight_max>", p->cpu_weight_max);
        append_mib_s (s, "io_max_iops", p->io_max_iops);
        g_string_append (s, "</policy>");
        return g_string_free (s, FALSE);
}
