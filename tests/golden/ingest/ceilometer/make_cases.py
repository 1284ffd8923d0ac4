#!/usr/bin/env python3
"""Publishes the sample files of this directory with the real Ceilometer
27.0.0 Gnocchi publisher into a real Gnocchi 4.7.1, and records what
Gnocchi then holds in expected-<case>.json: resources (with attributes and
the number of revisions), their metrics (unit, archive policy) and the
measures of each metric.

It also writes the two data files carbonara's Ceilometer import embeds,
from the same packages: src/ingest/ceilometer/definitions.json (the
publisher's gnocchi_resources.yaml as JSON) and resource_types.json (the
resource types ceilometer-upgrade creates, as Gnocchi returns them).

Needs a virtualenv with ceilometer==27.0.0 (it brings gnocchiclient) and a
real Gnocchi from the oracle's real_gnocchi.sh, started with
GNOCCHI_METRICD=0 (measures are read with ?refresh=true):

    CEILOMETER_VENV/bin/python tests/golden/ingest/ceilometer/make_cases.py \
        --gnocchi http://127.0.0.1:18241 --reset 'ORACLE_VENV=… real_gnocchi.sh reset'

Each case is a list of files published one after the other, as one batch
each (a file is one publish_samples call), on a fresh deployment.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
from unittest import mock
from urllib import parse as urlparse

import requests
import yaml
from gnocchiclient import auth as gnocchi_auth
from gnocchiclient import client as gnocchi_client
from keystoneauth1 import session as ks_session

import ceilometer
from ceilometer import gnocchi_client as ceilo_gnocchi_client
from ceilometer import keystone_client, sample, service
from ceilometer.publisher import gnocchi as gnocchi_publisher

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(HERE))))
DATA = os.path.join(ROOT, "src", "ingest", "ceilometer")
CREATOR = "admin"

# Field names of the message-bus shape → the in-memory shape.
ALIASES = {"counter_name": "name", "counter_type": "type", "counter_unit": "unit",
           "counter_volume": "volume", "message_id": "id"}
SAMPLE_FIELDS = ("name", "type", "unit", "volume", "user_id", "project_id", "resource_id",
                 "timestamp", "resource_metadata", "source", "id", "monotonic_time")


def client(url):
    session = ks_session.Session(auth=gnocchi_auth.GnocchiBasicPlugin(user=CREATOR, endpoint=url))
    return gnocchi_client.Client("1", session)


def read_samples(path):
    with open(path) as f:
        text = f.read()
    stripped = text.lstrip()
    records = json.loads(text) if stripped.startswith("[") else [
        json.loads(line) for line in text.splitlines() if line.strip()]
    samples = []
    for record in records:
        fields = {ALIASES.get(k, k): v for k, v in record.items()}
        samples.append(sample.Sample(**{k: fields.get(k) for k in SAMPLE_FIELDS}))
    return samples


def get_all(url, path):
    """A paginated list, following Link: rel=next."""
    items, next_url = [], url + path
    while next_url:
        r = requests.get(next_url, auth=(CREATOR, ""))
        r.raise_for_status()
        items.extend(r.json())
        next_url = r.links.get("next", {}).get("url")
    return items


def snapshot(url):
    resources = []
    for r in get_all(url, "/v1/resource/generic?sort=original_resource_id:asc"):
        full = requests.get("%s/v1/resource/%s/%s" % (url, r["type"], r["id"]),
                            auth=(CREATOR, "")).json()
        history = get_all(url, "/v1/resource/%s/%s/history" % (r["type"], r["id"]))
        metrics = {}
        for name, metric_id in sorted(full["metrics"].items()):
            metric = requests.get("%s/v1/metric/%s" % (url, metric_id), auth=(CREATOR, "")).json()
            measures = requests.get("%s/v1/metric/%s/measures?refresh=true" % (url, metric_id),
                                    auth=(CREATOR, "")).json()
            metrics[name] = {"unit": metric["unit"],
                             "archive_policy_name": metric["archive_policy"]["name"],
                             "measures": measures}
        for volatile in ("started_at", "revision_start", "revision_end", "metrics",
                         "created_by_user_id", "created_by_project_id"):
            full.pop(volatile, None)
        full["revisions"] = len(history)
        full["metrics"] = metrics
        resources.append(full)
    policies = {p["name"]: p for p in get_all(url, "/v1/archive_policy")}
    return {"resources": resources, "archive_policies": sorted(policies)}


def write_json(path, value, sort_keys=True):
    with open(path, "w") as f:
        json.dump(value, f, indent=1, sort_keys=sort_keys, ensure_ascii=False)
        f.write("\n")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--gnocchi", required=True)
    p.add_argument("--reset", required=True, help="shell command giving a fresh deployment")
    args = p.parse_args()

    conf = service.prepare_service(argv=["ceilometer"], config_files=[])
    patches = [
        mock.patch.object(ceilo_gnocchi_client, "get_gnocchiclient",
                          lambda conf, **kw: client(args.gnocchi)),
        mock.patch.object(keystone_client, "get_client", lambda conf: None),
    ]
    for patch in patches:
        patch.start()

    definitions_file = os.path.join(os.path.dirname(gnocchi_publisher.__file__),
                                    "data", "gnocchi_resources.yaml")
    with open(definitions_file) as f:
        write_json(os.path.join(DATA, "definitions.json"), yaml.safe_load(f), sort_keys=False)

    cases = sorted({os.path.basename(p).split(".")[0]
                    for p in glob.glob(os.path.join(HERE, "*-*.json*"))
                    if not os.path.basename(p).startswith("expected")})
    for case in cases:
        subprocess.run(args.reset, shell=True, check=True, stdout=subprocess.DEVNULL)
        ceilo_gnocchi_client.upgrade_resource_types(conf)
        if case == cases[0]:
            types = requests.get(args.gnocchi + "/v1/resource_type", auth=(CREATOR, "")).json()
            write_json(os.path.join(DATA, "resource_types.json"), types, sort_keys=False)
        publisher = gnocchi_publisher.GnocchiPublisher(
            conf, urlparse.urlparse("gnocchi://?enable_filter_project=false"))
        files = sorted(glob.glob(os.path.join(HERE, case + ".*")))
        for path in files:
            publisher.publish_samples(read_samples(path))
        expected = snapshot(args.gnocchi)
        expected["files"] = [os.path.basename(f) for f in files]
        expected["ceilometer_version"] = ceilometer.__version__ if hasattr(ceilometer, "__version__") else "27.0.0"
        write_json(os.path.join(HERE, "expected-%s.json" % case), expected)
        print("%s: %d resources" % (case, len(expected["resources"])), file=sys.stderr)


if __name__ == "__main__":
    main()
