#!/usr/bin/env python3
"""Parses InfluxDB lines with Gnocchi 4.7.1's own line-protocol grammar
(gnocchi.rest.influxdb.line_protocol) and writes what it made of each to
expected.json: hand-picked lines, then random ones over an alphabet of the
characters that matter to the grammar (fixed seed, so the file is the same
on every run).

    .oracle-venv/bin/python tests/golden/ingest/influx/make_cases.py
"""
import json
import os
import random
import warnings

import numpy
from gnocchi.rest import influxdb

HERE = os.path.dirname(os.path.abspath(__file__))

HAND_PICKED = [
    'my\\ measure,host=my\\,host,k\\=ey=v\\ al f\\ ield=1 5',
    'cpu,host=a v=1,w=2i,s="str" 1000',
    'cpu,host=a b=true 1000',
    'a v=1,b=true 1000',
    'a f=-5i 123',
    'a f="x\\ty\\"z" 1',
    'a,t="q\\\\" f=1 2',
    'mymetric,host=foobar,mytag=myvalue field=123 1510581804179554816',
    'cpu,path=/foobar,mytag=myvalue field=43i 1510581804179554816',
    'a f=1  5', 'a f=1 5 trailing', 'a f=.5', 'a f=1.', 'a f=1e3,g=+2.5E-2',
    'a f=1e999', 'a f=99999999999999999999i', 'a f=1 99999999999999999999',
    'a f=1 9223372036854775807', 'a,=x f=1', 'a, f=1', 'a f=', 'a', '', ' a f=1',
    'a,b=1,b=2 f=1,f=2', '"quoted m",t="v" "k"=3', 'a\\b,c\\d=e\\f g\\h=1',
    'a f=1:5', 'a f=1:.5', 'a f=t', 'a,host=h f=1\r', 'a f=1\t2',
]
PIECES = ["a", "b", "=", ",", " ", "\\ ", "\\,", "\\=", "\\", '"', '"x y"', '"q\\"r"',
          "1", "12", "1.5", "-3", "+4.", "2i", "-2i", "1e3", "1E-2", "t", "true", ":", "\r", "é"]


PLAIN = ["a", "b", "cpu", "x1", "1", "2.5", "7i"]


def random_line(rng):
    """Mostly well shaped lines with odd pieces in them, some pure noise."""
    def token(n):
        return "".join(rng.choice(PIECES) if rng.random() < 0.25 else rng.choice(PLAIN)
                       for _ in range(rng.randint(1, n)))
    if rng.random() < 0.2:
        return token(12)
    line = token(3)
    for _ in range(rng.choice([0, 0, 1, 2, 3])):
        line += "," + token(2) + "=" + token(2)
    line += " " + ",".join(token(2) + "=" + token(2) for _ in range(rng.randint(1, 3)))
    if rng.random() < 0.6:
        line += " " + rng.choice(["5", "1510581804179554816", "12a", " 7", token(2)])
    return line


def describe(line):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            measurement, tags, fields, timestamp = influxdb.line_protocol.parseString(line)
    except Exception as e:  # ParseException, or what a parse action raised
        return {"error": type(e).__name__}
    described = []
    for key, value in fields.items():
        if isinstance(value, str):
            described.append([key, "string", value])
        elif isinstance(value, int):
            described.append([key, "integer", str(value)])
        else:
            described.append([key, "float", repr(value)])
    return {
        "measurement": measurement,
        "tags": [[k, v] for k, v in tags.items()],
        "fields": described,
        "timestamp": None if timestamp is None else str(int(timestamp.astype(numpy.int64))),
    }


def main():
    rng = random.Random(20261130)
    lines = list(HAND_PICKED)
    for _ in range(4000):
        lines.append(random_line(rng))
    cases = [{"line": line, **describe(line)} for line in lines]
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump(cases, f, indent=0, ensure_ascii=False)
        f.write("\n")
    parsed = sum(1 for c in cases if "error" not in c)
    print("%d lines, %d parsed" % (len(cases), parsed))


if __name__ == "__main__":
    main()
