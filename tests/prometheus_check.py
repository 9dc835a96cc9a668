#!/usr/bin/python3
"""A real Prometheus scrapes a live end-to-end run; every dashboard query must
return data, and the counters must agree with the ledger.

Usage: prometheus_check.py REPO_ROOT BUILD_DIR

On loopback: the embedded broker, an orderer (kafka backend) and peer-sim,
both with --metrics-listen; Debian's prometheus (2.42) scrapes them every
second. While the peers submit, each PromQL expression of
monitoring/grafana/dashboards/ordering.json is evaluated through
Prometheus's HTTP API ($__rate_interval as 5s) and must return at least one
series with a number. After the run, Prometheus's last scrape must say what
the ledger says: ordered transactions = the ledger's transactions,
height = the ledger's height, and the peers' delivered count = peer-sim's report.
Exit 0 when all hold; 1 listing what failed.
"""
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

ROOT, BUILD = sys.argv[1], sys.argv[2]
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
failures = []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_file(path, seconds, what):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if os.path.exists(path) and os.path.getsize(path) > 0:
            return open(path).read().strip()
        time.sleep(0.1)
    raise SystemExit(f"prometheus_check: {what} did not start within {seconds} s")


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def query(prom_port, expr):
    url = f"http://127.0.0.1:{prom_port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    out = json.loads(http_get(url))
    if out.get("status") != "success":
        raise RuntimeError(f"{expr}: {out}")
    return out["data"]["result"]


def numbers(result):
    vals = []
    for series in result:
        try:
            vals.append(float(series["value"][1]))
        except (KeyError, ValueError, IndexError):
            pass
    return [v for v in vals if not math.isnan(v)]


def main():
    if not os.path.exists(PROMETHEUS):
        raise SystemExit("prometheus_check: no prometheus binary (scripts/setup.sh installs Debian's 'prometheus')")
    dashboard = json.load(open(os.path.join(ROOT, "monitoring", "grafana", "dashboards", "ordering.json")))
    exprs = [(p["title"], t["expr"]) for p in dashboard["panels"] for t in p.get("targets", [])]
    if not exprs:
        raise SystemExit("prometheus_check: the dashboard has no queries")

    run = tempfile.mkdtemp(prefix="prometheus-check-")
    procs = []
    try:
        logs = {}

        def start(name, args):
            logs[name] = open(os.path.join(run, name + ".log"), "w")
            p = subprocess.Popen(args, stdout=logs[name], stderr=subprocess.STDOUT)
            procs.append(p)
            return p

        start("broker", [os.path.join(BUILD, "tools", "embedded-broker"), "--topic", "mychannel",
                         "--bootstrap-file", os.path.join(run, "bootstrap")])
        brokers = wait_file(os.path.join(run, "bootstrap"), 10, "the embedded broker")
        orderer_metrics, peers_metrics, prom_port = free_port(), free_port(), free_port()
        orderer = start("orderer", [os.path.join(BUILD, "orderer", "orderer"), "--brokers", brokers,
                                    "--channel", "mychannel", "--ledger-dir", os.path.join(run, "ledger"),
                                    "--listen", "127.0.0.1:0", "--ready-file", os.path.join(run, "orderer.port"),
                                    "--metrics-listen", f"127.0.0.1:{orderer_metrics}", "--summary-interval", "5s"])
        port = wait_file(os.path.join(run, "orderer.port"), 30, "the orderer")
        if "ledger_blockchain_height" not in http_get(f"http://127.0.0.1:{orderer_metrics}/metrics"):
            failures.append("the orderer's /metrics has no ledger_blockchain_height")

        config = os.path.join(run, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n"
                    f"  - job_name: orderer\n    static_configs:\n      - targets: ['127.0.0.1:{orderer_metrics}']\n"
                    f"  - job_name: peer-sim\n    static_configs:\n      - targets: ['127.0.0.1:{peers_metrics}']\n")
        start("prometheus", [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={run}/tsdb",
                             f"--web.listen-address=127.0.0.1:{prom_port}"])
        deadline = time.time() + 60
        while True:
            try:
                http_get(f"http://127.0.0.1:{prom_port}/-/ready")
                break
            except OSError:
                if time.time() > deadline:
                    raise SystemExit(f"prometheus_check: Prometheus not ready in 60 s; see {run}/prometheus.log")
                time.sleep(0.5)

        report = os.path.join(run, "report.json")
        peers = start("peer-sim", [os.path.join(BUILD, "peer-sim", "peer-sim"), "--brokers", brokers,
                                   "--orderer", f"127.0.0.1:{port}", "--channel", "mychannel", "--rate", "1000",
                                   "--duration", "25s", "--warmup", "2s", "--quiet", "--json", report,
                                   "--metrics-listen", f"127.0.0.1:{peers_metrics}", "--metrics-linger", "3s"])
        time.sleep(18)  # the load is on; every rate window has samples
        for title, expr in exprs:
            q = expr.replace("$__rate_interval", "5s")
            try:
                vals = numbers(query(prom_port, q))
            except (OSError, RuntimeError, ValueError) as e:
                failures.append(f"{title}: {q}: {e}")
                continue
            print(f"  {'ok  ' if vals else 'NONE'} {q} -> {', '.join(f'{v:.4g}' for v in vals[:4]) or 'no data'}")
            if not vals:
                failures.append(f"{title}: {q} returned no number")
        code = peers.wait(timeout=120)
        if code != 0:
            failures.append(f"peer-sim exited {code}; see {run}/peer-sim.log")
        time.sleep(2)  # a last scrape of the orderer's final counters (peer-sim lingered for its own)
        # peer-sim has exited: its series are stale now, so read the last value scraped.
        ordered = numbers(query(prom_port, "last_over_time(orderer_transactions_ordered_total[1m])"))
        height = numbers(query(prom_port, "last_over_time(ledger_blockchain_height[1m])"))
        delivered = numbers(query(prom_port, "last_over_time(peersim_transactions_delivered_total[1m])"))
        orderer.send_signal(signal.SIGTERM)
        if orderer.wait(timeout=60) != 0:
            failures.append(f"the orderer exited {orderer.returncode}; see {run}/orderer.log")
        info = json.loads(subprocess.run([os.path.join(BUILD, "tools", "ledger"), "--path", os.path.join(run, "ledger"),
                                          "verify", "--json"], capture_output=True, text=True).stdout)
        ledger_info = json.loads(subprocess.run([os.path.join(BUILD, "tools", "ledger"), "--path",
                                                 os.path.join(run, "ledger"), "info", "--json"],
                                                capture_output=True, text=True).stdout)
        rep = json.load(open(report))
        print(f"  Prometheus: ordered {ordered}, height {height}, delivered {delivered}; ledger: "
              f"{info['transactions']} transactions, height {ledger_info['height']}; peer-sim delivered {rep['delivered']}")
        if ordered != [float(info["transactions"])]:
            failures.append(f"orderer_transactions_ordered_total {ordered} != the ledger's {info['transactions']} transactions")
        if height != [float(ledger_info["height"])]:
            failures.append(f"ledger_blockchain_height {height} != the ledger's height {ledger_info['height']}")
        if delivered != [float(rep["delivered"])]:
            failures.append(f"peersim_transactions_delivered_total {delivered} != peer-sim's report {rep['delivered']}")
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
    if failures:
        print("prometheus_check: FAILED (logs in " + run + ")")
        for f in failures:
            print("  " + f)
        return 1
    shutil.rmtree(run, ignore_errors=True)
    print(f"prometheus_check: ok ({len(exprs)} dashboard queries answered; counters agree with the ledger)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
