#!/usr/bin/env python3
"""Writes the measures ../shared/oracle/bench_gnocchi.py feeds the real
Gnocchi (its own `synth` function, same seed) as carbonara CSV batches, so
both engines aggregate exactly the same data.

  python scripts/bench/synth_csv.py --oracle-dir ../shared/oracle --metrics 10 \
      --points 100000 --batches 100 --out DIR
writes DIR/batch-0001.csv … (columns metric,timestamp,value; epoch seconds).
"""

import argparse
import os
import sys


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--oracle-dir", required=True)
    p.add_argument("--metrics", type=int, default=10)
    p.add_argument("--points", type=int, default=100000)
    p.add_argument("--batches", type=int, default=1)
    p.add_argument("--interval", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    sys.path.insert(0, os.path.abspath(args.oracle_dir))
    import numpy
    import bench_gnocchi

    ns = 10 ** 9
    start_ns = int(numpy.datetime64("2024-01-01T00:00:00", "ns").astype(numpy.int64))
    interval_ns = int(round(args.interval * ns))
    data = [bench_gnocchi.synth(i, args.points, start_ns, interval_ns, args.seed)
            for i in range(args.metrics)]
    edges = [(args.points * b) // args.batches for b in range(args.batches + 1)]
    os.makedirs(args.out, exist_ok=True)
    for b in range(args.batches):
        s, e = edges[b], edges[b + 1]
        with open(os.path.join(args.out, "batch-%04d.csv" % (b + 1)), "w") as f:
            f.write("metric,timestamp,value\n")
            for i, (ts, vals) in enumerate(data):
                name = "bench-%04d" % i
                seconds = ts[s:e].astype(numpy.int64) / 1e9
                for t, v in zip(seconds, vals[s:e]):
                    f.write("%s,%r,%r\n" % (name, float(t), float(v)))


if __name__ == "__main__":
    main()
