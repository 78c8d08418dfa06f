#!/usr/bin/env python3
"""tests/integration/qm-standin.py: a stand-in for Proxmox's `qm set VMID
--vcpus N` and `qm set VMID --description TEXT`, for augur's pve:///?qm=PATH
hook where qemu-server is absent.

--description: the '#' lines of the conf's main section become TEXT's
lines, encoded as PVE::Tools::encode_text does (control and non-ASCII
bytes and ':' as %XX), at the top of the file, as qemu-server writes them.

What it does, as qemu-server's qemu_cpu_hotplug() does it (QEMU >= 2.7):
  - reads VMID.conf in $AUGUR_PVE_CONF_DIR: sockets × cores is the
    maximum, vcpus: (default: the maximum) the count plugged;
  - refuses N outside 1 .. maximum, and a running count (QMP
    query-cpus-fast on $AUGUR_PVE_RUN_DIR/VMID.qmp) that is not vcpus:;
  - up: for each CPU i = current+1 .. N, device_add of the CPU type and the
    socket/core/thread ids of a free slot from query-hotpluggable-cpus,
    with id "cpu<i>" (qemu-server's names); down: device_del "cpu<i>" from
    the top; after each, waits (up to 5 tries, 1 s apart) for
    query-cpus-fast to count i (or i-1), and rewrites vcpus: in the conf
    (write to a temp file, rename), so the conf follows every step;
  - exits 0, or 1 with a message on stderr (qm's own exit codes are not
    imitated).

What it is not: qm.  No locking (pmxcfs), no pending changes, no other
option than --vcpus, no cpu-add for old machine types, no NUMA.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmp_client import Qmp  # noqa: E402


def die(msg):
    print("qm-standin: %s" % msg, file=sys.stderr)
    sys.exit(1)


def read_conf(path):
    conf = {}
    with open(path) as f:
        for line in f:
            if line.startswith("["):
                break
            if ":" in line and not line.startswith("#"):
                k, v = line.split(":", 1)
                conf[k.strip()] = v.strip()
    return conf


def write_vcpus(path, n):
    lines = open(path).read().split("\n")
    out, done, in_main = [], False, True
    for ln in lines:
        if ln.startswith("["):
            if not done:
                out.append("vcpus: %d" % n)
                done = True
            in_main = False
        if in_main and ln.startswith("vcpus:"):
            if not done:
                out.append("vcpus: %d" % n)
                done = True
            continue
        out.append(ln)
    if not done:
        while out and out[-1] == "":
            out.pop()
        out.append("vcpus: %d" % n)
        out.append("")
    tmp = path + ".tmp.%d" % os.getpid()
    with open(tmp, "w") as f:
        f.write("\n".join(out))
    os.rename(tmp, path)


class Monitor:
    """One QMP session per command, as qemu-server's mon_cmd opens one."""

    def __init__(self, path):
        self.path = path

    def execute(self, command, args=None):
        q = Qmp(self.path).open()
        try:
            return q.execute(command, args)
        finally:
            q.close()


def encode_text(line):
    out = []
    for b in line.encode("utf-8"):
        out.append(chr(b) if 0x20 <= b <= 0x7e and b != 0x3a else "%%%02X" % b)
    return "".join(out)


def set_description(path, text):
    lines = open(path).read().split("\n")
    out = ["#" + encode_text(ln) for ln in text.split("\n")] if text else []
    if out and text.endswith("\n"):
        out.pop()
    in_main = True
    for ln in lines:
        if ln.startswith("["):
            in_main = False
        if in_main and ln.startswith("#"):
            continue
        out.append(ln)
    tmp = path + ".tmp.%d" % os.getpid()
    with open(tmp, "w") as f:
        f.write("\n".join(out))
    os.rename(tmp, path)


def wait_count(q, want):
    for _ in range(6):
        n = len(q.execute("query-cpus-fast"))
        if n == want:
            return n
        time.sleep(1)
    die("query-cpus-fast counts %d vCPUs, not %d" % (n, want))


def main(argv):
    if len(argv) != 5 or argv[1] != "set" or argv[3] not in ("--vcpus", "--description"):
        die("usage: qm set VMID --vcpus N | --description TEXT (the only forms this stand-in takes)")
    if argv[3] == "--description":
        if not argv[2].isdigit():
            die("not a number: %s" % argv[2])
        set_description(os.path.join(os.environ["AUGUR_PVE_CONF_DIR"], argv[2] + ".conf"), argv[4])
        return 0
    vmid, want = argv[2], argv[4]
    if not vmid.isdigit() or not want.isdigit():
        die("not a number: %s / %s" % (vmid, want))
    want = int(want)
    conf_path = os.path.join(os.environ["AUGUR_PVE_CONF_DIR"], vmid + ".conf")
    qmp_path = os.path.join(os.environ["AUGUR_PVE_RUN_DIR"], vmid + ".qmp")
    conf = read_conf(conf_path)
    maxcpus = int(conf.get("sockets", 1)) * int(conf.get("cores", 1))
    cur = int(conf.get("vcpus", maxcpus))
    if want < 1 or want > maxcpus:
        die("you can't add more vcpus than maxcpus (%d)" % maxcpus)
    q = Monitor(qmp_path)
    try:
        running = len(q.execute("query-cpus-fast"))
        if running != cur:
            die("vcpus in running vm (%d) does not match its configuration (%d)" % (running, cur))
        for i in range(cur + 1, want + 1):
            free = [c for c in q.execute("query-hotpluggable-cpus") if "qom-path" not in c]
            if not free:
                die("no free CPU slot for cpu%d" % i)
            slot = min(free, key=lambda c: tuple(sorted(c["props"].items())))
            args = {"driver": slot["type"], "id": "cpu%d" % i}
            args.update(slot["props"])
            q.execute("device_add", args)
            write_vcpus(conf_path, wait_count(q, i))
        for i in range(cur, want, -1):
            q.execute("device_del", {"id": "cpu%d" % i})
            write_vcpus(conf_path, wait_count(q, i - 1))
    except (OSError, ValueError, RuntimeError) as e:
        die(str(e))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
