/* pve-conf.c — see pve-conf.h. */
#include "config.h"

#include "pve-conf.h"
#include "hv.h"
#include "util.h"

#include <string.h>

#define MAX_NAME 128
#define MAX_MEMORY_MIB (G_GINT64_CONSTANT (1) << 32)     /* 4 PiB: beyond any host */
#define MAX_VCPUS 4096

/* Decimal digits only, the whole of text, at most max. */
static gboolean
parse_count (const char *text, gint64 max, gint64 *ret)
{
        gint64 v = 0;

        if (!*text)
                return FALSE;
        for (const char *p = text; *p; p++) {
                if (!g_ascii_isdigit (*p))
                        return FALSE;
                v = v * 10 + (*p - '0');
                if (v > max)
                        return FALSE;
        }
        *ret = v;
        return TRUE;
}

/* Likewise, and above 0; *ret untouched otherwise. */
static gboolean
parse_positive (const char *text, gint64 max, gint64 *ret)
{
        gint64 v;

        if (!parse_count (text, max, &v) || v == 0)
                return FALSE;
        *ret = v;
        return TRUE;
}

static gboolean
parse_bool (const char *text, int *ret)
{
        static const char *const yes[] = { "1", "on", "yes", "true" }, *const no[] = { "0", "off", "no", "false" };

        for (gsize i = 0; i < G_N_ELEMENTS (yes); i++) {
                if (strcmp (text, yes[i]) == 0) {
                        *ret = 1;
                        return TRUE;
                }
                if (strcmp (text, no[i]) == 0) {
                        *ret = 0;
                        return TRUE;
                }
        }
        return FALSE;
}

/* The value of key in a property string ("a=1,b=2"), the part without
 * "key=" counting as default_key; NULL when absent (transfer full). */
static char *
property (const char *value, const char *key, const char *default_key)
{
        g_auto(GStrv) parts = g_strsplit (value, ",", -1);
        gsize klen = strlen (key);

        for (int i = 0; parts[i]; i++) {
                const char *p = parts[i];

                if (!strchr (p, '=')) {
                        if (default_key && strcmp (default_key, key) == 0 && i == 0)
                                return g_strdup (p);
                        continue;
                }
                if (strncmp (p, key, klen) == 0 && p[klen] == '=')
                        return g_strdup (p + klen + 1);
        }
        return NULL;
}

static gboolean
valid_name (const char *v)
{
        if (strlen (v) > MAX_NAME)
                return FALSE;
        for (const char *p = v; *p; p++)
                if (*p <= ' ' || *p > '~')
                        return FALSE;
        return TRUE;
}

/* One "key: value" of the current configuration: FALSE when not understood. */
static gboolean
take (AugurPveConf *c, const char *key, const char *value)
{
        g_autofree char *v = NULL;

        if (strcmp (key, "name") == 0) {
                if (!valid_name (value))
                        return FALSE;
                g_free (c->name);
                c->name = g_strdup (value);
                return TRUE;
        }
        if (strcmp (key, "memory") == 0)
                return (v = property (value, "current", "current")) && parse_count (v, MAX_MEMORY_MIB, &c->memory_mib);
        if (strcmp (key, "balloon") == 0)
                return parse_count (value, MAX_MEMORY_MIB, &c->balloon_mib);
        if (strcmp (key, "cores") == 0)
                return parse_positive (value, MAX_VCPUS, &c->cores);
        if (strcmp (key, "sockets") == 0)
                return parse_positive (value, MAX_VCPUS, &c->sockets);
        if (strcmp (key, "vcpus") == 0)
                return parse_positive (value, MAX_VCPUS, &c->vcpus);
        if (strcmp (key, "shares") == 0)
                return parse_count (value, 50000, &c->shares);
        if (strcmp (key, "agent") == 0)
                return (v = property (value, "enabled", "enabled")) && parse_bool (v, &c->agent);
        if (g_str_has_prefix (key, "net")) {
                /* net0 .. net31, no leading zero: qemu-server's netN keys;
                 * anything else ("network", "net07", "net32") is not ours */
                gint64 n;

                if ((key[3] != '0' || !key[4]) && parse_count (key + 3, AUGUR_PVE_MAX_NETS - 1, &n))
                        c->nets |= 1u << n;
                return TRUE;
        }
        if (strcmp (key, "smbios1") == 0) {
                if (!(v = property (value, "uuid", NULL)))
                        return TRUE;            /* smbios1 without a uuid */
                if (!augur_is_uuid (v))
                        return FALSE;
                g_strlcpy (c->uuid, v, sizeof c->uuid);
                for (char *p = c->uuid; *p; p++)
                        *p = g_ascii_tolower (*p);
                return TRUE;
        }
        return TRUE;                    /* a key augur does not read */
}

gboolean
augur_pve_conf_parse (const char *text, gsize len, AugurPveConf *ret, GError **error)
{
        AugurPveConf c = { .memory_mib = -1, .balloon_mib = -1, .cores = -1, .sockets = -1, .vcpus = -1,
                           .agent = -1, .shares = -1 };
        g_autofree char *copy = NULL;
        g_auto(GStrv) lines = NULL;
        g_autoptr(GString) descr = NULL;

        if (memchr (text, '\0', len) || !g_utf8_validate (text, (gssize) len, NULL)) {
                g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED, "not a text file (NUL byte or not UTF-8)");
                return FALSE;
        }
        copy = g_strndup (text, len);
        lines = g_strsplit (copy, "\n", -1);
        for (int i = 0; lines[i]; i++) {
                char *l, *colon, *value;
                gboolean key_ok;

                if (lines[i][0] == '#') {
                        /* As qemu-server reads it: the rest of the line, as is. */
                        gsize n = strlen (lines[i]);
                        g_autofree char *line = NULL;

                        if (n > 1 && lines[i][n - 1] == '\r')
                                lines[i][n - 1] = '\0';
                        l = lines[i];
                        line = g_uri_unescape_string (l + 1, NULL);

                        if (!descr)
                                descr = g_string_new (NULL);
                        /* An invalid escape stays as it is (Perl's uri_unescape). */
                        g_string_append (descr, line ? line : l + 1);
                        g_string_append_c (descr, '\n');
                        continue;
                }
                l = g_strstrip (lines[i]);
                if (!*l || l[0] == '#')
                        continue;
                if (l[0] == '[')
                        break;                  /* snapshots, pending, cloud-init */
                colon = strchr (l, ':');
                key_ok = colon && colon > l && g_ascii_islower (l[0]);
                for (char *p = l; key_ok && p < colon; p++)
                        key_ok = g_ascii_islower (*p) || g_ascii_isdigit (*p) || *p == '_';
                if (!key_ok) {
                        c.ignored++;
                        continue;
                }
                *colon = '\0';
                value = g_strstrip (colon + 1);
                if (!*value || !take (&c, l, value))
                        c.ignored++;
        }
        if (descr) {
                c.description = g_string_free (g_steal_pointer (&descr), FALSE);
                c.policy_xml = augur_pve_policy_from_description (c.description, &c.policy_ignored);
        }
        *ret = c;
        return TRUE;
}

#define FENCE_OPEN "```augur"
#define FENCE_CLOSE "```"

/* The lines [*ret_begin, *ret_end] of lines that are the first augur block,
 * fences included: FALSE when there is none, or it is never closed. */
static gboolean
find_block (char **lines, int *ret_begin, int *ret_end, gboolean *ret_unclosed)
{
        *ret_unclosed = FALSE;
        for (int i = 0; lines[i]; i++) {
                g_autofree char *l = g_strstrip (g_strdup (lines[i]));

                if (strcmp (l, FENCE_OPEN) != 0)
                        continue;
                for (int j = i + 1; lines[j]; j++) {
                        g_autofree char *e = g_strstrip (g_strdup (lines[j]));

                        if (strcmp (e, FENCE_CLOSE) == 0) {
                                *ret_begin = i;
                                *ret_end = j;
                                return TRUE;
                        }
                }
                *ret_unclosed = TRUE;
                return FALSE;
        }
        return FALSE;
}

char *
augur_pve_policy_from_description (const char *description, guint *ret_ignored)
{
        g_auto(GStrv) lines = NULL;
        g_autoptr(GString) xml = NULL;
        int begin, end;
        gboolean unclosed;

        *ret_ignored = 0;
        if (!description)
                return NULL;
        lines = g_strsplit (description, "\n", -1);
        if (!find_block (lines, &begin, &end, &unclosed)) {
                *ret_ignored = unclosed ? 1 : 0;
                return NULL;
        }
        xml = g_string_new ("<policy>");
        for (int i = begin + 1; i < end; i++) {
                char *l = g_strstrip (lines[i]), *eq = strchr (l, '=');
                g_autofree char *value = NULL;
                gboolean key_ok;

                if (!*l)
                        continue;
                key_ok = eq && eq > l;
                if (eq)
                        *eq = '\0';
                g_strstrip (l);
                for (char *p = l; key_ok && *p; p++)
                        key_ok = g_ascii_islower (*p) || *p == '_';
                if (!key_ok || !*l) {
                        (*ret_ignored)++;
                        continue;
                }
                value = g_markup_escape_text (g_strstrip (eq + 1), -1);
                g_string_append_printf (xml, "<%s>%s</%s>", l, value, l);
        }
        g_string_append (xml, "</policy>");
        return g_string_free (g_steal_pointer (&xml), FALSE);
}

/* GMarkup: <policy><key>value</key>...</policy> into "key = value" lines. */
typedef struct {
        int depth;
        char *key;                      /* the element open at depth 2        */
        GString *out;
} PolicyMarkup;

static void
pm_start (GMarkupParseContext *ctx, const char *name, const char **an, const char **av, gpointer data,
          GError **error)
{
        PolicyMarkup *m = data;

        m->depth++;
        if ((m->depth == 1 && strcmp (name, "policy") != 0) || m->depth > 2) {
                g_set_error (error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT, "not a <policy> element of keys");
                return;
        }
        for (const char *p = name; m->depth == 2 && *p; p++)
                if (!g_ascii_islower (*p) && *p != '_') {
                        g_set_error (error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT, "bad key <%s>", name);
                        return;
                }
        if (m->depth == 2) {
                g_free (m->key);
                m->key = g_strdup (name);
                g_string_append_printf (m->out, "%s = ", name);
        }
}

static void
pm_end (GMarkupParseContext *ctx, const char *name, gpointer data, GError **error)
{
        PolicyMarkup *m = data;

        if (m->depth == 2)
                g_string_append_c (m->out, '\n');
        m->depth--;
}

static void
pm_text (GMarkupParseContext *ctx, const char *text, gsize len, gpointer data, GError **error)
{
        PolicyMarkup *m = data;
        g_autofree char *t = g_strstrip (g_strndup (text, len));

        if (m->depth == 2) {
                if (strchr (t, '\n')) {
                        g_set_error (error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT, "<%s>: a value on one line",
                                     m->key);
                        return;
                }
                g_string_append (m->out, t);
        }
}

char *
augur_pve_description_set_policy (const char *description, const char *policy_xml, GError **error)
{
        static const GMarkupParser parser = { pm_start, pm_end, pm_text, NULL, NULL };
        PolicyMarkup m = { 0 };
        g_autoptr(GMarkupParseContext) ctx = NULL;
        g_autoptr(GString) out = g_string_new (NULL);
        g_autoptr(GString) keys = g_string_new (NULL);
        g_auto(GStrv) lines = g_strsplit (description ? description : "", "\n", -1);
        int begin = -1, end = -1;
        gboolean unclosed;

        m.out = keys;
        ctx = g_markup_parse_context_new (&parser, 0, &m, NULL);
        if (!g_markup_parse_context_parse (ctx, policy_xml, -1, error) ||
            !g_markup_parse_context_end_parse (ctx, error)) {
                g_free (m.key);
                return NULL;
        }
        g_free (m.key);
        if (!find_block (lines, &begin, &end, &unclosed))
                begin = end = -1;
        for (int i = 0; lines[i]; i++) {
                if (i >= begin && i <= end)
                        continue;
                if (!lines[i + 1] && !*lines[i])
                        break;                  /* the final newline's empty piece */
                g_string_append_printf (out, "%s\n", lines[i]);
        }
        /* Drop the blank lines the old block leaves at the end. */
        while (out->len >= 2 && out->str[out->len - 1] == '\n' && out->str[out->len - 2] == '\n')
                g_string_truncate (out, out->len - 1);
        if (out->len == 1 && out->str[0] == '\n')
                g_string_truncate (out, 0);
        if (keys->len) {
                if (out->len)
                        g_string_append_c (out, '\n');
                g_string_append_printf (out, FENCE_OPEN "\n%s" FENCE_CLOSE "\n", keys->str);
        }
        return g_string_free (g_steal_pointer (&out), FALSE);
}

void
augur_pve_conf_clear (AugurPveConf *c)
{
        g_clear_pointer (&c->name, g_free);
        g_clear_pointer (&c->description, g_free);
        g_clear_pointer (&c->policy_xml, g_free);
}

int
augur_pve_conf_max_vcpus (const AugurPveConf *c)
{
        return (int) (MAX (c->sockets, 1) * MAX (c->cores, 1));
}

int
augur_pve_conf_vcpus (const AugurPveConf *c)
{
        int max = augur_pve_conf_max_vcpus (c);

        return c->vcpus > 0 && c->vcpus < max ? (int) c->vcpus : max;
}

gboolean
augur_pve_conf_balloon_range_kib (const AugurPveConf *c, guint64 *ret_min_kib, guint64 *ret_max_kib,
                                  GError **error)
{
        if (c->memory_mib <= 0) {
                g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED, "no memory: in the configuration");
                return FALSE;
        }
        if (c->balloon_mib == 0) {
                g_set_error (error, AUGUR_HV_ERROR, AUGUR_HV_ERROR_FAILED, "ballooning is off (balloon: 0)");
                return FALSE;
        }
        *ret_max_kib = (guint64) c->memory_mib * 1024;
        *ret_min_kib = c->balloon_mib > 0 ? (guint64) MIN (c->balloon_mib, c->memory_mib) * 1024 : *ret_max_kib;
        return TRUE;
}

gboolean
augur_pve_vmid_from_filename (const char *filename, int *ret_vmid)
{
        gsize n = strlen (filename), digits;
        gint64 v;
        g_autofree char *num = NULL;

        if (n < 5 || strcmp (filename + n - 5, ".conf") != 0)
                return FALSE;
        digits = n - 5;
        if (digits < 3 || digits > 9 || filename[0] == '0')
                return FALSE;
        num = g_strndup (filename, digits);
        if (!parse_count (num, 999999999, &v) || v < 100)
                return FALSE;
        *ret_vmid = (int) v;
        return TRUE;
}

gboolean
augur_pve_parse_pidfile (const char *text, gsize len, int *ret_pid)
{
        g_autofree char *t = NULL;
        gint64 v;

        if (len > 64 || memchr (text, '\0', len))
                return FALSE;
        t = g_strndup (text, len);
        g_strchomp (t);
        if (!parse_count (t, G_MAXINT, &v) || v <= 1)
                return FALSE;
        *ret_pid = (int) v;
        return TRUE;
}

gboolean
augur_pve_parse_proc_stat (const char *text, gsize len, guint64 *ret_utime, guint64 *ret_stime,
                           guint64 *ret_rss_pages)
{
        g_autofree char *t = g_strndup (text, len);
        char *close = strrchr (t, ')');
        g_auto(GStrv) f = NULL;
        gint64 v[3];
        /* After ")": field 3 (state) is index 0; utime 14, stime 15, rss 24. */
        static const int idx[3] = { 14 - 3, 15 - 3, 24 - 3 };

        if (!close)
                return FALSE;
        g_strchomp (close + 1);
        f = g_strsplit (g_strchug (close + 1), " ", -1);
        if (g_strv_length (f) <= (guint) idx[2])
                return FALSE;
        for (int i = 0; i < 3; i++)
                if (!parse_count (f[idx[i]], G_MAXINT64 / 10, &v[i]))
                        return FALSE;
        *ret_utime = (guint64) v[0];
        *ret_stime = (guint64) v[1];
        *ret_rss_pages = (guint64) v[2];
        return TRUE;
}

gboolean
augur_pve_cmdline_names (const char *cmdline, gsize len, const char *path)
{
        gsize plen = strlen (path);
        const char *end = cmdline + len;

        if (plen == 0)
                return FALSE;
        for (const char *arg = cmdline; arg < end;) {
                const char *arg_end = memchr (arg, '\0', (gsize) (end - arg));

                if (!arg_end)
                        arg_end = end;
                for (const char *p = arg; p + plen <= arg_end; p++) {
                        if (memcmp (p, path, plen) != 0)
                                continue;
                        if ((p == arg || p[-1] == ':' || p[-1] == '=') &&
                            (p + plen == arg_end || p[plen] == ','))
                                return TRUE;
                }
                arg = arg_end + 1;
        }
        return FALSE;
}

gboolean
augur_pve_conf_auto_ballooned (const AugurPveConf *c)
{
        return c->balloon_mib > 0 && c->memory_mib > c->balloon_mib && c->shares != 0;
}
