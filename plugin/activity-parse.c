/* activity-parse.c — the activity report parser and the line reader
 * (activity-parse.h): pure, no socket, no hypervisor, no store, and so the
 * fuzz target (tests/fuzz-activity.c).  guest/REPORT-SCHEMA.md has the
 * report format.
 *
 * Layout of this file:
 *   1. the parser (pure)         augur_activity_parse_line
 *   2. the line reader           framing, token bucket, counters, logging
 */
#include "config.h"

#include "activity-parse.h"

#include <errno.h>
#include <gio/gio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

G_DEFINE_QUARK (augur-activity-error-quark, augur_activity_error)

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
                augur_activity_log (G_LOG_LEVEL_WARNING, rd->name,
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

void
augur_activity_reader_drop_range (AugurActivityReader *rd, const char *kind, const char *detail)
{
        reader_drop (rd, &rd->c.dropped_range, kind, detail);
}

void
augur_activity_reader_count_connect (AugurActivityReader *rd)
{
        rd->c.connects++;
}
