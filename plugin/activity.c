/* activity.c — augurd's end of the in-guest activity channel.  See
 * activity.h for what it is, the trust model and the limits, and
 * guest/REPORT-SCHEMA.md for the report format.
 *
 * Layout of this file:
 *   1. the parser (pure)         augur_activity_parse_line
 *   2. the line reader           framing, token bucket, counters, logging
 *   3. the live XML              where the channel's host socket is
 *   4. the daemon integration    per-domain connections, agent polls, flush
 *
 * FEEDBACK LOOPS AND LAGS
 *   A report describes the guest interval that ended when it was written; it
 *   reaches the store at the next tick, so it lags the tick it is attached
 *   to by up to one report interval plus one tick.  Sample filling
 *   therefore uses a window (store-activity.h), not exact timestamps.
 *   Reading pauses (throttle) push back on the guest: its port queue fills
 *   and augur-guest drops reports instead of blocking — on purpose.
 */
#include "config.h"

#include "activity.h"
#include "store-activity.h"

#include <errno.h>
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

G_DEFINE_QUARK (augur-activity-error-quark, augur_activity_error)

#define act_log(level, guest, ...) \
        g_log_structured (G_LOG_DOMAIN, level, \
                          "AUGUR_GUEST", "%s", (guest) ? (guest) : "", \
                          "AUGUR_ACTION", "%s", "activity", \
                          "MESSAGE", __VA_ARGS__)

/* ======================================================== 1. the parser
 *
 * GRAMMAR (RFC 8259, restricted; REPORT-SCHEMA.md has the keys)
 *   line    = ws object ws                 nothing may follow
 *   object  = '{' ws [ member *( ws ',' ws member ) ] ws '}'
 *   member  = string ws ':' ws value
 *   Known keys take typed values (int | number | string | array, or null
 *   where optional).  Unknown keys (at most 8, at most 32 bytes, forward
 *   compatibility within v1) take any value nested at most to
 *   AUGUR_ACTIVITY_DEPTH_MAX and are ignored.  No key appears twice in one
 *   object.  Number literals are at most 40 characters.
 *
 * ERROR PRECEDENCE (deterministic, the tests rely on it)
 *   the line is longer than the limit            OVERSIZE
 *   the bytes are not UTF-8 or contain NUL       MALFORMED
 *   "v" is an integer other than 1               VERSION (when reached:
 *                                                a syntax error before it wins)
 *   any grammar, type, duplicate, missing key    MALFORMED
 *   else the first out-of-range value            RANGE
 *   Range problems are recorded and reported only once the whole line has
 *   parsed, so a line that is both absurd and broken is MALFORMED.
 *
 * Recursion depth is bounded by AUGUR_ACTIVITY_DEPTH_MAX (3), so the stack
 * use is bounded whatever the input. */

#define KEY_MAX 32                     /* bytes of a key we compare          */

typedef struct {
        const guchar *start;
        const guchar *p;
        const guchar *end;
        int code;                      /* AugurActivityError when failing   */
        const char *what;              /* static message                    */
        const char *range_what;        /* first range problem, or NULL      */
        gsize range_at;
} Lex;

typedef enum {
        K_V = 0, K_SEQ, K_INTERVAL, K_DROPPED, K_INPUT_SRC, K_INPUT, K_SESSIONS,
        K_USERS, K_PROC, K_RX, K_TX, K_LOAD1, K_PSI_CPU, K_PSI_MEM, K_PSI_IO,
        K_TOP, K_USER_SESSIONS, K_OOM_KILL, K_N,
} Key;

/* parse_report() tracks the keys seen, and a report its present fields, in
 * one guint32 each. */
G_STATIC_ASSERT (K_N <= 32);
G_STATIC_ASSERT (AUGUR_ACTIVITY_F_N <= 32);

typedef enum { T_INT, T_NUM, T_STR, T_TOP, T_UBKT } KeyType;

static const struct {
        const char *name;
        KeyType type;
        gboolean required;             /* and not nullable                  */
        int field;                     /* AugurActivityField, or -1         */
} keys[K_N] = {
        [K_V] = { "v", T_INT, TRUE, -1 },
        [K_SEQ] = { "seq", T_INT, TRUE, -1 },
        [K_INTERVAL] = { "interval_ms", T_INT, TRUE, -1 },
        [K_DROPPED] = { "dropped", T_INT, FALSE, AUGUR_ACTIVITY_F_DROPPED },
        [K_INPUT_SRC] = { "input_src", T_STR, FALSE, AUGUR_ACTIVITY_F_INPUT_SRC },
        [K_INPUT] = { "input_events_per_min", T_NUM, FALSE, AUGUR_ACTIVITY_F_INPUT_EVENTS },
        [K_SESSIONS] = { "sessions", T_INT, FALSE, AUGUR_ACTIVITY_F_SESSIONS },
        [K_USERS] = { "users", T_INT, FALSE, AUGUR_ACTIVITY_F_USERS },
        [K_PROC] = { "proc_starts_per_min", T_NUM, FALSE, AUGUR_ACTIVITY_F_PROC_STARTS },
        [K_RX] = { "net_rx_bytes", T_INT, FALSE, AUGUR_ACTIVITY_F_NET_RX },
        [K_TX] = { "net_tx_bytes", T_INT, FALSE, AUGUR_ACTIVITY_F_NET_TX },
        [K_LOAD1] = { "load1", T_NUM, FALSE, AUGUR_ACTIVITY_F_LOAD1 },
        [K_PSI_CPU] = { "psi_cpu", T_NUM, FALSE, AUGUR_ACTIVITY_F_PSI_CPU },
        [K_PSI_MEM] = { "psi_mem", T_NUM, FALSE, AUGUR_ACTIVITY_F_PSI_MEM },
        [K_PSI_IO] = { "psi_io", T_NUM, FALSE, AUGUR_ACTIVITY_F_PSI_IO },
        [K_TOP] = { "top", T_TOP, FALSE, AUGUR_ACTIVITY_F_TOP },
        [K_USER_SESSIONS] = { "user_sessions", T_UBKT, FALSE, AUGUR_ACTIVITY_F_USER_SESSIONS },
        [K_OOM_KILL] = { "oom_kill", T_INT, FALSE, AUGUR_ACTIVITY_F_OOM_KILL },
};

/* Upper bound of net byte counters: doubles carry them exactly up to 2^53
 * (9 PB since guest boot). */
#define MAX_NET_BYTES G_GINT64_CONSTANT (9007199254740992)

static gboolean
fail (Lex *lx, AugurActivityError code, const char *what)
{
        lx->code = code;
        lx->what = what;
        return FALSE;
}

static void
range_problem (Lex *lx, const char *what)
{
        if (!lx->range_what) {
                lx->range_what = what;
                lx->range_at = (gsize) (lx->p - lx->start);
        }
}

static inline void
skip_ws (Lex *lx)
{
        while (lx->p < lx->end &&
               (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\n' || *lx->p == '\r'))
                lx->p++;
}

static inline gboolean
expect (Lex *lx, guchar c, const char *what)
{
        if (lx->p >= lx->end || *lx->p != c)
                return fail (lx, AUGUR_ACTIVITY_ERROR_MALFORMED, what);
        lx->p++;
        return TRUE;
}

static int
hex4 (const guchar *p)
{
        int v = 0;

        for (int i = 0; i < 4; i++) {
                int d = g_ascii_xdigit_value (p[i]);

                if (d < 0)
                        return -1;
                v = v * 16 + d;
        }
        return v;
}

/* A JSON string.  Decodes into out (cap bytes incl. NUL; may be NULL to
 * only validate).  *ret_len = decoded length even when it overflowed cap;
 * *ret_ctrl = it decodes to a control character (C0, DEL or NUL). */
static gboolean
parse_string (Lex *lx, char *out, gsize cap, gsize *ret_len, gboolean *ret_ctrl)
{
        gsize len = 0;
        gboolean ctrl = FALSE;

        if (!expect (lx, '"', "expected a string"))
                return FALSE;
        for (;;) {
                guchar c;
                char utf8[6];
                int n = 1;

                if (lx->p >= lx->end)
                        return fail (lx, AUGUR_ACTIVITY_ERROR_MALFORMED, "unterminated string");
                c = *lx->p++;
                if (c == '"')
                        break;
                if (c < 0x20)
                        return fail (lx, AUGUR_ACTIVITY_ERROR_MALFORMED, "raw control character in a string");
                if (c != '\\') {
                        /* Plain byte (the whole line is valid UTF-8 already). */
                        if (c == 0x7f)
                                ctrl = TRUE;
                        if (out && len + 1 < cap)
                                out[len] = (char) c;
                        len++;
                        continue;
                }
                {       /* an escape */
                        if (lx->p >= lx->end)
                                return fail (lx, AUGUR_ACTIVITY_ERROR_MALFORMED, "unterminated escape");
                        c = *lx->p++;
                        switch (c) {
                        case '"': case '\\': case '/':
                                utf8[0] = (char) c;
                                break;
                        case 'b': utf8[0] = '\b'; ctrl = TRUE; break;
                        case 'f': utf8[0] = '\f'; ctrl = TRUE; break;
                        case 'n': utf8[0] = '\n'; ctrl = TRUE; break;
                        case 'r': utf8[0] = '\r'; ctrl = TRUE; break;
                        case 't': utf8[0] = '\t'; ctrl = TRUE; break;
                        case 'u': {
                                int u, lo;
                                gunichar cp;

                                if (lx->end - lx->p < 4 || (u = hex4 (lx->p)) < 0)
                                        return fail (lx, AUGUR_ACTIVITY_ERROR_MALFORMED, "bad \\u escape");
                                lx->p += 4;
                                cp = (gunichar) u;
                                if (u >= 0xdc00 && u <= 0xdfff)
                                        return fail (lx, AUGUR_ACTIVITY_ERROR_MALFORMED, "lone low surrogate");
                                if (u >= 0xd800 && u <= 0xdbff) {
                                        if (lx->end - lx->p < 6 || lx->p[0] != '\\' || lx->p[1] != 'u' ||
                                            (lo = hex4 (lx->p + 2)) < 0xdc00 || lo > 0xdfff)
                                                return fail (lx, AUGUR_ACTIVITY_ERROR_MALFORMED,
                                                             "high surrogate without its low half");
                                        lx->p += 6;
                                        cp = 0x10000 + (((gunichar) u - 0xd800) << 10) + ((gunichar) lo - 0xdc00);
                                }
                                if (cp < 0x20 || cp == 0x7f)
                                        ctrl = TRUE;
                                n = g_unichar_to_utf8 (cp, utf8);
                                break;
                        }
                        default:
                                return fail (lx, AUGUR_ACTIVITY_ERROR_MALFORMED, "unknown escape");
                        }
                }
                if (out && len + (gsize) n < cap)
                        memcpy (out + len, utf8, (gsize) n);
                len += (gsize) n;
        }
        if (out && cap > 0)
                out[MIN (len, cap - 1)] = '\0';
        if (ret_len)
                *ret_len = len;
        if (ret_ctrl)
                *ret_ctrl = ctrl;
        return TRUE;
}

typedef struct {
        char text[AUGUR_ACTIVITY_NUMBER_MAX + 1];
        gboolean is_int;
        gboolean has_exp;
} Number;

static gboolean
parse_number (Lex *lx, Number *ret)
{
        const guchar *s = lx->p;
        gsize len;

        ret->is_int = TRUE;
        ret->has_exp = FALSE;
        if (lx->p < lx->end && *lx->p == '-')
                lx->p++;
        if (lx->p >= lx->end)
                return fail (lx, AUGUR_ACTIVITY_ERROR_MALFORMED, "expected a number");
        if (*lx->p == '0') {
                lx->p++;
        } else if (*lx->p >= '1' && *lx->p <= '9') {
                while (lx->p < lx->end && g_ascii_isdigit (*lx->p))
                        lx->p++;
        } else {
                return fail (lx, AUGUR_ACTIVITY_ERROR_MALFORMED, "expected a value");
        }
        if (lx->p < lx->end && *lx->p == '.') {
                lx->p++;
                ret->is_int = FALSE;
                if (lx->p >= lx->end || !g_ascii_isdigit (*lx->p))
                        return fail (lx, AUGUR_ACTIVITY_ERROR_MALFORMED, "digits expected after '.'");
                while (lx->p < lx->end && g_ascii_isdigit (*lx->p))
                        lx->p++;
        }
        if (lx->p < lx->end && (*lx->p == 'e' || *lx->p == 'E')) {
                lx->p++;
                ret->is_int = FALSE;
                ret->has_exp = TRUE;
                if (lx->p < lx->end && (*lx->p == '+' || *lx->p == '-'))
                        lx->p++;
                if (lx->p >= lx->end || !g_ascii_isdigit (*lx->p))
                        return fail (lx, AUGUR_ACTIVITY_ERROR_MALFORMED, "digits expected in exponent");
                while (lx->p < lx->end && g_ascii_isdigit (*lx->p))
                        lx->p++;
        }
        len = (gsize) (lx->p - s);
        if (len > AUGUR_ACTIVITY_NUMBER_MAX)
                return fail (lx, AUGUR_ACTIVITY_ERROR_MALFORMED, "number literal too long");
        memcpy (ret->text, s, len);
        ret->text[len] = '\0';
        return TRUE;
}

static gboolean
parse_literal (Lex *lx, const char *word)
{
        gsize n = strlen (word);

        if ((gsize) (lx->end - lx->p) < n || memcmp (lx->p, word, n) != 0)
                return fail (lx, AUGUR_ACTIVITY_ERROR_MALFORMED, "expected a value");
        lx->p += n;
        return TRUE;
}

static inline gboolean
at_null (const Lex *lx)
{
        return lx->p < lx->end && *lx->p == 'n';
}

/* Skip any value; depth is the nesting level a container here would have. */
static gboolean
skip_value (Lex *lx, int depth)
{
        Number num;

        if (lx->p >= lx->end)
                return fail (lx, AUGUR_ACTIVITY_ERROR_MALFORMED, "expected a value");
        switch (*lx->p) {
        case '"':
                return parse_string (lx, NULL, 0, NULL, NULL);
        case 't':
                return parse_literal (lx, "true");
        case 'f':
                return parse_literal (lx, "false");
        case 'n':
                return parse_literal (lx, "null");
        case '[':
        case '{': {
                gboolean obj = *lx->p == '{';
                guchar close = obj ? '}' : ']';

                if (depth > AUGUR_ACTIVITY_DEPTH_MAX)
                        return fail (lx, AUGUR_ACTIVITY_ERROR_MALFORMED, "nested too deep");
                lx->p++;
                skip_ws (lx);
                if (lx->p < lx->end && *lx->p == close) {
                        lx->p++;
                        return TRUE;
                }
                for (;;) {
                        if (obj) {
                                if (!parse_string (lx, NULL, 0, NULL, NULL))
                                        return FALSE;
                                skip_ws (lx);
                                if (!expect (lx, ':', "expected ':'"))
                                        return FALSE;
                                skip_ws (lx);
                        }
                        if (!skip_value (lx, depth + 1))
                                return FALSE;
                        skip_ws (lx);
                        if (lx->p < lx->end && *lx->p == ',') {
                                lx->p++;
                                skip_ws (lx);
                                continue;
                        }
                        return expect (lx, close, obj ? "expected ',' or '}'" : "expected ',' or ']'");
                }
        }
        default:
                return parse_number (lx, &num);
        }
}

/* An integer value (no fraction, no exponent), in the 64-bit range. */
static gboolean
parse_int (Lex *lx, gint64 *ret)
{
        Number num;
        const char *d;
        gboolean neg;
        guint64 v = 0;

        if (!parse_number (lx, &num))
                return FALSE;
        if (!num.is_int)
                return fail (lx, AUGUR_ACTIVITY_ERROR_MALFORMED, "integer expected");
        /* The grammar left only [-]digits here. */
        neg = num.text[0] == '-';
        for (d = num.text + neg; *d; d++) {
                if (v > (G_MAXUINT64 - 9) / 10) {
                        range_problem (lx, "integer out of the 64-bit range");
                        *ret = 0;
                        return TRUE;
                }
                v = v * 10 + (guint64) (*d - '0');
        }
        if (v > (guint64) G_MAXINT64 + neg) {
                range_problem (lx, "integer out of the 64-bit range");
                *ret = 0;
                return TRUE;
        }
        *ret = neg ? (gint64) (0 - v) : (gint64) v;
        return TRUE;
}

/* Clinger's fast path: a decimal without exponent whose digits fit in 2^53,
 * with at most 22 fraction digits, is an exact integer divided by an exact
 * power of ten, so one IEEE division rounds it exactly as strtod does (the
 * json-glib oracle compares the two bit for bit).  Anything else goes to
 * g_ascii_strtod.  Returns FALSE when the fast path does not apply. */
static gboolean
fast_double (const Number *num, double *ret)
{
        static const double pow10[] = {
                1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
        };
        const char *d = num->text;
        gboolean neg = *d == '-';
        guint64 m = 0;
        int frac = -1;

        if (num->has_exp)
                return FALSE;
        for (d += neg; *d; d++) {
                if (*d == '.') {
                        frac = 0;
                        continue;
                }
                if (m >= G_GUINT64_CONSTANT (1) << 49)   /* 10 * m may pass 2^53 */
                        return FALSE;
                m = m * 10 + (guint64) (*d - '0');
                if (frac >= 0)
                        frac++;
        }
        if (frac > 22)
                return FALSE;
        *ret = (double) m / pow10[MAX (frac, 0)];
        if (neg)
                *ret = -*ret;
        return TRUE;
}

static gboolean
parse_double (Lex *lx, double *ret)
{
        Number num;

        if (!parse_number (lx, &num))
                return FALSE;
        if (!fast_double (&num, ret))
                *ret = g_ascii_strtod (num.text, NULL);
        if (!isfinite (*ret)) {
                range_problem (lx, "number not finite");
                *ret = 0;
        }
        *ret += 0.0;   /* -0.0 -> 0.0 */
        return TRUE;
}

/* One {"comm": STRING, "cpu_pct": NUMBER} of "top". */
static gboolean
parse_program (Lex *lx, AugurActivityProgram *ret)
{
        gboolean have_comm = FALSE, have_pct = FALSE;

        if (lx->p >= lx->end || *lx->p != '{')
                return fail (lx, AUGUR_ACTIVITY_ERROR_MALFORMED, "top entries must be objects");
        lx->p++;
        skip_ws (lx);
        if (lx->p < lx->end && *lx->p == '}')
                return fail (lx, AUGUR_ACTIVITY_ERROR_MALFORMED, "top entry lacks comm and cpu_pct");
        for (;;) {
                char key[KEY_MAX + 1];
                gsize klen;
                gboolean kctrl;

                if (!parse_string (lx, key, sizeof key, &klen, &kctrl))
                        return FALSE;
                skip_ws (lx);
                if (!expect (lx, ':', "expected ':'"))
                        return FALSE;
                skip_ws (lx);
                if (klen == 4 && strcmp (key, "comm") == 0) {
                        gsize len;
                        gboolean ctrl;

                        if (have_comm)
                                return fail (lx, AUGUR_ACTIVITY_ERROR_MALFORMED, "duplicate key");
                        have_comm = TRUE;
                        if (!parse_string (lx, ret->comm, sizeof ret->comm, &len, &ctrl))
                                return FALSE;
                        if (len == 0 || len > AUGUR_ACTIVITY_COMM_MAX)
                                range_problem (lx, "comm must be 1..15 bytes");
                        else if (ctrl)
                                range_problem (lx, "comm has a control character");
                } else if (klen == 7 && strcmp (key, "cpu_pct") == 0) {
                        if (have_pct)
                                return fail (lx, AUGUR_ACTIVITY_ERROR_MALFORMED, "duplicate key");
                        have_pct = TRUE;
                        if (!parse_double (lx, &ret->cpu_pct))
                                return FALSE;
                        if (ret->cpu_pct < 0 || ret->cpu_pct > AUGUR_ACTIVITY_MAX_CPU_PCT)
                                range_problem (lx, "cpu_pct out of range");
                } else {
                        return fail (lx, AUGUR_ACTIVITY_ERROR_MALFORMED, "unknown key in a top entry");
                }
                skip_ws (lx);
                if (lx->p < lx->end && *lx->p == ',') {
                        lx->p++;
                        skip_ws (lx);
                        continue;
                }
                if (!expect (lx, '}', "expected ',' or '}'"))
                        return FALSE;
                break;
        }
        if (!have_comm || !have_pct)
                return fail (lx, AUGUR_ACTIVITY_ERROR_MALFORMED, "top entry lacks comm or cpu_pct");
        return TRUE;
}

static gboolean
parse_top (Lex *lx, AugurActivityReport *r)
{
        guint n = 0;

        if (!expect (lx, '[', "top must be an array"))
                return FALSE;
        skip_ws (lx);
        if (lx->p < lx->end && *lx->p == ']') {
                lx->p++;
                r->n_top = 0;
                return TRUE;
        }
        for (;;) {
                AugurActivityProgram scratch;
                AugurActivityProgram *dst = n < AUGUR_ACTIVITY_TOP_MAX ? &r->top[n] : &scratch;

                if (!parse_program (lx, dst))
                        return FALSE;
                n++;
                skip_ws (lx);
                if (lx->p < lx->end && *lx->p == ',') {
                        lx->p++;
                        skip_ws (lx);
                        continue;
                }
                if (!expect (lx, ']', "expected ',' or ']'"))
                        return FALSE;
                break;
        }
        if (n > AUGUR_ACTIVITY_TOP_MAX)
                range_problem (lx, "more than 5 top entries");
        r->n_top = MIN (n, AUGUR_ACTIVITY_TOP_MAX);
        return TRUE;
}

static gboolean
int_in (gint64 v, gint64 lo, gint64 hi)
{
        return v >= lo && v <= hi;
}

/* "user_sessions": exactly AUGUR_ACTIVITY_USER_BUCKETS integers.  Another
 * length or element type is the grammar (MALFORMED); values are checked
 * with the others (check_ranges). */
static gboolean
parse_user_sessions (Lex *lx, AugurActivityReport *r)
{
        if (!expect (lx, '[', "user_sessions must be an array"))
                return FALSE;
        for (guint b = 0; b < AUGUR_ACTIVITY_USER_BUCKETS; b++) {
                skip_ws (lx);
                if (b > 0) {
                        if (!expect (lx, ',', "user_sessions must have 4 integers"))
                                return FALSE;
                        skip_ws (lx);
                }
                if (!parse_int (lx, &r->user_sessions[b]))
                        return FALSE;
        }
        skip_ws (lx);
        return expect (lx, ']', "user_sessions must have 4 integers");
}

static gboolean
num_in (double v, double lo, double hi)
{
        return v >= lo && v <= hi;
}

/* Range checks on a structurally valid report; the first problem wins. */
static void
check_ranges (Lex *lx, const AugurActivityReport *r)
{
        if (!int_in (r->seq, 0, AUGUR_ACTIVITY_MAX_SEQ))
                range_problem (lx, "seq out of range");
        if (!int_in (r->interval_ms, AUGUR_ACTIVITY_MIN_INTERVAL_MS, AUGUR_ACTIVITY_MAX_INTERVAL_MS))
                range_problem (lx, "interval_ms out of range");
        if (augur_activity_report_has (r, AUGUR_ACTIVITY_F_DROPPED) &&
            !int_in (r->dropped, 0, AUGUR_ACTIVITY_MAX_SEQ))
                range_problem (lx, "dropped out of range");
        if (augur_activity_report_has (r, AUGUR_ACTIVITY_F_INPUT_EVENTS) &&
            !num_in (r->input_events_per_min, 0, AUGUR_ACTIVITY_MAX_INPUT_PER_MIN))
                range_problem (lx, "input_events_per_min out of range");
        if (augur_activity_report_has (r, AUGUR_ACTIVITY_F_SESSIONS) &&
            !int_in (r->sessions, 0, AUGUR_ACTIVITY_MAX_SESSIONS))
                range_problem (lx, "sessions out of range");
        if (augur_activity_report_has (r, AUGUR_ACTIVITY_F_USERS) &&
            !int_in (r->users, 0, AUGUR_ACTIVITY_MAX_SESSIONS))
                range_problem (lx, "users out of range");
        if (augur_activity_report_has (r, AUGUR_ACTIVITY_F_PROC_STARTS) &&
            !num_in (r->proc_starts_per_min, 0, AUGUR_ACTIVITY_MAX_PROC_PER_MIN))
                range_problem (lx, "proc_starts_per_min out of range");
        if (augur_activity_report_has (r, AUGUR_ACTIVITY_F_NET_RX) &&
            !int_in (r->net_rx_bytes, 0, MAX_NET_BYTES))
                range_problem (lx, "net_rx_bytes out of range");
        if (augur_activity_report_has (r, AUGUR_ACTIVITY_F_NET_TX) &&
            !int_in (r->net_tx_bytes, 0, MAX_NET_BYTES))
                range_problem (lx, "net_tx_bytes out of range");
        if (augur_activity_report_has (r, AUGUR_ACTIVITY_F_LOAD1) &&
            !num_in (r->load1, 0, AUGUR_ACTIVITY_MAX_LOAD))
                range_problem (lx, "load1 out of range");
        if (augur_activity_report_has (r, AUGUR_ACTIVITY_F_PSI_CPU) &&
            !num_in (r->psi_cpu, 0, AUGUR_ACTIVITY_MAX_PSI))
                range_problem (lx, "psi_cpu out of range");
        if (augur_activity_report_has (r, AUGUR_ACTIVITY_F_PSI_MEM) &&
            !num_in (r->psi_mem, 0, AUGUR_ACTIVITY_MAX_PSI))
                range_problem (lx, "psi_mem out of range");
        if (augur_activity_report_has (r, AUGUR_ACTIVITY_F_PSI_IO) &&
            !num_in (r->psi_io, 0, AUGUR_ACTIVITY_MAX_PSI))
                range_problem (lx, "psi_io out of range");
        if (augur_activity_report_has (r, AUGUR_ACTIVITY_F_OOM_KILL) &&
            !int_in (r->oom_kill, 0, AUGUR_ACTIVITY_MAX_OOM_KILL))
                range_problem (lx, "oom_kill out of range");
        if (augur_activity_report_has (r, AUGUR_ACTIVITY_F_USER_SESSIONS)) {
                gint64 sum = 0;
                gboolean each_ok = TRUE;

                for (guint b = 0; b < AUGUR_ACTIVITY_USER_BUCKETS; b++) {
                        if (!int_in (r->user_sessions[b], 0, AUGUR_ACTIVITY_MAX_SESSIONS))
                                each_ok = FALSE;
                        else
                                sum += r->user_sessions[b];   /* <= 4e5: no overflow */
                }
                if (!each_ok)
                        range_problem (lx, "user_sessions out of range");
                else if (!augur_activity_report_has (r, AUGUR_ACTIVITY_F_SESSIONS))
                        range_problem (lx, "user_sessions without sessions");
                else if (sum != r->sessions)
                        range_problem (lx, "user_sessions do not add up to sessions");
        }
}

static gboolean
parse_member_value (Lex *lx, Key k, AugurActivityReport *r)
{
        gint64 iv = 0;
        double dv = 0;

        if (!keys[k].required && at_null (lx))
                return parse_literal (lx, "null");     /* null = unknown */
        switch (keys[k].type) {
        case T_INT:
                if (!parse_int (lx, &iv))
                        return FALSE;
                break;
        case T_NUM:
                if (!parse_double (lx, &dv))
                        return FALSE;
                break;
        case T_STR: {
                char s[8];
                gsize len;

                if (!parse_string (lx, s, sizeof s, &len, NULL))
                        return FALSE;
                if (len == 5 && strcmp (s, "evdev") == 0)
                        r->input_src = AUGUR_ACTIVITY_INPUT_EVDEV;
                else if (len == 3 && strcmp (s, "irq") == 0)
                        r->input_src = AUGUR_ACTIVITY_INPUT_IRQ;
                else if (len == 4 && strcmp (s, "none") == 0)
                        r->input_src = AUGUR_ACTIVITY_INPUT_NONE;
                else
                        range_problem (lx, "unknown input_src");
                break;
        }
        case T_TOP:
                if (!parse_top (lx, r))
                        return FALSE;
                break;
        case T_UBKT:
                if (!parse_user_sessions (lx, r))
                        return FALSE;
                break;
        }
        switch (k) {
        case K_V:
                if (iv != AUGUR_ACTIVITY_VERSION)
                        return fail (lx, AUGUR_ACTIVITY_ERROR_VERSION, "unknown report version");
                r->version = iv;
                break;
        case K_SEQ: r->seq = iv; break;
        case K_INTERVAL: r->interval_ms = iv; break;
        case K_DROPPED: r->dropped = iv; break;
        case K_INPUT: r->input_events_per_min = dv; break;
        case K_SESSIONS: r->sessions = iv; break;
        case K_USERS: r->users = iv; break;
        case K_PROC: r->proc_starts_per_min = dv; break;
        case K_RX: r->net_rx_bytes = iv; break;
        case K_TX: r->net_tx_bytes = iv; break;
        case K_LOAD1: r->load1 = dv; break;
        case K_PSI_CPU: r->psi_cpu = dv; break;
        case K_PSI_MEM: r->psi_mem = dv; break;
        case K_PSI_IO: r->psi_io = dv; break;
        case K_OOM_KILL: r->oom_kill = iv; break;
        case K_INPUT_SRC: case K_TOP: case K_USER_SESSIONS: case K_N: break;
        }
        if (keys[k].field >= 0)
                r->present |= 1u << keys[k].field;
        return TRUE;
}

static gboolean
parse_report (Lex *lx, AugurActivityReport *r)
{
        char unknown[AUGUR_ACTIVITY_UNKNOWN_KEYS_MAX][KEY_MAX + 1];
        gsize unknown_len[AUGUR_ACTIVITY_UNKNOWN_KEYS_MAX];
        guint n_unknown = 0;
        guint32 seen = 0;

        skip_ws (lx);
        if (!expect (lx, '{', "a report is a JSON object"))
                return FALSE;
        skip_ws (lx);
        if (lx->p < lx->end && *lx->p == '}')
                return fail (lx, AUGUR_ACTIVITY_ERROR_MALFORMED, "empty report");
        for (;;) {
                char key[KEY_MAX + 1];
                gsize klen;
                gboolean kctrl;
                int k = -1;

                if (!parse_string (lx, key, sizeof key, &klen, &kctrl))
                        return FALSE;
                skip_ws (lx);
                if (!expect (lx, ':', "expected ':'"))
                        return FALSE;
                skip_ws (lx);
                /* key holds no NUL here (kctrl), so strcmp also compares lengths */
                if (klen <= KEY_MAX && !kctrl)
                        for (int i = 0; i < K_N; i++)
                                if (keys[i].name[0] == key[0] && strcmp (key, keys[i].name) == 0) {
                                        k = i;
                                        break;
                                }
                if (k >= 0) {
                        if (seen & (1u << k))
                                return fail (lx, AUGUR_ACTIVITY_ERROR_MALFORMED, "duplicate key");
                        seen |= 1u << k;
                        if (!parse_member_value (lx, (Key) k, r))
                                return FALSE;
                } else {
                        if (klen > KEY_MAX || kctrl)
                                return fail (lx, AUGUR_ACTIVITY_ERROR_MALFORMED, "unknown key too long or not printable");
                        for (guint i = 0; i < n_unknown; i++)
                                if (unknown_len[i] == klen && memcmp (unknown[i], key, klen) == 0)
                                        return fail (lx, AUGUR_ACTIVITY_ERROR_MALFORMED, "duplicate key");
                        if (n_unknown == AUGUR_ACTIVITY_UNKNOWN_KEYS_MAX)
                                return fail (lx, AUGUR_ACTIVITY_ERROR_MALFORMED, "too many unknown keys");
                        memcpy (unknown[n_unknown], key, klen + 1);
                        unknown_len[n_unknown++] = klen;
                        if (!skip_value (lx, 2))
                                return FALSE;
                }
                skip_ws (lx);
                if (lx->p < lx->end && *lx->p == ',') {
                        lx->p++;
                        skip_ws (lx);
                        continue;
                }
                if (!expect (lx, '}', "expected ',' or '}'"))
                        return FALSE;
                break;
        }
        skip_ws (lx);
        if (lx->p != lx->end)
                return fail (lx, AUGUR_ACTIVITY_ERROR_MALFORMED, "data after the report object");
        for (int i = 0; i < K_N; i++)
                if (keys[i].required && !(seen & (1u << i)))
                        return fail (lx, AUGUR_ACTIVITY_ERROR_MALFORMED, "a required key (v, seq, interval_ms) is missing");
        return TRUE;
}

/* TRUE if every byte is ASCII and not NUL (the common case: augur-guest
 * writes ASCII only), which makes the UTF-8 check trivial. */
static gboolean
ascii_no_nul (const char *buf, gsize len)
{
        guchar acc = 0;
        gboolean nul = FALSE;

        for (gsize i = 0; i < len; i++) {
                acc |= (guchar) buf[i];
                nul |= buf[i] == '\0';
        }
        return !(acc & 0x80) && !nul;
}

gboolean
augur_activity_parse_line (const char *buf, gsize len, AugurActivityReport *ret,
                           GError **error)
{
        AugurActivityReport r;
        Lex lx;

        g_return_val_if_fail (buf != NULL || len == 0, FALSE);
        g_return_val_if_fail (ret != NULL, FALSE);

        if (len > AUGUR_ACTIVITY_LINE_MAX - 1) {
                g_set_error (error, AUGUR_ACTIVITY_ERROR, AUGUR_ACTIVITY_ERROR_OVERSIZE,
                             "report of %" G_GSIZE_FORMAT " bytes exceeds the %d-byte line limit",
                             len, AUGUR_ACTIVITY_LINE_MAX);
                return FALSE;
        }
        /* Strict UTF-8, and no NUL anywhere (g_utf8_validate_len refuses
         * NUL within len). */
        if (!ascii_no_nul (buf, len) && !g_utf8_validate_len (buf, len, NULL)) {
                g_set_error (error, AUGUR_ACTIVITY_ERROR, AUGUR_ACTIVITY_ERROR_MALFORMED,
                             "report is not valid UTF-8 or contains NUL");
                return FALSE;
        }
        memset (&r, 0, sizeof r);
        memset (&lx, 0, sizeof lx);
        lx.start = lx.p = (const guchar *) buf;
        lx.end = lx.start + len;
        if (!parse_report (&lx, &r)) {
                g_set_error (error, AUGUR_ACTIVITY_ERROR, lx.code, "%s at byte %" G_GSIZE_FORMAT,
                             lx.what, (gsize) (lx.p - lx.start));
                return FALSE;
        }
        if (!lx.range_what)
                check_ranges (&lx, &r);
        if (lx.range_what) {
                g_set_error (error, AUGUR_ACTIVITY_ERROR, AUGUR_ACTIVITY_ERROR_RANGE,
                             "%s (near byte %" G_GSIZE_FORMAT ")", lx.range_what, lx.range_at);
                return FALSE;
        }
        *ret = r;
        return TRUE;
}

/* Shortest text that reads back as exactly v (15 digits, else 17). */
static void
append_double (GString *out, double v)
{
        char buf[G_ASCII_DTOSTR_BUF_SIZE];

        g_ascii_formatd (buf, sizeof buf, "%.15g", v);
        if (g_ascii_strtod (buf, NULL) != v)
                g_ascii_formatd (buf, sizeof buf, "%.17g", v);
        g_string_append (out, buf);
}

void
augur_activity_report_buckets (const AugurActivityReport *r, double *ret_prog_pct,
                               double *ret_user_sessions)
{
        float prog[AUGUR_PROG_BUCKETS] = { 0 };
        gboolean has_top = augur_activity_report_has (r, AUGUR_ACTIVITY_F_TOP);
        gboolean has_users = augur_activity_report_has (r, AUGUR_ACTIVITY_F_USER_SESSIONS);

        for (guint i = 0; has_top && i < r->n_top; i++)
                augur_buckets_add_program (prog, r->top[i].comm, (float) r->top[i].cpu_pct);
        for (guint b = 0; b < AUGUR_PROG_BUCKETS; b++)
                ret_prog_pct[b] = has_top ? prog[b] : NAN;
        for (guint b = 0; b < AUGUR_USER_BUCKETS; b++)
                ret_user_sessions[b] = has_users ? (double) r->user_sessions[b] : NAN;
}

char *
augur_activity_top_to_json (const AugurActivityReport *r)
{
        GString *out;

        g_return_val_if_fail (r != NULL, NULL);
        if (!augur_activity_report_has (r, AUGUR_ACTIVITY_F_TOP))
                return NULL;
        /* By hand rather than with JsonGenerator, which prints every double
         * with 17 digits (0.2 as 0.20000000000000001).  A parsed comm is
         * valid UTF-8 without control characters, so only '"' and '\\'
         * need escaping. */
        out = g_string_new ("[");
        for (guint i = 0; i < r->n_top; i++) {
                g_string_append (out, i ? ",{\"comm\":\"" : "{\"comm\":\"");
                for (const char *c = r->top[i].comm; *c; c++) {
                        if (*c == '"' || *c == '\\')
                                g_string_append_c (out, '\\');
                        g_string_append_c (out, *c);
                }
                g_string_append (out, "\",\"cpu_pct\":");
                append_double (out, r->top[i].cpu_pct);
                g_string_append_c (out, '}');
        }
        g_string_append_c (out, ']');
        return g_string_free (out, FALSE);
}

/* ==================================================== 2. the line reader
 *
 * FRAMING: bytes accumulate in line[] until '\n'.  A line that reaches
 * AUGUR_ACTIVITY_LINE_MAX - 1 bytes without a newline is counted as
 * oversize once, and everything up to the next '\n' is skipped without
 * being stored ("discarding").  Complete lines found whole inside one read
 * are parsed in place, without a copy.  Empty or all-blank lines (augur-
 * guest sends a '\n' to resynchronise after a torn write) are ignored.
 *
 * RATE: a token bucket checked when a line completes, BEFORE parsing, so a
 * flood costs a memchr per line and nothing else. */

struct AugurActivityReader {
        char *name;                           /* for logs                       */
        AugurActivityReportFunc func;
        gpointer func_data;
        gsize len;                            /* bytes in line[]                */
        gboolean discarding;                  /* inside an overlong line        */
        double tokens;                        /* token bucket                   */
        gint64 refill_us;                     /* last refill, monotonic µs      */
        gboolean warned;                      /* first drop logged as warning   */
        AugurActivityCounters c;
        char line[AUGUR_ACTIVITY_LINE_MAX];   /* the partial line               */
};

AugurActivityReader *
augur_activity_reader_new (const char *name, AugurActivityReportFunc func,
                           gpointer user_data)
{
        AugurActivityReader *rd = g_new0 (AugurActivityReader, 1);

        rd->name = g_strdup (name ? name : "?");
        rd->func = func;
        rd->func_data = user_data;
        rd->tokens = AUGUR_ACTIVITY_RATE_BURST;
        rd->refill_us = -1;
        return rd;
}

void
augur_activity_reader_free (AugurActivityReader *rd)
{
        if (!rd)
                return;
        g_free (rd->name);
        g_free (rd);
}

static void
reader_drop (AugurActivityReader *rd, guint64 *counter, const char *kind, const char *detail)
{
        (*counter)++;
        if (!rd->warned) {
                act_log (G_LOG_LEVEL_WARNING, rd->name,
                         "activity channel of %s: dropped a report (%s: %s); further drops of "
                         "this domain are counted and logged at debug level, ignoring",
                         rd->name, kind, detail);
                rd->warned = TRUE;
        } else {
                g_debug ("activity channel of %s: dropped a report (%s: %s)", rd->name, kind, detail);
        }
}

static gboolean
take_token (AugurActivityReader *rd, gint64 now_us)
{
        if (rd->refill_us >= 0 && now_us > rd->refill_us)
                rd->tokens = MIN (AUGUR_ACTIVITY_RATE_BURST,
                                  rd->tokens + (now_us - rd->refill_us) / 1e6 * AUGUR_ACTIVITY_RATE_PER_S);
        if (rd->refill_us < 0 || now_us > rd->refill_us)
                rd->refill_us = now_us;
        if (rd->tokens < 1.0)
                return FALSE;
        rd->tokens -= 1.0;
        return TRUE;
}

static void
reader_line (AugurActivityReader *rd, const char *line, gsize len, gint64 now_us)
{
        g_autoptr(GError) error = NULL;
        AugurActivityReport report;
        gsize i;

        for (i = 0; i < len; i++)
                if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
                        break;
        if (i == len)
                return;                       /* blank: a resync newline */
        rd->c.lines++;
        if (!take_token (rd, now_us)) {
                reader_drop (rd, &rd->c.dropped_rate, "rate-limited", "more than the token bucket allows");
                return;
        }
        if (!augur_activity_parse_line (line, len, &report, &error)) {
                switch (error->code) {
                case AUGUR_ACTIVITY_ERROR_OVERSIZE:   /* defensive: framing caps it */
                        reader_drop (rd, &rd->c.dropped_oversize, "oversize", error->message);
                        break;
                case AUGUR_ACTIVITY_ERROR_RANGE:
                case AUGUR_ACTIVITY_ERROR_VERSION:
                        reader_drop (rd, &rd->c.dropped_range, "out-of-range", error->message);
                        break;
                default:
                        reader_drop (rd, &rd->c.dropped_malformed, "malformed", error->message);
                        break;
                }
                return;
        }
        rd->c.accepted++;
        if (rd->func)
                rd->func (&report, now_us, rd->func_data);
}

void
augur_activity_reader_feed (AugurActivityReader *rd, const char *data, gsize len,
                            gint64 now_us)
{
        const char *p = data, *end = data + len;

        g_return_if_fail (rd != NULL);
        rd->c.bytes_read += len;
        while (p < end) {
                const char *nl = memchr (p, '\n', (gsize) (end - p));
                gsize chunk = (gsize) ((nl ? nl : end) - p);

                if (rd->discarding) {
                        if (nl)
                                rd->discarding = FALSE;
                        p = nl ? nl + 1 : end;
                        continue;
                }
                if (rd->len + chunk > AUGUR_ACTIVITY_LINE_MAX - 1) {
                        rd->c.lines++;
                        reader_drop (rd, &rd->c.dropped_oversize, "oversize",
                                     "line longer than 1024 bytes, skipped to its newline");
                        rd->len = 0;
                        rd->discarding = nl == NULL;
                        p = nl ? nl + 1 : end;
                        continue;
                }
                if (!nl) {
                        memcpy (rd->line + rd->len, p, chunk);
                        rd->len += chunk;
                        break;
                }
                if (rd->len == 0) {
                        reader_line (rd, p, chunk, now_us);     /* whole: in place */
                } else {
                        memcpy (rd->line + rd->len, p, chunk);
                        reader_line (rd, rd->line, rd->len + chunk, now_us);
                        rd->len = 0;
                }
                p = nl + 1;
        }
}

AugurActivityReadStatus
augur_activity_reader_read_fd (AugurActivityReader *rd, int fd, gsize budget,
                               gint64 now_us, GError **error)
{
        char buf[4096];
        gsize total = 0;

        g_return_val_if_fail (rd != NULL, AUGUR_ACTIVITY_READ_ERROR);
        while (total < budget) {
                ssize_t n = read (fd, buf, MIN (sizeof buf, budget - total));

                if (n > 0) {
                        total += (gsize) n;
                        augur_activity_reader_feed (rd, buf, (gsize) n, now_us);
                        continue;
                }
                if (n == 0)
                        return AUGUR_ACTIVITY_READ_EOF;
                if (errno == EINTR)
                        continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                        return AUGUR_ACTIVITY_READ_AGAIN;
                g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                             "reading the activity channel: %s", g_strerror (errno));
                return AUGUR_ACTIVITY_READ_ERROR;
        }
        return AUGUR_ACTIVITY_READ_BUDGET;
}

gsize
augur_activity_reader_buffered (const AugurActivityReader *rd)
{
        return rd->len;
}

const AugurActivityCounters *
augur_activity_reader_counters (const AugurActivityReader *rd)
{
        return &rd->c;
}

void
augur_activity_reader_reset_line (AugurActivityReader *rd)
{
        rd->len = 0;
        rd->discarding = FALSE;
}

/* ====================================================== 3. the live XML */

typedef struct {
        int depth;
        int devices_depth;              /* depth of <devices>, or -1          */
        int channel_depth;              /* depth of the open <channel>, or -1 */
        gboolean ch_unix;
        char *src_mode, *src_path, *tgt_type, *tgt_name;
        char *result;
} XmlCtx;

static const char *
attr (const char **names, const char **values, const char *want)
{
        for (int i = 0; names[i]; i++)
                if (strcmp (names[i], want) == 0)
                        return values[i];
        return NULL;
}

static void
xml_start (GMarkupParseContext *ctx, const char *element, const char **names,
           const char **values, gpointer user_data, GError **error)
{
        XmlCtx *x = user_data;

        if (x->depth == 1 && strcmp (element, "devices") == 0) {
                x->devices_depth = x->depth;
        } else if (x->devices_depth >= 0 && x->depth == x->devices_depth + 1 &&
                   strcmp (element, "channel") == 0) {
                x->channel_depth = x->depth;
                x->ch_unix = g_strcmp0 (attr (names, values, "type"), "unix") == 0;
                g_clear_pointer (&x->src_mode, g_free);
                g_clear_pointer (&x->src_path, g_free);
                g_clear_pointer (&x->tgt_type, g_free);
                g_clear_pointer (&x->tgt_name, g_free);
        } else if (x->channel_depth >= 0 && x->depth == x->channel_depth + 1) {
                if (strcmp (element, "source") == 0 && !x->src_path) {
                        x->src_mode = g_strdup (attr (names, values, "mode"));
                        x->src_path = g_strdup (attr (names, values, "path"));
                } else if (strcmp (element, "target") == 0 && !x->tgt_name) {
                        x->tgt_type = g_strdup (attr (names, values, "type"));
                        x->tgt_name = g_strdup (attr (names, values, "name"));
                }
        }
        x->depth++;
}

static void
xml_end (GMarkupParseContext *ctx, const char *element, gpointer user_data, GError **error)
{
        XmlCtx *x = user_data;

        x->depth--;
        if (x->depth == x->channel_depth) {
                if (!x->result && x->ch_unix && x->src_path && *x->src_path &&
                    g_strcmp0 (x->src_mode, "bind") == 0 &&
                    g_strcmp0 (x->tgt_type, "virtio") == 0 &&
                    g_strcmp0 (x->tgt_name, AUGUR_ACTIVITY_PORT_NAME) == 0)
                        x->result = g_strdup (x->src_path);
                x->channel_depth = -1;
        } else if (x->depth == x->devices_depth) {
                x->devices_depth = -1;
        }
}

char *
augur_activity_channel_path_from_xml (const char *xml, GError **error)
{
        static const GMarkupParser parser = { xml_start, xml_end, NULL, NULL, NULL };
        XmlCtx x = { 0, -1, -1, FALSE, NULL, NULL, NULL, NULL, NULL };
        GMarkupParseContext *ctx;
        gboolean ok;

        g_return_val_if_fail (xml != NULL, NULL);
        ctx = g_markup_parse_context_new (&parser, 0, &x, NULL);
        ok = g_markup_parse_context_parse (ctx, xml, -1, error) &&
             g_markup_parse_context_end_parse (ctx, error);
        g_markup_parse_context_free (ctx);
        g_free (x.src_mode);
        g_free (x.src_path);
        g_free (x.tgt_type);
        g_free (x.tgt_name);
        if (!ok) {
                g_free (x.result);
                return NULL;
        }
        return x.result;
}

/* ============================================ 4. the daemon integration
 *
 * One ActDomain per running domain (by UUID), created when a sync first
 * lists it, dropped at the first sync after it stops.  Its reader (and so
 * its counters) lives as long as it; the socket comes and goes:
 *
 *   no channel in the XML --(never connects; XML re-read on restart only)
 *   DISCONNECTED --sync, backoff over--> connect() (non-blocking, AF_UNIX:
 *     completes or fails at once) --ok--> CONNECTED (a G_IO_IN source)
 *   CONNECTED --EOF / error--> DISCONNECTED (retry after 1 s, doubling to 30 s)
 *   CONNECTED --read budget used--> THROTTLED (no source; a 50 ms timer
 *     puts it back)
 *
 * Guest agent users: at most one augur_hv_guest_agent_users() in flight per
 * domain and AGENT_INFLIGHT_MAX overall, each in a GTask worker thread with
 * its own reference on the guest handle (and so on the connection).  That
 * call can block for as long as the hypervisor waits for the agent; the
 * tick never waits for it.  Results come back on the main context and are
 * queued like channel reports.  If the AugurActivity is freed meanwhile,
 * the job sees shared->act == NULL and does nothing. */

#define AGENT_INFLIGHT_MAX 2

typedef enum {
        AGENT_UNKNOWN = 0,             /* never asked: try once              */
        AGENT_CONNECTED,               /* an event said so, or a poll worked */
        AGENT_ABSENT,                  /* not connected / unsupported        */
} AgentState;

typedef struct {
        gint ref;
        AugurActivity *act;            /* NULL once the AugurActivity is freed */
} Shared;

typedef struct {
        AugurActivitySource source;
        gint64 ts_ms;
        AugurActivityReport report;    /* agent rows: only users present     */
} PendingRow;

typedef struct {
        AugurActivity *act;
        char uuid[AUGUR_UUID_STRLEN];
        char *name;
        int libvirt_id;                /* the hypervisor's run id (hv.h)     */
        gboolean xml_read;             /* path is known for this libvirt_id  */
        AugurHvGuest *guest;           /* from the last listing (owned ref)  */
        gboolean seen;                 /* listed at the current sync         */
        gboolean gone;                 /* stopped: drop after the next flush */
        char *path;                    /* channel socket, NULL = no channel  */
        GSocket *sock;
        GSource *watch;                /* G_IO_IN on sock                    */
        GSource *throttle;             /* timer that re-creates watch        */
        gint64 next_connect_us;
        double backoff_s;
        gboolean warned_connect;
        AugurActivityReader *reader;
        GArray *pending;               /* PendingRow                         */
        guint64 queue_drops;           /* pending was full (counted as rate) */
        gint64 last_ts_ms[2];          /* per AugurActivitySource            */
        AugurActivityLatest latest;    /* newest channel report's values ... */
        gint64 latest_ms;              /* ... received then; -1 = none       */
        AugurActivityCounters flushed; /* counters already in activity_drops */
        AgentState agent;
        gint64 next_agent_us;
        gboolean agent_busy;
} ActDomain;

struct AugurActivity {
        AugurStore *store;             /* borrowed                           */
        GMainContext *ctx;             /* where our sources live             */
        GHashTable *doms;              /* uuid -> ActDomain (owned)          */
        Shared *shared;
        guint agent_inflight;
        gboolean warned_store;
        AugurHvKeepFunc keep;          /* [guests] filter, NULL = every guest */
        gpointer keep_data;
};

static Shared *
shared_ref (Shared *s)
{
        g_atomic_int_inc (&s->ref);
        return s;
}

static void
shared_unref (Shared *s)
{
        if (g_atomic_int_dec_and_test (&s->ref))
                g_free (s);
}

static void
channel_close (ActDomain *ad)
{
        if (ad->watch) {
                g_source_destroy (ad->watch);
                g_clear_pointer (&ad->watch, g_source_unref);
        }
        if (ad->throttle) {
                g_source_destroy (ad->throttle);
                g_clear_pointer (&ad->throttle, g_source_unref);
        }
        if (ad->sock) {
                g_socket_close (ad->sock, NULL);
                g_clear_object (&ad->sock);
        }
        if (ad->reader)
                augur_activity_reader_reset_line (ad->reader);
}

static void
act_domain_free (gpointer p)
{
        ActDomain *ad = p;

        channel_close (ad);
        augur_activity_reader_free (ad->reader);
        if (ad->pending)
                g_array_unref (ad->pending);
        augur_hv_guest_unref (ad->guest);
        g_free (ad->name);
        g_free (ad->path);
        g_free (ad);
}

static gint64
unique_ts_ms (ActDomain *ad, AugurActivitySource src)
{
        gint64 ts = g_get_real_time () / 1000;

        if (ts <= ad->last_ts_ms[src])
                ts = ad->last_ts_ms[src] + 1;
        ad->last_ts_ms[src] = ts;
        return ts;
}

static void
queue_row (ActDomain *ad, AugurActivitySource src, const AugurActivityReport *r)
{
        PendingRow row;

        if (ad->pending->len >= AUGUR_ACTIVITY_PENDING_MAX) {
                ad->queue_drops++;
                g_debug ("activity of %s: store queue full, report dropped", ad->name);
                return;
        }
        row.source = src;
        row.ts_ms = unique_ts_ms (ad, src);
        row.report = *r;
        g_array_append_val (ad->pending, row);
}

static void
on_report (const AugurActivityReport *report, gint64 now_us, gpointer user_data)
{
        ActDomain *ad = user_data;

        ad->latest.input_events_per_min = augur_activity_report_has (report, AUGUR_ACTIVITY_F_INPUT_EVENTS)
                                          ? report->input_events_per_min : NAN;
        ad->latest.sessions = augur_activity_report_has (report, AUGUR_ACTIVITY_F_SESSIONS)
                              ? (double) report->sessions : NAN;
        ad->latest.proc_starts_per_min = augur_activity_report_has (report, AUGUR_ACTIVITY_F_PROC_STARTS)
                                         ? report->proc_starts_per_min : NAN;
        augur_activity_report_buckets (report, ad->latest.prog_pct, ad->latest.user_sessions);
        ad->latest.psi_mem = augur_activity_report_has (report, AUGUR_ACTIVITY_F_PSI_MEM)
                             ? report->psi_mem : NAN;
        ad->latest.oom_kill = augur_activity_report_has (report, AUGUR_ACTIVITY_F_OOM_KILL)
                              ? (double) report->oom_kill : NAN;
        ad->latest_ms = g_get_real_time () / 1000;
        queue_row (ad, AUGUR_ACTIVITY_SOURCE_CHANNEL, report);
}

static void watch_start (ActDomain *ad);

static void
schedule_reconnect (ActDomain *ad)
{
        ad->backoff_s = ad->backoff_s <= 0 ? AUGUR_ACTIVITY_RECONNECT_MIN_S
                        : MIN (ad->backoff_s * 2, AUGUR_ACTIVITY_RECONNECT_MAX_S);
        ad->next_connect_us = g_get_monotonic_time () + (gint64) (ad->backoff_s * G_USEC_PER_SEC);
}

static gboolean
on_throttle_over (gpointer user_data)
{
        ActDomain *ad = user_data;

        g_clear_pointer (&ad->throttle, g_source_unref);
        if (ad->sock)
                watch_start (ad);
        return G_SOURCE_REMOVE;
}

static gboolean
on_readable (GSocket *sock, GIOCondition cond, gpointer user_data)
{
        ActDomain *ad = user_data;
        g_autoptr(GError) error = NULL;
        AugurActivityReadStatus st;

        st = augur_activity_reader_read_fd (ad->reader, g_socket_get_fd (sock),
                                            AUGUR_ACTIVITY_READ_BUDGET_BYTES,
                                            g_get_monotonic_time (), &error);
        if (st == AUGUR_ACTIVITY_READ_AGAIN) {
                if (!(cond & (G_IO_HUP | G_IO_ERR)))
                        return G_SOURCE_CONTINUE;
                st = AUGUR_ACTIVITY_READ_EOF;   /* HUP, nothing left to read */
        }
        switch (st) {
        case AUGUR_ACTIVITY_READ_AGAIN:
        case AUGUR_ACTIVITY_READ_EOF:
                act_log (G_LOG_LEVEL_INFO, ad->name,
                         "activity channel of %s closed by QEMU; will reconnect", ad->name);
                break;
        case AUGUR_ACTIVITY_READ_ERROR:
                act_log (G_LOG_LEVEL_WARNING, ad->name, "activity channel of %s: %s; will reconnect, ignoring",
                         ad->name, error->message);
                break;
        case AUGUR_ACTIVITY_READ_BUDGET:
                /* Bounded work per wakeup: stop watching for a while.  The
                 * source is destroyed here and re-created by the timer. */
                g_clear_pointer (&ad->watch, g_source_unref);
                ad->throttle = g_timeout_source_new (AUGUR_ACTIVITY_THROTTLE_MS);
                g_source_set_callback (ad->throttle, on_throttle_over, ad, NULL);
                g_source_attach (ad->throttle, ad->act->ctx);
                return G_SOURCE_REMOVE;
        }
        /* Closed: the watch is this source; let GLib remove it. */
        g_clear_pointer (&ad->watch, g_source_unref);
        channel_close (ad);
        ad->backoff_s = 0;
        schedule_reconnect (ad);
        return G_SOURCE_REMOVE;
}

static void
watch_start (ActDomain *ad)
{
        g_assert (ad->sock && !ad->watch);
        ad->watch = g_socket_create_source (ad->sock, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
        g_source_set_callback (ad->watch, (GSourceFunc) G_CALLBACK (on_readable), ad, NULL);
        g_source_attach (ad->watch, ad->act->ctx);
}

static void
try_connect (ActDomain *ad)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GSocket) sock = NULL;
        g_autoptr(GSocketAddress) addr = NULL;

        sock = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
                             G_SOCKET_PROTOCOL_DEFAULT, &error);
        if (sock) {
                g_socket_set_blocking (sock, FALSE);
                addr = g_unix_socket_address_new (ad->path);
        }
        /* AF_UNIX connect() completes or fails at once; a full listen backlog
         * (EAGAIN, "pending") is a failure we retry like any other. */
        if (!sock || !g_socket_connect (sock, addr, NULL, &error)) {
                if (!ad->warned_connect)
                        act_log (G_LOG_LEVEL_WARNING, ad->name,
                                 "cannot connect to the activity channel of %s (%s): %s; retrying, ignoring",
                                 ad->name, ad->path, error->message);
                else
                        g_debug ("activity channel of %s: %s", ad->name, error->message);
                ad->warned_connect = TRUE;
                schedule_reconnect (ad);
                return;
        }
        ad->sock = g_steal_pointer (&sock);
        augur_activity_reader_reset_line (ad->reader);
        ad->backoff_s = 0;
        ad->warned_connect = FALSE;
        ad->reader->c.connects++;
        act_log (G_LOG_LEVEL_INFO, ad->name, "activity channel of %s connected (%s)",
                 ad->name, ad->path);
        watch_start (ad);
}

/* The channel socket of a running domain.  Returns FALSE when its devices
 * could not be read (try again at the next sync); TRUE with *ret_path NULL
 * when the domain has no activity channel. */
static gboolean
fetch_channel_path (AugurHvGuest *g, const char *name, char **ret_path)
{
        g_autoptr(GError) error = NULL;
        AugurHvDevices dev = { 0 };

        *ret_path = NULL;
        if (!augur_hv_guest_read_devices (g, &dev, &error)) {
                g_debug ("activity: devices of %s unavailable: %s; retrying at the next tick", name,
                         error->message);
                return FALSE;
        }
        *ret_path = g_steal_pointer (&dev.activity_socket);
        augur_hv_devices_clear (&dev);
        return TRUE;
}

/* (Re)attach a listed domain; g is consumed. */
static void
attach (AugurActivity *act, AugurHvGuest *g)
{
        const char *uuid = augur_hv_guest_get_uuid (g);
        ActDomain *ad = g_hash_table_lookup (act->doms, uuid);
        const char *name = augur_hv_guest_get_name (g);
        int id = augur_hv_guest_get_id (g);

        if (!ad) {
                ad = g_new0 (ActDomain, 1);
                ad->latest_ms = -1;
                ad->act = act;
                g_strlcpy (ad->uuid, uuid, sizeof ad->uuid);
                ad->name = g_strdup (name ? name : uuid);
                ad->libvirt_id = -2;      /* forces the read below */
                ad->reader = augur_activity_reader_new (ad->name, on_report, ad);
                ad->pending = g_array_new (FALSE, FALSE, sizeof (PendingRow));
                g_hash_table_insert (act->doms, g_strdup (uuid), ad);
        }
        if (ad->libvirt_id != id || ad->gone || !ad->xml_read) {
                /* New, or restarted (new QEMU, maybe a new socket path). */
                channel_close (ad);
                g_clear_pointer (&ad->path, g_free);
                /* On failure the next sync reads it again. */
                ad->xml_read = fetch_channel_path (g, ad->name, &ad->path);
                ad->libvirt_id = id;
                ad->gone = FALSE;
                ad->backoff_s = 0;
                ad->next_connect_us = 0;
                ad->warned_connect = FALSE;
                if (ad->agent == AGENT_ABSENT) {
                        ad->agent = AGENT_UNKNOWN;     /* a new guest: ask again */
                        ad->next_agent_us = 0;
                }
                if (!ad->path && ad->xml_read)
                        act_log (G_LOG_LEVEL_INFO, ad->name,
                                 "domain %s has no %s channel (bind mode): no in-guest activity",
                                 ad->name, AUGUR_ACTIVITY_PORT_NAME);
        }
        if (name && g_strcmp0 (ad->name, name) != 0) {
                g_free (ad->name);
                ad->name = g_strdup (name);
        }
        augur_hv_guest_unref (ad->guest);
        ad->guest = g;
        ad->seen = TRUE;
}

static void
refresh_domains (AugurActivity *act, AugurHv *hv)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GPtrArray) guests = augur_hv_list_guests (hv, &error);
        GHashTableIter it;
        gpointer v;

        if (!guests) {
                g_debug ("activity: listing domains failed: %s, ignoring", error->message);
                return;
        }
        g_hash_table_iter_init (&it, act->doms);
        while (g_hash_table_iter_next (&it, NULL, &v))
                ((ActDomain *) v)->seen = FALSE;
        for (guint i = 0; i < guests->len; i++) {
                AugurHvGuest *g = g_ptr_array_index (guests, i);

                /* An excluded guest is not seen: its channel closes below. */
                if (!act->keep || act->keep (g, act->keep_data))
                        attach (act, augur_hv_guest_ref (g));
        }
        g_hash_table_iter_init (&it, act->doms);
        while (g_hash_table_iter_next (&it, NULL, &v)) {
                ActDomain *ad = v;

                if (!ad->seen && !ad->gone) {
                        channel_close (ad);
                        ad->gone = TRUE;
                }
        }
}

/* ---- guest agent users ---- */

typedef struct {
        Shared *shared;
        AugurHvGuest *guest;
        char uuid[AUGUR_UUID_STRLEN];
        gboolean ok;
        gint64 users;
        char *message;
} AgentJob;

static void
agent_job_free (gpointer p)
{
        AgentJob *j = p;

        shared_unref (j->shared);
        augur_hv_guest_unref (j->guest);
        g_free (j->message);
        g_free (j);
}

static void
agent_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
        AgentJob *j = task_data;
        g_autoptr(GError) error = NULL;

        j->ok = augur_hv_guest_agent_users (j->guest, &j->users, &error);
        if (!j->ok)
                j->message = g_strdup (error->message);
        g_task_return_boolean (task, TRUE);
}

static void
agent_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
        AgentJob *j = g_task_get_task_data (G_TASK (res));
        AugurActivity *act = j->shared->act;
        gint64 now = g_get_monotonic_time ();
        ActDomain *ad;

        if (!act)
                return;                       /* freed meanwhile */
        act->agent_inflight--;
        ad = g_hash_table_lookup (act->doms, j->uuid);
        if (!ad)
                return;
        ad->agent_busy = FALSE;
        if (!j->ok) {
                g_debug ("activity: guest agent users of %s: %s", ad->name, j->message);
                ad->agent = AGENT_ABSENT;
                ad->next_agent_us = now + (gint64) AUGUR_ACTIVITY_AGENT_RETRY_S * G_USEC_PER_SEC;
                return;
        }
        ad->agent = AGENT_CONNECTED;
        ad->next_agent_us = now + (gint64) AUGUR_ACTIVITY_AGENT_POLL_S * G_USEC_PER_SEC;
        if (j->users < 0 || j->users > AUGUR_ACTIVITY_MAX_SESSIONS) {
                /* The agent runs in the guest: its answer is as hostile as
                 * the channel's. */
                reader_drop (ad->reader, &ad->reader->c.dropped_range,
                             "guest agent", "user count out of range");
                return;
        }
        {
                AugurActivityReport r;

                memset (&r, 0, sizeof r);
                r.version = AUGUR_ACTIVITY_VERSION;
                r.users = j->users;
                r.present = 1u << AUGUR_ACTIVITY_F_USERS;
                queue_row (ad, AUGUR_ACTIVITY_SOURCE_AGENT, &r);
        }
}

static void
maybe_poll_agent (AugurActivity *act, ActDomain *ad, gint64 now)
{
        g_autoptr(GTask) task = NULL;
        AgentJob *j;

        if (ad->gone || !ad->guest || ad->agent_busy || now < ad->next_agent_us ||
            act->agent_inflight >= AGENT_INFLIGHT_MAX)
                return;
        j = g_new0 (AgentJob, 1);
        j->shared = shared_ref (act->shared);
        j->guest = augur_hv_guest_ref (ad->guest);
        g_strlcpy (j->uuid, ad->uuid, sizeof j->uuid);
        ad->agent_busy = TRUE;
        act->agent_inflight++;
        task = g_task_new (NULL, NULL, agent_done, NULL);
        g_task_set_task_data (task, j, agent_job_free);
        g_task_run_in_thread (task, agent_thread);
}

/* ---- flush ---- */

static void
fill_row (AugurActivityRow *row, const ActDomain *ad, const PendingRow *p)
{
        const AugurActivityReport *r = &p->report;
        static const struct {
                AugurActivityField f;
                AugurActivityCol c;
        } map[] = {
                { AUGUR_ACTIVITY_F_DROPPED, AUGUR_ACTCOL_GUEST_DROPPED },
                { AUGUR_ACTIVITY_F_INPUT_EVENTS, AUGUR_ACTCOL_INPUT_EVENTS_PER_MIN },
                { AUGUR_ACTIVITY_F_SESSIONS, AUGUR_ACTCOL_SESSIONS },
                { AUGUR_ACTIVITY_F_USERS, AUGUR_ACTCOL_USERS },
                { AUGUR_ACTIVITY_F_PROC_STARTS, AUGUR_ACTCOL_PROC_STARTS_PER_MIN },
                { AUGUR_ACTIVITY_F_NET_RX, AUGUR_ACTCOL_NET_RX_BYTES },
                { AUGUR_ACTIVITY_F_NET_TX, AUGUR_ACTCOL_NET_TX_BYTES },
                { AUGUR_ACTIVITY_F_LOAD1, AUGUR_ACTCOL_LOAD1 },
                { AUGUR_ACTIVITY_F_PSI_CPU, AUGUR_ACTCOL_PSI_CPU },
                { AUGUR_ACTIVITY_F_PSI_MEM, AUGUR_ACTCOL_PSI_MEM },
                { AUGUR_ACTIVITY_F_PSI_IO, AUGUR_ACTCOL_PSI_IO },
                { AUGUR_ACTIVITY_F_OOM_KILL, AUGUR_ACTCOL_OOM_KILL },
        };
        double vals[AUGUR_ACTIVITY_F_N] = { 0 };

        memset (row, 0, sizeof *row);
        g_strlcpy (row->uuid, ad->uuid, sizeof row->uuid);
        row->name = ad->name;
        row->libvirt_id = ad->libvirt_id;
        row->ts_ms = p->ts_ms;
        row->source = p->source;
        vals[AUGUR_ACTIVITY_F_DROPPED] = (double) r->dropped;
        vals[AUGUR_ACTIVITY_F_INPUT_EVENTS] = r->input_events_per_min;
        vals[AUGUR_ACTIVITY_F_SESSIONS] = (double) r->sessions;
        vals[AUGUR_ACTIVITY_F_USERS] = (double) r->users;
        vals[AUGUR_ACTIVITY_F_PROC_STARTS] = r->proc_starts_per_min;
        vals[AUGUR_ACTIVITY_F_NET_RX] = (double) r->net_rx_bytes;
        vals[AUGUR_ACTIVITY_F_NET_TX] = (double) r->net_tx_bytes;
        vals[AUGUR_ACTIVITY_F_LOAD1] = r->load1;
        vals[AUGUR_ACTIVITY_F_PSI_CPU] = r->psi_cpu;
        vals[AUGUR_ACTIVITY_F_PSI_MEM] = r->psi_mem;
        vals[AUGUR_ACTIVITY_F_PSI_IO] = r->psi_io;
        vals[AUGUR_ACTIVITY_F_OOM_KILL] = (double) r->oom_kill;   /* <= 2^53: exact */
        for (gsize i = 0; i < G_N_ELEMENTS (map); i++)
                if (augur_activity_report_has (r, map[i].f)) {
                        row->v[map[i].c] = vals[map[i].f];
                        row->present |= 1u << map[i].c;
                }
        if (p->source == AUGUR_ACTIVITY_SOURCE_CHANNEL) {
                double bkt[AUGUR_PROG_BUCKETS + AUGUR_USER_BUCKETS];

                augur_activity_report_buckets (r, bkt, bkt + AUGUR_PROG_BUCKETS);
                for (guint b = 0; b < G_N_ELEMENTS (bkt); b++)
                        if (!isnan (bkt[b])) {
                                row->v[AUGUR_ACTCOL_PROG_B0 + b] = bkt[b];
                                row->present |= 1u << (AUGUR_ACTCOL_PROG_B0 + b);
                        }
        }
        if (p->source == AUGUR_ACTIVITY_SOURCE_CHANNEL) {
                row->v[AUGUR_ACTCOL_SEQ] = (double) r->seq;
                row->v[AUGUR_ACTCOL_INTERVAL_MS] = (double) r->interval_ms;
                row->present |= (1u << AUGUR_ACTCOL_SEQ) | (1u << AUGUR_ACTCOL_INTERVAL_MS);
        }
        if (augur_activity_report_has (r, AUGUR_ACTIVITY_F_INPUT_SRC)) {
                static const char *const src[] = { "none", "evdev", "irq" };

                row->input_src = src[r->input_src];
        }
}

static void
counters_now (const ActDomain *ad, AugurActivityCounters *ret)
{
        *ret = *augur_activity_reader_counters (ad->reader);
        ret->dropped_rate += ad->queue_drops;
}

static void
flush (AugurActivity *act)
{
        g_autoptr(GArray) rows = g_array_new (FALSE, TRUE, sizeof (AugurActivityRow));
        g_autoptr(GArray) drops = g_array_new (FALSE, TRUE, sizeof (AugurActivityDropsDelta));
        g_autoptr(GPtrArray) strings = g_ptr_array_new_with_free_func (g_free);
        g_autoptr(GPtrArray) flushed = g_ptr_array_new ();
        g_autoptr(GError) error = NULL;
        GHashTableIter it;
        gpointer v;
        gsize filled = 0;

        g_hash_table_iter_init (&it, act->doms);
        while (g_hash_table_iter_next (&it, NULL, &v)) {
                ActDomain *ad = v;
                AugurActivityCounters c;

                for (guint i = 0; i < ad->pending->len; i++) {
                        const PendingRow *p = &g_array_index (ad->pending, PendingRow, i);
                        AugurActivityRow row;

                        fill_row (&row, ad, p);
                        if (p->source == AUGUR_ACTIVITY_SOURCE_CHANNEL) {
                                char *top = augur_activity_top_to_json (&p->report);

                                if (top)
                                        g_ptr_array_add (strings, top);
                                row.top_programs = top;
                        }
                        g_array_append_val (rows, row);
                }
                counters_now (ad, &c);
                if (memcmp (&c, &ad->flushed, sizeof c) != 0) {
                        AugurActivityDropsDelta d;

                        memset (&d, 0, sizeof d);
                        g_strlcpy (d.uuid, ad->uuid, sizeof d.uuid);
                        d.name = ad->name;
                        d.libvirt_id = ad->libvirt_id;
                        d.bytes_read = (gint64) (c.bytes_read - ad->flushed.bytes_read);
                        d.lines = (gint64) (c.lines - ad->flushed.lines);
                        d.accepted = (gint64) (c.accepted - ad->flushed.accepted);
                        d.dropped_malformed = (gint64) (c.dropped_malformed - ad->flushed.dropped_malformed);
                        d.dropped_oversize = (gint64) (c.dropped_oversize - ad->flushed.dropped_oversize);
                        d.dropped_rate = (gint64) (c.dropped_rate - ad->flushed.dropped_rate);
                        d.dropped_range = (gint64) (c.dropped_range - ad->flushed.dropped_range);
                        d.connects = (gint64) (c.connects - ad->flushed.connects);
                        g_array_append_val (drops, d);
                }
                if (ad->pending->len > 0 || memcmp (&c, &ad->flushed, sizeof c) != 0)
                        g_ptr_array_add (flushed, ad);
        }
        if (rows->len == 0 && drops->len == 0)
                return;
        if (act->store &&
            !augur_store_write_activity (act->store, (AugurActivityRow *) rows->data, rows->len,
                                         (AugurActivityDropsDelta *) drops->data, drops->len,
                                         &filled, &error)) {
                if (!act->warned_store)
                        g_warning ("storing activity failed: %s; %u reports dropped, ignoring",
                                   error->message, rows->len);
                else
                        g_debug ("storing activity failed: %s", error->message);
                act->warned_store = TRUE;
                /* Reports are dropped (a failing store must not grow the
                 * queues); counters stay unflushed and go with the next
                 * successful write. */
                for (guint i = 0; i < flushed->len; i++)
                        g_array_set_size (((ActDomain *) flushed->pdata[i])->pending, 0);
                return;
        }
        if (act->warned_store)
                g_message ("storing activity works again");
        act->warned_store = FALSE;
        for (guint i = 0; i < flushed->len; i++) {
                ActDomain *ad = flushed->pdata[i];

                g_array_set_size (ad->pending, 0);
                counters_now (ad, &ad->flushed);
        }
        g_debug ("activity: stored %u reports, filled %" G_GSIZE_FORMAT " samples",
                 rows->len, filled);
}

/* ---- public ---- */

AugurActivity *
augur_activity_new (AugurStore *store)
{
        AugurActivity *act = g_new0 (AugurActivity, 1);

        act->store = store;
        act->ctx = g_main_context_ref_thread_default ();
        act->doms = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, act_domain_free);
        act->shared = g_new0 (Shared, 1);
        act->shared->ref = 1;
        act->shared->act = act;
        return act;
}

void
augur_activity_free (AugurActivity *act)
{
        if (!act)
                return;
        flush (act);                      /* best effort: what already arrived */
        act->shared->act = NULL;          /* in-flight agent jobs become no-ops */
        shared_unref (act->shared);
        g_clear_pointer (&act->doms, g_hash_table_unref);
        g_main_context_unref (act->ctx);
        g_free (act);
}

static gboolean
remove_gone (gpointer key, gpointer value, gpointer user_data)
{
        const ActDomain *ad = value;

        /* An agent job still running for it finds no domain when it ends
         * and only gives its in-flight slot back (agent_done). */
        return ad->gone;
}

void
augur_activity_sync (AugurActivity *act, AugurHv *hv)
{
        GHashTableIter it;
        gpointer v;
        gint64 now;

        if (!act)
                return;             /* the daemon ticks before/without it */
        if (hv)
                refresh_domains (act, hv);
        now = g_get_monotonic_time ();
        g_hash_table_iter_init (&it, act->doms);
        while (g_hash_table_iter_next (&it, NULL, &v)) {
                ActDomain *ad = v;

                if (ad->gone)
                        continue;
                if (ad->path && !ad->sock && now >= ad->next_connect_us)
                        try_connect (ad);
                if (hv)
                        maybe_poll_agent (act, ad, now);
        }
        flush (act);
        g_hash_table_foreach_remove (act->doms, remove_gone, NULL);
}

void
augur_activity_set_keep (AugurActivity *act, AugurHvKeepFunc keep, gpointer keep_data)
{
        act->keep = keep;
        act->keep_data = keep_data;
}

void
augur_activity_domain_stopped (AugurActivity *act, const char *uuid)
{
        ActDomain *ad = act ? g_hash_table_lookup (act->doms, uuid) : NULL;

        if (!ad)
                return;
        channel_close (ad);
        ad->gone = TRUE;
}

void
augur_activity_agent_changed (AugurActivity *act, const char *uuid, gboolean connected)
{
        ActDomain *ad = act ? g_hash_table_lookup (act->doms, uuid) : NULL;

        if (!ad)
                return;
        if (connected) {
                /* Ask soon: the next sync. */
                ad->agent = AGENT_CONNECTED;
                ad->next_agent_us = 0;
        } else {
                ad->agent = AGENT_ABSENT;
                ad->next_agent_us = g_get_monotonic_time () +
                                    (gint64) AUGUR_ACTIVITY_AGENT_RETRY_S * G_USEC_PER_SEC;
        }
}

gboolean
augur_activity_get_counters (AugurActivity *act, const char *uuid,
                             AugurActivityCounters *ret)
{
        ActDomain *ad;

        g_return_val_if_fail (act != NULL && uuid != NULL && ret != NULL, FALSE);
        ad = g_hash_table_lookup (act->doms, uuid);
        if (!ad)
                return FALSE;
        counters_now (ad, ret);
        return TRUE;
}

void
augur_activity_get_stats (AugurActivity *act, guint *ret_domains, guint *ret_connected)
{
        GHashTableIter it;
        gpointer v;
        guint n = 0, c = 0;

        g_return_if_fail (act != NULL);
        g_hash_table_iter_init (&it, act->doms);
        while (g_hash_table_iter_next (&it, NULL, &v)) {
                n++;
                if (((ActDomain *) v)->sock)
                        c++;
        }
        if (ret_domains)
                *ret_domains = n;
        if (ret_connected)
                *ret_connected = c;
}

gboolean
augur_activity_latest (AugurActivity *act, const char *uuid, gint64 now_ms,
                       gint64 max_age_ms, AugurActivityLatest *ret)
{
        ActDomain *ad = act ? g_hash_table_lookup (act->doms, uuid) : NULL;

        if (!ad || ad->latest_ms < 0 || now_ms - ad->latest_ms > max_age_ms)
                return FALSE;
        *ret = ad->latest;
        return TRUE;
}
