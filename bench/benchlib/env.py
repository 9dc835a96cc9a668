"""What a result depends on besides its configuration: machine and versions."""
import os
import platform
import re
import subprocess


def _run(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        return (out.stdout + out.stderr).strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_gib():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def capture(root, kafka_version):
    commit = _run(["git", "-C", root, "rev-parse", "HEAD"])
    dirty = bool(_run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"]))
    java = _run(["java", "-version"]).splitlines()
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "mem_total_gib": _mem_total_gib(),
        "kernel": platform.release(),
        "os": _run(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
        "git_commit": commit if re.fullmatch(r"[0-9a-f]{40}", commit or "") else None,
        "git_dirty": dirty,
        "kafka_version": kafka_version,
        "java": java[0] if java else None,
        "librdkafka": _run(["pkg-config", "--modversion", "rdkafka"]) or None,
        "rocksdb": _run(["sh", "-c", "dpkg-query -W -f='${Version}' librocksdb-dev"]) or None,
        "openssl": _run(["openssl", "version"]) or None,
        "compiler": (_run(["c++", "--version"]).splitlines() or [None])[0],
        "python": platform.python_version(),
    }
