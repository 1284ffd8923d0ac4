#!/usr/bin/env python3
"""The real Gnocchi's side of scripts/bench/ingest_vs_gnocchi.py: reads a
metric,timestamp,value CSV as the oracle does (Gnocchi's own
utils.to_timestamps and float(), what POST .../measures does) and writes
the measures into a real Gnocchi file-incoming store with
add_measures_batch. Prints one JSON line: rows and seconds.

    VENV/bin/python scripts/bench/gnocchi_ingest.py --oracle ../shared/oracle --tmpdir DIR FILE.csv
"""
import argparse
import json
import os
import sys
import tempfile
import time


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--oracle", required=True)
    p.add_argument("--tmpdir", default=None)
    p.add_argument("csv")
    args = p.parse_args()
    sys.path.insert(0, os.path.abspath(args.oracle))
    import gnocchi_oracle as oracle

    base = tempfile.mkdtemp(prefix="gnocchi-ingest-", dir=args.tmpdir)
    deployment = oracle.GnocchiFileDeployment(base)
    policy = oracle.build_archive_policy(oracle.load_policy_document("low"))
    started = time.perf_counter()
    batch, rows = oracle.read_batch(args.csv)
    deployment.post_measures(batch, policy)
    seconds = time.perf_counter() - started
    print(json.dumps({"engine": "gnocchi", "rows": rows, "seconds": round(seconds, 3),
                      "metrics": len(batch), "store": base}))


if __name__ == "__main__":
    main()
