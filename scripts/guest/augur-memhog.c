/*
 * augur-memhog: a memory job for the augur test guest.
 *
 * What it is: a tiny static program that the test guest's workloads
 * (scripts/build-test-guest, /etc/augur-workloads/ in the initramfs) run to
 * make the guest's memory use rise and fall on a known schedule.  It grows
 * to MIB MiB of anonymous memory in 4 MiB chunks, writing to every page so
 * the memory is really resident, holds it until SECONDS seconds after its
 * start (sleeping, no CPU use), and exits, which gives the memory back
 * (free page reporting then returns it to the host).
 *
 * Like a well-behaved application (a JVM growing its heap, a build
 * spawning compilers), it takes a chunk only while the guest's MemAvailable
 * leaves a margin, and otherwise waits 50 ms and looks again: a guest held
 * too small shows its demand pinned at the limit (censored demand) instead
 * of failing at once.  If the memory never comes, the job ends at its
 * deadline with what it got (exit 3).
 *
 * With -g (greedy) it behaves like an ordinary program instead: it maps
 * all of MIB at once and writes every page straight away, with no look at
 * MemAvailable.  A guest held too small then does what a real guest does:
 * its kernel OOM-kills the job (SIGKILL, "Out of memory: Killed process" on
 * the console).  The polite mode can never be OOM-killed, so a test that
 * must be able to catch an under-provisioned guest uses -g.
 *
 * What it is not: a benchmark or a stress tool.  It touches each page once
 * and never re-reads it.
 *
 * Build: gcc -static -Os -o augur-memhog augur-memhog.c
 * Usage: augur-memhog [-g] MIB SECONDS
 * Exit:  0 when it held all of MIB, 1 on bad arguments, 3 when it ran out
 *        of time before getting all of it (polite mode), 4 when the
 *        greedy mapping itself failed; killed by SIGKILL when the guest's
 *        OOM killer chose it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE_BYTES 4096UL /* x86-64 base page: one write per page faults it in */
#define CHUNK_BYTES (4UL << 20)   /* grow 4 MiB at a time                     */
#define MARGIN_BYTES (16UL << 20) /* leave this much MemAvailable to the guest */

/* MemAvailable from /proc/meminfo in KiB, or -1. */
static long
mem_available_kib(void)
{
    char line[128];
    long v = -1;
    FILE *f = fopen("/proc/meminfo", "r");

    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %ld kB", &v) == 1)
            break;
    fclose(f);
    return v;
}

/* Non-zero bytes, so no zero-page or KSM tricks can share the pages. */
static void
touch_pages(unsigned char *mem, size_t len)
{
    size_t off;

    for (off = 0; off < len; off += PAGE_BYTES)
        mem[off] = (unsigned char)(1 + (off / PAGE_BYTES) % 251);
}

static int
parse_ulong(const char *s, unsigned long *ret_value)
{
    char *end = NULL;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return -1;
    *ret_value = v;
    return 0;
}

int
main(int argc, char **argv)
{
    unsigned long mib, seconds;
    size_t bytes, got;
    unsigned char *mem;
    struct timespec ts, start, now;
    time_t deadline;
    int greedy = 0;

    if (argc == 4 && strcmp(argv[1], "-g") == 0) {
        greedy = 1;
        argc--;
        argv++;
    }
    if (argc != 3 || parse_ulong(argv[1], &mib) < 0 ||
        parse_ulong(argv[2], &seconds) < 0 || mib == 0 ||
        mib > (1UL << 20)) {
        fprintf(stderr, "usage: augur-memhog [-g] MIB SECONDS\n");
        return 1;
    }
    bytes = (size_t)mib << 20;
    clock_gettime(CLOCK_MONOTONIC, &start);
    deadline = start.tv_sec + (time_t)seconds;
    got = 0;
    if (greedy) {
        /* One mapping, every page written at once: if the guest has not
         * got the memory, its OOM killer ends us here.  MAP_NORESERVE: a
         * balloon inflated below the job's size shrinks MemTotal, and the
         * kernel's overcommit heuristic would then refuse the mapping up
         * front; the failure a test looks for is the OOM kill, always. */
        mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (mem == MAP_FAILED) {
            fprintf(stderr, "augur-memhog: mmap %lu MiB: %s\n", mib, strerror(errno));
            return 4;
        }
        touch_pages(mem, bytes);
        got = bytes;
    }
    while (got < bytes) {
        size_t chunk = bytes - got < CHUNK_BYTES ? bytes - got : CHUNK_BYTES;

        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec >= deadline)
            break;
        if (mem_available_kib() < (long)((chunk + MARGIN_BYTES) >> 10)) {
            struct timespec wait = { 0, 50 * 1000 * 1000 };

            nanosleep(&wait, NULL);
            continue;
        }
        mem = mmap(NULL, chunk, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED)
            continue;
        touch_pages(mem, chunk);
        got += chunk;
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec < deadline) {
        ts.tv_sec = deadline - now.tv_sec;
        ts.tv_nsec = 0;
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
    }
    if (got < bytes) {
        fprintf(stderr, "augur-memhog: got %zu of %lu MiB in time\n", got >> 20, mib);
        return 3;
    }
    return 0;
}
