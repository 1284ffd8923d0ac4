#!/usr/bin/env python3
"""carbonara's sack locks against tooz's own, as gnocchi-metricd takes them.

Run with the oracle's Python (Gnocchi 4.7.1, tooz 9.1.0, psycopg2), from
the repository:

    $ORACLE_VENV/bin/python scripts/oracle/tooz_sack_locks.py

It starts a PostgreSQL server of its own (Debian's package: initdb in a
temporary directory, a free loopback port, stopped by its PID at the end),
builds `examples/sack_lock.rs` and checks, printing one line per check and
exiting 1 on the first failure:

* the keys carbonara computes for the 128 default sacks are the keys of
  the `PostgresLock` Gnocchi's `Chef.get_sack_lock` asks tooz for;
* a sack lock carbonara holds is refused to tooz (`acquire(blocking=False)`
  is False), and `pg_locks` shows the same advisory lock either holds;
* once carbonara releases it, tooz gets it; while tooz holds it, carbonara
  is refused, and carbonara waiting for it gets it when tooz releases it.

`cargo test` checks the same lock against plain `pg_try_advisory_lock`
calls without Python (tests/it/coordinator.rs).
"""

import hashlib
import os
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
import psycopg2
from tooz import coordination

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PGBIN = os.environ.get("PGBIN") or sorted(
    os.path.join("/usr/lib/postgresql", v, "bin") for v in os.listdir("/usr/lib/postgresql"))[-1]


def as_postgres(argv):
    return (["runuser", "-u", "postgres", "--"] + argv) if os.geteuid() == 0 else argv


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    if not condition:
        raise SystemExit(1)


class Server:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="carbonara-tooz")
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        data = os.path.join(self.dir, "data")
        subprocess.run(as_postgres([os.path.join(PGBIN, "initdb"), "-A", "trust", "-U", "postgres",
                                    "--no-sync", "-D", data]), check=True, capture_output=True)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        log = open(os.path.join(self.dir, "postgres.log"), "w")
        self.child = subprocess.Popen(
            as_postgres([os.path.join(PGBIN, "postgres"), "-D", data, "-p", str(self.port), "-k", self.dir,
                         "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]),
            stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        self.url = "postgresql://postgres@127.0.0.1:%d/postgres" % self.port
        deadline = time.monotonic() + 60
        while True:
            try:
                psycopg2.connect(self.url).close()
                break
            except psycopg2.OperationalError:
                if self.child.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("postgres did not start:\n" + open(log.name).read())
                time.sleep(0.05)
        with open(os.path.join(data, "postmaster.pid")) as f:
            self.pid = int(f.readline())

    def advisory_locks(self):
        with psycopg2.connect(self.url) as conn, conn.cursor() as cur:
            cur.execute("SELECT classid, objid, objsubid FROM pg_locks "
                        "WHERE locktype = 'advisory' AND granted ORDER BY 1, 2")
            return [tuple(int(x) for x in row) for row in cur.fetchall()]

    def stop(self):
        os.kill(self.pid, signal.SIGINT)
        self.child.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def sack(number, total=128):
    return incoming.Sack(number, total,
                         incoming.IncomingDriver.SACK_NAME_FORMAT.format(total=total, number=number))


def main():
    subprocess.run(["cargo", "build", "--quiet", "--example", "sack_lock"], cwd=ROOT, check=True)
    example = os.path.join(ROOT, "target", "debug", "examples", "sack_lock")

    def carbonara(*args):
        return subprocess.run([example, server.url, *map(str, args)], check=True,
                              capture_output=True, text=True).stdout.strip()

    server = Server()
    try:
        coord = coordination.get_coordinator(server.url, b"tooz-oracle")
        coord.start()
        gnocchi = chef.Chef(coord, None, None, None)

        # The keys, for every default sack.
        ours = {}
        for line in subprocess.run([example, "-", "keys", "128"], check=True, capture_output=True,
                                   text=True).stdout.splitlines():
            number, k1, k2 = map(int, line.split())
            ours[number] = (k1, k2)
        theirs = {n: tuple(gnocchi.get_sack_lock(sack(n)).key) for n in range(128)}
        check(ours == theirs, "the keys of the 128 default sacks are tooz's")
        check(theirs[17] == (211, 58), "incoming128-17 is locked with keys (211, 58)")
        name = hashlib.sha1(b"gnocchi-sack-incoming128-90-lock").hexdigest()
        check(name == "21c4a400d6e261fde40a83c3d974e8056c7b29b2", "the lock name of incoming128-90")

        # carbonara holds incoming128-17: tooz is refused.
        holder = subprocess.Popen([example, server.url, "hold", "128", "17"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        check(holder.stdout.readline().strip() == "held", "carbonara holds incoming128-17")
        held_by_carbonara = server.advisory_locks()
        lock = gnocchi.get_sack_lock(sack(17))
        check(lock.acquire(blocking=False) is False, "tooz is refused the lock carbonara holds")
        holder.stdin.close()
        holder.wait()

        # Released: tooz gets it, and carbonara is refused.
        check(lock.acquire(blocking=False) is True, "tooz gets it once carbonara released it")
        check(server.advisory_locks() == held_by_carbonara == [(211, 58, 2)],
              "pg_locks shows the same advisory lock (211, 58, 2) for either holder")
        check(carbonara("try", 128, 17) == "busy", "carbonara is refused the lock tooz holds")
        check(carbonara("try", 128, 90) == "taken", "carbonara gets another sack meanwhile")

        # carbonara waiting gets it when tooz releases it.
        threading.Timer(0.5, lock.release).start()
        started = time.monotonic()
        check(carbonara("wait", 128, 17, 10) == "taken", "carbonara waiting gets it once tooz releases it")
        check(time.monotonic() - started < 5, "without waiting out its timeout")
        check(lock.acquire(blocking=False) is True, "carbonara released it after use")
        lock.release()
        coord.stop()
    finally:
        server.stop()
    print("tooz_sack_locks: all checks passed")


if __name__ == "__main__":
    main()
