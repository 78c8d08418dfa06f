/* resize-controller.c — the resize loop's second-controller judge: is
 * something else moving a guest's balloon?  If so augur holds the guest,
 * then yields it.  resize.c judges every VM once per tick
 * (augur_resize_judge_controller), holds the plan of one that is held
 * before and after arbitration (augur_resize_hold_for_other_controller),
 * and never actuates it (augur_resize_held); the per-VM state is
 * ResizeVm's SECOND CONTROLLER fields (resize-private.h).
 *
 * SECOND CONTROLLER.  Something else may move a guest's balloon: MoM,
 * Proxmox's pvestatd, an admin's `virsh setmem`.  Two controllers fight,
 * so augur notices and yields: it stops actuating that guest (no balloon
 * and no vCPU change; its rows carry the veto other-controller and a
 * note), logs it once, and exports augur_guest_yielded{domain,uuid} = 1
 * (metrics.h).  A change of the guest's augur policy metadata (its
 * METADATA event in augur's namespace, e.g. `virt-augur policy G --set
 * mode=act`) takes it back: augur forgets its old target and acts again.
 * The yield lasts for augurd's run (it is not stored).
 *
 * The rule, judged once per tick (balloon_foreign()) on balloon.current:
 * libvirt's own figure for the domain's current memory, the value `virsh
 * setmem` and every BALLOON_CHANGE event move, not the guest's MemTotal
 * (its stats report, late and off by the kernel's reservation).  A tick's
 * balloon is FOREIGN when all of these hold:
 *   - augur has set a target on the guest (set_target_kib) since augurd
 *     first saw it (or since it was taken back): before that augur has
 *     nothing to compare with and never yields;
 *   - the balloon is farther than FOREIGN_TOLERANCE_KIB (QEMU's 4 KiB page
 *     rounding, the guest's balloon batches and a landed balloon's
 *     wobble) from augur's target, and outside the way there: the span
 *     from where the balloon was when augur set that target (and any
 *     earlier target of augur's still being reached then) to the target.
 *     Augur's pending change is that span: a slow landing stays in it.
 *     Once the balloon has reached the target the span is the target;
 *   - it is not the guest deflating its own balloon: on a guest with
 *     <memballoon autodeflate='on'> a balloon ABOVE augur's target is the
 *     guest's doing (the memory guard's DEFLATED event, mem-guard.h), never
 *     a second controller; below it is judged as on any guest;
 *   - it is not a guest reboot: a reset guest's balloon driver starts
 *     empty (the balloon at the <memory> maximum) and inflates back to
 *     augur's target; a balloon within tolerance of the maximum is taken
 *     as that, and the way back down from it is on the way.
 * A foreign tick holds the guest at once (no actuation, the row says
 * other-controller, "suspected"), so that augur does not overwrite the
 * other controller's target before it is sure; so does a tick on which a
 * balloon that had reached augur's target moved DRIFT_KIB farther off it,
 * still within tolerance (the first second of a setmem: a real guest's
 * balloon showed 1 MiB of it, and augur set its own target back over the
 * admin's).  For the same reason augur never sends again a target the
 * balloon has reached and sits at.  The guest is yielded when
 * FOREIGN_TICKS (2) consecutive ticks are foreign and the balloon is not
 * coming back toward augur's target between them (a balloon that moves
 * back toward it is still landing: a reboot's inflation, a late landing);
 * a tick that is not foreign ends the suspicion and augur goes on.
 */
#include "config.h"

#include "resize-private.h"
#include "augur-log.h"

/* Consecutive foreign ticks before augur yields (SECOND CONTROLLER). */
#define FOREIGN_TICKS 2
/* A landed balloon that moves this much farther off augur's target within
 * a tick is held for that tick (SECOND CONTROLLER), KiB. */
#define DRIFT_KIB 512.0

/* Is the guest held for another controller this tick (yielded, or
 * suspected)? */
gboolean
augur_resize_held (const ResizeVm *vm)
{
        return vm->yielded || vm->foreign_ticks > 0 || vm->drifting;
}

/* SECOND CONTROLLER (the top of this file): is the balloon, cur KiB, where
 * augur's own changes do not explain it?  max is the <memory> maximum
 * (NAN = unknown).  Moves the explained span on: to the target once it
 * is reached, up to the maximum after a guest reset. */
static gboolean
balloon_foreign (ResizeVm *vm, double cur, double max)
{
        const double tol = FOREIGN_TOLERANCE_KIB;

        if (isnan (vm->set_target_kib) || isnan (cur))
                return FALSE;
        if (fabs (cur - vm->set_target_kib) <= tol) {
                vm->way_lo_kib = vm->way_hi_kib = vm->set_target_kib;
                return FALSE;
        }
        if (!isnan (vm->way_lo_kib) && cur >= vm->way_lo_kib - tol && cur <= vm->way_hi_kib + tol)
                return FALSE;           /* on its way to augur's target */
        if (vm->autodeflate && cur > vm->set_target_kib)
                return FALSE;           /* the guest deflated it itself */
        if (!isnan (max) && cur >= max - tol && max > vm->set_target_kib) {
                /* A guest reset: its driver starts with an empty balloon
                 * and inflates back down to augur's target. */
                vm->way_lo_kib = isnan (vm->way_lo_kib) ? vm->set_target_kib : vm->way_lo_kib;
                vm->way_hi_kib = MAX (isnan (vm->way_hi_kib) ? cur : vm->way_hi_kib, cur);
                return FALSE;
        }
        return TRUE;
}

/* Judge this tick's balloon (SECOND CONTROLLER): count foreign ticks,
 * yield after FOREIGN_TICKS in a row that are not coming back toward
 * augur's target, and say so once. */
void
augur_resize_judge_controller (AugurResize *r, ResizeVm *vm, const AugurDomainSample *s)
{
        double cur = gauge (s, AUGUR_STAT_BALLOON_CURRENT_KIB);
        double max = gauge (s, AUGUR_STAT_BALLOON_MAXIMUM_KIB);

        gboolean landed = !isnan (vm->set_target_kib) && vm->way_lo_kib == vm->set_target_kib &&
                          vm->way_hi_kib == vm->set_target_kib;
        double seen = vm->cur_seen_kib;

        vm->cur_seen_kib = cur;
        vm->drifting = FALSE;
        if (vm->yielded)
                return;
        if (r->no_yield || !balloon_foreign (vm, cur, max)) {
                /* Still within tolerance, but leaving a target it had
                 * reached: the start of another controller's move, or
                 * nothing.  Hold this tick rather than set augur's target
                 * over the other one. */
                vm->drifting = !r->no_yield && landed && !isnan (seen) && !isnan (cur) &&
                               fabs (cur - vm->set_target_kib) <= FOREIGN_TOLERANCE_KIB &&
                               fabs (cur - vm->set_target_kib) >= fabs (seen - vm->set_target_kib) + DRIFT_KIB &&
                               !(vm->autodeflate && cur > vm->set_target_kib);
                vm->foreign_ticks = 0;
                vm->foreign_kib = NAN;
                return;
        }
        /* Coming back toward augur's target since the last foreign tick:
         * still landing (a reboot's inflation), not yet evidence. */
        if (vm->foreign_ticks > 0 && !isnan (vm->foreign_kib) &&
            fabs (cur - vm->set_target_kib) < fabs (vm->foreign_kib - vm->set_target_kib) - FOREIGN_TOLERANCE_KIB)
                vm->foreign_ticks = 1;
        else
                vm->foreign_ticks++;
        vm->foreign_kib = cur;
        if (vm->foreign_ticks < FOREIGN_TICKS)
                return;
        vm->yielded = TRUE;
        augur_log (G_LOG_LEVEL_WARNING, vm->name, "yield", augur_veto_name (AUGUR_VETO_OTHER_CONTROLLER),
                   vm->set_target_kib, cur,
                   "guest %s: its balloon is at %.0f MiB, not the %.0f MiB augur set nor on the way there, "
                   "for %d ticks: something else controls it (virsh setmem, MoM, pvestatd); augur yields "
                   "and only observes it (no balloon or vCPU change) until its augur policy changes "
                   "(`virt-augur policy %s --set mode=act` takes it back)",
                   vm->name, cur / 1024, vm->set_target_kib / 1024, vm->foreign_ticks, vm->name);
}

/* A guest held for another controller (yielded, or suspected this tick):
 * its plan keeps what it has, the row says why.  Before arbitration (what
 * it asks of the host is what it holds) and again after (arbitration
 * must not move it either); the note replaces arbitration's, moot here. */
/* The plan keeps the balloon where it is, for veto's reason. */
static void
keep_balloon (Work *w, AugurVeto veto)
{
        w->plan.mem_target_kib = w->in.mem_alloc_kib;
        w->plan.mem_extra_kib = 0;
        w->plan.mem_need_kib = w->in.mem_alloc_kib;
        w->plan.mem_reason = AUGUR_REASON_NONE;
        w->plan.mem_veto = veto;
}

void
augur_resize_hold_for_other_controller (Work *w)
{
        ResizeVm *vm = w->vm;

        if (!augur_resize_held (vm)) {
                if (vm->balloon_owner) {
                        keep_balloon (w, AUGUR_VETO_BALLOON_OWNED);
                        g_snprintf (w->row.note, sizeof w->row.note,
                                    "the balloon is moved by %s: augur leaves it alone", vm->balloon_owner);
                }
                return;
        }
        keep_balloon (w, AUGUR_VETO_OTHER_CONTROLLER);
        w->plan.vcpus_target = w->in.vcpus_online;
        w->plan.cpu_reason = AUGUR_REASON_NONE;
        w->plan.cpu_veto = AUGUR_VETO_OTHER_CONTROLLER;
        g_snprintf (w->row.note, sizeof w->row.note,
                    vm->yielded
                    ? "another controller moved the balloon to %.0f MiB (augur had set %.0f MiB): augur "
                      "yields and only observes; `virt-augur policy %s --set mode=act` takes it back"
                    : "the balloon moved to %.0f MiB, not the %.0f MiB augur set: suspected another "
                      "controller (%s), holding until the next tick says",
                    (vm->yielded ? vm->foreign_kib : w->in.mem_alloc_kib) / 1024, vm->set_target_kib / 1024,
                    vm->name);
}
