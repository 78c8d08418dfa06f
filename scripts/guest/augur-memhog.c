/*
 * augur-memhog: a memory job for the augur test guest.
 *
 * What it is: a tiny static program that the test guest's workloads
 * (scripts/build-test-guest, /etc/augur-workloads/ in the initramfs) run to
 * make the guest's memory use rise and fall on a known schedule.  It mmaps
 * MIB MiB of anonymous memory, writes to every page so the memory is really
 * resident, holds it for SECONDS seconds (sleeping, no CPU use), and exits,
 * which gives the memory back (free page reporting then returns it to the
 * host).
 *
 * What it is not: a benchmark or a stress tool.  It touches each page once
 * and never re-reads it.  If the guest cannot back the memory, the guest's OOM
 * killer kills it; that is a finding for the test, not an error here.
 *
 * Build: gcc -static -Os -o augur-memhog augur-memhog.c
 * Usage: augur-memhog MIB SECONDS
 * Exit:  0 when the hold time ended, 1 on bad arguments, 2 if mmap failed.
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
    unsigned long mib, seconds, off;
    size_t bytes;
    unsigned char *mem;
    struct timespec ts;

    if (argc != 3 || parse_ulong(argv[1], &mib) < 0 ||
        parse_ulong(argv[2], &seconds) < 0 || mib == 0 ||
        mib > (1UL << 20)) {
        fprintf(stderr, "usage: augur-memhog MIB SECONDS\n");
        return 1;
    }
    bytes = (size_t)mib << 20;
    mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        fprintf(stderr, "augur-memhog: mmap %lu MiB: %s\n", mib,
                strerror(errno));
        return 2;
    }
    /* Non-zero bytes, so no zero-page or KSM tricks can share the pages. */
    for (off = 0; off < bytes; off += PAGE_BYTES)
        mem[off] = (unsigned char)(1 + (off / PAGE_BYTES) % 251);

    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = 0;
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
    munmap(mem, bytes);
    return 0;
}
