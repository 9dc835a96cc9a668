"""The crash campaigns' checker: what the clients were told against what the
chains hold, from data alone.

It uses none of the orderer's code: it reads the clients' acknowledgement
logs (peer-sim --ack-log) and each replica's ledger exported as JSON lines
(`ledger export`), recomputes every block hash from the exported header
fields by the documented formula (docs/architecture.md, "hashes"), and
proves:
  * every transaction answered SUCCESS is in the chain exactly once;
  * no transaction id is in the chain twice (acknowledged or not);
  * each chain is numbered 0..h-1, each block's hash is what its fields
    hash to, and each block names its predecessor's hash;
  * the replicas hold the same blocks: a shorter one (a node killed at the
    end) is a prefix of the longest, byte for byte in what was exported.
The verdict lists each violation; `ok` is true when there is none.
"""
import hashlib
import json
import struct

CUT_REASONS = {"CUT_REASON_UNSPECIFIED": 0, "CUT_REASON_GENESIS": 1, "CUT_REASON_MAX_MESSAGE_COUNT": 2,
               "CUT_REASON_PREFERRED_MAX_BYTES": 3, "CUT_REASON_OVERSIZED_MESSAGE": 4, "CUT_REASON_TIMEOUT": 5}
MAX_EXAMPLES = 10


def block_hash(b):
    """The block hash from an exported block's fields (hex in, hex out)."""
    prev, data, consenter = (bytes.fromhex(b[k]) for k in ("previous_hash", "data_hash", "consenter_metadata"))
    buf = b"ordering-block-v2" + struct.pack(">Q", b["number"])
    buf += struct.pack(">I", len(prev)) + prev + struct.pack(">I", len(data)) + data
    buf += struct.pack(">I", CUT_REASONS[b["cut_reason"]]) + struct.pack(">I", len(consenter)) + consenter
    return hashlib.sha256(buf).hexdigest()


def parse_ack_line(line):
    """(tx_id, outcome, submit_ns, answer_ns) from a peer-sim --ack-log line
    ("TX_ID OUTCOME SUBMIT_NS ANSWER_NS PEER END"); None for a torn one (no
    END: a client killed mid-write)."""
    parts = line.split()
    if len(parts) != 6 or parts[-1] != "END":
        return None
    try:
        return parts[0], parts[1], int(parts[2]), int(parts[3])
    except ValueError:
        return None


def read_acks(path):
    """Every whole line of an ack log, parsed (parse_ack_line)."""
    with open(path, encoding="utf-8", errors="replace") as f:
        return [r for r in (parse_ack_line(line) for line in f) if r is not None]


def read_ack_log(path, parse_line=parse_ack_line):
    """(outcomes: tx id -> list of outcomes, torn: lines cut short). A
    client killed mid-write leaves at most its last line torn."""
    outcomes, torn = {}, 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            rec = parse_line(line)
            if rec is None:
                torn += 1
                continue
            tx_id, outcome = rec[0], rec[1]
            outcomes.setdefault(tx_id, []).append(outcome)
    return outcomes, torn


def read_export(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def check_chain(name, blocks, problems):
    """Numbering, hashes and links of one exported chain."""
    prev_hash = None
    for i, b in enumerate(blocks):
        if b.get("number") != i:
            problems.append(f"{name}: block at position {i} is numbered {b.get('number')}")
            return
        h = block_hash(b)
        if h != b.get("hash"):
            problems.append(f"{name}: block {i}'s fields hash to {h[:16]}..., it says {str(b.get('hash'))[:16]}...")
        if i > 0 and b["previous_hash"] != prev_hash:
            problems.append(f"{name}: block {i} does not name block {i - 1}'s hash")
        prev_hash = b.get("hash")


def check(ack_logs, exports, parse_line=parse_ack_line, success="SUCCESS"):
    """Verdict over every client's log (paths) and every replica's export
    ({name: path}). `parse_line(line)` -> (tx_id, outcome) or None (torn)."""
    problems = []
    outcomes, torn = {}, 0
    for p in ack_logs:
        o, t = read_ack_log(p, parse_line)
        torn += t
        for tx, outs in o.items():
            outcomes.setdefault(tx, []).extend(outs)
    chains = {name: read_export(path) for name, path in sorted(exports.items())}
    for name, blocks in chains.items():
        check_chain(name, blocks, problems)
    # Replicas: the longest chain, and each other a prefix of it.
    longest_name = max(chains, key=lambda n: len(chains[n])) if chains else None
    longest = chains.get(longest_name, [])
    for name, blocks in chains.items():
        for i, b in enumerate(blocks):
            if b != longest[i]:
                problems.append(f"replicas differ at block {i}: {name} and {longest_name}")
                break
    # Exactly once.
    count = {}
    for b in longest[1:]:
        for tx in b.get("tx_ids") or []:
            count[tx] = count.get(tx, 0) + 1
    doubled = sorted(tx for tx, n in count.items() if n > 1)
    acked = {tx for tx, outs in outcomes.items() if success in outs}
    missing = sorted(tx for tx in acked if tx not in count)
    unacked_in_chain = sum(1 for tx in count if tx not in acked)
    if doubled:
        problems.append(f"{len(doubled)} transaction(s) in the chain twice or more, e.g. {doubled[:MAX_EXAMPLES]}")
    if missing:
        problems.append(f"{len(missing)} acknowledged transaction(s) not in the chain, e.g. {missing[:MAX_EXAMPLES]}")
    by_outcome = {}
    for outs in outcomes.values():
        for o in outs:
            by_outcome[o] = by_outcome.get(o, 0) + 1
    return {
        "ok": not problems,
        "problems": problems,
        "acknowledged": len(acked),
        "acknowledged_missing": len(missing),
        "in_chain": len(count),
        "doubled": len(doubled),
        "unacknowledged_in_chain": unacked_in_chain,
        "submitted": len(outcomes),
        "outcomes": dict(sorted(by_outcome.items())),
        "torn_log_lines": torn,
        "replicas": {name: len(blocks) for name, blocks in chains.items()},
        "height": len(longest),
    }
