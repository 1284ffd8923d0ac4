#!/usr/bin/env python3
"""Runs the real gnocchi-statsd (gnocchi 4.7.1's StatsdServer and Stats) on
the datagrams of cases.json (text, or {"hex": …} for raw bytes) and writes what it flushed and logged to
expected.json. Only the indexer and the incoming driver are replaced by
recorders, and the clock is fixed; the parsing, accumulation and flush code
is Gnocchi's own.

    .oracle-venv/bin/python tests/golden/ingest/statsd/make_cases.py
"""
import datetime
import json
import logging
import math
import os
import sys
import types
import uuid
from unittest import mock

from gnocchi import indexer, statsd, utils

HERE = os.path.dirname(os.path.abspath(__file__))
NOW = datetime.datetime(2015, 1, 7, 13, 58, 36, 123456, tzinfo=datetime.timezone.utc)


class Recorder:
    """Stands for the indexer and the incoming driver."""

    def __init__(self, policy_for):
        self.policy_for = policy_for
        self.created = []
        self.measures = []

    # indexer
    def create_resource(self, *args, **kwargs):
        raise indexer.ResourceAlreadyExists("r")

    def get_resource(self, *args, **kwargs):
        return mock.Mock(metrics=[])

    def get_archive_policy_for_metric(self, name):
        policy = self.policy_for(name)
        if policy is None:
            raise indexer.NoArchivePolicyRuleMatch(name)
        return types.SimpleNamespace(name=policy)

    def create_metric(self, id, creator, archive_policy_name, name, resource_id):
        self.created.append({"name": name, "archive_policy_name": archive_policy_name})
        metric = mock.Mock()
        metric.id = uuid.uuid5(uuid.NAMESPACE_URL, name)
        metric.name = name
        return metric

    # incoming
    def add_measures(self, metric_id, measures):
        for m in measures:
            value = float(m.value)
            # JSON has no NaN or infinities: those are written as strings.
            self.measures.append([str(metric_id), int(m.timestamp),
                                  value if math.isfinite(value) else repr(value)])


class Logs(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record.getMessage())


def run_case(case):
    rules = case.get("rules", {"*": "low"})

    def policy_for(name):
        import fnmatch
        for pattern in sorted(rules, key=len, reverse=True):
            if fnmatch.fnmatch(name, pattern):
                return rules[pattern]
        return None

    recorder = Recorder(policy_for)
    conf = mock.Mock()
    conf.statsd.resource_id = uuid.UUID("0a7a15ff-aa13-4ac2-897c-9bdf30ce175b")
    conf.statsd.creator = "statsd"
    conf.statsd.archive_policy_name = case.get("archive_policy_name")
    logs = Logs()
    logger = logging.getLogger("gnocchi.statsd")
    logger.addHandler(logs)
    logger.setLevel(logging.INFO)
    with mock.patch.object(statsd.incoming, "get_driver", return_value=recorder), \
            mock.patch.object(statsd.indexer, "get_driver", return_value=recorder), \
            mock.patch.object(utils, "utcnow", return_value=NOW):
        stats = statsd.Stats(conf)
        server = statsd.StatsdServer(stats)
        names = {}
        for datagram in case["datagrams"]:
            data = (bytes.fromhex(datagram["hex"]) if isinstance(datagram, dict)
                    else datagram.encode("utf-8"))
            try:
                server.datagram_received(data, ("127.0.0.1", 8125))
            except Exception as e:  # what asyncio would log: the rest is lost
                logs.records.append("datagram aborted: %s: %s" % (type(e).__name__, e))
        stats.flush()
    logger.removeHandler(logs)
    by_id = {str(uuid.uuid5(uuid.NAMESPACE_URL, c["name"])): c["name"] for c in recorder.created}
    return {
        "flushed": [[by_id[m[0]], m[1], m[2]] for m in recorder.measures],
        "created": recorder.created,
        "logs": logs.records,
    }


def main():
    with open(os.path.join(HERE, "cases.json")) as f:
        cases = json.load(f)
    out = {name: run_case(case) for name, case in sorted(cases.items())}
    out["now_ns"] = utils.dt_in_unix_ns(NOW)
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump(out, f, indent=1, sort_keys=True, allow_nan=False)
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
