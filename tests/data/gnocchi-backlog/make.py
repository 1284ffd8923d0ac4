#!/usr/bin/env python3
"""Makes tests/data/gnocchi-backlog with the real Gnocchi 4.7.1: a genuine
file store (`gnocchi/`) whose first two batches were processed by metricd
and whose third batch waits, unprocessed, in the incoming sacks.

  VENV=.oracle-venv ORACLE=/path/to/oracle python3 tests/data/gnocchi-backlog/make.py

* `expected-before.json`: what Gnocchi returns for the store as it is
  (batches 1 and 2 processed);
* `expected.json`: what it returns once batch 3 is processed too (a second
  oracle run of all three batches: metric ids are uuid5 of the names, so
  they are the same metrics).

Only the inputs are written here; every other file is Gnocchi's output and
is never edited by hand.
"""

import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.environ.get("VENV", ".oracle-venv")
ORACLE = os.environ.get("ORACLE", "../shared/oracle")
PYTHON = os.path.join(VENV, "bin", "python")
SACKS = "8"
POLICY = os.path.join(HERE, "policy.json")


def oracle(*args, out):
    with open(os.path.join(HERE, out), "w") as f:
        subprocess.run([PYTHON, os.path.join(ORACLE, "gnocchi_oracle.py"), "--policy", POLICY,
                        "--sacks", SACKS, "--compact", *args], check=True, stdout=f)


def main():
    for name in ("gnocchi", "expected.json", "expected-before.json"):
        path = os.path.join(HERE, name)
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)
    subprocess.run([PYTHON, os.path.join(ORACLE, "gen_measures.py"), "--out", HERE,
                    "--metrics", "3", "--points", "1500", "--batches", "3",
                    "--shapes", "gauge,counter,ooo", "--interval", "60",
                    "--start", "2024-01-02T12:00:00", "--seed", "7"], check=True)
    batches = [os.path.join(HERE, "batch-%04d.csv" % i) for i in (1, 2, 3)]
    store = os.path.join(HERE, "gnocchi")
    oracle("--store", store, *batches[:2], out="expected-before.json")
    oracle(*batches, out="expected.json")
    # Batch 3 into the sacks with Gnocchi's own incoming driver, no metricd pass.
    script = (
        "import sys; sys.path.insert(0, %r)\n"
        "import gnocchi_oracle as o\n"
        "ap = o.build_archive_policy(o.load_policy_document(%r))\n"
        "dep = o.GnocchiFileDeployment(%r, sacks=%s)\n"
        "batch, rows = o.read_batch(%r)\n"
        "dep.post_measures(batch, ap)\n"
    ) % (ORACLE, POLICY, store, SACKS, batches[2])
    subprocess.run([PYTHON, "-c", script], check=True)


if __name__ == "__main__":
    sys.exit(main())
