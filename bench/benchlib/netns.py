"""Hosts in network namespaces on one bridge, and network faults between
them made with iproute2 alone (no netem, no iptables).

    with netns.Net({"o1": 1, "o2": 2, "c": 100}) as net:
        subprocess.Popen(net.prefix("o1") + [binary, ...])   # runs on 10.77.0.1
        net.cut("o1", "o2")       # both directions: packets dropped silently
        net.heal("o1", "o2")
        net.isolate("c")          # the host's link down: nobody reaches it
        net.rejoin("c")

Every name this module makes starts with PREFIX: namespaces PREFIX-<host>,
the bridge PREFIX-br, each host's veth PREFIX-<host> on the bridge (eth0
inside). One Net at a time on a machine (a lock file); entering one first
removes whatever a killed earlier run left (processes in those
namespaces killed, namespaces, bridge and links deleted), and leaving it
removes everything it made, however the body ended.

How a path is cut. `drop` (default): inside each end's namespace a route
to the other end's address through a "sink", a veth pair whose far side
is down, with a permanent neighbour entry, so packets leave and vanish, as
on a broken link: connections hang and time out, new connects get no
answer. `reject`: a `prohibit` route instead: the sender's own kernel
refuses at once (EACCES, "permission denied"; no packet leaves), a fault
that fails fast. `isolate` sets the host's veth down on the bridge side:
its own sends are dropped silently (carrier lost) and nothing reaches it.
"""
import fcntl
import os
import signal
import subprocess
import time

PREFIX = "nfx"
SUBNET = "10.77.0"
BRIDGE = f"{PREFIX}-br"
BRIDGE_HOST = 254       # the bridge's own address in the root namespace
SINK_NEIGHBOUR = 250    # the sink's permanent neighbour (no such host exists)
MAX_HOSTS = 8
LOCK = "/run/kafka-ordering-netns.lock"


class NetnsUnavailable(Exception):
    """Namespaces cannot be made here (not root, no CAP_SYS_ADMIN, no ip)."""


def ip(*args, check=True, ns=None):
    cmd = ["ip"] + (["-n", ns] if ns else []) + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {r.stderr.strip() or r.stdout.strip()}")
    return r


def probe():
    """None if network namespaces, veth and bridges can be made; else why not."""
    name = f"{PREFIX}-probe"
    try:
        ip("netns", "del", name, check=False)
        r = ip("netns", "add", name, check=False)
        if r.returncode != 0:
            return f"'ip netns add' is not permitted: {r.stderr.strip()}"
        r = ip("link", "add", "eth9", "type", "veth", "peer", "name", "eth8", ns=name, check=False)
        if r.returncode != 0:
            return f"veth pairs cannot be made: {r.stderr.strip()}"
        return None
    except FileNotFoundError:
        return "iproute2's 'ip' is not installed"
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def our_namespaces():
    r = ip("netns", "list", check=False)
    names = [line.split()[0] for line in r.stdout.splitlines() if line.strip()]
    return [n for n in names if n.startswith(PREFIX + "-")]


def kill_namespace_processes(ns, sig=signal.SIGKILL, wait_s=5.0):
    """Every process in namespace `ns` gets `sig`; waits until they are gone
    (zombies of other parents count as gone)."""
    deadline = time.monotonic() + wait_s
    while True:
        pids = [int(p) for p in ip("netns", "pids", ns, check=False).stdout.split()]
        pids = [p for p in pids if _alive(p)]
        if not pids or time.monotonic() > deadline:
            return pids
        for p in pids:
            try:
                os.kill(p, sig)
            except ProcessLookupError:
                pass
        time.sleep(0.1)


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def cleanup(log=None):
    """Removes everything with our prefix: processes in our namespaces,
    the namespaces, the bridge and any link left in the root namespace."""
    removed = []
    for ns in our_namespaces():
        left = kill_namespace_processes(ns)
        if left:
            raise RuntimeError(f"processes {left} in namespace {ns} do not die")
        ip("netns", "del", ns, check=False)
        removed.append(ns)
    links = ip("-o", "link", "show", check=False).stdout.splitlines()
    for line in links:
        name = line.split(":")[1].strip().split("@")[0]
        if name.startswith(PREFIX + "-"):
            ip("link", "del", name, check=False)
            removed.append(name)
    if removed and log:
        log(f"netns: removed what an earlier run left: {', '.join(removed)}")
    return removed


class Net:
    """Hosts {name: n} (address SUBNET.n, 1..249) on one bridge."""

    def __init__(self, hosts, log=print, lock_timeout_s=600):
        if len(hosts) > MAX_HOSTS:
            raise ValueError(f"at most {MAX_HOSTS} hosts")
        for name, n in hosts.items():
            if not (1 <= n < SINK_NEIGHBOUR) or len(f"{PREFIX}-{name}") > 15:
                raise ValueError(f"host {name}: address .{n} or name too long")
        self.hosts, self.log, self.lock_timeout_s = dict(hosts), log, lock_timeout_s
        self.cuts = {}        # (a, b) sorted -> mode, while cut
        self.isolated = set()
        self.events = []      # (monotonic time, what)
        self.counts = {"cut": 0, "healed": 0, "isolated": 0, "rejoined": 0}
        self._lock = None

    # --- naming

    def ns(self, host):
        return f"{PREFIX}-{host}"

    def addr(self, host):
        return f"{SUBNET}.{self.hosts[host]}"

    def prefix(self, host):
        """A command prefix that runs a program on `host`."""
        return ["ip", "netns", "exec", self.ns(host)]

    # --- set-up and tear-down

    def __enter__(self):
        self._lock = open(LOCK, "w")
        deadline = time.monotonic() + self.lock_timeout_s
        while True:
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"another network-fault run holds {LOCK}")
                time.sleep(0.5)
        try:
            cleanup(self.log)
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _build(self):
        ip("link", "add", BRIDGE, "type", "bridge")
        ip("addr", "add", f"{SUBNET}.{BRIDGE_HOST}/24", "dev", BRIDGE)
        ip("link", "set", BRIDGE, "up")
        for host in self.hosts:
            ns, outer = self.ns(host), self.ns(host)
            ip("netns", "add", ns)
            ip("link", "add", outer, "type", "veth", "peer", "name", "eth0", "netns", ns)
            ip("link", "set", outer, "master", BRIDGE, "up")
            ip("link", "set", "lo", "up", ns=ns)
            ip("addr", "add", f"{self.addr(host)}/24", "dev", "eth0", ns=ns)
            ip("link", "set", "eth0", "up", ns=ns)
            # The sink: sink0 is up, its peer sink1 down, so whatever is
            # routed into sink0 is dropped by the veth (counted as dropped).
            ip("link", "add", "sink0", "type", "veth", "peer", "name", "sink1", ns=ns)
            ip("link", "set", "sink0", "up", ns=ns)
            ip("neigh", "replace", f"{SUBNET}.{SINK_NEIGHBOUR}", "lladdr", "02:00:00:00:00:fe", "dev", "sink0",
               "nud", "permanent", ns=ns)

    def close(self):
        """Kills every process still in our namespaces, removes them and the
        bridge, releases the lock. Safe to call twice."""
        try:
            cleanup()
        finally:
            if self._lock is not None:
                self._lock.close()
                self._lock = None

    # --- faults

    def _note(self, what):
        self.events.append((time.monotonic(), what))
        self.log(f"netns: {what}")

    def _route(self, verb, host, dest, mode):
        target = f"{self.addr(dest)}/32"
        if verb == "del":
            ip("route", "del", target, ns=self.ns(host), check=False)
        elif mode == "reject":
            ip("route", "replace", "prohibit", target, ns=self.ns(host))
        else:
            ip("route", "replace", target, "via", f"{SUBNET}.{SINK_NEIGHBOUR}", "dev", "sink0", "onlink",
               ns=self.ns(host))

    def cut(self, a, b, mode="drop"):
        """Cuts the path between hosts a and b, both directions."""
        if mode not in ("drop", "reject"):
            raise ValueError(f"cut mode {mode}: drop or reject")
        key = tuple(sorted((a, b)))
        if key in self.cuts:
            return
        self._route("add", a, b, mode)
        self._route("add", b, a, mode)
        self.cuts[key] = mode
        self.counts["cut"] += 1
        self._note(f"cut {a} <-> {b} ({mode})")

    def heal(self, a, b):
        key = tuple(sorted((a, b)))
        if key not in self.cuts:
            return
        self._route("del", a, b, None)
        self._route("del", b, a, None)
        del self.cuts[key]
        self.counts["healed"] += 1
        self._note(f"healed {a} <-> {b}")

    def cut_between(self, group_a, group_b, mode="drop"):
        """Cuts every path from a host of group_a to one of group_b."""
        pairs = [(a, b) for a in group_a for b in group_b]
        for a, b in pairs:
            self.cut(a, b, mode)
        return pairs

    def heal_all(self):
        for a, b in list(self.cuts):
            self.heal(a, b)
        for h in list(self.isolated):
            self.rejoin(h)

    def isolate(self, host):
        """The host's link goes down: nothing in or out, silently."""
        if host in self.isolated:
            return
        ip("link", "set", self.ns(host), "down")
        self.isolated.add(host)
        self.counts["isolated"] += 1
        self._note(f"isolated {host}")

    def rejoin(self, host):
        if host not in self.isolated:
            return
        ip("link", "set", self.ns(host), "up")
        self.isolated.discard(host)
        self.counts["rejoined"] += 1
        self._note(f"rejoined {host}")

    def reachable(self, a, b, timeout_s=1.0):
        """Whether a TCP connect from a to b's port 9 gets any answer
        (refused counts: the path works)."""
        code = (f"import socket,sys\ns=socket.socket();s.settimeout({timeout_s})\n"
                f"try:\n s.connect(('{self.addr(b)}',9))\nexcept ConnectionRefusedError:\n pass\n"
                f"except OSError:\n sys.exit(1)\n")
        return subprocess.run(self.prefix(a) + ["/usr/bin/python3", "-c", code], capture_output=True).returncode == 0
