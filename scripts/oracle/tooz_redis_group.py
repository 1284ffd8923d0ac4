#!/usr/bin/env python3
"""What tooz's Redis driver sends and keeps for gnocchi-metricd's group, and
which sacks its hash ring gives each worker.

Run with the oracle's Python (Gnocchi 4.7.1, tooz 9.1.0, redis-py), from the
repository, and commit what it prints:

    $ORACLE_VENV/bin/python scripts/oracle/tooz_redis_group.py \
        > tests/golden/coordination/tooz_redis_group.json

It starts a redis-server of its own (as scripts/oracle/tooz_redis_locks.py
does, whose server and MONITOR reader it uses) and records, from MONITOR:

* a member joining `gnocchi-processing` as gnocchi-metricd joins it
  (`join_partitioned_group(b"gnocchi-processing", partitions=200)`), first
  into a group that does not exist yet, then into one that does; the group
  hash, the set of groups and the beat keys left, with their TTLs;
* a heartbeat, `get_members`, a member whose beat expired dropped by the
  next `get_members`, leaving the group and stopping;
* where `namespace`, `timeout` and `membership_timeout` put the keys and
  their TTL.

Then, for fixed sets of member ids in metricd's format
(`<hostname>.<worker id>.<uuid4>`, the uuids fixed so that the record does
not change), each member joined through tooz against the same server, and
`processing_replicas` 1, 2 and 3: the sack numbers (of 128) each member's
`MetricProcessor._get_sacks_to_process` returns, computed by that very
function over the member's real `Partitioner`.

tests/it/redis_group.rs holds carbonara's membership and hash ring to this
record without Python.
"""

import hashlib
import json
import sys
import time
import types
import uuid

from gnocchi.cli import metricd
from gnocchi import incoming
from tooz import coordination

from tooz_redis_locks import Monitor, Server, coordinator, versions

GROUP = metricd.MetricProcessor.GROUP_ID
PARTITIONS = 200
SACKS = 128


def member_id(host, worker):
    """metricd's member id, its uuid4 drawn from the name (fixed)."""
    fixed = uuid.UUID(bytes=hashlib.md5(("%s.%d" % (host, worker)).encode()).digest(), version=4)
    return ("%s.%s.%s" % (host, worker, str(fixed))).encode()


def text(value):
    return value.decode("latin-1") if isinstance(value, bytes) else value


def args(sent):
    return [c["args"] for c in sent]


def keys(raw):
    """Every key with its type, value and whether it expires (its TTL is
    the one the commands recorded set, less the time gone since)."""
    out = {}
    for key in sorted(raw.keys()):
        kind = raw.type(key).decode()
        if kind == "hash":
            value = {text(k): text(v) for k, v in sorted(raw.hgetall(key).items())}
        elif kind == "set":
            value = sorted(text(m) for m in raw.smembers(key))
        else:
            value = text(raw.get(key))
        out[text(key)] = {"type": kind, "value": value, "expires": raw.pttl(key) > 0}
    return out


class Sacks(incoming.IncomingDriver):
    """An incoming driver knowing only its number of sacks: `iter_sacks`
    is Gnocchi's own."""

    def __init__(self, total):
        self._num_sacks = total


def sacks_to_process(coord, partitioner, replicas):
    """`MetricProcessor._get_sacks_to_process` of a worker, the function
    itself, on a worker holding only what it reads."""
    worker = types.SimpleNamespace(
        coord=coord, partitioner=partitioner, incoming=Sacks(SACKS),
        conf=types.SimpleNamespace(metricd=types.SimpleNamespace(processing_replicas=replicas)),
        _tasks=[], group_state=None, fallback_tasks=list(Sacks(SACKS).iter_sacks()))
    return [s.number for s in metricd.MetricProcessor._get_sacks_to_process(worker)]


def membership(server, monitor, record):
    raw = server.client()
    first = member_id("metricd-a", 0)
    second = member_id("metricd-b", 0)
    record["member_id_format"] = "<hostname>.<worker id>.<uuid4>"
    record["group"] = GROUP.decode()
    record["partitions"] = PARTITIONS

    coord = coordination.get_coordinator(server.url, first)
    sent, _ = monitor.during(coord.start)
    record["start"] = {"member": first.decode(), "commands": args(sent)}

    # metricd's join, into a group nobody created yet.
    sent, partitioner = monitor.during(lambda: coord.join_partitioned_group(GROUP, partitions=PARTITIONS))
    record["join_creating"] = args(sent)
    record["keys_after_join"] = keys(raw)
    record["capabilities_hex"] = raw.hget("_tooz_group:" + GROUP.decode(), first).hex()

    # A second member joins the group that exists; its beat expires soon.
    other = coordinator(server.url + "?membership_timeout=1", second)
    sent, other_partitioner = monitor.during(
        lambda: other.join_partitioned_group(GROUP, partitions=PARTITIONS))
    record["join_existing"] = {"member": second.decode(), "commands": args(sent)}

    time.sleep(1.1)
    before = raw.pttl("_tooz_beats:" + first.decode())
    sent, wait = monitor.during(coord.heartbeat)
    after = raw.pttl("_tooz_beats:" + first.decode())
    assert before < 29000 < after, (before, after)
    record["heartbeat"] = {"commands": args(sent), "returned": wait}

    # Both alive (the second re-beats): both listed.
    other.heartbeat()
    sent, members = monitor.during(lambda: coord.get_members(GROUP).get())
    record["get_members"] = {"commands": args(sent), "members": sorted(m.decode() for m in members)}

    # The second's beat expires (its heart stopped, here by never beating
    # again): the next get_members drops it from the group hash.
    time.sleep(1.2)
    sent, members = monitor.during(lambda: coord.get_members(GROUP).get())
    record["get_members_expired"] = {
        "commands": args(sent),
        "members": sorted(m.decode() for m in members),
        "keys_after": keys(raw),
    }
    # The member that beat expired does not see itself dropped: tooz never
    # drops its own id from what it lists.
    sent, members = monitor.during(lambda: other.get_members(GROUP).get())
    record["get_members_by_expired_member"] = {
        "commands": args(sent), "members": sorted(m.decode() for m in members)}
    # Dropped, it can no longer leave: tooz answers MemberNotJoined.
    try:
        other.leave_partitioned_group(other_partitioner)
    except coordination.MemberNotJoined:
        record["leave_by_dropped_member"] = "MemberNotJoined"
    other.stop()

    sent, _ = monitor.during(lambda: coord.leave_partitioned_group(partitioner))
    record["leave"] = {"commands": args(sent), "keys_after": keys(raw)}
    sent, _ = monitor.during(coord.stop)
    record["stop"] = {"commands": args(sent), "keys_after": keys(raw)}
    raw.flushdb()

    variants = {}
    for query in ["?namespace=gnocchi", "?timeout=7", "?membership_timeout=2.5",
                  "?timeout=7&membership_timeout=4"]:
        c = coordination.get_coordinator(server.url + query, first)
        started, _ = monitor.during(c.start)
        p = c.join_partitioned_group(GROUP, partitions=PARTITIONS)
        variants["redis://127.0.0.1:<port>" + query] = {
            "beat": [a for a in args(started) if a[0] == "PSETEX"], "keys": keys(raw)}
        c.leave_partitioned_group(p)
        c.stop()
        raw.flushdb()
    record["urls"] = variants


def assignments(server):
    hosts = {
        "one": [("metricd-a", 0)],
        "two": [("metricd-a", 0), ("metricd-a", 1)],
        "three": [("metricd-a", 0), ("metricd-a", 1), ("metricd-b", 0)],
        "five": [("metricd-a", w) for w in range(3)] + [("carbonara-c", w) for w in range(2)],
        # So many workers that some get no sack of their own, and fall back
        # to every sack.
        "forty": [("metricd-%d" % h, w) for h in range(10) for w in range(4)],
    }
    out = {}
    for name, workers in hosts.items():
        members = [member_id(h, w) for h, w in workers]
        joined = []
        for m in members:
            c = coordinator(server.url, m)
            joined.append((m, c, c.join_partitioned_group(GROUP, partitions=PARTITIONS)))
        sets = {}
        for replicas in (1, 2, 3):
            sets[str(replicas)] = {
                m.decode(): sacks_to_process(c, p, replicas) for m, c, p in joined}
        out[name] = {"members": [m.decode() for m in members], "sacks": sets}
        for m, c, p in joined:
            c.leave_partitioned_group(p)
            c.stop()
        server.client().flushdb()
    return out


def main():
    server = Server()
    record = {"versions": versions(server), "total_sacks": SACKS}
    try:
        monitor = Monitor(server)
        membership(server, monitor, record)
        record["assignments"] = assignments(server)
    finally:
        server.stop()
    json.dump(record, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
