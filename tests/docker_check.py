#!/usr/bin/python3
"""Static checks of docker/ (no Docker engine needed).

Usage: docker_check.py REPO_ROOT BUILD_DIR

Checks that the compose file parses and names only pinned images, existing
build contexts and Dockerfiles; that every COPY source exists; that the
runtime packages exist in Debian 12 (when apt-cache is available); that each
service command runs a binary the image contains, with flags that binary
accepts (asked from the built binary's --help) and config paths that exist
in configs/; and that the broker settings match configs/broker.
Exits 1 listing every problem found.
"""
import os
import re
import shutil
import subprocess
import sys

import yaml

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
        "ledger": "ledger/ledger",
        "embedded-broker": "tools/embedded-broker",
    }
    rel = candidates.get(binary)
    if rel is None:
        return None
    out = subprocess.run([os.path.join(build_dir, rel), "--help"], capture_output=True, text=True, timeout=30)
    return set(re.findall(r"--([a-z0-9-]+)", out.stdout))


def main():
    root, build_dir = sys.argv[1], sys.argv[2]
    compose_path = os.path.join(root, "docker", "docker-compose.yml")
    compose = yaml.safe_load(open(compose_path))
    services = compose.get("services") or {}
    for name in ("kafka", "orderer", "peer-sim"):
        if name not in services:
            problem(f"compose: no service '{name}'")

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
                for p in packages:
                    r = subprocess.run(["apt-cache", "show", p], capture_output=True, text=True)
                    if r.returncode != 0 or not r.stdout.strip():
                        problem(f"{dockerfile}: package {p} is not in the Debian archive")
        elif "image" in svc:
            if not pinned(svc["image"]):
                problem(f"{name}: image {svc['image']} is not pinned to a tag")
        else:
            problem(f"{name}: neither image nor build")

    for name, svc in services.items():
        cmd = svc.get("command")
        if not cmd or name == "kafka":
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

    # Broker settings must match what scripts/kafka uses.
    broker = {}
    for line in open(os.path.join(root, "configs", "broker", "broker.properties")):
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            broker[k.strip()] = v.strip()
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
    print(f"docker check: OK ({len(services)} services, binaries {sorted(image_binaries)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
