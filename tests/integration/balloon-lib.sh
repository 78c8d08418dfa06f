# shellcheck shell=bash
# tests/integration/balloon-lib.sh: host-side measurements of guest memory
# for the balloon tests, on top of lib.sh.
#
# What it is: what libvirt and the guest console say, recorded from the host
# and independent of augurd (its DB rows are what is under test, so they
# cannot be the yardstick):
#   - a sampler: every 1 s, one `virsh domstats --balloon` call for all the
#     domains of the private libvirtd, one line per domain into a file:
#       HOST_TS NAME CURRENT_KIB USABLE_KIB AVAILABLE_KIB LAST_UPDATE
#     ("-" for a field the guest has not reported).  HOST_TS is the host's
#     clock when virsh RETURNED: the value was read no later than that, so
#     "this sample is ≥ 1 s before the job" is never flattered by the call's
#     own latency.
#   - a console stamper per guest: the host's clock at the moment each
#     AUGUR-* marker or OOM line appears in the guest's console log (tail -F,
#     inotify, no polling), into $AUGUR_IT_DIR/NAME.stamps:
#       HOST_TS LINE
#     Under TCG the guest clock can lag or jump when the host is loaded, and
#     the markers carry whole seconds only; the host stamp is what the
#     balloon samples are compared with.  The guest's own time is kept in
#     the line, so the offset is printed, not assumed.
#   - augur_it_cycles: per-cycle figures from both (awk, see below).
#
# What it is not: a judge.  It prints figures and "ready"/"late" per cycle;
# the test decides what to assert.
#
# Usage (after augur_it_setup):
#   augur_it_stamp_console NAME      # right after augur_it_start_guest
#   augur_it_start_sampler           # samples go to $AUGUR_IT_SAMPLES
#   augur_it_stop_measuring          # stop sampler and stampers (idempotent)
#   augur_it_cycles NAME SIZE_MIB HOLD_S FIRST_CYCLE   # figures, see there
#   augur_it_oom_count NAME          # "Out of memory: Killed process" lines
#   augur_it_budget_check BUDGET_MIB SINCE_TS NAME...  # see there

AUGUR_IT_SAMPLES=
declare -ga AUGUR_IT_BG_PIDS=()
# The test's own shell: background helpers exit when it is gone, even if it
# was SIGKILLed and never ran its EXIT trap.
AUGUR_IT_MAIN_PID=$$

# Microseconds since the epoch from $EPOCHREALTIME (bash 5), no fork.
augur_it__now_us() {
    local t=${EPOCHREALTIME:-}
    if [[ -n $t ]]; then
        printf '%s\n' "${t/[.,]/}"
    else
        date +%s%6N
    fi
}

# ------------------------------------------------------------------ sampler
augur_it__sampler() {
    local out=$1 next now t us
    next=$(augur_it__now_us)
    while kill -0 "$AUGUR_IT_MAIN_PID" 2>/dev/null; do
        # -q: no blank line between domains is promised either way; the
        # awk below keys on "Domain:" lines.
        virsh -q -c "$AUGUR_IT_URI" domstats --balloon 2>/dev/null >"$out.tmp" || :
        t=${EPOCHREALTIME:-$(date +%s.%N)}
        awk -v t="$t" '
            function flush() {
                if (name != "")
                    printf "%s %s %s %s %s %s\n", t, name, cur, usable, avail, lu
                name = ""
            }
            /^Domain: / { flush(); name = $2; gsub(/\047/, "", name)
                          cur = usable = avail = lu = "-"; next }
            { sub(/^[ \t]+/, "") }
            /^balloon\.current=/ { cur = substr($0, 17) }
            /^balloon\.usable=/ { usable = substr($0, 16) }
            /^balloon\.available=/ { avail = substr($0, 19) }
            /^balloon\.last-update=/ { lu = substr($0, 21) }
            END { flush() }' "$out.tmp" >>"$out"
        # An absolute 1 s schedule; a slow call skips slots rather than
        # bunching samples up afterwards.
        now=$(augur_it__now_us)
        next=$((next + 1000000))
        while ((next <= now)); do next=$((next + 1000000)); done
        us=$((next - now))
        sleep "$((us / 1000000)).$(printf '%06d' $((us % 1000000)))"
    done
}

# augur_it_start_sampler: every 1 s, the balloon of every domain of the
# private libvirtd into $AUGUR_IT_SAMPLES ($AUGUR_IT_DIR/balloon.samples).
augur_it_start_sampler() {
    AUGUR_IT_SAMPLES=$AUGUR_IT_DIR/balloon.samples
    : >"$AUGUR_IT_SAMPLES"
    augur_it__sampler "$AUGUR_IT_SAMPLES" </dev/null &
    AUGUR_IT_BG_PIDS+=($!)
}

# ---------------------------------------------------------------- stamper
augur_it__stamper() {
    local log=$1 out=$2 line fd tpid
    # --pid: tail ends within a second of the test's shell, whatever killed
    # it; the loop then sees EOF.  -n +1: lines written before tail opened
    # the file get its start time, so start it right after the guest (jobs
    # come tens of seconds later).  -F: the log may not exist yet.
    exec {fd}< <(exec tail --pid="$AUGUR_IT_MAIN_PID" -n +1 -F -- "$log" 2>/dev/null)
    tpid=$!
    # Stopped with TERM (augur_it_stop_measuring): take tail along.
    trap 'kill -TERM "$tpid" 2>/dev/null; exit 0' TERM
    while IFS= read -r -u "$fd" line; do
        line=${line%$'\r'}
        case $line in
            *AUGUR-*|*'Out of memory'*|*oom-kill*)
                printf '%s %s\n' "${EPOCHREALTIME:-$(date +%s.%N)}" "$line" >>"$out" ;;
        esac
    done
}

# augur_it_stamp_console NAME: host-timestamp NAME's console markers into
# $AUGUR_IT_DIR/NAME.stamps.
augur_it_stamp_console() {
    : >"$AUGUR_IT_DIR/$1.stamps"
    augur_it__stamper "$AUGUR_IT_CHANDIR/$1.console.log" "$AUGUR_IT_DIR/$1.stamps" </dev/null &
    AUGUR_IT_BG_PIDS+=($!)
}

# augur_it_stop_measuring: stop the sampler and the stampers (each stamper
# stops its own tail).
augur_it_stop_measuring() {
    local pid
    for pid in "${AUGUR_IT_BG_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || :
    done
    for pid in "${AUGUR_IT_BG_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || :
    done
    AUGUR_IT_BG_PIDS=()
    [[ -z $AUGUR_IT_SAMPLES ]] || rm -f -- "$AUGUR_IT_SAMPLES.tmp"
}

# augur_it_guest_clock_offset NAME: the guest's clock minus the host's, in
# seconds, through qemu-ga's guest-get-time (nanoseconds) against the
# midpoint of the call; empty if the agent does not answer.  For the log:
# the host stamps above do not depend on it.
augur_it_guest_clock_offset() {
    local h0 h1 r ns
    h0=$EPOCHREALTIME
    r=$(augur_it_virsh qemu-agent-command -- "$1" '{"execute":"guest-get-time"}' 2>/dev/null) || return 0
    h1=$EPOCHREALTIME
    ns=$(sed -n 's/.*"return":\([0-9]*\).*/\1/p' <<<"$r")
    [[ -n $ns ]] || return 0
    awk -v a="$h0" -v b="$h1" -v g="$ns" 'BEGIN { printf "%+.2f\n", g / 1e9 - (a + b) / 2 }'
}

# ------------------------------------------------------------------ figures
# augur_it_oom_count NAME: OOM kills on NAME's console.  The kernel prints
# "Out of memory: Killed process N (comm) ..." at KERN_ERR, which the
# guest's loglevel=4 lets through to ttyS0 (the "invoked oom-killer" and
# "oom-kill:constraint=" lines are warning/info and are not shown).
augur_it_oom_count() {
    local n
    n=$(grep -ac 'Out of memory: Killed process' -- "$AUGUR_IT_CHANDIR/$1.console.log" 2>/dev/null) || n=0
    printf '%s\n' "$n"
}

# augur_it_cycles NAME SIZE_MIB HOLD_S FIRST_CYCLE: one line per job of NAME
# (host-stamped AUGUR-JOB-START), and a last line
#   CYCLES n=N ready=R measured=M oom=K
# counting cycles FIRST_CYCLE..N (1-based) as measured.  Per cycle:
#   at      the job's start, host clock (the guest's own stamp - host: offset)
#   before  balloon.current of the newest sample taken ≥ 1 s before the
#           start (and how long before: a stalled sampler shows here)
#   used    the guest's use in balloon terms just before the job: the median
#           of balloon.current - balloon.usable over the samples of the 5 s
#           ending at that sample (the median, because usable comes from
#           the guest's 1 s stats and lags a balloon move by up to a
#           second, which shows as a one-sample jump of up to one step)
#   need    used + SIZE_MIB; READY when before ≥ need
#   during  the largest and smallest balloon.current while the job ran
#           (start .. start + HOLD_S)
#   oom     OOM lines stamped between this start and the next one
#   rc      the job's exit code from its AUGUR-JOB-END line (137: killed)
augur_it_cycles() {
    local name=$1 size=$2 hold=$3 first=$4
    awk -v name="$name" -v size="$size" -v hold="$hold" -v first="$first" '
        FILENAME == ARGV[1] {  # samples: ts name current usable available lu
            if ($2 != name) next
            ns++; st[ns] = $1; sc[ns] = $3; su[ns] = $4
            next
        }
        /AUGUR-JOB-START/ {   # stamps: ts line
            nj++; js[nj] = $1
            for (i = 2; i <= NF; i++) if ($i == "AUGUR-JOB-START") gts[nj] = $(i + 1)
            next
        }
        /AUGUR-JOB-END/ {
            for (i = 2; i <= NF; i++) if ($i ~ /^rc=/) rc[nj] = substr($i, 4)
            next
        }
        /Out of memory: Killed process/ { oomts[++no] = $1 }
        function mib(k) { return (k == "-" || k == "") ? "-" : sprintf("%d", k / 1024) }
        END {
            ready = 0; measured = 0; ooms = 0
            for (j = 1; j <= nj; j++) {
                t = js[j]
                # newest sample at or before t - 1
                b = 0
                for (i = 1; i <= ns; i++) if (st[i] <= t - 1) b = i
                # median of current - usable over (t_b - 5, t_b]
                n = 0
                if (b > 0)
                    for (i = 1; i <= b; i++)
                        if (st[i] > st[b] - 5 && sc[i] != "-" && su[i] != "-")
                            u[++n] = sc[i] - su[i]
                for (x = 2; x <= n; x++)      # insertion sort, n <= 6
                    for (y = x; y > 1 && u[y - 1] > u[y]; y--) { s = u[y]; u[y] = u[y - 1]; u[y - 1] = s }
                used = (n > 0) ? ((n % 2) ? u[(n + 1) / 2] : (u[n / 2] + u[n / 2 + 1]) / 2) : -1
                need = (used >= 0) ? used + size * 1024 : -1
                before = (b > 0) ? sc[b] : "-"
                ok = (b > 0 && before != "-" && need >= 0 && before + 0 >= need)
                hi = -1; lo = -1
                for (i = 1; i <= ns; i++)
                    if (st[i] >= t && st[i] <= t + hold && sc[i] != "-") {
                        if (hi < 0 || sc[i] > hi) hi = sc[i]
                        if (lo < 0 || sc[i] < lo) lo = sc[i]
                    }
                k = 0
                tn = (j < nj) ? js[j + 1] : 1e18
                for (i = 1; i <= no; i++) if (oomts[i] >= t && oomts[i] < tn) k++
                if (j >= first) { measured++; ready += ok; }
                ooms += k
                printf "%s cycle %d: at %.1f (guest clock %+.1f s), before %s MiB (%.1f s before), used %s MiB, need %s MiB -> %s; during %s..%s MiB; oom %d; rc %s%s\n",
                    name, j, t, gts[j] - t, mib(before), (b > 0) ? t - st[b] : -1,
                    (used >= 0) ? mib(used) : "-", (need >= 0) ? mib(need) : "-",
                    ok ? "READY" : "late", (lo >= 0) ? mib(lo) : "-", (hi >= 0) ? mib(hi) : "-",
                    k, (j in rc) ? rc[j] : "?", (j >= first) ? "" : " (warm-up)"
            }
            printf "CYCLES n=%d ready=%d measured=%d oom=%d\n", nj, ready, measured, ooms
        }' "$AUGUR_IT_SAMPLES" "$AUGUR_IT_DIR/$name.stamps"
}

# augur_it_budget_check BUDGET_MIB SINCE_TS NAME...: the sum of the named
# guests' balloon.current per sampler round from host time SINCE_TS on.
# Prints "BUDGET rounds=N over=K max_mib=M" (rounds where every named guest
# was sampled; over: rounds whose sum exceeded BUDGET_MIB).
augur_it_budget_check() {
    local budget=$1 since=$2
    shift 2
    awk -v budget="$budget" -v since="$since" -v names="$*" '
        BEGIN { nn = split(names, want, " "); for (i = 1; i <= nn; i++) w[want[i]] = 1 }
        $1 >= since && ($2 in w) && $3 != "-" { sum[$1] += $3; cnt[$1]++ }
        END {
            rounds = 0; over = 0; max = 0
            for (t in sum) {
                if (cnt[t] != nn) continue
                rounds++
                if (sum[t] > max) { max = sum[t]; tmax = t }
                if (sum[t] > budget * 1024) over++
            }
            printf "BUDGET rounds=%d over=%d max_mib=%.1f at=%s\n", rounds, over, max / 1024, tmax
        }' "$AUGUR_IT_SAMPLES"
}
