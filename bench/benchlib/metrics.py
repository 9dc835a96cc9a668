"""The orderer's own /metrics, sampled once a second through a run.

A run keeps the series (`runs/<id>/metrics.csv.gz`: unix_time, series,
value; a row only when a series' value changed, so read it forward-filled)
and a summary of its measured window in the run's record
(`orderer_metrics`), computed with the arithmetic of the Grafana
dashboard's queries (rate() of counters, histogram_quantile() of bucket
increases), so a study's report and the dashboard show the same figures.

Parsing is prometheus_client's text-format parser. The scrape itself costs
the orderer a render of its registry each second (well under 1 ms here)."""
import csv
import gzip
import math
import re
import threading
import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

# The line the orderer logs when its metrics endpoint is up (orderer/node.cc).
LISTEN_LINE = re.compile(r"metrics on http://[^:/\s]+:(\d+)/metrics")


def port_from_log(text):
    """The metrics port an orderer's log announces, or None."""
    m = LISTEN_LINE.search(text or "")
    return int(m.group(1)) if m else None


def series_key(name, labels):
    if not labels:
        return name
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def split_key(key):
    """(name, labels) of a series key."""
    if "{" not in key:
        return key, {}
    name, rest = key.split("{", 1)
    labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', rest[:-1]))
    return name, labels


def parse(text):
    """{series key: value} of one exposition (every sample, buckets too)."""
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[series_key(s.name, s.labels)] = float(s.value)
    return out


def scrape(url, timeout_s=2.0):
    with urllib.request.urlopen(url, timeout=timeout_s) as r:
        return parse(r.read().decode())


class Sampler:
    """Scrapes `url_fn()` (the URL of the node that cuts blocks now, or None)
    every `interval_s` on a thread, as a context manager. Samples are
    (unix time, source url, {series: value}); a failed scrape is counted
    and skipped."""

    def __init__(self, url_fn, interval_s=1.0):
        self.url_fn, self.interval_s = url_fn, interval_s
        self.samples, self.failures = [], 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._take()  # the counters as the run ended
        return False

    def _take(self):
        url = self.url_fn()
        if not url:
            return
        try:
            values = scrape(url)
        except (OSError, ValueError):
            self.failures += 1
            return
        self.samples.append((time.time(), url, values))

    def _loop(self):
        next_t = time.monotonic()
        while not self._stop.is_set():
            self._take()
            next_t += self.interval_s
            self._stop.wait(max(0.0, next_t - time.monotonic()))

    def write(self, path):
        """The series, one row per change (forward-fill to read)."""
        if not self.samples:
            return False
        last = {}
        with gzip.open(path, "wt", newline="") as f:
            w = csv.writer(f)
            w.writerow(["unix_time", "series", "value"])
            for t, url, values in self.samples:
                if url != last.get("__source__"):
                    last = {"__source__": url}  # another node: write everything again
                for k in sorted(values):
                    if last.get(k) != values[k]:
                        w.writerow([f"{t:.3f}", k, repr(values[k])])
                        last[k] = values[k]
        return True


def read_series(path):
    """[(unix time, {series: value})] from a written series, forward-filled."""
    rows, cur, t_cur = [], {}, None
    with gzip.open(path, "rt", newline="") as f:
        r = csv.reader(f)
        next(r, None)
        for t, key, value in r:
            t = float(t)
            if t_cur is not None and t != t_cur:
                rows.append((t_cur, dict(cur)))
            t_cur = t
            cur[key] = float(value)
    if t_cur is not None:
        rows.append((t_cur, dict(cur)))
    return rows


def total(values, name, **match):
    """sum() of a family's series whose labels include `match`."""
    s = 0.0
    for k, v in values.items():
        n, labels = split_key(k)
        if n == name and all(labels.get(a) == b for a, b in match.items()):
            s += v
    return s


def histogram_quantile(q, buckets):
    """Prometheus's histogram_quantile over {le: cumulative count}: linear
    interpolation inside the bucket holding the rank; the +Inf bucket gives
    the highest finite bound. NaN without observations."""
    bs = sorted(buckets.items(), key=lambda kv: kv[0])
    if not bs or bs[-1][0] != math.inf or bs[-1][1] <= 0:
        return math.nan
    rank = q * bs[-1][1]
    prev_le, prev_count = 0.0, 0.0
    for i, (le, count) in enumerate(bs):
        if count >= rank:
            if le == math.inf:
                return bs[i - 1][0] if i > 0 else math.nan
            if i == 0 and le <= 0:
                return le
            if count == prev_count:
                return le
            return prev_le + (le - prev_le) * (rank - prev_count) / (count - prev_count)
        prev_le, prev_count = le, count
    return math.nan


def bucket_increase(v0, v1, name):
    """{le: increase} of a histogram's buckets (summed over its other labels)."""
    out = {}
    for values, sign in ((v1, 1.0), (v0, -1.0)):
        for k, v in values.items():
            n, labels = split_key(k)
            if n == name + "_bucket":
                le = float(labels["le"])
                out[le] = out.get(le, 0.0) + sign * v
    return out


def window(samples, t_from, t_to):
    """The run's measured window as the dashboard would show it: from the
    first sample at or after t_from to the last at or before t_to, all from
    one node (a recovery run whose leader changed has no summary). None
    when fewer than two samples fall in it."""
    inside = [(t, url, v) for t, url, v in samples if t_from <= t <= t_to]
    if len(inside) < 2 or len({url for _, url, _ in inside}) > 1:
        return None
    (ta, _, a), (tb, _, b) = inside[0], inside[-1]
    dt = tb - ta
    if dt <= 0:
        return None

    def inc(name, **match):
        return total(b, name, **match) - total(a, name, **match)

    def q(name, quantile, scale):
        x = histogram_quantile(quantile, bucket_increase(a, b, name))
        return None if math.isnan(x) else round(x * scale, 3)

    ordered = inc("orderer_transactions_ordered_total")
    blocks = inc("ledger_blockstorage_commit_time_count")
    lags = [total(v, "consensus_kafka_consumer_lag") for _, _, v in inside
            if any(k.startswith("consensus_kafka_consumer_lag") for k in v)]
    return {
        "seconds": round(dt, 3),
        "samples": len(inside),
        "ordered_tps": round(ordered / dt, 1),
        "blocks": int(blocks),
        "txs_per_block": round(ordered / blocks, 1) if blocks else None,
        "rejected": int(inc("orderer_transactions_rejected_total")),
        "cut_reasons": {r: int(inc("orderer_blocks_cut_total", reason=r))
                        for r in sorted({split_key(k)[1].get("reason") for k in b
                                         if k.startswith("orderer_blocks_cut_total{")} - {None})
                        if inc("orderer_blocks_cut_total", reason=r)},
        "block_fill_p50_ms": q("blockcutter_block_fill_duration", 0.5, 1e3),
        "block_fill_p99_ms": q("blockcutter_block_fill_duration", 0.99, 1e3),
        "verify_p50_us": q("orderer_signature_verify_duration_seconds", 0.5, 1e6),
        "verify_p99_us": q("orderer_signature_verify_duration_seconds", 0.99, 1e6),
        "write_p50_ms": q("ledger_blockstorage_commit_time", 0.5, 1e3),
        "write_p99_ms": q("ledger_blockstorage_commit_time", 0.99, 1e3),
        "deliver_send_p99_ms": q("deliver_block_send_duration_seconds", 0.99, 1e3),
        "cpu_cores": round(inc("process_cpu_seconds_total") / dt, 3),
        "consumer_lag_max": max(lags) if lags else None,
    }
