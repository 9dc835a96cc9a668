"""A Toxiproxy server (scripts/toxiproxy builds it) and its REST API: TCP
proxies whose "toxics" delay, throttle or stall the bytes passing through.

    t = Toxiproxy(binary, "10.77.0.20", prefix=net.prefix("t"), log_path=...).start()
    t.proxy("raft-2", listen="10.77.0.20:7102", upstream="10.77.0.2:7000")
    t.toxic("raft-2", "lat", "latency", {"latency": 50, "jitter": 10})
    t.remove_toxic("raft-2", "lat")
    t.stop()

Toxics (https://github.com/Shopify/toxiproxy#toxics): latency (+ jitter,
ms), bandwidth (KB/s), slow_close, timeout (stop the data; close after
`timeout` ms, never if 0), reset_peer, slicer, limit_data. Each applies to
one direction: "upstream" (client to server) or "downstream"."""
import json
import os
import subprocess
import time
import urllib.error
import urllib.request

from benchlib.drivers import DriverError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def binary(install=True):
    """The toxiproxy-server path (scripts/toxiproxy), built if missing and
    `install`; None if there is none."""
    script = os.path.join(ROOT, "scripts", "toxiproxy")
    r = subprocess.run([script, "install" if install else "path"], capture_output=True, text=True)
    if r.returncode != 0:
        return None
    return r.stdout.strip().splitlines()[-1]


class Toxiproxy:
    def __init__(self, binary_path, host, port=8474, prefix=None, log_path=None):
        self.binary, self.host, self.port = binary_path, host, port
        self.prefix, self.log_path = list(prefix or []), log_path
        self.proc = None
        self._log = None

    def url(self, path):
        return f"http://{self.host}:{self.port}{path}"

    def _call(self, method, path, body=None, timeout_s=10):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url(path), data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout_s) as r:
                text = r.read().decode()
                return json.loads(text) if text.strip() else None
        except urllib.error.HTTPError as e:
            raise DriverError(f"toxiproxy {method} {path}: HTTP {e.code}: {e.read().decode()[:300]}") from None

    def start(self, timeout_s=30):
        self._log = open(self.log_path, "w") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(self.prefix + [self.binary, "-host", self.host, "-port", str(self.port)],
                                     stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self._call("GET", "/version", timeout_s=1)
                return self
            except (OSError, DriverError, ValueError):
                if self.proc.poll() is not None:
                    raise DriverError(f"toxiproxy-server exited {self.proc.returncode}; see {self.log_path}")
                if time.monotonic() > deadline:
                    self.stop()
                    raise DriverError(f"toxiproxy-server not answering on {self.url('/')} in {timeout_s} s")
                time.sleep(0.2)

    def version(self):
        try:
            req = urllib.request.urlopen(self.url("/version"), timeout=5)
            return req.read().decode().strip()
        except OSError:
            return None

    def proxy(self, name, listen, upstream):
        return self._call("POST", "/proxies", {"name": name, "listen": listen, "upstream": upstream,
                                               "enabled": True})

    def toxic(self, proxy, name, kind, attributes, stream="upstream", toxicity=1.0):
        return self._call("POST", f"/proxies/{proxy}/toxics",
                          {"name": name, "type": kind, "stream": stream, "toxicity": toxicity,
                           "attributes": attributes})

    def remove_toxic(self, proxy, name):
        return self._call("DELETE", f"/proxies/{proxy}/toxics/{name}")

    def toxics(self, proxy):
        return self._call("GET", f"/proxies/{proxy}/toxics") or []

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log not in (None, subprocess.DEVNULL):
            self._log.close()
            self._log = None
