"""A study run: a workload on a driver, placed, calibrated, repeated in a
seeded random order, resumable.

Output folder:
  study.json      the workload as run (after its preset), driver, placement,
                  seed and per-repetition order, the pinned commit
  env.json        machine and versions (env-resume-N.json per resume)
  calibration.json  the machine micro-benchmark at the start and the end
  runs.jsonl      one RunResult per run, appended as each ends
  cells.jsonl     one line per finished (cell, repetition): its capacity
                  search's outcome and whether its chain verified
  series.jsonl    the per-second series (and block times) of the runs the
                  report draws or recomputes, folded from runs/ by the report
  runs/<id>/      each run's peer-sim report and log, orderer log, CPU series
  cells/<cell>-repN/  each cell run's orderer logs and metrics
  report.md, *.png  written from the files above (bench report rebuilds them)

The summaries (study.json, env*.json, calibration.json, runs.jsonl,
cells.jsonl, series.jsonl, tune.json, report.md, NOTE.md, the plots) are
what a results folder in git keeps; runs/ and cells/ are the raw data a
rerun makes again.

The work is split by what it touches: the folder (study_files), the
brokers and their warm-up (study_session), calibrations
(study_calibrate), one cell and repetition (study_cells: see there for
what a cell run does) and recovery runs (study_recovery)."""
import dataclasses
import json
import os
import time

from benchlib import drivers, placement, workload as wl
from benchlib.study_calibrate import StudyCalibration
from benchlib.study_cells import StudyCells
from benchlib.study_files import StudyFiles, reference_capacities, sitting_seed  # noqa: F401 (study.sitting_seed, ...)
from benchlib.study_recovery import StudyRecovery
from benchlib.study_session import StudySession


class StudyStopped(Exception):
    """A STOP file asked the study to end after the current cell."""


class Study(StudyFiles, StudySession, StudyCalibration, StudyCells, StudyRecovery):
    def __init__(self, root, workload, driver, args, log=print):
        self.root, self.w, self.driver, self.a, self.log = root, workload, driver, args, log
        self.out = args.out
        self.records = []
        self.cells_done = {}          # (cell, rep) -> cell record
        self.roles_cpus = placement.plan(args.placement)
        self.reference = self._reference_capacities()  # cell -> {capacity, n, study}: latency.capacity_from
        self.brokers = None
        self.runner = None
        self.session_runs = 0
        self._drivers = {}

    def meta(self):
        return {"study": self.w.name, "workload": os.path.relpath(self.w.path, self.root) if self.w.path else None,
                "preset": self.w.preset, "description": self.w.description, "driver": self.driver["name"],
                "brokers": self.driver["brokers"], "placement": self.a.placement,
                "roles_cpus": {r: placement.cpu_list(c) for r, c in self.roles_cpus.items()},
                "seed": self.w.seed, "repetitions": self.w.repetitions,
                "order": [{"repetition": rep, "cells": names} for rep, names in self.w.plan()],
                "cells": [dataclasses.asdict(c) for c in self.w.cells],
                "effective": {c.name: wl.effective(c, self.w.block) for c in self.w.cells},
                "capacity": dataclasses.asdict(self.w.capacity), "latency": dataclasses.asdict(self.w.latency),
                "warmup": dataclasses.asdict(self.w.warmup), "calibrate": dataclasses.asdict(self.w.calibrate),
                "block": self.w.block, "design": self.w.design, "factors": self.w.factors, "base": self.w.base,
                "raw_baseline": self.w.raw_baseline, "notes": self.w.notes,
                **({"drivers": {c.name: self.driver_for(c) for c in self.w.cells},
                    "recovery": dataclasses.asdict(self.w.recovery)}
                   if any(c.driver for c in self.w.cells) or self.w.recovery.fraction or self.w.recovery.rate
                   else {})}

    def driver_for(self, cell):
        """The driver mapping a cell runs on: its own, or the study's."""
        if not cell.driver:
            driver = self.driver
        else:
            if cell.driver not in self._drivers:
                self._drivers[cell.driver] = drivers.load_driver(cell.driver)
            driver = self._drivers[cell.driver]
        return dict(driver, ack=cell.ack) if cell.ack else driver

    def run(self, kafka_version):
        finished = False
        try:
            self.open_session(kafka_version)
            total = sum(len(names) for _, names in self.w.plan())
            done = len(self.cells_done)
            if done:
                self.log(f"resuming {self.out}: {done} of {total} cells done")
            t_start, first_done = time.monotonic(), done
            for rep, names in self.w.plan():
                for order, name in enumerate(names, 1):
                    if (name, rep) in self.cells_done:
                        continue
                    if self._stop_requested():
                        raise StudyStopped()
                    done += 1
                    self.log(f"[{done}/{total}] {name} rep {rep}")
                    self.run_cell(self.w.cell(name), rep, order)
                    left = (time.monotonic() - t_start) / (done - first_done) * (total - done)
                    self.log(f"[{done}/{total}] done; ~{left / 60:.0f} min left")
            finished = True
        finally:
            if self.runner:
                self.close_session(finished)

    def _stop_requested(self):
        stop = self._path("STOP")
        if os.path.exists(stop):
            os.remove(stop)
            self.log("STOP file found: stopping before the next cell; --resume continues")
            return True
        return False

    def _record(self, rec):
        self.records.append(json.loads(rec.to_json()))
        self._append("runs.jsonl", rec.to_json())

    def _settings_for(self, cell):
        eff = wl.effective(cell, self.w.block)
        return eff
