/*
 * augur-cpu-online: onlines hot-added CPUs inside the augur test guest.
 *
 * What it is: a tiny static program that runs in the test guest's busybox
 * initramfs (built by scripts/build-test-guest).  The guest has no udev and
 * Debian's kernel has CONFIG_UEVENT_HELPER off, so nothing would ever write
 * "1" to /sys/devices/system/cpu/cpuN/online after the host hot-plugs a vCPU
 * (virDomainSetVcpusFlags(n, LIVE)).  This program listens on a
 * NETLINK_KOBJECT_UEVENT socket and does exactly that, for "add" events of
 * the "cpu" subsystem only.
 *
 * What it is not: a udev replacement, and not part of the augur daemon.  It
 * never polls: it blocks in recv() (a shell polling loop cost 56 % of a host
 * core under TCG).  It does not react to "offline" events, so CPUs offlined
 * through the guest agent (virsh setvcpus --guest) stay offline.
 *
 * At start it onlines every CPU that is present but offline, once: this
 * covers a vCPU hot-plugged before the socket was bound (early boot).  At that
 * time nobody can have offlined a CPU on purpose yet.
 *
 * Build: gcc -static -Os -o augur-cpu-online augur-cpu-online.c
 * Usage: augur-cpu-online [-f]   (-f: stay in the foreground)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define UEVENT_BUF_BYTES 8192 /* one uevent message is at most ~2 KiB */

static int
cpu_online(const char *cpu_dir_name)
{
    char path[256];
    char state = '?';
    int fd;

    snprintf(path, sizeof(path), "/sys/devices/system/cpu/%s/online",
             cpu_dir_name);
    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -1; /* cpu0 usually has no "online" file: nothing to do */
    if (read(fd, &state, 1) == 1 && state == '1') {
        close(fd);
        return 0;
    }
    if (pwrite(fd, "1", 1, 0) != 1) {
        fprintf(stderr, "augur-cpu-online: %s: %s\n", path, strerror(errno));
        close(fd);
        return -1;
    }
    close(fd);
    fprintf(stderr, "augur-cpu-online: %s online\n", cpu_dir_name);
    return 0;
}

static int
is_cpu_name(const char *name)
{
    const char *p;

    if (strncmp(name, "cpu", 3) != 0 || name[3] == '\0')
        return 0;
    for (p = name + 3; *p; p++) {
        if (*p < '0' || *p > '9')
            return 0;
    }
    return 1;
}

static void
online_all_present(void)
{
    DIR *d = opendir("/sys/devices/system/cpu");
    struct dirent *de;

    if (!d)
        return;
    while ((de = readdir(d)) != NULL) {
        if (is_cpu_name(de->d_name))
            cpu_online(de->d_name);
    }
    closedir(d);
}

/* A uevent datagram is "ACTION@DEVPATH\0KEY=VALUE\0KEY=VALUE\0...". */
static void
handle_uevent(const char *buf, size_t len)
{
    const char *action = NULL, *devpath = NULL, *subsystem = NULL;
    const char *p = buf, *end = buf + len;
    const char *base;

    /* skip the "ACTION@DEVPATH" header; the KEY=VALUE pairs repeat it */
    p += strnlen(p, (size_t)(end - p)) + 1;
    while (p < end) {
        size_t n = strnlen(p, (size_t)(end - p));

        if (strncmp(p, "ACTION=", 7) == 0)
            action = p + 7;
        else if (strncmp(p, "DEVPATH=", 8) == 0)
            devpath = p + 8;
        else if (strncmp(p, "SUBSYSTEM=", 10) == 0)
            subsystem = p + 10;
        p += n + 1;
    }
    if (!action || !devpath || !subsystem)
        return;
    if (strcmp(action, "add") != 0 || strcmp(subsystem, "cpu") != 0)
        return;
    base = strrchr(devpath, '/');
    base = base ? base + 1 : devpath;
    if (is_cpu_name(base))
        cpu_online(base);
}

int
main(int argc, char **argv)
{
    struct sockaddr_nl addr;
    static char buf[UEVENT_BUF_BYTES + 1];
    int foreground = argc > 1 && strcmp(argv[1], "-f") == 0;
    int fd;

    fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
    if (fd < 0) {
        perror("augur-cpu-online: socket");
        return 1;
    }
    memset(&addr, 0, sizeof(addr));
    addr.nl_family = AF_NETLINK;
    addr.nl_pid = 0;     /* let the kernel pick a port id */
    addr.nl_groups = 1;  /* kernel uevent multicast group */
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        perror("augur-cpu-online: bind");
        return 1;
    }

    /* After bind, so a CPU added in between is seen by one path or both. */
    online_all_present();

    if (!foreground && daemon(0, 1) < 0) {
        perror("augur-cpu-online: daemon");
        return 1;
    }

    for (;;) {
        ssize_t n = recv(fd, buf, UEVENT_BUF_BYTES, 0);

        if (n < 0) {
            if (errno == EINTR || errno == ENOBUFS)
                continue; /* ENOBUFS: a burst overflowed us; keep going */
            perror("augur-cpu-online: recv");
            return 1;
        }
        buf[n] = '\0';
        handle_uevent(buf, (size_t)n);
    }
}
