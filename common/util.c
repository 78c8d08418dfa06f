/* util.c — see util.h. */
#include "util.h"

#include <errno.h>
#include <math.h>
#include <string.h>

gboolean
augur_parse_decimal (const char *text, double *ret, const char **ret_end)
{
        const char *p = text;
        gsize digits = 0;
        char *end = NULL;
        double v;

        if (!text)
                return FALSE;
        if (*p == '+' || *p == '-')
                p++;
        while (g_ascii_isdigit (*p)) {
                p++;
                digits++;
        }
        if (*p == '.') {
                p++;
                while (g_ascii_isdigit (*p)) {
                        p++;
                        digits++;
                }
        }
        if (digits == 0)
                return FALSE;
        if ((*p == 'e' || *p == 'E') &&
            (g_ascii_isdigit (p[1]) || ((p[1] == '+' || p[1] == '-') && g_ascii_isdigit (p[2])))) {
                p += 2;
                while (g_ascii_isdigit (*p))
                        p++;
        }
        if (!ret_end && *p)
                return FALSE;
        errno = 0;
        v = g_ascii_strtod (text, &end);
        /* Defensive: the scan above and g_ascii_strtod agree on decimals. */
        if (errno || end != p || !isfinite (v))
                return FALSE;
        *ret = v;
        if (ret_end)
                *ret_end = p;
        return TRUE;
}

gboolean
augur_parse_duration_s (const char *text, double *ret_s, GError **error)
{
        const char *end = NULL;
        double v, mult = 1;

        if (!text || !*text)
                goto bad;
        if (!augur_parse_decimal (text, &v, &end) || v < 0)
                goto bad;
        if (*end) {
                if (end[1] != '\0')
                        goto bad;
                switch (*end) {
                case 's': mult = 1; break;
                case 'm': mult = 60; break;
                case 'h': mult = 3600; break;
                case 'd': mult = 86400; break;
                case 'w': mult = 7 * 86400; break;
                default: goto bad;
                }
        }
        if (v * mult > 100.0 * 365 * 86400)
                goto bad;
        *ret_s = v * mult;
        return TRUE;
bad:
        g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                     "invalid duration '%s' (expected e.g. 90s, 15m, 1h, 2d)",
                     text ? text : "");
        return FALSE;
}

gboolean
augur_parse_time_s (const char *text, gint64 *ret_s, GError **error)
{
        g_autoptr(GTimeZone) utc = g_time_zone_new_utc ();
        g_autoptr(GDateTime) dt = NULL;
        char *end = NULL;
        gint64 v;

        if (text && *text) {
                errno = 0;
                v = g_ascii_strtoll (text, &end, 10);
                if (!errno && end != text && *end == '\0') {
                        *ret_s = v;
                        return TRUE;
                }
                dt = g_date_time_new_from_iso8601 (text, utc);
                if (dt) {
                        *ret_s = g_date_time_to_unix (dt);
                        return TRUE;
                }
        }
        g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                     "invalid time '%s' (expected unix seconds or ISO 8601)",
                     text ? text : "");
        return FALSE;
}

void
augur_uuid_v5_from_name (const char *name, char out[37])
{
        /* augur's namespace: a fixed random UUID, so names map the same way
         * on every host. 6b1c3f2e-8d0a-4e57-9a51-0c6f4f8f1a2d */
        static const guint8 ns[16] = {
                0x6b, 0x1c, 0x3f, 0x2e, 0x8d, 0x0a, 0x4e, 0x57,
                0x9a, 0x51, 0x0c, 0x6f, 0x4f, 0x8f, 0x1a, 0x2d,
        };
        g_autoptr(GChecksum) sha = g_checksum_new (G_CHECKSUM_SHA1);
        guint8 digest[20];
        gsize len = sizeof digest;

        g_checksum_update (sha, ns, sizeof ns);
        g_checksum_update (sha, (const guchar *) name, strlen (name));
        g_checksum_get_digest (sha, digest, &len);
        digest[6] = (digest[6] & 0x0f) | 0x50;   /* version 5 */
        digest[8] = (digest[8] & 0x3f) | 0x80;   /* RFC 4122 variant */
        g_snprintf (out, 37,
                    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                    digest[0], digest[1], digest[2], digest[3], digest[4], digest[5],
                    digest[6], digest[7], digest[8], digest[9], digest[10], digest[11],
                    digest[12], digest[13], digest[14], digest[15]);
}

gboolean
augur_is_uuid (const char *text)
{
        if (!text || strlen (text) != 36)
                return FALSE;
        for (int i = 0; i < 36; i++) {
                if (i == 8 || i == 13 || i == 18 || i == 23) {
                        if (text[i] != '-')
                                return FALSE;
                } else if (!g_ascii_isxdigit (text[i])) {
                        return FALSE;
                }
        }
        return TRUE;
}

gint64
augur_now_ms (void)
{
        return g_get_real_time () / 1000;
}

guint32
augur_fnv1a32 (const void *data, gsize len)
{
        const guint8 *p = data;
        guint32 h = 2166136261u;

        for (gsize i = 0; i < len; i++) {
                h ^= p[i];
                h *= 16777619u;
        }
        return h;
}

guint64
augur_splitmix64 (guint64 *state)
{
        guint64 z = (*state += G_GUINT64_CONSTANT (0x9E3779B97F4A7C15));

        z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94D049BB133111EB);
        return z ^ (z >> 31);
}

guint
augur_lower_bound_f (const float *a, guint n, float x)
{
        guint lo = 0, hi = n;

        while (lo < hi) {
                guint mid = lo + (hi - lo) / 2;

                if (a[mid] < x)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

gsize
augur_lower_bound_i64 (const gint64 *a, gsize n, gint64 x)
{
        gsize lo = 0, hi = n;

        while (lo < hi) {
                gsize mid = lo + (hi - lo) / 2;

                if (a[mid] < x)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}
