#!/usr/bin/env python3
"""What tooz's Redis driver sends and keeps for Gnocchi's sack locks.

Run with the oracle's Python (Gnocchi 4.7.1, tooz 9.1.0, redis-py), from the
repository, and commit what it prints:

    $ORACLE_VENV/bin/python scripts/oracle/tooz_redis_locks.py \
        > tests/golden/coordination/tooz_redis_locks.json

It starts a redis-server of its own (Debian's package: a free loopback
port, a temporary directory, no persistence, stopped by its PID at the end),
takes sack locks through `Chef.get_sack_lock` as gnocchi-metricd does, and
records, from the server's MONITOR, the commands tooz sends to take, re-arm
(its heartbeat) and release a lock, with the key, the value's shape and the
TTL each leaves; what a second owner's release does to a key that is no
longer its own; and where the URL's database, `namespace`, `timeout` and
`lock_timeout` put the key and its TTL. Tokens are random: each is checked
against the shape recorded and written as `<token>`, the port as `<port>`.

tests/it/redis.rs holds carbonara's locks to this record without Python.
"""

from importlib import metadata
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from gnocchi import chef
from gnocchi import incoming
import redis
from tooz import coordination

TOKEN = re.compile(r"^[0-9a-f]{32}$")
ARG = re.compile(r'"((?:[^"\\]|\\.)*)"')


class Server:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="carbonara-tooz-redis")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        log = open(os.path.join(self.dir, "redis.log"), "w")
        self.child = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        self.url = "redis://127.0.0.1:%d" % self.port
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.client().ping():
                    break
            except redis.ConnectionError:
                if self.child.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("redis-server did not start:\n" + open(log.name).read())
                time.sleep(0.02)

    def client(self, db=0):
        return redis.Redis(host="127.0.0.1", port=self.port, db=db)

    def stop(self):
        os.kill(self.child.pid, signal.SIGTERM)
        self.child.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class Monitor:
    """The commands clients send, each as a list of its arguments."""

    def __init__(self, server):
        self.server = server
        self.monitor = server.client().monitor()
        self.monitor.__enter__()
        # One client for the markers, whose commands are left out.
        self.marker = server.client()
        self.commands = []
        self.seen = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while True:
            try:
                line = self.monitor.connection.read_response()
            except redis.ConnectionError:
                return  # the server stopped
            if isinstance(line, bytes):
                line = line.decode()
            where = line.split("[", 1)[1].split("]", 1)[0]
            args = [bytes(a, "utf-8").decode("unicode_escape") for a in ARG.findall(line)]
            db, client = where.split(" ", 1)
            with self.seen:
                self.commands.append({"db": int(db), "client": client, "args": args})
                self.seen.notify_all()

    def during(self, action):
        """What `action` sent, the scripts' own commands left out; and its result."""
        marker = "carbonara-mark-%d" % len(self.commands)
        self.marker.echo(marker)
        ours = self._wait_for(marker)["client"]
        start = len(self.commands)
        result = action()
        end_marker = marker + "-end"
        self.marker.echo(end_marker)
        self._wait_for(end_marker)
        sent = [c for c in self.commands[start:] if c["client"] not in ("lua", ours)]
        return sent, result

    def _wait_for(self, marker):
        def found():
            return next((c for c in self.commands if c["args"] == ["ECHO", marker]), None)
        with self.seen:
            command = self.seen.wait_for(found, 10)
        if command is None:
            raise SystemExit("MONITOR did not show " + marker)
        return command


def sack(number, total=128):
    return incoming.Sack(number, total,
                         incoming.IncomingDriver.SACK_NAME_FORMAT.format(total=total, number=number))


def coordinator(url, member):
    # gnocchi-metricd starts its heart thread (`start_heart=True`); here each
    # heartbeat is called by hand, to see what it sends.
    coord = coordination.get_coordinator(url, member)
    coord.start()
    return coord


def versions(server):
    """The versions of what the record comes from."""
    return {
        "gnocchi": metadata.version("gnocchi"),
        "tooz": metadata.version("tooz"),
        "redis-py": metadata.version("redis"),
        "redis-server": server.client().info()["redis_version"],
    }


def token_shaped(value, what):
    text = value.decode() if isinstance(value, bytes) else value
    if not TOKEN.match(text):
        raise SystemExit("%s: %r is not 32 lowercase hex digits" % (what, value))
    return "<token>"


def anonymous(commands, token):
    """The commands' arguments, the token written `<token>` once checked."""
    return [[token_shaped(a, "token") if a == token else a for a in c["args"]] for c in commands]


def main():
    server = Server()
    record = {"versions": versions(server)}
    try:
        monitor = Monitor(server)
        raw = server.client()
        coord = coordinator(server.url, b"tooz-oracle-1")
        gnocchi = chef.Chef(coord, None, None, None)

        lock = gnocchi.get_sack_lock(sack(17))
        key = lock.name.decode()
        sent, got = monitor.during(lambda: lock.acquire(blocking=False))
        assert got is True
        token = raw.get(key).decode()
        record["sack"] = "incoming128-17"
        record["key"] = key
        record["acquire"] = anonymous(sent, token)
        record["value"] = token_shaped(token, "value")
        record["value_pattern"] = TOKEN.pattern
        record["type"] = raw.type(key).decode()
        pttl = raw.pttl(key)
        assert 29000 < pttl <= 30000, pttl

        # Another worker is refused: SET NX answers nil.
        other = coordinator(server.url, b"tooz-oracle-2")
        theirs = chef.Chef(other, None, None, None).get_sack_lock(sack(17))
        sent, got = monitor.during(lambda: theirs.acquire(blocking=False))
        record["acquire_held_elsewhere"] = {"commands": [c["args"][:2] + ["<token>"] + c["args"][3:]
                                                         for c in sent], "acquired": got}

        # The heartbeat re-arms the TTL of the locks held (and renews the
        # member's beat key, which is membership, not a lock).
        time.sleep(1.1)
        before = raw.pttl(key)
        sent, _ = monitor.during(coord.heartbeat)
        after = raw.pttl(key)
        record["heartbeat"] = [c for c in anonymous(sent, token) if key in c or c[0] != "PSETEX"]
        record["heartbeat_beat_key"] = [[a if i < 2 else "<ms>" if a.isdigit() else a
                                         for i, a in enumerate(c["args"])]
                                        for c in sent if c["args"][0] == "PSETEX"]
        assert before < 29000 < after, (before, after)

        sent, got = monitor.during(lock.release)
        record["release"] = anonymous(sent, token)
        record["released"] = got
        record["exists_after_release"] = bool(raw.exists(key))

        # A lock that is no longer ours (expired, then taken by another
        # owner): release leaves the other owner's token alone.
        assert lock.acquire(blocking=False)
        mine = raw.get(key).decode()
        raw.set(key, "f" * 32, px=30000)
        sent, got = monitor.during(lock.release)
        record["release_of_another_owners_key"] = {
            "commands": anonymous(sent, mine),
            "released": got,
            "value_after": raw.get(key).decode(),
        }
        raw.delete(key)

        # The script sources behind the EVALSHAs (redis-py's Lock).
        record["scripts"] = {
            "release": {"sha1": redis.lock.Lock.lua_release.sha, "source": redis.lock.Lock.LUA_RELEASE_SCRIPT},
            "reacquire": {"sha1": redis.lock.Lock.lua_reacquire.sha,
                          "source": redis.lock.Lock.LUA_REACQUIRE_SCRIPT},
        }
        coord.stop()
        other.stop()

        # Where the URL puts the key: its database, namespace and TTL.
        variants = {}
        for query in ["/3", "?db=3", "/5?db=3", "?namespace=gnocchi", "?lock_timeout=5",
                      "?timeout=7", "?timeout=7&lock_timeout=5"]:
            c = coordinator(server.url + query, b"tooz-oracle-3")
            lock = chef.Chef(c, None, None, None).get_sack_lock(sack(90))
            sent, got = monitor.during(lambda: lock.acquire(blocking=False))
            assert got
            (cmd,) = [s for s in sent if s["args"][0] == "SET"]
            variants["redis://127.0.0.1:<port>" + query] = {
                "db": cmd["db"],
                "key": cmd["args"][1],
                "set": [cmd["args"][0], "<key>", token_shaped(cmd["args"][2], "token")] + cmd["args"][3:],
            }
            lock.release()
            c.stop()
        record["urls"] = variants
    finally:
        server.stop()
    json.dump(record, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
