"""A study's folder: opened new (study.json written once, pinning the
commit and the seed of the run order) or resumed (the same plan and seed,
the runs of unfinished cells set aside in discarded.jsonl), env.json per
sitting, runs.jsonl and cells.jsonl appended as runs end; and the
capacities a latency-only study reuses from other studies' folders."""
import json
import os
import secrets
import time

from benchlib.record import read_json, read_jsonl, write_json
from benchlib.runner import RunFailed


def sitting_seed(out, resume, given=None):
    """The seed of a study's run order: a resumed study's own (its
    study.json; a --seed that differs is refused), else `given` (--seed),
    else one drawn afresh for this study, so no two studies share an order
    by default."""
    path = os.path.join(out, "study.json") if out else None
    if resume and path and os.path.isfile(path):
        recorded = read_json(path).get("seed")
        if recorded is not None:
            if given is not None and given != recorded:
                raise RunFailed(f"--seed {given}: {out} was run with seed {recorded}, and a resumed study keeps "
                                "its order (leave --seed out)")
            return recorded
    if given is not None:
        if given < 0:
            raise RunFailed(f"--seed must be a whole number >= 0, not {given}")
        return given
    return secrets.randbelow(1 << 31)


class StudyFiles:
    """The folder side of a Study (benchlib.study)."""

    def _path(self, name):
        return os.path.join(self.out, name)

    def _append(self, name, obj_json):
        with open(self._path(name), "a") as f:
            f.write(obj_json + "\n")

    def _open(self, e):
        os.makedirs(self.out, exist_ok=True)
        jsonl = self._path("runs.jsonl")
        meta = self.meta()
        if self.a.resume:
            if not os.path.isfile(self._path("study.json")):
                raise RunFailed(f"--resume: no study.json in {self.out}")
            old = read_json(self._path("study.json"))
            for k in ("study", "preset", "driver", "placement", "seed", "order", "effective"):
                if old.get(k) != meta.get(k):
                    raise RunFailed(f"--resume: {self.out} holds another plan ({k} differs: "
                                    f"{old.get(k)!r:.120} vs {meta.get(k)!r:.120})")
            if old.get("commit") != e.get("git_commit") and not self.a.allow_commit_change:
                raise RunFailed(f"--resume: the study was pinned to commit {old.get('commit')}, this is "
                                f"{e.get('git_commit')}: a study runs one commit (--allow-commit-change to override)")
            meta = old
            self.records = read_jsonl(jsonl)
            for c in read_jsonl(self._path("cells.jsonl")):
                self.cells_done[(c["cell"], c["repetition"])] = c
            # Runs of a cell left half done are set aside, then run again.
            done_keys = set(self.cells_done)
            keep = [r for r in self.records if r["kind"] == "pp" or (r["cell"], r["repetition"]) in done_keys
                    or r["kind"] == "warmup"]
            dropped = [r for r in self.records if r not in keep]
            if dropped:
                with open(self._path("discarded.jsonl"), "a") as f:
                    for r in dropped:
                        f.write(json.dumps(dict(r, discarded="cell unfinished when the study stopped")) + "\n")
                with open(jsonl, "w") as f:
                    for r in keep:
                        f.write(json.dumps(r) + "\n")
                self.log(f"set aside {len(dropped)} run(s) of an unfinished cell (discarded.jsonl)")
            self.records = keep
        elif os.path.exists(jsonl):
            raise RunFailed(f"{self.out} already holds a study's runs: give a new --out, or --resume it")
        else:
            meta["commit"] = e.get("git_commit")
            meta["started_unix"] = time.time()
            write_json(self._path("study.json"), meta)
        n = len([f for f in os.listdir(self.out) if f.startswith("env")])
        name = "env.json" if n == 0 else f"env-resume-{n}.json"
        write_json(self._path(name), dict(e, resumed_at_cell=len(self.cells_done) if n else None))
        return meta

    def _reference_capacities(self):
        if not self.w.latency.capacity_from:
            return {}
        return reference_capacities(self.root, self.w.latency.capacity_from, [c.name for c in self.w.cells])

    def write_meta(self, meta):
        """Rewrites study.json (tune adds its cells as it goes)."""
        old = read_json(self._path("study.json"))
        keep = {k: v for k, v in meta.items() if k not in ("commit", "started_unix")}
        write_json(self._path("study.json"), dict(old, **keep))


def reference_capacities(root, src, cells):
    """Each cell's mean capacity in the study folder `src`, or pooled over
    the folders of a list (relative to `root` unless absolute): its
    searches with a capacity whose chain verified. For a latency-only study
    (latency.capacity_from); a cell several folders measured (the baseline
    of the profiles' vs-* studies) gets the mean of all its searches."""
    folders = [src] if isinstance(src, str) else list(src)
    caps, studies = {}, {}
    for s in folders:
        folder = s if os.path.isabs(s) else os.path.join(root, s)
        path = os.path.join(folder, "cells.jsonl")
        if not os.path.isfile(path):
            raise RunFailed(f"latency.capacity_from: no cells.jsonl in {folder}")
        for c in read_jsonl(path):
            if c.get("capacity") and c.get("ledger_verified") is not False:
                caps.setdefault(c["cell"], []).append(float(c["capacity"]))
                studies.setdefault(c["cell"], [])
                if os.path.relpath(folder, root) not in studies[c["cell"]]:
                    studies[c["cell"]].append(os.path.relpath(folder, root))
    missing = [name for name in cells if name not in caps]
    if missing:
        raise RunFailed(f"latency.capacity_from: {', '.join(folders)} has no capacity for cell(s) "
                        f"{', '.join(missing)}")
    return {name: {"capacity": sum(caps[name]) / len(caps[name]), "n": len(caps[name]),
                   "study": ", ".join(studies[name])} for name in cells}
