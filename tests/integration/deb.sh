#!/bin/bash
# deb.sh: the Debian packages, built, installed, upgraded and removed for real.
#
# Copies the source tree (tracked files plus untracked, non-ignored ones:
# what the next commit would hold, minus build products) to a temp dir,
# runs `dpkg-buildpackage -us -uc -b` there (nocheck: the unit tests run in
# `make check` already; parallel=2), then:
#   1. checks both .debs (augur, augur-guest): contents and control fields
#      (dpkg -c, dpkg -I), the maintainer scripts dh_installsystemd wrote
#      (not enabled on install, restart on upgrade, stop on removal), the
#      packaged unit's `systemd-analyze security --offline=true` score
#      (<= 3.0), and runs lintian on them when it is installed (no error,
#      no warning);
#   2. installs them on THIS machine (dpkg -i): binaries run, the hook link
#      resolves to an executable and exits 0 at once with no augurd, the
#      config is a conffile, the unit is installed but not enabled and
#      passes `systemd-analyze verify`, augur-guest writes a report;
#   3. runs the installed augurd briefly (test:///default, a temp socket)
#      so that /var/lib/augur exists, as after real use;
#   4. removes them (dpkg -r): programs, hook and unit gone, conffile kept;
#   5. purges them (dpkg -P): conffile and /var/lib/augur gone;
#   6. under a real systemd, booted in a throw-away container (own PID,
#      mount, network, UTS, IPC and cgroup namespaces over an overlay of /;
#      see sd_boot): installs the packages (augurd not enabled, not
#      started), upgrades them while augurd is disabled (still stopped),
#      enables it and checks the hardened unit at work against a system
#      libvirtd started in the container (libvirt connected, API socket
#      chowned to the libvirt group, metrics on loopback, capabilities,
#      seccomp, read-only /, the IP allow list, a retraining run (OpenBLAS
#      under the filter and MemoryDenyWriteExecute, its thread at nice 10),
#      `systemd-analyze verify`,
#      `systemd-analyze security` <= 3.0, and, when the test guest is built,
#      a guest's activity channel and balloon stats read through the
#      sandbox); upgrades again while it runs (augurd restarted, running the
#      new binary), removes (augurd stopped), reinstalls (started again:
#      still enabled), removes and purges (enable link gone).
#      The upgrades are the built .debs repacked with a higher version and a
#      marker appended to augurd (dpkg-deb -R / -b): the maintainer scripts
#      are the built ones, the binaries tell apart.
# Where the container cannot boot (no overlayfs, no cgroup2, no systemd
# binary) step 6 is skipped with the reason, and the maintainer scripts
# are checked only as text (step 1); AUGUR_DEB_REQUIRE_SYSTEMD=1 makes that
# a failure.
# It prints its own duration: 25 s (quiet) to ~90 s (beside the guest
# tests) for the build on a 2-core machine, plus ~45 s for step 6 with its
# guest; the build runs at nice 19 so the real-guest tests beside it keep
# their timing.
#
# It refuses to touch a machine where augur is already installed (as a
# package or by `make install`): skip 77.  On failure the packages are
# purged again and the build log kept.
#
# Exit: 0 pass, 1 fail, 77 skip (not root, no debhelper/dpkg-dev, missing
# build dependencies, augur already installed).
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

SRCDIR=${AUGUR_TOP_SRCDIR:-$AUGUR_IT_SRCDIR}
WORK=
INSTALLED=0
PKGS=(augur augur-guest)

# ---- systemd in a container (step 6) -------------------------------------------
# A systemd booted as PID 1 of its own PID, mount, UTS, IPC, network and
# cgroup namespaces, over a throw-away overlay of / whose writes land in a
# tmpfs, with $SD_DIR/debs bound at /augur-deb.  The host keeps nothing but
# one cgroup directory, removed at the end.  Kernel-wide state is out of its
# reach: /proc/sys and /sys are read-only, CAP_SYS_MODULE, CAP_SYS_TIME,
# CAP_SYS_BOOT, CAP_SYSLOG and CAP_WAKE_ALARM are dropped from its bounding
# set, and its /dev holds only the basic nodes (/dev/console is /dev/null,
# so no getty lands on the host's console).  It boots basic.target, so the
# host's enabled services stay down; dpkg inside it works on the overlay's
# copy of the dpkg database, never on the host's.
SD_DIR=
SD_PID=          # the container's PID 1 (systemd), as this shell sees it
SD_NS=           # its PID namespace (the reaper kills only that one)
SD_LAUNCHER=     # the unshare process
SD_CGROUP=       # the cgroup made for it (cgroup v2)
SD_WHY=          # why sd_boot failed

# The script that runs as the container's PID 1 until it execs systemd.
sd_write_init() {
    cat >"$1" <<'INIT'
#!/bin/bash
set -euo pipefail
B=$1 R=$1/root
mount -t tmpfs -o mode=0755 tmpfs "$B/t"
mkdir "$B/t/up" "$B/t/work"
mount -t overlay overlay -o "lowerdir=/,upperdir=$B/t/up,workdir=$B/t/work" "$R"
mount -t proc -o nosuid,nodev,noexec proc "$R/proc"
mount --bind "$R/proc/sys" "$R/proc/sys"
mount -o remount,bind,ro "$R/proc/sys"
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$R/sys"
mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$R/sys/fs/cgroup"
mount -t tmpfs -o mode=0755,nosuid tmpfs "$R/dev"
for n in null zero full random urandom tty; do
    touch "$R/dev/$n"
    mount --bind "/dev/$n" "$R/dev/$n"
done
touch "$R/dev/console"
mount --bind /dev/null "$R/dev/console"
mkdir "$R/dev/pts" "$R/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,nosuid,noexec devpts "$R/dev/pts"
ln -s pts/ptmx "$R/dev/ptmx"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$R/dev/shm"
ln -s /proc/self/fd "$R/dev/fd"
ln -s /proc/self/fd/0 "$R/dev/stdin"
ln -s /proc/self/fd/1 "$R/dev/stdout"
ln -s /proc/self/fd/2 "$R/dev/stderr"
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$R/run"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$R/tmp"
mkdir "$R/augur-deb"
mount --bind "$B/debs" "$R/augur-deb"
hostname augur-deb-test
mkdir "$R/.oldroot"
cd "$R"
pivot_root . .oldroot
umount -l /.oldroot
rmdir /.oldroot
exec setpriv --bounding-set -sys_module,-sys_time,-sys_boot,-syslog,-wake_alarm \
    env -i container=augur-deb-test PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
    /lib/systemd/systemd --unit=basic.target </dev/null >/dev/null 2>&1
INIT
    chmod 755 -- "$1"
}

# sd_boot DIR: boots the container and waits for it to be up; sets SD_PID.
# Returns 1 with the reason in SD_WHY when this machine cannot do it.
sd_boot() {
    local dir=$1 cg i pid st=
    SD_DIR=$dir
    mkdir -p -- "$dir/root" "$dir/t" "$dir/debs"
    chmod 755 -- "$dir/debs"    # QEMU (libvirt-qemu) reads the guest's kernel there
    for c in unshare nsenter setpriv pivot_root; do
        command -v "$c" >/dev/null 2>&1 || { SD_WHY="'$c' missing (util-linux)"; return 1; }
    done
    [[ -x /lib/systemd/systemd ]] || { SD_WHY="no /lib/systemd/systemd (the systemd package)"; return 1; }
    grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || true
    grep -qw overlay /proc/filesystems || { SD_WHY="the kernel has no overlayfs"; return 1; }
    # The container's systemd runs in the unified (cgroup v2) layout, in a
    # cgroup of our own in the host's cgroup2 hierarchy, wherever that is
    # mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified in systemd's
    # hybrid layout).  It is shown no v1 hierarchy, so it creates nothing
    # outside that one directory.
    if [[ $(stat -f -c %T /sys/fs/cgroup 2>/dev/null) == cgroup2fs ]]; then
        cg=/sys/fs/cgroup
    elif [[ $(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null) == cgroup2fs ]]; then
        cg=/sys/fs/cgroup/unified
    else
        SD_WHY="no cgroup2 hierarchy mounted (neither /sys/fs/cgroup nor /sys/fs/cgroup/unified)"
        return 1
    fi
    SD_CGROUP="$cg$(sed -n 's|^0::||p' /proc/self/cgroup | sed 's|/$||')/augur-deb-$$"
    mkdir -p -- "$SD_CGROUP" || { SD_WHY="cannot create the cgroup $SD_CGROUP"; return 1; }
    sd_write_init "$dir/init"
    (
        echo "$BASHPID" >"$SD_CGROUP/cgroup.procs"
        exec unshare --mount --pid --fork --uts --ipc --net --cgroup --propagation private \
            "$dir/init" "$dir"
    ) </dev/null >"$dir/init.log" 2>&1 &
    SD_LAUNCHER=$!
    # PID 1 of the container is the unshare's child; it is systemd once the
    # init script has exec'd it.
    for i in $(seq 100); do
        pid=$(pgrep -P "$SD_LAUNCHER" 2>/dev/null | head -n1 || true)
        if [[ -n $pid && $(readlink "/proc/$pid/exe" 2>/dev/null) == */systemd ]]; then
            SD_PID=$pid
            SD_NS=$(readlink "/proc/$pid/ns/pid")
            break
        fi
        kill -0 "$SD_LAUNCHER" 2>/dev/null || break
        sleep 0.1
    done
    if [[ -z $SD_PID ]]; then
        SD_WHY="systemd did not start in the container: $(tail -n 3 -- "$dir/init.log" | tr '\n' ' ')"
        return 1
    fi
    # Reaper: if this shell is killed without its EXIT trap, kill the
    # container (PID 1 of a PID namespace takes everything in it along),
    # but only if that PID is still the same namespace's init.
    # shellcheck disable=SC2016  # expanded by the inner bash, on purpose
    setsid bash -c 'tail --pid="$1" -f /dev/null 2>/dev/null
        [[ $(readlink "/proc/$2/ns/pid" 2>/dev/null) == "$3" ]] && kill -KILL "$2"
        sleep 1; find "$4" -depth -type d -exec rmdir {} + 2>/dev/null' \
        augur-deb-reaper "$$" "$SD_PID" "$SD_NS" "$SD_CGROUP" </dev/null >/dev/null 2>&1 &
    for i in $(seq 300); do
        st=$(sdx systemctl is-system-running 2>/dev/null || true)
        case $st in
            running|degraded) return 0 ;;
        esac
        sleep 0.1
    done
    SD_WHY="systemd did not finish booting in the container (state '$st')"
    return 1
}

# sdx CMD...: runs CMD inside the container, in a clean environment.
sdx() {
    nsenter -t "$SD_PID" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"
}

# Powers the container off (kills it after 10 s), then removes its cgroup.
sd_stop() {
    local i
    if [[ -n $SD_LAUNCHER ]] && kill -0 "$SD_LAUNCHER" 2>/dev/null; then
        [[ -n $SD_PID ]] && sdx systemctl --no-block poweroff >/dev/null 2>&1
        for i in $(seq 100); do
            kill -0 "$SD_LAUNCHER" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$SD_LAUNCHER" 2>/dev/null && [[ -n $SD_PID ]] &&
           [[ $(readlink "/proc/$SD_PID/ns/pid" 2>/dev/null) == "$SD_NS" ]]; then
            kill -KILL "$SD_PID" 2>/dev/null
        fi
        wait "$SD_LAUNCHER" 2>/dev/null
    fi
    if [[ -n $SD_CGROUP && -d $SD_CGROUP ]]; then
        for i in $(seq 20); do
            find "$SD_CGROUP" -depth -type d -exec rmdir {} + 2>/dev/null
            [[ -d $SD_CGROUP ]] || break
            sleep 0.1
        done
    fi
    SD_LAUNCHER='' SD_PID='' SD_CGROUP=''
}

# sd_wait SECONDS CMD...: polls CMD inside the container until it succeeds.
sd_wait() {
    local deadline=$((SECONDS + $1))
    shift
    until sdx "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

# unit_connect HOST PORT: inside the container, a shell moved into
# augurd.service's cgroup (so under its IP allow list) connects to HOST:PORT;
# 3 s at most.
unit_connect() {
    # shellcheck disable=SC2016  # expanded in the container, on purpose
    sdx timeout 3 bash -c 'echo "$BASHPID" >"/sys/fs/cgroup$(systemctl show -p ControlGroup --value augurd.service)/cgroup.procs" &&
        exec 3<>"/dev/tcp/$1/$2"' sh "$1" "$2"
}

# The exposure score systemd-analyze gives augurd.service inside the container.
sd_score() {
    sdx systemd-analyze security --no-pager augurd.service 2>/dev/null |
        sed -n 's/.*Overall exposure level for augurd\.service: \([0-9.]*\).*/\1/p'
}

# deb_repack DEB VERSION OUT: DEB with its version set to VERSION and, for
# augur, a marker appended to augurd (the ELF loader ignores trailing bytes)
# so that the running binary can be told apart; md5sums follow.
deb_repack() {
    local d
    d=$(mktemp -d "$WORK/repack.XXXXXX")
    dpkg-deb -R "$1" "$d/p"
    sed -i "s/^Version: .*/Version: $2/" "$d/p/DEBIAN/control"
    if [[ -f $d/p/usr/sbin/augurd ]]; then
        printf '\naugur-deb-test %s\n' "$2" >>"$d/p/usr/sbin/augurd"
        sed -i "s|^[0-9a-f]*  usr/sbin/augurd\$|$(cd -- "$d/p" && md5sum usr/sbin/augurd)|" "$d/p/DEBIAN/md5sums"
    fi
    dpkg-deb --root-owner-group -b "$d/p" "$3" >/dev/null
    rm -rf -- "$d"
}

finish() {
    local rc=$? secs
    trap - EXIT
    set +e
    if [[ -n $SD_LAUNCHER ]]; then
        if ((rc != 0 && rc != 77)) && [[ -n $SD_PID ]]; then
            sdx journalctl --no-pager -n 60 >"$WORK/container-journal.log" 2>&1
            printf -- '--- container journal (last 60 lines) ---\n'
            cat -- "$WORK/container-journal.log"
        fi
        sd_stop
    fi
    if ((INSTALLED)); then
        dpkg -P "${PKGS[@]}" >/dev/null 2>&1 || printf 'cleanup: dpkg -P %s failed\n' "${PKGS[*]}"
    fi
    if [[ -n $WORK && -d $WORK ]]; then
        if ((rc == 0 || rc == 77)) && [[ ${AUGUR_IT_KEEP:-0} != 1 ]]; then
            rm -rf -- "$WORK"
        else
            printf 'kept %s for inspection (build.log, the .debs)\n' "$WORK"
        fi
    fi
    secs=$(augur_it_elapsed)
    printf 'deb.sh took %s s\n' "$secs"
    exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[[ $(id -u) -eq 0 ]] || augur_it_skip "needs root: installs and removes the package on this machine"
for c in dpkg-buildpackage dh dpkg-checkbuilddeps dpkg-deb dpkg-query; do
    command -v "$c" >/dev/null 2>&1 ||
        augur_it_skip "'$c' missing (apt-get install --no-install-recommends debhelper dpkg-dev build-essential)"
done
[[ -f $SRCDIR/debian/control ]] || augur_it_skip "no debian/ in $SRCDIR"
if ! missing=$(cd -- "$SRCDIR" && dpkg-checkbuilddeps 2>&1); then
    augur_it_skip "build dependencies missing: ${missing#*: }"
fi
for p in "${PKGS[@]}"; do
    if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep 'installed' >/dev/null; then
        augur_it_skip "the $p package is installed on this machine; not touching it"
    fi
done
for f in /usr/sbin/augurd /usr/bin/virt-augur /usr/libexec/augur/augur-hook \
         /usr/libexec/augur/guest/augur-guest /etc/libvirt/hooks/qemu.d/augur /etc/augur/augur.conf; do
    if [[ -e $f || -L $f ]] && ! dpkg -S "$f" >/dev/null 2>&1; then
        augur_it_skip "$f exists and belongs to no package (a make install?); not overwriting it"
    fi
done

# dpkg takes a lock; wait for another apt/dpkg on this machine instead of failing.
dpkg_locked() {
    local out i
    for i in $(seq 60); do
        if out=$(dpkg "$@" 2>&1); then
            printf '%s\n' "$out"
            return 0
        fi
        grep -qi 'lock' <<<"$out" || { printf '%s\n' "$out"; return 1; }
        sleep 2
    done
    printf '%s\n' "$out"
    return 1
}

# ---- build -------------------------------------------------------------------
WORK=$(mktemp -d /tmp/augur-deb.XXXXXX)
mkdir -- "$WORK/augur"
# Build products that are neither tracked nor ignored must not travel: a
# stale binary newer than its source would be packaged as is.
GENERATED='^(hooks/augur-hook|data/augur\.conf|data/augurd\.service|man/[^/]*\.[158]|debian/(augur|augur-guest|tmp|\.debhelper)/.*|debian/(files|debhelper-build-stamp|[^/]*\.substvars|[^/]*\.debhelper\.log)|[^/]*\.(deb|buildinfo|changes))$'
if git -C "$SRCDIR" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd -- "$SRCDIR" && git ls-files -co --exclude-standard) | grep -Ev "$GENERATED" |
        (cd -- "$SRCDIR" && tar -cf - --no-recursion -T -) | tar -xf - -C "$WORK/augur"
else
    cp -a -- "$SRCDIR/." "$WORK/augur/"
    if [[ -f $WORK/augur/Makefile ]]; then
        make -s -C "$WORK/augur" distclean >/dev/null 2>&1 || true
    fi
fi
augur_it_log "building the packages in $WORK (log: $WORK/build.log)"
# nice: the other integration tests run real guests whose timing checks
# must not starve behind two compilers.
if ! (cd -- "$WORK/augur" &&
      DEB_BUILD_OPTIONS="nocheck parallel=2" nice -n 19 dpkg-buildpackage -us -uc -b) >"$WORK/build.log" 2>&1; then
    tail -n 40 -- "$WORK/build.log"
    augur_it_fail "dpkg-buildpackage failed"
fi
DEB=$(ls "$WORK"/augur_*.deb)
GDEB=$(ls "$WORK"/augur-guest_*.deb)
CHANGES=$(ls "$WORK"/augur_*.changes)
VERSION=$(dpkg-deb -f "$DEB" Version)
augur_it_log "built $(basename -- "$DEB") ($(du -k -- "$DEB" | cut -f1) KiB) and $(basename -- "$GDEB") after $(augur_it_elapsed) s"

# ---- 1. contents, control, maintainer scripts, lintian ------------------------
contents=$(dpkg -c "$DEB")
printf '%s\n' "$contents" | awk '{ $1 = $2 = $3 = $4 = $5 = ""; sub(/^ +/, ""); print "  " $0 }'
for p in ./usr/sbin/augurd ./usr/bin/virt-augur ./usr/libexec/augur/augur-hook \
         ./etc/augur/augur.conf ./lib/systemd/system/augurd.service \
         ./usr/share/bash-completion/completions/virt-augur \
         ./usr/share/man/man8/augurd.8.gz ./usr/share/man/man1/virt-augur.1.gz \
         ./usr/share/man/man5/augur.conf.5.gz ./usr/share/augur/grafana-dashboard.json \
         ./usr/share/augur/augur-alerts.yml \
         ./usr/share/doc/augur/copyright; do
    grep -qE " $p\$" <<<"$contents" || augur_it_fail "the augur package lacks $p"
done
grep -qE ' \./etc/libvirt/hooks/qemu\.d/augur -> /usr/libexec/augur/augur-hook$' <<<"$contents" ||
    augur_it_fail "the package lacks the hook link qemu.d/augur -> /usr/libexec/augur/augur-hook"
grep -q 'augur-guest' <<<"$contents" && augur_it_fail "augur-guest is in the augur package; it has a package of its own"
gcontents=$(dpkg -c "$GDEB")
grep -qE ' \./usr/libexec/augur/guest/augur-guest$' <<<"$gcontents" ||
    augur_it_fail "the augur-guest package lacks /usr/libexec/augur/guest/augur-guest"
grep -qE ' \./usr/share/lintian/overrides/augur-guest$' <<<"$gcontents" ||
    augur_it_fail "the augur-guest package lacks its lintian override"
info=$(dpkg -I "$DEB")
grep -qE '^ Depends:.*\blibvirt-daemon\b' <<<"$info" || augur_it_fail "Depends lacks libvirt-daemon"
grep -qE '^ Recommends:.*\blibvirt-daemon-system\b' <<<"$info" || augur_it_fail "Recommends lacks libvirt-daemon-system"
grep -qE '^ Depends:.*\blibvirt-daemon-system\b' <<<"$info" && augur_it_fail "libvirt-daemon-system must not be a hard dependency"
grep -qE '^ Maintainer: .*example\.invalid' <<<"$info" && augur_it_fail "Maintainer is still the placeholder"
ginfo=$(dpkg -I "$GDEB")
grep -qE '^ Architecture: all$' <<<"$ginfo" && augur_it_fail "augur-guest must be architecture-specific"
grep -qE '^ Built-Using: glibc \(= ' <<<"$ginfo" || augur_it_fail "augur-guest (static) lacks Built-Using: glibc"
grep -qE '^ Replaces: augur \(<< ' <<<"$ginfo" || augur_it_fail "augur-guest lacks Replaces: augur (file moved from augur)"
dpkg-deb --fsys-tarfile "$DEB" | tar -xOf - ./usr/share/doc/augur/copyright >"$WORK/copyright"
grep -qx 'License: GPL-2+' "$WORK/copyright" || augur_it_fail "debian/copyright names no GPL-2+ licence"
grep -qi 'unspecified' "$WORK/copyright" && augur_it_fail "debian/copyright still says the licence is unspecified"
dpkg-deb -e "$DEB" "$WORK/control"
grep -qx '/etc/augur/augur.conf' "$WORK/control/conffiles" || augur_it_fail "augur.conf is not a conffile"
augur_it_log "$(grep -E '^ (Version|Depends|Recommends|Suggests):' <<<"$info" | tr -s ' ' | tr '\n' ';')"

# The maintainer scripts, as text: what step 6 runs for real where it can.
#   postinst: not enabled on install (enable only if it was enabled before a
#             removal: debian-installed + was-enabled); start (a no-op while
#             disabled) on install, restart on upgrade;
#   prerm:    stop on remove;
#   preinst:  no stop before an upgrade (nothing would start it again);
#   postrm:   deb-systemd-helper purge.
ms=$WORK/control
grep -q "deb-systemd-helper debian-installed 'augurd.service'" "$ms/postinst" ||
    augur_it_fail "postinst may enable augurd on install (no debian-installed guard)"
# shellcheck disable=SC2015  # any false test fails
grep -qE '^[[:space:]]*_dh_action=restart$' "$ms/postinst" && grep -qE '^[[:space:]]*_dh_action=start$' "$ms/postinst" &&
    grep -q "deb-systemd-invoke \$_dh_action 'augurd.service'" "$ms/postinst" ||
    augur_it_fail "postinst does not restart augurd on upgrade: $(grep -n deb-systemd-invoke "$ms/postinst" || echo 'no deb-systemd-invoke')"
# shellcheck disable=SC2015,SC2016  # a literal "$1"; any false test fails
[[ -f $ms/prerm ]] && grep -q '"$1" = remove' "$ms/prerm" &&
    grep -q "deb-systemd-invoke stop 'augurd.service'" "$ms/prerm" ||
    augur_it_fail "prerm does not stop augurd on removal"
if [[ -f $ms/preinst ]] && grep -q 'deb-systemd-invoke stop' "$ms/preinst"; then
    augur_it_fail "preinst stops augurd before an upgrade"
fi
grep -q "deb-systemd-helper purge 'augurd.service'" "$ms/postrm" || augur_it_fail "postrm does not purge the unit's state"
augur_it_log "maintainer scripts: not enabled on install, restart on upgrade, stop on remove"

# The packaged unit's exposure, offline (no running systemd needed; step 6
# asks the running one again).
if command -v systemd-analyze >/dev/null 2>&1; then
    dpkg-deb --fsys-tarfile "$DEB" | tar -xOf - ./lib/systemd/system/augurd.service >"$WORK/augurd.service"
    score=$(systemd-analyze security --offline=true "$WORK/augurd.service" 2>/dev/null |
        sed -n 's/.*Overall exposure level for augurd\.service: \([0-9.]*\).*/\1/p')
    [[ -n $score ]] || augur_it_fail "no offline score from systemd-analyze security"
    awk -v s="$score" 'BEGIN { exit !(s <= 3.0) }' || augur_it_fail "systemd-analyze security --offline: $score, above 3.0"
    augur_it_log "the packaged unit: systemd-analyze security --offline=true gives $score"
fi

if command -v lintian >/dev/null 2>&1; then
    # --fail-on: exit non-zero on any error or warning (info and pedantic
    # tags are printed, not fatal).
    if ! lintian --fail-on error,warning --display-info --pedantic "$CHANGES" >"$WORK/lintian.log" 2>&1; then
        cat -- "$WORK/lintian.log"
        augur_it_fail "lintian reports errors or warnings"
    fi
    augur_it_log "lintian $(lintian --version | awk '{ print $2 }'): no error, no warning$(grep -E '^[IPX]: ' "$WORK/lintian.log" | sed 's/^/; /' | tr -d '\n')"
else
    augur_it_log "lintian not installed: not run (apt-get install lintian)"
fi

# ---- 2. install ----------------------------------------------------------------
# A config of our own for the installed programs: a socket nobody serves.
printf '[daemon]\nsocket=%s\n' "$WORK/s.sock" >"$WORK/none.conf"
INSTALLED=1
dpkg_locked -i "$DEB" "$GDEB" >"$WORK/install.log" || { cat "$WORK/install.log"; augur_it_fail "dpkg -i failed"; }
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}\n' "$p" | grep 'install ok installed' >/dev/null || augur_it_fail "$p not installed after dpkg -i"
done
augurd --version | grep '^augurd ' >/dev/null || augur_it_fail "installed augurd does not run"
virt-augur help | grep '^Commands:' >/dev/null || augur_it_fail "installed virt-augur does not run"
[[ -x /etc/libvirt/hooks/qemu.d/augur ]] || augur_it_fail "the hook link does not resolve to an executable"
t0=$EPOCHREALTIME
AUGUR_HOOK_CONFIG=$WORK/none.conf /etc/libvirt/hooks/qemu.d/augur vm started begin - </dev/null ||
    augur_it_fail "the installed hook did not exit 0"
ms=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", (b - a) * 1000 }')
((ms < 1000)) || augur_it_fail "the installed hook took $ms ms with no augurd"
[[ ! -e /etc/systemd/system/multi-user.target.wants/augurd.service ]] ||
    augur_it_fail "augurd.service got enabled on install"
for m in augurd virt-augur augur.conf; do
    man -w "$m" >/dev/null 2>&1 || [[ ! -x /usr/bin/man ]] || augur_it_fail "man $m not found"
done
if command -v systemd-analyze >/dev/null 2>&1; then
    systemd-analyze verify /lib/systemd/system/augurd.service >"$WORK/verify.log" 2>&1 ||
        { cat -- "$WORK/verify.log"; augur_it_fail "systemd-analyze verify augurd.service failed on the installed unit"; }
fi
timeout 10 /usr/libexec/augur/guest/augur-guest -o -E -i 1 -c 1 >"$WORK/guest-report.json" ||
    augur_it_fail "installed augur-guest did not write a report"
grep -q '^{"v":1,' "$WORK/guest-report.json" || augur_it_fail "augur-guest's report: $(head -c 200 "$WORK/guest-report.json")"
augur_it_log "installed: hook ran in $ms ms, unit not enabled (systemd-analyze verify: ok), augur-guest reports"

# ---- 3. a short real run, so there is state to purge ---------------------------
augurd --foreground --connect test:///default --socket "$WORK/s.sock" --tick 0.5 \
    --config "$WORK/none.conf" >"$WORK/augurd.log" 2>&1 &
apid=$!
for _ in $(seq 50); do
    [[ -S $WORK/s.sock ]] && break
    sleep 0.1
done
virt-augur --socket "$WORK/s.sock" status >"$WORK/status.out" 2>&1 || true
kill -TERM "$apid" 2>/dev/null || true
wait "$apid" 2>/dev/null || true
grep -q 'Source: *augurd socket' "$WORK/status.out" ||
    augur_it_fail "installed virt-augur could not read installed augurd's status: $(cat "$WORK/status.out")"
[[ -f /var/lib/augur/augur.db ]] || augur_it_fail "augurd did not create /var/lib/augur/augur.db"

# ---- 4. remove -----------------------------------------------------------------
echo '# edited by deb.sh' >>/etc/augur/augur.conf
dpkg_locked -r "${PKGS[@]}" >"$WORK/remove.log" || { cat "$WORK/remove.log"; augur_it_fail "dpkg -r failed"; }
for f in /usr/sbin/augurd /usr/bin/virt-augur /usr/libexec/augur/augur-hook \
         /usr/libexec/augur/guest/augur-guest /lib/systemd/system/augurd.service; do
    [[ ! -e $f ]] || augur_it_fail "$f still there after dpkg -r"
done
[[ ! -e /etc/libvirt/hooks/qemu.d/augur && ! -L /etc/libvirt/hooks/qemu.d/augur ]] ||
    augur_it_fail "the hook link is still there after dpkg -r"
[[ -f /etc/augur/augur.conf ]] || augur_it_fail "dpkg -r removed the (edited) conffile"
dpkg-query -W -f='${Status}\n' augur | grep 'config-files' >/dev/null || augur_it_fail "not in config-files state after dpkg -r"
augur_it_log "removed: programs, hook and unit gone, conffile kept"

# ---- 5. purge ------------------------------------------------------------------
dpkg_locked -P "${PKGS[@]}" >"$WORK/purge.log" || { cat "$WORK/purge.log"; augur_it_fail "dpkg -P failed"; }
INSTALLED=0
[[ ! -e /etc/augur/augur.conf ]] || augur_it_fail "/etc/augur/augur.conf still there after dpkg -P"
[[ ! -e /var/lib/augur ]] || augur_it_fail "/var/lib/augur still there after dpkg -P"
for p in "${PKGS[@]}"; do
    if dpkg-query -W "$p" >/dev/null 2>&1 && ! dpkg-query -W -f='${Status}' "$p" | grep 'not-installed' >/dev/null; then
        augur_it_fail "dpkg still knows $p after dpkg -P"
    fi
done
augur_it_log "purged: conffile and history gone"

# ---- 6. under systemd: install, upgrade, enable, upgrade, remove, purge --------
if ! sd_boot "$WORK/sd"; then
    [[ ${AUGUR_DEB_REQUIRE_SYSTEMD:-0} == 1 ]] && augur_it_fail "no systemd container: $SD_WHY"
    augur_it_log "step 6 NOT run (no systemd container: $SD_WHY); upgrade and removal were checked in the maintainer scripts' text only"
    sd_stop
    augur_it_log "PASS"
    exit 0
fi
augur_it_log "systemd $(sdx systemctl --version | awk 'NR == 1 { print $2 }') booted in a container (pid $SD_PID)"
D=$SD_DIR/debs
cp -- "$DEB" "$D/augur_1.deb"
cp -- "$GDEB" "$D/augur-guest_1.deb"
deb_repack "$DEB" "$VERSION+debsh1" "$D/augur_2.deb"
deb_repack "$GDEB" "$VERSION+debsh1" "$D/augur-guest_2.deb"
deb_repack "$DEB" "$VERSION+debsh2" "$D/augur_3.deb"
deb_repack "$GDEB" "$VERSION+debsh2" "$D/augur-guest_3.deb"
# Images like this one carry a policy-rc.d that forbids starting services
# from maintainer scripts; a real host has none.  Gone in the container only.
sdx rm -f /usr/sbin/policy-rc.d

# 6a. install: neither enabled nor started.
sdx dpkg -i /augur-deb/augur_1.deb /augur-deb/augur-guest_1.deb >"$WORK/sd-install.log" 2>&1 ||
    { cat -- "$WORK/sd-install.log"; augur_it_fail "dpkg -i failed under systemd"; }
[[ $(sdx systemctl is-enabled augurd.service || true) == disabled ]] ||
    augur_it_fail "augurd.service is $(sdx systemctl is-enabled augurd.service) after install, not disabled"
sdx systemctl --quiet is-active augurd.service && augur_it_fail "augurd started on install"
grep -q 'augurd.service is a disabled or a static unit, not starting it' "$WORK/sd-install.log" ||
    augur_it_fail "postinst did not try (and decline) to start augurd: $(cat -- "$WORK/sd-install.log")"

# 6b. upgrade while disabled and stopped: stays so.
sdx dpkg -i /augur-deb/augur_2.deb /augur-deb/augur-guest_2.deb >"$WORK/sd-upgrade1.log" 2>&1 ||
    { cat -- "$WORK/sd-upgrade1.log"; augur_it_fail "dpkg -i (upgrade, disabled) failed"; }
sdx systemctl --quiet is-active augurd.service && augur_it_fail "an upgrade started a disabled, stopped augurd"
[[ $(sdx systemctl is-enabled augurd.service || true) == disabled ]] || augur_it_fail "an upgrade enabled augurd"
augur_it_log "install and upgrade to $VERSION+debsh1: augurd neither enabled nor started"

# 6c. what augurd needs: a system libvirtd (the container sees the host's
# libvirt packages, not its units), the libvirt group and the QEMU user
# Debian's libvirt-daemon-system would create, and a metrics port.
sdx bash -c 'getent group libvirt >/dev/null || groupadd --system libvirt
    getent passwd libvirt-qemu >/dev/null ||
        useradd --system --user-group --no-create-home --home-dir /var/lib/libvirt \
            --shell /usr/sbin/nologin libvirt-qemu'
if ! sdx test -S /run/libvirt/libvirt-sock; then
    sdx systemd-run --quiet --unit=augur-deb-virtlogd /usr/sbin/virtlogd
    sdx systemd-run --quiet --unit=augur-deb-libvirtd /usr/sbin/libvirtd
fi
sd_wait 30 virsh -c qemu:///system uri || augur_it_fail "no system libvirtd in the container"
MPORT=9187
sdx sed -i "s/^#port=0\$/port=$MPORT/" /etc/augur/augur.conf
sdx grep -qx "port=$MPORT" /etc/augur/augur.conf || augur_it_fail "could not set [metrics] port in augur.conf"
# Retraining, the code that runs OpenBLAS and writes models, soon and
# short, on two Bitbrains VMs imported into the history augurd will open
# (as tests/integration/retrain.sh does): it must work under the system
# call filter and MemoryDenyWriteExecute, its thread at nice 10.
cp -- "$SRCDIR/model/data/bitbrains/1.csv.gz" "$SRCDIR/model/data/bitbrains/9.csv.gz" "$D/"
# shellcheck disable=SC2016  # expanded in the container, on purpose
sdx bash -c 'install -d -m 0750 /var/lib/augur &&
    for v in 1 9; do
        virt-augur --db /var/lib/augur/augur.db import "/augur-deb/$v.csv.gz" --format bitbrains >/dev/null || exit 1
    done' || augur_it_fail "virt-augur import into the container's /var/lib/augur failed"
sdx sed -i -e 's/^#interval=1d$/interval=2s/' -e 's/^#min_history=2d$/min_history=1d/' \
    -e 's/^#time_budget=10m$/time_budget=4s/' /etc/augur/augur.conf
[[ $(sdx grep -cxE 'interval=2s|min_history=1d|time_budget=4s' /etc/augur/augur.conf) == 3 ]] ||
    augur_it_fail "could not set [retrain] in augur.conf"

# 6d. enable --now: augurd runs, sandboxed, and does its work.
sdx systemctl enable --now augurd.service >"$WORK/sd-enable.log" 2>&1 ||
    { cat -- "$WORK/sd-enable.log"; sdx systemctl status --no-pager augurd.service; augur_it_fail "systemctl enable --now augurd failed"; }
sdx systemctl --quiet is-active augurd.service || augur_it_fail "augurd not active after enable --now"
mpid=$(sdx systemctl show -p MainPID --value augurd.service)
sdx virt-augur status >"$WORK/sd-status.out" 2>&1 || true
grep -qE '^Source: +augurd socket /run/augur/augurd\.sock' "$WORK/sd-status.out" ||
    augur_it_fail "virt-augur status did not reach augurd's socket: $(cat -- "$WORK/sd-status.out")"
grep -qE '^libvirt: +connected to qemu:///system' "$WORK/sd-status.out" ||
    augur_it_fail "augurd under the unit is not connected to the system libvirtd: $(cat -- "$WORK/sd-status.out")"
[[ $(sdx stat -c %G /run/augur/augurd.sock) == libvirt ]] ||
    augur_it_fail "the API socket's group is $(sdx stat -c %G /run/augur/augurd.sock), not libvirt (CAP_CHOWN)"
# shellcheck disable=SC2016
sdx timeout 10 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "GET /metrics HTTP/1.0\r\n\r\n" >&3 && cat <&3' \
    sh "$MPORT" >"$WORK/sd-metrics.txt" || augur_it_fail "the metrics endpoint does not answer on 127.0.0.1:$MPORT"
grep -q '^# TYPE augur_' "$WORK/sd-metrics.txt" || augur_it_fail "no augur_ metrics on 127.0.0.1:$MPORT"
sdx cat "/proc/$mpid/status" >"$WORK/sd-proc-status"
grep -qx $'CapBnd:\t0000000000000003' "$WORK/sd-proc-status" ||
    augur_it_fail "augurd's bounding set is not CAP_CHOWN+CAP_DAC_OVERRIDE: $(grep CapBnd "$WORK/sd-proc-status")"
grep -qx $'NoNewPrivs:\t1' "$WORK/sd-proc-status" || augur_it_fail "augurd runs without NoNewPrivs"
grep -qx $'Seccomp:\t2' "$WORK/sd-proc-status" || augur_it_fail "augurd runs without a seccomp filter"
[[ $(sdx findmnt -N "$mpid" -n -o OPTIONS /) == ro,* ]] || augur_it_fail "augurd's / is not read-only (ProtectSystem=strict)"
[[ $(sdx findmnt -N "$mpid" -n -o TARGET /var/lib/augur) == /var/lib/augur ]] ||
    augur_it_fail "augurd's /var/lib/augur is not its own writable mount (StateDirectory)"
# The IP allow list acts on the unit's cgroup: a shell put in it reaches
# 127.0.0.1 but not 192.0.2.1, an address of this same host (the container's
# lo), which outside the cgroup answers at once (connection refused).
sdx ip addr add 192.0.2.1/32 dev lo
sdx timeout 3 bash -c 'exec 3<>/dev/tcp/192.0.2.1/9' 2>"$WORK/sd-ip-outside.log" &&
    augur_it_fail "something listens on 192.0.2.1:9 in the container"
grep -q 'Connection refused' "$WORK/sd-ip-outside.log" ||
    augur_it_fail "192.0.2.1 is not reachable outside augurd's cgroup: $(cat -- "$WORK/sd-ip-outside.log")"
if unit_connect 192.0.2.1 9 2>"$WORK/sd-ip-inside.log"; then
    augur_it_fail "IPAddressDeny: augurd's cgroup reached 192.0.2.1"
fi
grep -q 'Connection refused' "$WORK/sd-ip-inside.log" && augur_it_fail "IPAddressDeny: augurd's cgroup got an answer from 192.0.2.1"
unit_connect 127.0.0.1 "$MPORT" || augur_it_fail "IPAddressAllow=localhost: augurd's cgroup cannot reach 127.0.0.1"
# The retraining run: recorded, its worker thread seen at nice 10.
nice_seen=
deadline=$((SECONDS + 90))
until sdx virt-augur model status 2>/dev/null | grep -qE '^Last retrain: +[0-9]'; do
    ((SECONDS < deadline)) || augur_it_fail "no retraining run under the unit within 90 s: $(sdx journalctl -u augurd.service --no-pager -n 5)"
    # shellcheck disable=SC2016  # expanded in the container, on purpose
    n=$(sdx bash -c 'for t in /proc/"$1"/task/*; do
            [[ $(cat "$t/comm" 2>/dev/null) == augur-retrain ]] && sed "s/^.*) //" "$t/stat" | cut -d" " -f17
        done' sh "$mpid" 2>/dev/null || true)
    if [[ -n $n ]]; then nice_seen=$n; fi
    sleep 0.2
done
retrain=$(sdx virt-augur model status | sed -n 's/^Last retrain: *//p')
[[ $nice_seen == 10 ]] || augur_it_fail "the augur-retrain thread was not seen at nice 10 (seen: '${nice_seen:-none}')"
sdx systemctl --quiet is-active augurd.service || augur_it_fail "augurd died while retraining"
[[ $(sdx systemctl show -p MainPID --value augurd.service) == "$mpid" ]] || augur_it_fail "augurd restarted while retraining"
sdx systemd-analyze verify /lib/systemd/system/augurd.service >"$WORK/sd-verify.log" 2>&1 ||
    { cat -- "$WORK/sd-verify.log"; augur_it_fail "systemd-analyze verify augurd.service failed"; }
score=$(sd_score)
[[ -n $score ]] || augur_it_fail "no score from systemd-analyze security"
awk -v s="$score" 'BEGIN { exit !(s <= 3.0) }' || augur_it_fail "systemd-analyze security: $score, above 3.0"
augur_it_log "enabled: augurd (pid $mpid) connected to the system libvirtd, API socket root:libvirt, metrics on 127.0.0.1:$MPORT; caps CHOWN+DAC_OVERRIDE, seccomp, NoNewPrivs, / read-only, 192.0.2.1 dropped; retraining ran at nice 10 ($retrain); verify ok; security $score"

# 6e. a guest, when the test guest is built: augurd reads its balloon stats
# and, through the channel socket libvirt puts in a directory of QEMU's user
# (0750; hence CAP_DAC_OVERRIDE), its activity reports.
kernel='' initrd=''
if command -v qemu-system-x86_64 >/dev/null 2>&1 &&
   out=$("$AUGUR_IT_SRCDIR/scripts/build-test-guest" 2>"$WORK/guest-build.log"); then
    kernel=$(sed -n 's/^KERNEL=//p' <<<"$out" | tail -n1)
    initrd=$(sed -n 's/^INITRD=//p' <<<"$out" | tail -n1)
fi
if [[ -r $kernel && -r $initrd ]]; then
    cp -- "$kernel" "$D/kernel"
    cp -- "$initrd" "$D/initrd"
    chmod 644 -- "$D/kernel" "$D/initrd"
    # No source paths: libvirt makes the channel sockets where it makes them
    # on any host (/var/lib/libvirt/qemu/channel/target/domain-N-NAME/).
    "$AUGUR_IT_SRCDIR/scripts/augur-guest-xml" --name augur-deb-vm --kernel /augur-deb/kernel \
        --initrd /augur-deb/initrd --channel-dir /augur-deb --type qemu --workload idle |
        sed -e "/<source mode='bind' path=/d" -e '/<log file=/d' \
            -e "s/<serial type='unix'>/<serial type='pty'>/" -e "s/<console type='unix'>/<console type='pty'>/" \
            >"$D/vm.xml"
    sdx virsh -q -c qemu:///system create /augur-deb/vm.xml >"$WORK/sd-vm.log" 2>&1 ||
        { cat -- "$WORK/sd-vm.log"; augur_it_fail "could not start the guest under the container's libvirtd"; }
    # A sample with both activity (proc_starts_per_min) and balloon stats.
    # shellcheck disable=SC2016
    sd_wait 120 bash -c 'virt-augur history augur-deb-vm --json |
        grep -q "\"proc_starts_per_min\" : [0-9]"' ||
        augur_it_fail "augurd under the unit got no activity report from the guest: $(sdx journalctl -u augurd.service --no-pager -n 5)"
    sd_wait 30 bash -c 'virt-augur history augur-deb-vm --json | grep -q "\"mem_used_kib\" : [0-9]"' ||
        augur_it_fail "augurd under the unit got no balloon stats from the guest"
    # The admin's first hour (README, "Your first hour"): the installed
    # virt-augur, as root on the host, reads what the unit's augurd wrote.
    sdx virt-augur list >"$WORK/sd-list.out" 2>&1 || true
    grep -q 'augur-deb-vm' "$WORK/sd-list.out" ||
        augur_it_fail "virt-augur list does not show the guest: $(cat -- "$WORK/sd-list.out")"
    # shellcheck disable=SC2016
    sd_wait 30 bash -c 'virt-augur explain augur-deb-vm >/dev/null 2>&1' ||
        augur_it_fail "virt-augur explain augur-deb-vm failed: $(sdx virt-augur explain augur-deb-vm 2>&1 | head -n 3)"
    sdx virt-augur explain augur-deb-vm >"$WORK/sd-explain.out" 2>&1
    grep -q 'augur-deb-vm' "$WORK/sd-explain.out" ||
        augur_it_fail "virt-augur explain does not name the guest: $(head -n 5 -- "$WORK/sd-explain.out")"
    sdx virt-augur report --since 1h >"$WORK/sd-report.out" 2>&1 ||
        augur_it_fail "virt-augur report failed: $(head -n 5 -- "$WORK/sd-report.out")"
    grep -q 'augur-deb-vm' "$WORK/sd-report.out" ||
        augur_it_fail "virt-augur report does not list the guest: $(head -n 10 -- "$WORK/sd-report.out")"
    sdx virt-augur --json report --since 1h >"$WORK/sd-report.json" 2>&1 ||
        augur_it_fail "virt-augur --json report failed: $(head -n 5 -- "$WORK/sd-report.json")"
    python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert "augur-deb-vm" in json.dumps(d)' \
        "$WORK/sd-report.json" || augur_it_fail "virt-augur --json report: not JSON naming the guest"
    augur_it_log "first hour: list, explain and report (text and JSON) name the guest"
    dir=$(sdx bash -c 'stat -c "%U %a" /var/lib/libvirt/qemu/channel/target/domain-*-augur-deb-vm')
    sdx virsh -q -c qemu:///system destroy augur-deb-vm >/dev/null 2>&1 || true
    augur_it_log "guest: activity reports and balloon stats read under the unit (channel directory: $dir)"
else
    augur_it_log "guest part NOT run: no test guest ($(tail -n 1 "$WORK/guest-build.log" 2>/dev/null || echo 'qemu-system-x86_64 missing'))"
fi

# 6f. upgrade while running: restarted, running the new binary.
old_sum=$(sdx sha256sum "/proc/$mpid/exe" | cut -d' ' -f1)
sdx dpkg -i /augur-deb/augur_3.deb /augur-deb/augur-guest_3.deb >"$WORK/sd-upgrade2.log" 2>&1 ||
    { cat -- "$WORK/sd-upgrade2.log"; augur_it_fail "dpkg -i (upgrade, running) failed"; }
sdx systemctl --quiet is-active augurd.service || augur_it_fail "augurd is not running after the upgrade"
npid=$(sdx systemctl show -p MainPID --value augurd.service)
[[ $npid != "$mpid" && $npid != 0 ]] || augur_it_fail "the upgrade did not restart augurd (MainPID $mpid -> $npid)"
sdx kill -0 "$mpid" 2>/dev/null && augur_it_fail "the old augurd ($mpid) still runs after the upgrade"
[[ $(sdx readlink "/proc/$npid/exe") == /usr/sbin/augurd ]] ||
    augur_it_fail "augurd runs $(sdx readlink "/proc/$npid/exe"), not /usr/sbin/augurd"
new_sum=$(sdx sha256sum "/proc/$npid/exe" | cut -d' ' -f1)
[[ $new_sum == "$(sdx sha256sum /usr/sbin/augurd | cut -d' ' -f1)" && $new_sum != "$old_sum" ]] ||
    augur_it_fail "the running augurd is not the upgraded binary"
sdx tail -c 64 /usr/sbin/augurd | grep -q "augur-deb-test $VERSION+debsh2" ||
    augur_it_fail "/usr/sbin/augurd is not the $VERSION+debsh2 binary"
[[ $(sdx systemctl is-enabled augurd.service || true) == enabled ]] || augur_it_fail "the upgrade disabled augurd"
augur_it_log "upgrade to $VERSION+debsh2 while running: augurd restarted (pid $mpid -> $npid), runs the new binary"

# 6g. remove: stopped.  purge: the enable link and the state go too.
sdx dpkg -r augur augur-guest >"$WORK/sd-remove.log" 2>&1 ||
    { cat -- "$WORK/sd-remove.log"; augur_it_fail "dpkg -r failed under systemd"; }
sdx systemctl --quiet is-active augurd.service && augur_it_fail "augurd still active after dpkg -r"
sdx kill -0 "$npid" 2>/dev/null && augur_it_fail "augurd ($npid) still runs after dpkg -r"
sdx pgrep -x augurd >/dev/null && augur_it_fail "an augurd still runs after dpkg -r: $(sdx pgrep -a -x augurd)"
# Removed, not purged: still enabled, so a reinstall starts it again.
sdx dpkg -i /augur-deb/augur_3.deb >"$WORK/sd-reinstall.log" 2>&1 ||
    { cat -- "$WORK/sd-reinstall.log"; augur_it_fail "dpkg -i (reinstall after remove) failed"; }
sdx systemctl --quiet is-active augurd.service || augur_it_fail "an enabled augurd did not start again on reinstall"
sdx dpkg -r augur >"$WORK/sd-remove2.log" 2>&1 ||
    { cat -- "$WORK/sd-remove2.log"; augur_it_fail "dpkg -r (second) failed under systemd"; }
sdx systemctl --quiet is-active augurd.service && augur_it_fail "augurd still active after the second dpkg -r"
sdx dpkg -P augur augur-guest >"$WORK/sd-purge.log" 2>&1 ||
    { cat -- "$WORK/sd-purge.log"; augur_it_fail "dpkg -P failed under systemd"; }
for f in /etc/systemd/system/multi-user.target.wants/augurd.service /var/lib/augur /etc/augur/augur.conf; do
    sdx test -e "$f" -o -L "$f" && augur_it_fail "$f still there after dpkg -P"
done
augur_it_log "remove: augurd stopped; reinstall: started again (still enabled); purge: enable link, history and conffile gone"
sd_stop
augur_it_log "PASS"
