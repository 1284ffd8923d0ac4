#!/usr/bin/env python3
"""Writes reprs.txt: float bit patterns and CPython's repr() of them, the
reference for carbonara's pyfmt::float_repr (Gnocchi writes JSON floats and
split file names with repr). Random bits, ties at the 17th digit (where
repr rounds half to even), and values around the switch to exponents.

  python3 tests/golden/float-repr/make_reprs.py
"""

import math
import os
import random
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def bits(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def main():
    rng = random.Random(20240101)
    values = []
    while len(values) < 6000:
        x = struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]
        if math.isfinite(x):
            values.append(x)
    # Exact halves and quarters of integers near 2**50: ties at 17 digits.
    for _ in range(4000):
        values.append(rng.randrange(2 ** 49, 2 ** 52) + rng.choice([0.25, 0.5, 0.75]))
    for exponent in range(-8, 20):
        for _ in range(60):
            values.append(rng.randrange(1, 10 ** rng.randint(1, 17)) * 10.0 ** (exponent - rng.randint(0, 17)))
    values += [0.0, -0.0, 5e-324, -5e-324, 1.7976931348623157e308, 1e-5, 1e-4, 1e16, 1e15, 9.999999999999999e15]
    with open(os.path.join(HERE, "reprs.txt"), "w") as f:
        for x in values:
            f.write("%016x %r\n" % (bits(x), x))


if __name__ == "__main__":
    main()
