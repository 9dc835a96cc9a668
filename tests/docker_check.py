#!/usr/bin/python3
"""Static checks of docker/ (no Docker engine needed).

Usage: docker_check.py REPO_ROOT BUILD_DIR

Checks that each compose file (docker-compose.yml: Kafka; docker-compose.raft.yml:
three raft orderers) parses and names only pinned images, existing
build contexts and Dockerfiles; that every COPY source exists; that the
runtime packages exist in Debian 12 (when apt-cache is available); that each
service command runs a binary the image contains, with flags that binary
accepts (asked from the built binary's --help) and config paths that exist
in configs/; that the raft orderers name the same members and distinct ids; and that the
broker settings match configs/broker; and that the monitoring services are
wired: every file Prometheus and Grafana mount exists, Prometheus scrapes
each service serving --metrics-listen on the port it serves, Grafana's
datasource names the Prometheus service, and the dashboard parses with a
query in every panel.
Exits 1 listing every problem found.
"""
import json
import os
import re
import shutil
import subprocess
import sys

import yaml

# The bench's .properties reader (the same rules as the orderer's).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench"))
from benchlib import properties  # noqa: E402

problems = []


def problem(msg):
    problems.append(msg)


def pinned(image):
    name, _, tag = image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "")
    return bool(tag) and tag != "latest"


def dockerfile_facts(path):
    froms, copies, binaries, packages = [], [], [], []
    text = open(path).read().replace("\\\n", " ")
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        op = words[0].upper()
        if op == "FROM":
            froms.append(words[1])
        elif op == "COPY":
            args = [w for w in words[1:] if not w.startswith("--")]
            from_stage = any(w.startswith("--from") for w in words[1:])
            srcs, dest = args[:-1], args[-1]
            if from_stage:
                binaries += [os.path.basename(s) for s in srcs]
            else:
                copies += srcs
        elif op == "RUN" and "apt-get install" in line:
            after = line.split("apt-get install", 1)[1].split("&&")[0]
            packages += [w for w in after.split() if not w.startswith("-")]
    targets = re.findall(r"--target\s+([^\n&]+)", text)
    targets = targets[0].split() if targets else []
    return froms, copies, binaries, packages, targets


def binary_flags(build_dir, binary):
    candidates = {
        "orderer": "orderer/orderer",
        "peer-sim": "peer-sim/peer-sim",
        "ledger": "tools/ledger",
        "embedded-broker": "tools/embedded-broker",
    }
    rel = candidates.get(binary)
    if rel is None:
        return None
    out = subprocess.run([os.path.join(build_dir, rel), "--help"], capture_output=True, text=True, timeout=30)
    return set(re.findall(r"--([a-z0-9-]+)", out.stdout))


# Each compose file and the services it must have.
COMPOSE_FILES = {
    "docker-compose.yml": ("kafka", "orderer", "peer-sim"),
    "docker-compose.raft.yml": ("orderer1", "orderer2", "orderer3", "peer-sim"),
}


def check_raft_members(fname, services):
    """Every raft orderer names the same members, its own id among them, once."""
    members, ids = {}, {}
    for name, svc in services.items():
        cmd = svc.get("command") or []
        if isinstance(cmd, str):
            cmd = cmd.split()
        if "--consensus=raft" not in cmd:
            continue
        members[name] = sorted(a.split("=", 1)[1] for a in cmd if a.startswith("--raft-node="))
        ids[name] = [a.split("=", 1)[1] for a in cmd if a.startswith("--raft-id=")]
    if not members:
        return
    first = next(iter(members.values()))
    for name, m in members.items():
        if m != first:
            problem(f"{fname}: {name} names raft members {m}, others {first}")
        if len(ids[name]) != 1:
            problem(f"{fname}: {name} needs exactly one --raft-id")
        elif ids[name][0] not in [x.split(",", 1)[0] for x in m]:
            problem(f"{fname}: {name} has --raft-id={ids[name][0]}, not one of its --raft-node ids")
        else:
            # libraft binds its own Raft address: it must be this container's.
            own = [x for x in m if x.split(",", 1)[0] == ids[name][0]][0].split(",")[1].rsplit(":", 1)[0]
            nets = services[name].get("networks") or {}
            ips = [n.get("ipv4_address") for n in nets.values() if isinstance(n, dict)] if isinstance(nets, dict) else []
            if own not in ips:
                problem(f"{fname}: {name}'s Raft address {own} is not its network address ({ips})")
    all_ids = [i[0] for i in ids.values() if i]
    if len(set(all_ids)) != len(all_ids):
        problem(f"{fname}: raft ids {all_ids} are not unique")


def check_compose(root, build_dir, fname, required):
    compose_path = os.path.join(root, "docker", fname)
    if not os.path.isfile(compose_path):
        problem(f"{fname}: missing")
        return {}
    compose = yaml.safe_load(open(compose_path))
    services = compose.get("services") or {}
    for name in required:
        if name not in services:
            problem(f"{fname}: no service '{name}'")

    image_binaries = set()
    for name, svc in services.items():
        build = svc.get("build")
        if build:
            ctx = os.path.normpath(os.path.join(root, "docker", build.get("context", ".")))
            dockerfile = os.path.join(ctx, build.get("dockerfile", "Dockerfile"))
            if not os.path.isdir(ctx):
                problem(f"{name}: build context {ctx} does not exist")
            if not os.path.isfile(dockerfile):
                problem(f"{name}: Dockerfile {dockerfile} does not exist")
                continue
            froms, copies, binaries, packages, targets = dockerfile_facts(dockerfile)
            for image in froms:
                if not pinned(image.split(" ")[0]):
                    problem(f"{dockerfile}: base image {image} is not pinned to a tag")
            for src in copies:
                if not os.path.exists(os.path.join(ctx, src)):
                    problem(f"{dockerfile}: COPY source {src} does not exist")
            cmake_text = ""
            for dirpath, _, files in os.walk(root):
                if "/build" in dirpath or "/.git" in dirpath or "/run" in dirpath:
                    continue
                for f in files:
                    if f == "CMakeLists.txt" or f.endswith(".cmake"):
                        cmake_text += open(os.path.join(dirpath, f)).read()
            for t in targets:
                if not re.search(r"add_executable\(\s*" + re.escape(t) + r"\b", cmake_text):
                    problem(f"{dockerfile}: build target {t} is not defined in CMake")
            image_binaries |= set(binaries)
            if shutil.which("apt-cache"):
                for p in sorted(set(packages) - CHECKED_PACKAGES):
                    CHECKED_PACKAGES.add(p)
                    r = subprocess.run(["apt-cache", "show", p], capture_output=True, text=True)
                    if r.returncode != 0 or not r.stdout.strip():
                        problem(f"{dockerfile}: package {p} is not in the Debian archive")
        elif "image" in svc:
            if not pinned(svc["image"]):
                problem(f"{name}: image {svc['image']} is not pinned to a tag")
            if svc["image"].startswith("kafka-ordering:"):
                image_binaries |= {"orderer", "peer-sim", "ledger", "embedded-broker"} & IMAGE_BINARIES
        else:
            problem(f"{name}: neither image nor build")
    IMAGE_BINARIES.update(image_binaries)

    for name, svc in services.items():
        cmd = svc.get("command")
        ours = "build" in svc or str(svc.get("image", "")).startswith("kafka-ordering:")
        if not cmd or not ours:
            continue
        if isinstance(cmd, str):
            cmd = cmd.split()
        binary = cmd[0]
        if binary not in image_binaries:
            problem(f"{name}: runs '{binary}', which the image does not contain ({sorted(image_binaries)})")
            continue
        flags = binary_flags(build_dir, binary)
        for arg in cmd[1:]:
            if not arg.startswith("--"):
                continue
            flag, _, value = arg[2:].partition("=")
            if flags is not None and flag not in flags:
                problem(f"{name}: {binary} has no flag --{flag}")
            if value.startswith("/etc/kafka-ordering/"):
                local = os.path.join(root, "configs", value[len("/etc/kafka-ordering/"):])
                if not os.path.exists(local):
                    problem(f"{name}: {value} would come from {local}, which does not exist")
        for dep in (svc.get("depends_on") or {}):
            if dep not in services:
                problem(f"{name}: depends on unknown service {dep}")
    check_raft_members(fname, services)
    check_monitoring(root, fname, services)
    return services


CHECKED_PACKAGES = set()
IMAGE_BINARIES = set()


def mounts(root, fname, svc):
    """(host path, container path) of a service's bind mounts (named volumes left out)."""
    out = []
    for v in svc.get("volumes") or []:
        parts = v.split(":") if isinstance(v, str) else []
        if len(parts) >= 2 and parts[0].startswith((".", "/")):
            out.append((os.path.normpath(os.path.join(root, "docker", parts[0])), parts[1]))
    return out


def check_monitoring(root, fname, services):
    prom = services.get("prometheus")
    graf = services.get("grafana")
    if prom is None and graf is None:
        return
    if prom is None or graf is None:
        problem(f"{fname}: prometheus and grafana go together (has only {'prometheus' if prom else 'grafana'})")
        return
    for name in ("prometheus", "grafana"):
        for host, _ in mounts(root, fname, services[name]):
            if not os.path.exists(host):
                problem(f"{fname}: {name} mounts {host}, which does not exist")
    # What each of our services serves.
    serving = {}
    for name, svc in services.items():
        cmd = svc.get("command") or []
        if isinstance(cmd, str):
            cmd = cmd.split()
        for a in cmd:
            if a.startswith("--metrics-listen="):
                serving[name] = a.split("=", 1)[1].rsplit(":", 1)[1]
    config = [h for h, c in mounts(root, fname, prom) if c.endswith("prometheus.yml")]
    if not config:
        problem(f"{fname}: prometheus mounts no prometheus.yml")
        return
    scraped = set()
    try:
        pconf = yaml.safe_load(open(config[0])) or {}
    except (OSError, yaml.YAMLError) as e:
        problem(f"{config[0]}: {e}")
        return
    for job in pconf.get("scrape_configs") or []:
        for sc in job.get("static_configs") or []:
            for target in sc.get("targets") or []:
                host, _, port = target.rpartition(":")
                if host not in services:
                    problem(f"{config[0]}: job {job.get('job_name')} scrapes {target}: no service '{host}'")
                elif serving.get(host) != port:
                    problem(f"{config[0]}: job {job.get('job_name')} scrapes {target}, but {host} serves "
                            f"--metrics-listen on {serving.get(host, 'no port')}")
                scraped.add(host)
    for name in sorted(set(serving) - scraped):
        problem(f"{fname}: {name} serves /metrics on {serving[name]} but Prometheus does not scrape it")
    gmounts = dict((c, h) for h, c in mounts(root, fname, graf))
    prov = gmounts.get("/etc/grafana/provisioning")
    dash_dir = gmounts.get("/var/lib/grafana/dashboards")
    if not prov or not dash_dir:
        problem(f"{fname}: grafana must mount /etc/grafana/provisioning and /var/lib/grafana/dashboards")
        return
    for path in sorted(glob_yaml(os.path.join(prov, "datasources"))):
        for ds in (yaml.safe_load(open(path)) or {}).get("datasources") or []:
            url = ds.get("url", "")
            host = url.split("//", 1)[-1].split(":", 1)[0]
            if ds.get("type") == "prometheus" and host not in services:
                problem(f"{path}: datasource {ds.get('name')} points at {url}: no service '{host}'")
    for path in sorted(glob_yaml(os.path.join(prov, "dashboards"))):
        for pv in (yaml.safe_load(open(path)) or {}).get("providers") or []:
            if (pv.get("options") or {}).get("path") != "/var/lib/grafana/dashboards":
                problem(f"{path}: provider {pv.get('name')} reads {pv.get('options')}, not the mounted dashboards")
    dashboards = [f for f in os.listdir(dash_dir) if f.endswith(".json")] if os.path.isdir(dash_dir) else []
    if not dashboards:
        problem(f"{dash_dir}: no dashboard JSON")
    for f in dashboards:
        try:
            d = json.load(open(os.path.join(dash_dir, f)))
        except ValueError as e:
            problem(f"{f}: not JSON: {e}")
            continue
        for panel in d.get("panels") or []:
            if not [t for t in panel.get("targets") or [] if t.get("expr")]:
                problem(f"{f}: panel '{panel.get('title')}' has no query")


def glob_yaml(folder):
    if not os.path.isdir(folder):
        problem(f"{folder}: missing")
        return []
    return [os.path.join(folder, f) for f in os.listdir(folder) if f.endswith((".yml", ".yaml"))]


def main():
    root, build_dir = sys.argv[1], sys.argv[2]
    all_services = {}
    for fname, required in COMPOSE_FILES.items():
        all_services[fname] = check_compose(root, build_dir, fname, required)
    services = all_services["docker-compose.yml"]
    image_binaries = IMAGE_BINARIES

    # Broker settings must match what scripts/kafka uses.
    try:
        broker = properties.read(os.path.join(root, "configs", "broker", "broker.properties"))
    except (OSError, properties.PropertiesError) as e:
        problem(f"configs/broker/broker.properties: {e}")
        broker = {}
    env = (services.get("kafka") or {}).get("environment") or {}
    for key in ("log.retention.ms", "log.retention.bytes", "message.max.bytes", "replica.fetch.max.bytes",
                "auto.create.topics.enable", "unclean.leader.election.enable", "num.network.threads"):
        env_key = "KAFKA_" + key.upper().replace(".", "_")
        if str(env.get(env_key)) != broker.get(key):
            problem(f"kafka: {env_key}={env.get(env_key)} but configs/broker/broker.properties has {key}={broker.get(key)}")

    if problems:
        print("docker check: %d problem(s)" % len(problems))
        for p in problems:
            print("  - " + p)
        return 1
    n = sum(len(v) for v in all_services.values())
    print(f"docker check: OK ({len(all_services)} compose files, {n} services, binaries {sorted(image_binaries)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
