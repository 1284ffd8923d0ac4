"""Filter strings through the real Gnocchi 4.7.1 parser.

Writes filters.json: for each query, what gnocchi.rest.api's
QueryStringSearchAttrFilter builds from it ("parsed", or "parse_error"),
and what ResourceSearchSchema makes of that for the user "admin"
("validated", or "invalid"). Run with the oracle venv:

    .oracle-venv/bin/python tests/golden/search/make_filter_cases.py
"""
import json
import os
import random

import pecan

from gnocchi.rest import api


class _AuthHelper:
    @staticmethod
    def get_current_user(request):
        return "admin"


class _Request:
    auth_helper = _AuthHelper()


HAND_WRITTEN = [
    'a = 1 and b = 2 or c = 3', 'a=1 and b=2 and c=3', 'not not a=1', 'notes = "x"',
    'nullable = 1', 'a = "in"', 'a=1 andb=2', 'id == foobar', 'id = foobar',
    'id = "1.2.3.4"', 'id in [foobar, "1.2.3.4", 5d6a2b1e-7c8f-4d3e-9a1b-2c3d4e5f6a7b]',
    'a in [1, "x", null, true]', 'a=1 or b=2 or c=3 and d=4', '(a=1 or b=2) and c=3',
    'a = 1:.5', 'x ∧ y', 'a=1 ∧ b=2 and c=3 ∨ d=4 or e=5', 'flavor like "m1.%"',
    'a=deadbeef-dead-beef-dead-beefdeadbeef', 'a = DEADBEEFdeadbeefdeadbeefdeadbeef',
    "a='it''s'", 'a="x\\"y"', '1 = a', 'a in []', 'a = "and"', 'a=-1.5e3', 'a<b',
    'a != None', 'a = true1', 'a=1 and not b=2 and c=3', 'not (a=1 and b=2)', 'a ≥ 2',
    'a = ""', 'a =   deadbeef-dead-beef-dead-beefdeadbeef', 'a = deadbeefdeadbeefdeadbeefdeadbeef0',
    'a = 12345678123456781234567812345678', 'a = 123456781234567812345678123456789',
    'a = "x\ny"', 'a = "x\\ty"', "a = 'x\\ny'", 'a in [1,]', 'a in [ 1 , 2 ]',
    'a in [1] and b = 2', 'b = 2 and a in [1]', 'not a in [1]', '( a = 1 )',
    'a = 1 and (b = 2)', 'a=1 and b=2 and', 'a = 1e5', 'a = 1.', 'a = .5', 'a = +3',
    'a\t=\n1', 'a = 1 or not b = 2', 'not a = 1 and b = 2', 'a = like', 'a = not',
    'a = "x" b', '', '   ', 'a = Nonexistent', 'A_1 = 1', '_a = 1', 'a = [1, [2]]',
    'a = 1 and b = "and"', 'a = 1 or b = "in"', 'a = "not"',
    '(a = 1) and not (b = 2 or c = 3)', 'a =1 ∧ b=2 ∧ c=3', 'a=1 ∨ b=2 or c=3', 'a = 1 ∨',
    'x like 1', 'id like "x%"', 'not = 1', 'a eq 1', 'a ne "x"', 'a lt 1', 'a gt 1',
    'a ge 1', 'a le 1', 'a ≠ 1', 'a ≤ 1', 'started_at > "2014-01-01"',
    'lifespan >= "1 hour"', 'created_by_user_id = admin', 'a = 1 or (b = 2 or c = 3)',
    '((a = 1))', '(a = 1', 'a = 1)', 'a = 1 and ((b = 2 or c = 3) and d = 4)',
    'host="compute1" and (cpu>=2 or flavor like "m1.%")', 'a = True', 'a = false',
    'a = none', 'a = null', 'a = nulls', 'a inx 1', 'a like1', 'a = 1e', 'a = 1e+',
    'a = -0', 'a = 00012', 'a = 1_000', 'a = 123456789012345678901234', 'id in []',
    'id = 1', 'id = null', 'a in ["a", "b"] or b in [1]', 'not not not a = 1',
    'a = 1 ∧ (b = 2 ∨ c = 3)', 'a = 1 and b = 2 and c = 3 and d = 4 or e = 5 or f = 6',
]

NAMES = ['a', 'flavor', 'id', 'notes', 'nullx', 'host_1', 'deadbeef', 'Trueish', 'x9', '"quoted name"']
OPS = ['=', '==', '!=', '<', '<=', '>', '>=', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'in', 'like', '≠', '≥', '≤']
VALUES = ['1', '-2.5', '1e3', '"x"', "'m1.%'", 'null', 'true', 'False', '"in"', 'foo',
          '5d6a2b1e-7c8f-4d3e-9a1b-2c3d4e5f6a7b', '[1, 2]', '["a", null]', '[]', '"2014-01-01"',
          '0', '"1.2.3.4"', '+7', 'none']
JOINS = ['and', 'or', '∧', '∨', 'and', 'or']


def random_query(rng, depth=0):
    roll = rng.random()
    if depth < 3 and roll < 0.35:
        count = rng.randint(2, 3)
        join = rng.choice(JOINS)
        parts = [random_query(rng, depth + 1) for _ in range(count)]
        text = (' %s ' % join).join(parts)
        return '(%s)' % text if rng.random() < 0.4 else text
    if depth < 3 and roll < 0.45:
        return 'not ' + random_query(rng, depth + 1)
    space = rng.choice(['', ' ', '  '])
    return '%s%s%s%s%s' % (rng.choice(NAMES), space, rng.choice(OPS), space,
                           rng.choice(VALUES))


def case(query):
    result = {"query": query}
    try:
        parsed = api.QueryStringSearchAttrFilter._parse(query)
    except BaseException:  # parse errors, and the parser's own crashes
        result["parse_error"] = True
        return result
    text = json.dumps(parsed, default=str)
    if "Infinity" in text or "NaN" in text:
        return None
    result["parsed"] = json.loads(text)
    try:
        validated = api.ResourceSearchSchema(parsed)
    except BaseException:
        result["invalid"] = True
        return result
    result["validated"] = json.loads(json.dumps(validated, default=str))
    return result


def main():
    pecan.request = api.pecan.request = _Request()
    rng = random.Random(20240501)
    queries = HAND_WRITTEN + [random_query(rng) for _ in range(400)]
    cases = [c for c in map(case, queries) if c is not None]
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "filters.json")
    with open(out, "w") as f:
        json.dump({"gnocchi_version": "4.7.1", "creator": "admin", "cases": cases},
                  f, indent=1, ensure_ascii=False)
        f.write("\n")
    print("%d cases written to %s" % (len(cases), out))


if __name__ == "__main__":
    main()
