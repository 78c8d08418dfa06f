#!/usr/bin/env python3
"""tests/integration/qmp_client.py: the pve tests' own QMP client.

What it is: a yardstick independent of augurd (whose rows and QMP code are
what is under test).  Standard library only.  Subcommands:

  cmd SOCKET COMMAND [ARGS_JSON]
      One session: greeting, qmp_capabilities, COMMAND, print its "return"
      as JSON on stdout.  Exit 1 with QEMU's error on stderr.

  sample SOCKET NAME OUT [--ppid PID]
      Every 1 s (absolute schedule) on one session kept open (SOCKET is a
      monitor of the test's own, not the one augurd uses): query-balloon
      and qom-get guest-stats of /machine/peripheral/balloon0, appended to
      OUT as balloon-lib.sh's sampler writes them:
        HOST_TS NAME CURRENT_KIB USABLE_KIB AVAILABLE_KIB LAST_UPDATE
      ("-" for what the guest has not reported; usable is
      stat-available-memory and available stat-total-memory, as libvirt
      names them).  HOST_TS is the host clock when the answers came back.
      Stops when PID (the test's shell) is gone or on SIGTERM.

  limits SOCKET DEVICE OUT [--ppid PID]
      As sample, every 1 s: query-block, and DEVICE's (a drive id,
      "drive-virtio0") total byte-rate limit appended to OUT:
        HOST_TS BPS
      ("-" when the device or its medium is not there).

  greeting SOCKET COUNT INTERVAL_MS OUT
      COUNT times, INTERVAL_MS apart: connect, time until the greeting
      line arrives (connect-to-greeting latency: how long another client
      kept this one waiting), then qmp_capabilities and query-status, as
      qm or pvestatd would, and close.  One latency in ms per line to
      OUT, then a summary on stdout:
        GREETING n=N max_ms=M p99_ms=P p50_ms=Q over100=K failed=F
      A try that gets no greeting within 5 s counts as failed (and as
      5000 ms).

What it is not: a QMP library.  It speaks just enough QMP for the above.
"""
import json
import os
import signal
import socket
import sys
import time


class Qmp:
    def __init__(self, path, timeout=5.0):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b""
        self.n = 0

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise ConnectionError("QMP connection closed")
            self.buf += chunk
        ln, self.buf = self.buf.split(b"\n", 1)
        return json.loads(ln)

    def greeting(self):
        g = self.line()
        if "QMP" not in g:
            raise ValueError("not a QMP greeting: %r" % g)
        return g

    def execute(self, command, args=None):
        self.n += 1
        msg = {"execute": command, "id": "t%d" % self.n}
        if args is not None:
            msg["arguments"] = args
        self.s.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            r = self.line()
            if "event" in r:
                continue
            if r.get("id") != msg["id"]:
                raise ValueError("reply without our id: %r" % r)
            if "error" in r:
                raise RuntimeError("%s: %s" % (command, r["error"].get("desc")))
            return r.get("return")

    def open(self):
        self.greeting()
        self.execute("qmp_capabilities")
        return self

    def close(self):
        self.s.close()


def cmd(path, command, args_json=None):
    q = Qmp(path).open()
    try:
        r = q.execute(command, json.loads(args_json) if args_json else None)
    except RuntimeError as e:
        print(e, file=sys.stderr)
        return 1
    finally:
        q.close()
    print(json.dumps(r))
    return 0


def every_second(path, out, ppid, line):
    """Call line(q) on one kept session every 1 s (absolute schedule) and
    append what it returns to out, until ppid is gone or SIGTERM."""
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    q = None
    nxt = time.monotonic()
    with open(out, "a", buffering=1) as f:
        while not stop and (ppid is None or os.path.exists("/proc/%d" % ppid)):
            try:
                if q is None:
                    q = Qmp(path).open()
                f.write(line(q))
            except (OSError, ValueError, RuntimeError) as e:
                print("qmp_client: %s" % e, file=sys.stderr)
                if q is not None:
                    q.close()
                q = None
            nxt += 1.0
            now = time.monotonic()
            while nxt <= now:
                nxt += 1.0
            time.sleep(nxt - now)
    return 0


def sample(path, name, out, ppid):
    def line(q):
        cur = q.execute("query-balloon").get("actual")
        gs = q.execute("qom-get", {"path": "/machine/peripheral/balloon0",
                                   "property": "guest-stats"})
        t = time.time()
        st = gs.get("stats", {}) if gs.get("last-update") else {}

        def kib(key):
            v = st.get(key)
            return "-" if v is None or v < 0 else str(v // 1024)
        return "%.6f %s %s %s %s %s\n" % (
            t, name, "-" if cur is None else cur // 1024,
            kib("stat-available-memory"), kib("stat-total-memory"),
            gs.get("last-update") or "-")
    return every_second(path, out, ppid, line)


def limits(path, device, out, ppid):
    def line(q):
        bps = "-"
        for b in q.execute("query-block"):
            if b.get("device") == device and "inserted" in b:
                bps = str(b["inserted"].get("bps", "-"))
        return "%.6f %s\n" % (time.time(), bps)
    return every_second(path, out, ppid, line)


def greeting(path, count, interval_ms, out):
    lat = []
    failed = 0
    with open(out, "w") as f:
        for _ in range(count):
            t0 = time.monotonic()
            q = None
            try:
                q = Qmp(path, timeout=5.0)
                q.greeting()
                ms = (time.monotonic() - t0) * 1000.0
                q.execute("qmp_capabilities")
                q.execute("query-status")
            except (OSError, ValueError, RuntimeError) as e:
                print("qmp_client greeting: %s" % e, file=sys.stderr)
                failed += 1
                ms = 5000.0
            finally:
                if q is not None:
                    q.close()
            lat.append(ms)
            f.write("%.3f\n" % ms)
            time.sleep(interval_ms / 1000.0)
    s = sorted(lat)

    def pct(p):
        return s[min(len(s) - 1, int(len(s) * p / 100.0))]
    print("GREETING n=%d max_ms=%.1f p99_ms=%.1f p50_ms=%.1f over100=%d failed=%d" % (
        len(s), s[-1], pct(99), pct(50), sum(1 for x in s if x > 100.0), failed))
    return 0


def main(argv):
    if len(argv) >= 3 and argv[1] == "cmd":
        return cmd(argv[2], argv[3], argv[4] if len(argv) > 4 else None)
    if len(argv) >= 5 and argv[1] == "sample":
        ppid = None
        if len(argv) == 7 and argv[5] == "--ppid":
            ppid = int(argv[6])
        return sample(argv[2], argv[3], argv[4], ppid)
    if len(argv) in (5, 7) and argv[1] == "limits":
        ppid = int(argv[6]) if len(argv) == 7 and argv[5] == "--ppid" else None
        return limits(argv[2], argv[3], argv[4], ppid)
    if len(argv) == 6 and argv[1] == "greeting":
        return greeting(argv[2], int(argv[3]), int(argv[4]), argv[5])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
