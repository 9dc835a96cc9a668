"""A study's recovery runs: under load at a share of the cell's capacity (or
a fixed rate), the leader (the Raft leader, the broker leading the
channel's partition, or the Kafka orderer the peers use first) is killed
and the run measures how the service comes back (benchlib.recovery: the
figures) and what it lost (benchlib.failover: the peers' ack log against
every node's chain)."""
import os
import threading
import time

from benchlib import drivers, failover
from benchlib.record import read_json
from benchlib.recovery import recovery_from_report


class StudyRecovery:
    """The recovery side of a Study (benchlib.study)."""

    def _recovery_run(self, service, capacity, summary, common, keep, channel):
        """One run at recovery.fraction of the capacity in which the leader
        is killed `kill_after_s` after the load starts; peers talk to a node
        that survives. Lost transactions are part of the result here (a
        killed raft leader takes what it had accepted but not replicated;
        clients would resubmit); doubled ones still invalidate the run."""
        r = self.w.recovery
        rate = float(r.rate) if r.rate else max(1.0, round(capacity * r.fraction))
        address = service.survivor_address()
        run_id = self.runner.next_id()
        ack_log = os.path.join(self.out, "runs", run_id, "acks.log")
        killed = {}
        watchers = []

        def elect():
            # While the run goes on: wait for the new leader and give it the
            # orderer's CPUs, as a deployment gives every node its own machine.
            try:
                killed["new_leader"] = service.after_kill()
                killed["new_leader_ms"] = time.time() * 1000.0 - killed["unix_ms"]
            except drivers.DriverError as e:
                killed["elect_error"] = str(e)

        def kill():
            killed["unix_ms"] = time.time() * 1000.0
            try:
                killed["what"] = service.kill_leader()
            except Exception as e:  # noqa: BLE001 (reported, the run goes on)
                killed["error"] = str(e)
                return
            if hasattr(service, "after_kill"):
                t = threading.Thread(target=elect, daemon=True)
                t.start()
                watchers.append(t)
        rec = self.runner.peer_sim(run_id, kind="recovery", rate=rate, window_s=r.window_s,
                                   warmup_max_s=r.warmup_s, service=service, channel=channel, address=address,
                                   action=(r.kill_after_s, kill), fixed_warmup=True, block_times=True,
                                   tolerate_loss=True, drain_s=15, ack_log=ack_log, **common)
        rec.fraction, rec.capacity_used = (r.fraction or None), capacity
        if "error" in killed or "unix_ms" not in killed:
            rec.invalidate(f"the kill failed: {killed.get('error', 'the run ended before it')}")
        else:
            rec.killed, rec.kill_unix_ms = killed.get("what"), killed["unix_ms"]
            try:
                report = read_json(os.path.join(self.out, "runs", rec.run_id, "peer-sim.json"))
            except (OSError, ValueError):
                report = {}
            fig = recovery_from_report(report, rec.kill_unix_ms, rate, r.full_rate)
            rec.first_block_ms, rec.recovery_ms = fig["first_block_ms"], fig["recovery_ms"]
            rec.silence_ms, rec.full_rate_ms = fig["silence_ms"], fig["full_rate_ms"]
            rec.resumed_ms, rec.resumed_full_rate_ms = fig["resumed_ms"], fig["resumed_full_rate_ms"]
            rec.blocks_after_kill = fig["blocks_after"]
            if rec.recovery_ms is None:
                rec.invalidate("no block was delivered after the kill (no recovery within the run)")
            for t in watchers:
                t.join(60)
            if "elect_error" in killed:
                rec.invalidate(killed["elect_error"])
            rec.new_leader, rec.new_leader_ms = killed.get("new_leader"), killed.get("new_leader_ms")
            rec.streams = failover.streams_of(report)
            self._ack_check(service, rec, ack_log)
        keep(rec)
        lost = rec.undelivered_acked + rec.never_acked
        summary["recovery"] = {"rate": rate, "run_id": rec.run_id, "killed": rec.killed,
                               "first_block_ms": rec.first_block_ms, "recovery_ms": rec.recovery_ms,
                               "full_rate_ms": rec.full_rate_ms, "resumed_ms": rec.resumed_ms,
                               "resumed_full_rate_ms": rec.resumed_full_rate_ms, "lost": lost, "acked_lost": rec.acked_lost,
                               "chains_agree": (rec.ack_check or {}).get("replicas_agree"), "valid": rec.valid}
        self.log(f"  recovery at {rate:,.0f} tx/s: killed {rec.killed}; first block {_ms(rec.first_block_ms)}, "
                 f"blocks flowing again {_ms(rec.resumed_ms)} (full rate {_ms(rec.resumed_full_rate_ms)}), "
                 f"first after the longest silence {_ms(rec.recovery_ms)} (full rate {_ms(rec.full_rate_ms)}), "
                 f"{lost:,} transaction(s) neither answered nor delivered, "
                 f"{'?' if rec.acked_lost is None else f'{rec.acked_lost:,}'} answered SUCCESS and in no chain"
                 + ("" if rec.valid else f" INVALID: {rec.invalid_reason}"))

    def _ack_check(self, service, rec, ack_log):
        """The run's ack log against every node's chain, the killed one's as
        far as it got (benchlib.failover): what was answered SUCCESS and is
        in no chain is the run's acknowledged-then-lost; doubled
        transactions, chains that do not hash, or replicas that disagree on
        their common prefix invalidate it."""
        run_dir = os.path.join(self.out, "runs", rec.run_id)
        exports, problems = service.export(self.runner.bin["ledger"], run_dir, "chain")
        if problems or not exports:
            rec.invalidate("; ".join(problems) or "no chain to check the ack log against")
            return
        try:
            rec.ack_check = failover.check_acks([ack_log], exports)
        except OSError as e:
            rec.invalidate(f"the ack check could not read its files: {e}")
            return
        finally:
            for path in exports.values():   # large, and the verdict is recorded
                os.remove(path)
        rec.acked_lost = rec.ack_check["acknowledged_missing"]
        if rec.ack_check["violations"]:
            rec.invalidate("ack check: " + "; ".join(rec.ack_check["violations"]))


def _ms(v):
    return "n/a" if v is None else f"{v:,.0f} ms"
