"""Creates, then updates, a resource type with the real Gnocchi 4.7.1's
indexer, the way gnocchi-api's POST and PATCH /v1/resource_type do after
validating their bodies (gnocchi/rest/api.py: ResourceTypesController.post,
ResourceTypeController.patch). Run by gnocchi-schema.sh, which dumps the
tables each step leaves:

    python gnocchi_resource_type.py GNOCCHI_CONF create|update

Prints the request body used, as JSON.
"""
import json
import sys

from gnocchi import indexer
from gnocchi import service

NAME = "schema_probe"

# Every attribute type, required and optional, with and without bounds.
CREATE = {
    "name": NAME,
    "attributes": {
        "host": {"type": "string", "required": True, "max_length": 64, "min_length": 0},
        "label": {"type": "string", "required": False},
        "cpus": {"type": "number", "required": False, "min": 0, "max": 256},
        "load": {"type": "number", "required": True},
        "enabled": {"type": "bool", "required": True},
        "spare": {"type": "bool", "required": False},
        "owner": {"type": "uuid", "required": False},
        "image": {"type": "uuid", "required": True},
        "booted_at": {"type": "datetime", "required": False},
        "seen_at": {"type": "datetime", "required": True},
    },
}

# The attributes a PATCH adds (a required one needs `fill`) and removes.
ADD = {
    "zone": {"type": "string", "required": True, "max_length": 16, "min_length": 1,
             "options": {"fill": "eu"}},
    "weight": {"type": "number", "required": False, "min": -1, "max": 1, "options": {}},
}
DELETE = ["label", "spare"]


def main():
    conf_file, step = sys.argv[1], sys.argv[2]
    conf = service.prepare_service(args=["--config-file", conf_file])
    index = indexer.get_driver(conf)
    schema = index.get_resource_type_schema()
    if step == "create":
        body = schema(CREATE)
        body["state"] = "creating"
        index.create_resource_type(schema.resource_type_from_dict(**body))
        print(json.dumps(CREATE, indent=2))
    elif step == "update":
        index.update_resource_type(
            NAME,
            add_attributes=schema.attributes_from_dict(ADD),
            del_attributes=DELETE,
        )
        print(json.dumps({"add": ADD, "delete": DELETE}, indent=2))
    else:
        sys.exit("step must be create or update")


if __name__ == "__main__":
    main()
