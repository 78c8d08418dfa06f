/*
 * augur-guest: augur's in-guest activity reporter.
 *
 * What it is: a small static program (libc only) that runs inside a guest
 * and, every INTERVAL seconds (default 5), writes ONE line of JSON to the
 * virtio-serial port /dev/virtio-ports/org.augur.activity.0.  augurd reads
 * the other end (plugin/activity.c) and stores the reports next to the
 * libvirt samples, so the forecaster sees what the guest's users do, not
 * only what its memory and CPUs do.
 *
 * What it is not: a monitoring agent or a keylogger.  PRIVACY BY DESIGN: it
 * sends counts only.  It never reads or sends keystroke content, window
 * titles, command lines, file names, user names, addresses or host names
 * (a user name is folded into one of 4 buckets here, in the guest, and
 * only the 4 session counts leave it).
 * Input devices (/dev/input/event*) are read only to count event frames;
 * each event is discarded the moment it is counted.  Program names are the
 * kernel's 15-byte `comm` (/proc/PID/stat), never argv.
 *
 * REPORT FORMAT (version 1; guest/REPORT-SCHEMA.md is the full contract)
 *   One JSON object per line, '\n'-terminated, at most 1024 bytes including
 *   the newline.  Keys, always in this order, null where the guest cannot
 *   measure the value:
 *     "v"                    1 (the format version)
 *     "seq"                  report number since augur-guest started (int)
 *     "interval_ms"          measured length of the interval the rates cover
 *     "dropped"              reports dropped so far (no host end, full queue)
 *     "input_src"            "evdev", "irq" or "none"
 *     "input_events_per_min" evdev: input frames (SYN_REPORT); irq: i8042 /
 *                            keyboard / mouse / HID interrupts; per minute
 *     "sessions"             logged-in sessions (utmp USER_PROCESS entries)
 *     "users"                distinct user names among them (count only)
 *     "user_sessions"        [n0,n1,n2,n3]: the sessions, split by the bucket
 *                            of their user: FNV-1a 32 of ut_user mod 4
 *                            (common/buckets.h; vectors in REPORT-SCHEMA.md).
 *                            4 buckets cannot name anyone: they only tell the
 *                            host that the same or another user class is
 *                            active.  Sums to "sessions".
 *     "proc_starts_per_min"  /proc/stat "processes" delta per minute (forks,
 *                            threads included)
 *     "net_rx_bytes"         bytes received since boot, all interfaces but lo
 *     "net_tx_bytes"         bytes sent since boot, all interfaces but lo
 *     "load1"                /proc/loadavg 1-minute load
 *     "psi_cpu" "psi_mem" "psi_io"   /proc/pressure/<*> "some avg10", percent
 *     "oom_kill"             processes the OOM killer killed since guest boot
 *                            (/proc/vmstat "oom_kill": cumulative, so a
 *                            dropped report loses no kill).  The one key left
 *                            out rather than null when unknown (kernels
 *                            before 4.13 have no such counter): augurd reads
 *                            a missing key as unknown, and an augurd older
 *                            than schema revision 3 ignores the key anyway
 *     "top"                  at most 5 objects {"comm":NAME,"cpu_pct":P}: the
 *                            programs (comm, <= 15 bytes, printable ASCII, other
 *                            bytes sent as '?') that used the most CPU over
 *                            the interval, summed over processes of the same
 *                            name; P is percent of one CPU
 *
 * ALGORITHM
 *   Sampling is absolute-deadline driven (CLOCK_MONOTONIC): sample, sleep in
 *   poll() until the next deadline, sample again, send the difference.  The
 *   only other wakeups are input events (when /dev/input is readable), which
 *   are drained and counted.  The first report goes out one interval after
 *   start, so every rate covers a full measured interval.
 *
 *   The port: while no host end is connected, the virtio console driver
 *   reports POLLHUP forever and a blocking write would block forever.  So we
 *   never wait on the port: at each deadline we poll it with a zero timeout;
 *   POLLHUP or no POLLOUT means the report is dropped (and counted).  The
 *   write itself is non-blocking; EAGAIN drops the report, any other error
 *   closes the port and reopens it with exponential backoff (1 s .. 60 s),
 *   which also covers a port that does not exist (yet).  A short write
 *   cannot happen for a line this size on Linux's virtio console, but if it
 *   ever does the next line starts with '\n' so the host resynchronises.
 *
 *   Cost: one pass over /proc every interval (a stat file per process) and a
 *   handful of small files.  Measured in augur's test guest: see
 *   BENCHMARKS-activity.md (well under 0.5 % of one guest CPU at 5 s).
 *
 * Build: gcc -static -Os -Wall -o augur-guest augur-guest.c
 * Usage: augur-guest [-i SECONDS] [-p PORT] [-n TOPN] [-P PIDFILE] [-c COUNT]
 *                    [-u UTMP] [-E] [-o]
 *   -i  report interval, 1..3600 s (default 5)
 *   -p  port path (default /dev/virtio-ports/org.augur.activity.0)
 *   -n  top programs per report, 0..5 (default 5)
 *   -P  write our pid to PIDFILE
 *   -c  exit after COUNT reports (default: run forever)
 *   -u  read sessions from UTMP instead of _PATH_UTMP (a guest that keeps
 *       it elsewhere; tests/test-activity.c feeds it a file it wrote)
 *   -E  do not read /dev/input (interrupt counts only)
 *   -o  write reports to stdout instead of the port (testing)
 * Exit: 0 after -c COUNT reports; 2 bad arguments.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <utmpx.h>

#define REPORT_VERSION 1
#define LINE_MAX_BYTES 1024       /* hard limit, newline included           */
#define TOP_MAX 5                 /* hard limit on "top" entries            */
#define COMM_MAX 15               /* TASK_COMM_LEN - 1                      */
#define MAX_EVDEV 16              /* input devices read at most             */
#define EVDEV_RESCAN_S 60         /* look for new input devices this often  */
#define MAX_PROCS 65536           /* /proc entries tracked at most          */
#define MAX_STAT_FDS 768          /* /proc/PID/stat files kept open at most */
#define MAX_USERS 64              /* distinct user names tracked at most    */
#define USER_BUCKETS 4            /* "user_sessions" length (common/buckets.h) */
#define OOM_KILL_MAX 9007199254740992ULL /* 2^53: augurd's bound on "oom_kill" */
#define BACKOFF_MIN_S 1           /* port reopen backoff, doubling ...      */
#define BACKOFF_MAX_S 60          /* ... up to this                         */
#define DEFAULT_PORT "/dev/virtio-ports/org.augur.activity.0"

/* One process seen in a /proc pass. */
typedef struct {
    int pid;
    int fd;                       /* its /proc/PID/stat, kept open, or -1   */
    unsigned long long start;     /* starttime, clock ticks since boot      */
    unsigned long long ticks;     /* utime + stime, clock ticks             */
    char comm[COMM_MAX + 1];
} Proc;

typedef struct {
    Proc *v;
    size_t n, cap;
} ProcTable;

/* Everything sampled at one instant.  has_* = 0 means unknown. */
typedef struct {
    double t_s;                            /* CLOCK_MONOTONIC, s             */
    int has_irq;
    unsigned long long irq_input;          /* summed input interrupt counts */
    int has_forks;
    unsigned long long forks;              /* /proc/stat processes          */
    int has_net;
    unsigned long long rx, tx;
    int has_load;
    double load1;
    int has_psi[3];
    double psi[3];                         /* cpu, memory, io               */
    int has_oom_kill;
    unsigned long long oom_kill;           /* /proc/vmstat oom_kill         */
    int has_sessions;
    long sessions, users;
    long user_sessions[USER_BUCKETS];      /* sessions by user-name bucket  */
} Snapshot;

typedef struct {
    const char *port_path;
    const char *utmp_path;                 /* _PATH_UTMP unless -u            */
    int interval_s;
    int top_n;
    int use_evdev;
    int to_stdout;
    long max_reports;

    int port_fd;
    int port_torn;                         /* last write was short           */
    double next_open_s;
    int backoff_s;
    int warned_missing;
    int host_connected;                    /* last state seen, for logging   */

    int ev_fd[MAX_EVDEV];
    char ev_name[MAX_EVDEV][32];
    int n_ev;
    double next_ev_scan_s;
    unsigned long long ev_frames;          /* SYN_REPORT frames, cumulative  */

    ProcTable procs[2];                    /* previous and current pass      */
    int cur;
    int proc_dirfd;                        /* /proc, for openat             */
    int n_stat_fds;                        /* stat files held open          */
    long clk_tck;

    unsigned long long seq, dropped;
} Reporter;

/* One write(2) per message: the guest console is shared with /init, and
 * a message split over several writes interleaves with its lines. */
static void
logmsg(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    int n = snprintf(buf, sizeof buf, "augur-guest: ");

    va_start(ap, fmt);
    n += vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof buf - 2)
        n = (int)sizeof buf - 2;
    buf[n++] = '\n';
    if (write(STDERR_FILENO, buf, (size_t)n) < 0) {
        /* nowhere to complain to */
    }
}

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Read a small file into buf (NUL-terminated).  Returns bytes or -1. */
static ssize_t
read_small(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n, total = 0;

    if (fd < 0)
        return -1;
    /* One read returns a whole small /proc file (seq_file fills the buffer
     * in one go); the loop only runs again if it was bigger than that. */
    while ((size_t)total < size - 1) {
        n = read(fd, buf + total, size - 1 - (size_t)total);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        total += n;
        if ((size_t)n < 512)
            break;                           /* short read: that was all */
    }
    close(fd);
    buf[total] = '\0';
    return total;
}

/* ------------------------------------------------------------ /proc parsing */

static int
is_input_irq_name(const char *s)
{
    static const char *const names[] = { "i8042", "keyboard", "mouse", "kbd", "hid" };
    char low[256];
    size_t i;

    for (i = 0; s[i] && i < sizeof low - 1; i++)
        low[i] = (char)tolower((unsigned char)s[i]);
    low[i] = '\0';
    for (i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strstr(low, names[i]))
            return 1;
    return 0;
}

/* /proc/interrupts: "IRQ:  c0  c1 ...  chip  hwirq  name[, name...]".  Sum
 * the per-CPU counts of numbered IRQs whose description names an input
 * device. */
static void
sample_irq(Snapshot *s)
{
    FILE *f = fopen("/proc/interrupts", "re");
    char *line = NULL;
    size_t cap = 0;
    int found = 0;

    s->has_irq = 0;
    s->irq_input = 0;
    if (!f)
        return;
    if (getline(&line, &cap, f) < 0) {      /* header: CPU0 CPU1 ... */
        fclose(f);
        free(line);
        return;
    }
    while (getline(&line, &cap, f) >= 0) {
        char *p = line, *end;
        unsigned long long sum = 0;

        while (*p == ' ')
            p++;
        if (!isdigit((unsigned char)*p))
            continue;                        /* NMI, LOC, ...: not devices */
        while (isdigit((unsigned char)*p))
            p++;
        if (*p != ':')
            continue;
        p++;
        for (;;) {
            unsigned long long v;

            while (*p == ' ')
                p++;
            if (!isdigit((unsigned char)*p))
                break;
            errno = 0;
            v = strtoull(p, &end, 10);
            if (end == p || errno)
                break;
            sum += v;
            p = end;
        }
        if (is_input_irq_name(p)) {
            s->irq_input += sum;
            found = 1;
        }
    }
    free(line);
    fclose(f);
    /* No input device has an interrupt line: unknown, not "nobody typed". */
    s->has_irq = found;
}

static void
sample_stat(Snapshot *s)
{
    char buf[16384];
    char *p;

    s->has_forks = 0;
    if (read_small("/proc/stat", buf, sizeof buf) <= 0)
        return;
    p = strstr(buf, "\nprocesses ");
    if (p && sscanf(p + 11, "%llu", &s->forks) == 1)
        s->has_forks = 1;
}

static void
sample_net(Snapshot *s)
{
    FILE *f = fopen("/proc/net/dev", "re");
    char line[512];
    int n = 0;

    s->has_net = 0;
    s->rx = s->tx = 0;
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        char *name = line;
        unsigned long long rx, tx, skip;

        if (++n <= 2 || !colon)
            continue;                        /* two header lines */
        *colon = '\0';
        while (*name == ' ')
            name++;
        if (strcmp(name, "lo") == 0)
            continue;
        /* rx: bytes packets errs drop fifo frame compressed multicast; tx: bytes ... */
        if (sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu",
                   &rx, &skip, &skip, &skip, &skip, &skip, &skip, &skip, &tx) != 9)
            continue;
        s->rx += rx;
        s->tx += tx;
    }
    s->has_net = 1;   /* no interfaces but lo: 0 bytes, which is true */
    fclose(f);
}

static void
sample_load_psi(Snapshot *s)
{
    static const char *const psi_path[3] = {
        "/proc/pressure/cpu", "/proc/pressure/memory", "/proc/pressure/io",
    };
    char buf[512];

    s->has_load = read_small("/proc/loadavg", buf, sizeof buf) > 0 &&
                  sscanf(buf, "%lf", &s->load1) == 1;
    for (int i = 0; i < 3; i++) {
        s->has_psi[i] = read_small(psi_path[i], buf, sizeof buf) > 0 &&
                        sscanf(buf, "some avg10=%lf", &s->psi[i]) == 1;
    }
}

/* /proc/vmstat "oom_kill N" (Linux >= 4.13; absent before: unknown).  The
 * file is ~5 KB of "name value" lines on current kernels; a buffer that
 * cut it short could cut our line too, so the number must end in '\n' to
 * count. */
static void
sample_vmstat(Snapshot *s)
{
    char buf[16384];
    char *p, *end;

    s->has_oom_kill = 0;
    if (read_small("/proc/vmstat", buf, sizeof buf) <= 0)
        return;
    p = strstr(buf, "\noom_kill ");
    if (!p)
        return;
    p += 10;
    if (!isdigit((unsigned char)*p))
        return;
    errno = 0;
    s->oom_kill = strtoull(p, &end, 10);
    s->has_oom_kill = errno == 0 && *end == '\n';
}

/* FNV-1a 32 (offset basis 2166136261, prime 16777619) of n bytes: the
 * same function as augur_bucket_hash() in common/buckets.c, which this
 * static, libc-only program cannot link.  Test vectors: "" 0x811c9dc5,
 * "root" 0x20fd0e45 (REPORT-SCHEMA.md). */
static uint32_t
fnv1a(const char *p, size_t n)
{
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 16777619u;
    }
    return h;
}

static void
sample_sessions(const char *utmp_path, Snapshot *s)
{
    char users[MAX_USERS][sizeof(((struct utmpx *)0)->ut_user) + 1];
    long n_users = 0, sessions = 0;
    struct utmpx *u;

    s->has_sessions = 0;
    memset(s->user_sessions, 0, sizeof s->user_sessions);
    /* No utmp file: nobody records logins here, so the count is unknown
     * (getutxent would just report nothing). */
    if (access(utmp_path, R_OK) != 0)
        return;
    if (utmpxname(utmp_path) != 0)
        return;
    setutxent();
    while ((u = getutxent()) != NULL) {
        char name[sizeof u->ut_user + 1];
        long i;

        if (u->ut_type != USER_PROCESS)
            continue;
        sessions++;
        memcpy(name, u->ut_user, sizeof u->ut_user);
        name[sizeof u->ut_user] = '\0';
        s->user_sessions[fnv1a(name, strlen(name)) % USER_BUCKETS]++;
        for (i = 0; i < n_users; i++)
            if (strcmp(users[i], name) == 0)
                break;
        if (i == n_users && n_users < MAX_USERS)
            memcpy(users[n_users++], name, sizeof name);
    }
    endutxent();
    s->sessions = sessions;
    s->users = n_users;
    s->has_sessions = 1;
}

static int
proc_cmp(const void *a, const void *b)
{
    const Proc *x = a, *y = b;

    return (x->pid > y->pid) - (x->pid < y->pid);
}

/* Parse a /proc/PID/stat text into e (pid set by the caller).  Returns 0,
 * or -1 when the text does not parse. */
static int
parse_stat(char *buf, Proc *e)
{
    char *open_p = strchr(buf, '('), *close_p = strrchr(buf, ')'), *p;
    unsigned long long ut = 0, stt = 0, start = 0;
    size_t len;
    int field;

    if (!open_p || !close_p || close_p < open_p || close_p[1] == '\0')
        return -1;
    /* After ") ": field 3 (state) onwards; utime 14, stime 15, starttime 22. */
    p = close_p + 2;
    for (field = 3; field <= 22 && *p; field++) {
        unsigned long long v = strtoull(p, NULL, 10);

        if (field == 14)
            ut = v;
        else if (field == 15)
            stt = v;
        else if (field == 22)
            start = v;
        p = strchr(p, ' ');
        if (!p)
            break;
        p++;
    }
    if (field <= 22)
        return -1;
    e->start = start;
    e->ticks = ut + stt;
    len = (size_t)(close_p - open_p - 1);
    if (len > COMM_MAX)
        len = COMM_MAX;
    memcpy(e->comm, open_p + 1, len);
    e->comm[len] = '\0';
    return 0;
}

/* One pass over /proc/[0-9]* into cur (sorted by pid), reusing prev's open
 * stat files.  Cost: one pread per known process, openat for new ones only
 * (a file of a process that exited reads ESRCH even if its pid is reused,
 * so a kept fd never reads another process). */
static void
scan_procs(Reporter *r, ProcTable *prev, ProcTable *cur)
{
    DIR *d;
    struct dirent *de;
    int sorted = 1, last_pid = -1;

    cur->n = 0;
    if (r->proc_dirfd < 0)
        r->proc_dirfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    d = r->proc_dirfd >= 0 ? fdopendir(dup(r->proc_dirfd)) : NULL;
    if (d) {
        rewinddir(d);
        while ((de = readdir(d)) != NULL) {
            char buf[1024];
            Proc key, *old, *e;
            ssize_t n = -1;
            int pid, fd = -1;

            if (!isdigit((unsigned char)de->d_name[0]))
                continue;
            pid = atoi(de->d_name);
            key.pid = pid;
            old = bsearch(&key, prev->v, prev->n, sizeof key, proc_cmp);
            if (old && old->fd >= 0) {
                fd = old->fd;
                old->fd = -1;                /* moves to cur */
                n = pread(fd, buf, sizeof buf - 1, 0);
                if (n <= 0) {                /* exited: maybe a new pid user */
                    close(fd);
                    r->n_stat_fds--;
                    fd = -1;
                }
            }
            if (fd < 0) {
                char path[32];

                snprintf(path, sizeof path, "%d/stat", pid);
                fd = openat(r->proc_dirfd, path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                    continue;                /* exited meanwhile */
                n = pread(fd, buf, sizeof buf - 1, 0);
                if (r->n_stat_fds < MAX_STAT_FDS) {
                    r->n_stat_fds++;
                } else {
                    close(fd);               /* bounded: re-open next time */
                    fd = -1;
                }
            }
            if (n <= 0) {
                if (fd >= 0) {
                    close(fd);
                    r->n_stat_fds--;
                }
                continue;
            }
            buf[n] = '\0';
            if (cur->n == cur->cap) {
                size_t ncap = cur->cap ? cur->cap * 2 : 256;
                Proc *nv;

                if (ncap > MAX_PROCS || !(nv = realloc(cur->v, ncap * sizeof *nv))) {
                    if (fd >= 0) {
                        close(fd);
                        r->n_stat_fds--;
                    }
                    break;                   /* bounded: ignore the rest */
                }
                cur->v = nv;
                cur->cap = ncap;
            }
            e = &cur->v[cur->n];
            e->pid = pid;
            e->fd = fd;
            if (parse_stat(buf, e) < 0) {
                if (fd >= 0) {
                    close(fd);
                    r->n_stat_fds--;
                }
                continue;
            }
            cur->n++;
            if (pid < last_pid)
                sorted = 0;
            last_pid = pid;
        }
        closedir(d);
    }
    /* Processes gone since the last pass: drop their files. */
    for (size_t i = 0; i < prev->n; i++)
        if (prev->v[i].fd >= 0) {
            close(prev->v[i].fd);
            prev->v[i].fd = -1;
            r->n_stat_fds--;
        }
    if (!sorted)
        qsort(cur->v, cur->n, sizeof *cur->v, proc_cmp);
}

typedef struct {
    char comm[COMM_MAX + 1];
    unsigned long long ticks;
} Usage;

/* The top_n programs by CPU ticks between prev and cur, summed by comm. */
static int
top_programs(const ProcTable *prev, const ProcTable *cur, Usage *out, int top_n)
{
    Usage agg[256];
    int n_agg = 0, n_out = 0;

    for (size_t i = 0; i < cur->n; i++) {
        const Proc *c = &cur->v[i];
        const Proc *p = bsearch(c, prev->v, prev->n, sizeof *c, proc_cmp);
        unsigned long long d;
        int k;

        if (p && p->start == c->start)
            d = c->ticks >= p->ticks ? c->ticks - p->ticks : 0;
        else
            d = c->ticks;      /* started during the interval */
        if (d == 0)
            continue;
        for (k = 0; k < n_agg; k++)
            if (strcmp(agg[k].comm, c->comm) == 0)
                break;
        if (k == n_agg) {
            if (n_agg == (int)(sizeof agg / sizeof agg[0]))
                continue;      /* bounded; the busiest are rarely this many */
            memcpy(agg[k].comm, c->comm, sizeof agg[k].comm);
            agg[k].ticks = 0;
            n_agg++;
        }
        agg[k].ticks += d;
    }
    /* Partial selection sort: top_n is at most 5. */
    for (n_out = 0; n_out < top_n && n_out < n_agg; n_out++) {
        int best = n_out;

        for (int k = n_out + 1; k < n_agg; k++)
            if (agg[k].ticks > agg[best].ticks)
                best = k;
        out[n_out] = agg[best];
        agg[best] = agg[n_out];
    }
    return n_out;
}

static void
take_snapshot(Reporter *r, Snapshot *s)
{
    s->t_s = now_s();
    sample_irq(s);
    sample_stat(s);
    sample_net(s);
    sample_load_psi(s);
    sample_vmstat(s);
    sample_sessions(r->utmp_path, s);
    if (r->top_n > 0) {
        r->cur ^= 1;
        scan_procs(r, &r->procs[r->cur ^ 1], &r->procs[r->cur]);
    }
}

/* ----------------------------------------------------------------- evdev */

static void
evdev_scan(Reporter *r)
{
    DIR *d;
    struct dirent *de;

    r->next_ev_scan_s = now_s() + EVDEV_RESCAN_S;
    if (!r->use_evdev || !(d = opendir("/dev/input")))
        return;
    while ((de = readdir(d)) != NULL && r->n_ev < MAX_EVDEV) {
        char path[300];
        int fd, known = 0;

        if (strncmp(de->d_name, "event", 5) != 0 || strlen(de->d_name) >= sizeof r->ev_name[0])
            continue;
        for (int i = 0; i < r->n_ev; i++)
            if (strcmp(r->ev_name[i], de->d_name) == 0)
                known = 1;
        if (known)
            continue;
        snprintf(path, sizeof path, "/dev/input/%s", de->d_name);
        fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
            continue;                        /* not readable: irq counts */
        r->ev_fd[r->n_ev] = fd;
        memcpy(r->ev_name[r->n_ev], de->d_name, strlen(de->d_name) + 1);
        r->n_ev++;
    }
    closedir(d);
}

/* Drain one device, counting SYN_REPORT frames (one key press, one mouse
 * motion).  The events themselves are dropped here, unread. */
static void
evdev_drain(Reporter *r, int i)
{
    struct input_event ev[64];

    for (;;) {
        ssize_t n = read(r->ev_fd[i], ev, sizeof ev);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {                         /* unplugged (ENODEV) or error */
            close(r->ev_fd[i]);
            r->n_ev--;
            r->ev_fd[i] = r->ev_fd[r->n_ev];
            memcpy(r->ev_name[i], r->ev_name[r->n_ev], sizeof r->ev_name[i]);
            return;
        }
        for (size_t k = 0; k < (size_t)n / sizeof ev[0]; k++)
            if (ev[k].type == EV_SYN && ev[k].code == SYN_REPORT)
                r->ev_frames++;
    }
}

/* ------------------------------------------------------------------ port */

static void
port_close(Reporter *r)
{
    if (r->port_fd >= 0)
        close(r->port_fd);
    r->port_fd = -1;
}

static void
port_try_open(Reporter *r, double t)
{
    if (r->port_fd >= 0 || t < r->next_open_s)
        return;
    r->port_fd = open(r->port_path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (r->port_fd >= 0) {
        logmsg("opened %s", r->port_path);
        r->backoff_s = BACKOFF_MIN_S;
        r->warned_missing = 0;
        r->port_torn = 0;
        return;
    }
    if (!r->warned_missing)
        logmsg("cannot open %s: %s; retrying with backoff", r->port_path, strerror(errno));
    r->warned_missing = 1;
    r->next_open_s = t + r->backoff_s;
    r->backoff_s = r->backoff_s * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : r->backoff_s * 2;
}

/* Send one line or drop it.  Never blocks. */
static void
port_send(Reporter *r, const char *line, size_t len)
{
    struct pollfd pfd;
    ssize_t n;

    if (r->to_stdout) {
        fwrite(line, 1, len, stdout);
        fflush(stdout);
        return;
    }
    port_try_open(r, now_s());
    if (r->port_fd < 0) {
        r->dropped++;
        return;
    }
    pfd.fd = r->port_fd;
    pfd.events = POLLOUT;
    pfd.revents = 0;
    if (poll(&pfd, 1, 0) < 0 || (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)) ||
        !(pfd.revents & POLLOUT)) {
        /* POLLHUP: no host end.  Drop rather than wait. */
        if (r->host_connected)
            logmsg("host end disconnected; dropping reports until it is back");
        r->host_connected = 0;
        r->dropped++;
        if (pfd.revents & (POLLERR | POLLNVAL)) {
            port_close(r);
            r->next_open_s = now_s() + r->backoff_s;
        }
        return;
    }
    if (!r->host_connected)
        logmsg("host end connected");
    r->host_connected = 1;
    if (r->port_torn) {
        if (write(r->port_fd, "\n", 1) == 1)
            r->port_torn = 0;
    }
    n = write(r->port_fd, line, len);
    if (n == (ssize_t)len)
        return;
    r->dropped++;
    if (n >= 0) {
        r->port_torn = 1;
        return;
    }
    if (errno == EAGAIN || errno == EINTR)
        return;
    logmsg("write to %s: %s; reopening", r->port_path, strerror(errno));
    port_close(r);
    r->next_open_s = now_s() + r->backoff_s;
}

/* --------------------------------------------------------------- report */

typedef struct {
    char *buf;
    size_t len, cap;
    int overflow;
} Out;

static void
out_printf(Out *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (o->overflow)
        return;
    va_start(ap, fmt);
    n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len) {
        o->overflow = 1;
        return;
    }
    o->len += (size_t)n;
}

static void
out_num(Out *o, const char *key, int has, double v, const char *fmt)
{
    out_printf(o, ",\"%s\":", key);
    if (has)
        out_printf(o, fmt, v);
    else
        out_printf(o, "null");
}

static void
out_u64(Out *o, const char *key, int has, unsigned long long v)
{
    if (has)
        out_printf(o, ",\"%s\":%llu", key, v);
    else
        out_printf(o, ",\"%s\":null", key);
}

/* comm as a JSON string: printable ASCII, '"' and '\' escaped, anything
 * else (control bytes, non-ASCII) as '?'.  At most 2 * COMM_MAX + 2 bytes. */
static void
out_comm(Out *o, const char *comm)
{
    char esc[2 * COMM_MAX + 3];
    size_t k = 0;

    esc[k++] = '"';
    for (const unsigned char *c = (const unsigned char *)comm; *c; c++) {
        if (*c == '"' || *c == '\\') {
            esc[k++] = '\\';
            esc[k++] = (char)*c;
        } else if (*c >= 0x20 && *c < 0x7f) {
            esc[k++] = (char)*c;
        } else {
            esc[k++] = '?';
        }
    }
    esc[k++] = '"';
    esc[k] = '\0';
    out_printf(o, "%s", esc);
}

/* Build the report line for the interval a -> b into buf (LINE_MAX_BYTES).
 * Returns its length, newline included.  A line that would not fit is
 * rebuilt with fewer "top" entries (it always fits with none). */
static size_t
build_report(Reporter *r, const Snapshot *a, const Snapshot *b,
             unsigned long long ev_frames_delta, char *buf)
{
    Usage top[TOP_MAX];
    int n_top = 0;
    double dt = b->t_s - a->t_s;
    double per_min = dt > 0 ? 60.0 / dt : 0;
    const char *src = "none";
    int has_input = 0;
    double input = 0;

    if (r->n_ev > 0) {
        src = "evdev";
        has_input = 1;
        input = (double)ev_frames_delta * per_min;
    } else if (a->has_irq && b->has_irq && b->irq_input >= a->irq_input) {
        src = "irq";
        has_input = 1;
        input = (double)(b->irq_input - a->irq_input) * per_min;
    }
    if (r->top_n > 0)
        n_top = top_programs(&r->procs[r->cur ^ 1], &r->procs[r->cur], top, r->top_n);

    for (;;) {
        /* cap leaves room for the '\n' appended below */
        Out o = { buf, 0, LINE_MAX_BYTES - 1, 0 };

        out_printf(&o, "{\"v\":%d,\"seq\":%llu,\"interval_ms\":%lld,\"dropped\":%llu",
                   REPORT_VERSION, r->seq, (long long)(dt * 1000 + 0.5), r->dropped);
        out_printf(&o, ",\"input_src\":\"%s\"", src);
        out_num(&o, "input_events_per_min", has_input, input, "%.1f");
        out_u64(&o, "sessions", b->has_sessions, (unsigned long long)b->sessions);
        out_u64(&o, "users", b->has_sessions, (unsigned long long)b->users);
        if (b->has_sessions)
            out_printf(&o, ",\"user_sessions\":[%ld,%ld,%ld,%ld]", b->user_sessions[0],
                       b->user_sessions[1], b->user_sessions[2], b->user_sessions[3]);
        else
            out_printf(&o, ",\"user_sessions\":null");
        out_num(&o, "proc_starts_per_min", a->has_forks && b->has_forks && b->forks >= a->forks,
                (double)(b->forks - a->forks) * per_min, "%.1f");
        out_u64(&o, "net_rx_bytes", b->has_net, b->rx);
        out_u64(&o, "net_tx_bytes", b->has_net, b->tx);
        out_num(&o, "load1", b->has_load, b->load1, "%.2f");
        out_num(&o, "psi_cpu", b->has_psi[0], b->psi[0], "%.2f");
        out_num(&o, "psi_mem", b->has_psi[1], b->psi[1], "%.2f");
        out_num(&o, "psi_io", b->has_psi[2], b->psi[2], "%.2f");
        /* Above augurd's bound (2^53) it would drop the whole report; no
         * guest gets there, but the rest of the report is worth more. */
        if (b->has_oom_kill && b->oom_kill <= OOM_KILL_MAX)
            out_printf(&o, ",\"oom_kill\":%llu", b->oom_kill);
        out_printf(&o, ",\"top\":[");
        for (int i = 0; i < n_top; i++) {
            double pct = dt > 0 ? 100.0 * (double)top[i].ticks / (double)r->clk_tck / dt : 0;

            out_printf(&o, "%s{\"comm\":", i ? "," : "");
            out_comm(&o, top[i].comm);
            out_printf(&o, ",\"cpu_pct\":%.1f}", pct);
        }
        out_printf(&o, "]}");
        if (!o.overflow) {
            buf[o.len++] = '\n';
            return o.len;
        }
        /* Defensive: by construction the line is < 700 bytes. */
        if (n_top == 0)
            break;
        n_top--;
    }
    return 0;
}

/* ------------------------------------------------------------------ main */

static void
usage(void)
{
    fputs("usage: augur-guest [-i SECONDS] [-p PORT] [-n TOPN] [-P PIDFILE] [-c COUNT] [-u UTMP] [-E] [-o]\n",
          stderr);
    exit(2);
}

int
main(int argc, char **argv)
{
    static Reporter r;
    static char line[LINE_MAX_BYTES + 1];
    Snapshot prev, cur;
    const char *pidfile = NULL;
    unsigned long long ev_prev;
    double next_s;
    int opt;

    r.port_path = DEFAULT_PORT;
    r.utmp_path = _PATH_UTMP;
    r.interval_s = 5;
    r.top_n = TOP_MAX;
    r.use_evdev = 1;
    r.port_fd = -1;
    r.proc_dirfd = -1;
    r.backoff_s = BACKOFF_MIN_S;
    r.host_connected = 1;   /* log the first disconnect we see */
    while ((opt = getopt(argc, argv, "i:p:n:P:c:u:Eo")) != -1) {
        char *end;
        long v;

        switch (opt) {
        case 'i':
        case 'n':
        case 'c':
            v = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0')
                usage();
            if (opt == 'i' && (v < 1 || v > 3600))
                usage();
            if (opt == 'n' && (v < 0 || v > TOP_MAX))
                usage();
            if (opt == 'c' && v < 1)
                usage();
            if (opt == 'i')
                r.interval_s = (int)v;
            else if (opt == 'n')
                r.top_n = (int)v;
            else
                r.max_reports = v;
            break;
        case 'p':
            r.port_path = optarg;
            break;
        case 'P':
            pidfile = optarg;
            break;
        case 'u':
            r.utmp_path = optarg;
            break;
        case 'E':
            r.use_evdev = 0;
            break;
        case 'o':
            r.to_stdout = 1;
            break;
        default:
            usage();
        }
    }
    if (optind != argc)
        usage();
    r.clk_tck = sysconf(_SC_CLK_TCK);
    if (r.clk_tck <= 0)
        r.clk_tck = 100;
    if (pidfile) {
        FILE *f = fopen(pidfile, "we");

        if (f) {
            fprintf(f, "%d\n", (int)getpid());
            fclose(f);
        }
    }

    evdev_scan(&r);
    take_snapshot(&r, &prev);
    ev_prev = r.ev_frames;
    if (!r.to_stdout)
        port_try_open(&r, now_s());
    next_s = prev.t_s + r.interval_s;

    for (;;) {
        struct pollfd pfd[MAX_EVDEV];
        double t = now_s();
        int timeout_ms, n;

        if (t >= next_s) {
            size_t len;

            take_snapshot(&r, &cur);
            len = build_report(&r, &prev, &cur, r.ev_frames - ev_prev, line);
            if (len > 0)
                port_send(&r, line, len);
            r.seq++;
            prev = cur;
            ev_prev = r.ev_frames;
            /* Absolute schedule; after a stall (suspend), skip missed slots. */
            next_s += r.interval_s;
            if (next_s <= t)
                next_s = t + r.interval_s;
            if (r.max_reports > 0 && (long)r.seq >= r.max_reports)
                return 0;
            if (t >= r.next_ev_scan_s)
                evdev_scan(&r);
            continue;
        }
        timeout_ms = (int)((next_s - t) * 1000) + 1;
        for (int i = 0; i < r.n_ev; i++) {
            pfd[i].fd = r.ev_fd[i];
            pfd[i].events = POLLIN;
            pfd[i].revents = 0;
        }
        /* The port is never polled here: with no host end it would report
         * POLLHUP continuously and we would spin. */
        n = poll(pfd, (nfds_t)r.n_ev, timeout_ms);
        if (n <= 0)
            continue;
        for (int i = r.n_ev - 1; i >= 0; i--)
            if (pfd[i].revents)
                evdev_drain(&r, i);
    }
}
