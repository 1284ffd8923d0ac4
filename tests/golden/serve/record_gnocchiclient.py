"""Drives `carbonara serve` with the real gnocchiclient and records the
session for tests/it/serve/client.rs: each command with its output, and
every HTTP exchange the client had (through a small recording proxy).

    cargo build
    .oracle-venv/bin/python tests/golden/serve/record_gnocchiclient.py

The script starts the binary on a fresh store (`init --no-archive-policies`,
`serve --max-limit 7 --process-interval 0`), runs the commands with
`gnocchi --os-auth-type gnocchi-basic --user admin --endpoint URL`, and
writes gnocchiclient_session.json. Any command that fails stops it.
With `--compare URL` it also runs the commands against another server (a
real Gnocchi from real_gnocchi.sh) and prints where the outputs differ.
"""
import argparse
import http.client
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
GNOCCHI = os.path.join(os.path.dirname(sys.executable), "gnocchi")
BINARY = os.path.join(ROOT, "target", "debug", "carbonara")
KEPT_HEADERS = ["content-type", "location", "link", "allow", "etag", "last-modified"]

# {m1}-style names stand for ids printed by earlier commands.
COMMANDS = [
    ("server version", []),
    ("capabilities list", []),
    ("archive-policy create cookies -d granularity:1s,points:60 -d granularity:1m,timespan:1d "
     "-m mean -m max -m sum", []),
    ("archive-policy create relative -d granularity:1h,points:24 -m +95pct -m=-std", []),
    ("archive-policy list", []),
    ("archive-policy show cookies", []),
    ("archive-policy update cookies -d granularity:1s,points:120 -d granularity:1m,points:10", []),
    ("archive-policy delete relative", []),
    ("archive-policy-rule create disks --metric-pattern disk.* --archive-policy-name cookies", []),
    ("archive-policy-rule list", []),
    ("archive-policy-rule show disks", []),
    ("archive-policy-rule update disks --name storage", []),
    ("metric create --archive-policy-name cookies --unit B", ["m1"]),
    ("metric create disk.io", ["m2"]),
    ("metric show {m1}", []),
    ("metric list --sort name:asc", []),
    ("measures add -m 2015-03-06T14:33:57@43.1 -m 2015-03-06T14:34:12@12 {m1}", []),
    ("measures add -m 2015-03-06T14:34:15@16 -m 2015-03-06T14:35:12@9 {m1}", []),
    ("measures show --refresh {m1}", []),
    ("measures show --aggregation max --granularity 60 --start 2015-03-06T14:34:00 {m1}", []),
    ("status", []),
    ("resource-type create server -a flavor:string:true:max_length=20 -a size:number:false:min=0",
     []),
    ("resource-type list", []),
    ("resource-type show server", []),
    ("resource-type update server -a zone:string:false -r size", []),
    ("resource create --type server -a flavor:m1.small -a zone:eu -n cpu:cookies vm1", []),
    ("resource create host-1 --type generic -a project_id:p1 -m disk:{m2}", []),
    ("resource show --type server vm1", []),
    ("resource list --type server", []),
    ("resource list --sort started_at:asc", []),
    ("resource list --type server --details", []),
    ("resource update --type server -a flavor:m1.large vm1", []),
    ("resource update --type server -n mem:cookies -d cpu vm1", []),
    ("resource history --type server vm1", []),
    ("resource search --type server \"flavor='m1.large'\"", []),
    ("resource search --type server 'zone = \"eu\" and flavor like \"m1.%\"'", []),
    ("metric show --resource-id vm1 mem", []),
    ("metric list --sort name:asc --limit 1", []),
    ("resource batch delete --type generic \"original_resource_id='host-1'\"", []),
    ("resource delete vm1", []),
    ("metric delete {m1}", []),
    ("archive-policy-rule delete storage", []),
    ("resource-type delete server", []),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder(http.server.BaseHTTPRequestHandler):
    """Forwards every request to the server and remembers the exchange."""
    upstream = None
    exchanges = []

    def forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("host", "connection", "accept-encoding",
                                        "user-agent", "content-length")}
        connection = http.client.HTTPConnection(self.upstream, timeout=60)
        connection.request(self.command, self.path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        response_headers = {k.lower(): v for k, v in response.getheaders()}
        self.exchanges.append({
            "method": self.command, "path": self.path, "headers": headers,
            "body": body.decode() if body is not None else None,
            "status": response.status,
            "response_headers": {k: response_headers[k] for k in KEPT_HEADERS
                                 if k in response_headers},
            "response_body": data.decode(),
        })
        self.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in ("transfer-encoding", "connection", "date", "server"):
                self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        connection.close()

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = forward

    def log_message(self, *args):
        pass


def run_session(endpoint, record=True):
    captured = {}
    results = []
    for template, captures in COMMANDS:
        command = template
        for name, value in captured.items():
            command = command.replace("{%s}" % name, value)
        argv = [GNOCCHI, "--os-auth-type", "gnocchi-basic", "--user", "admin",
                "--endpoint", endpoint] + shlex_split(command) + ["-f", "json"]
        # Commands that print nothing take no format.
        if template.startswith(("measures add", "resource delete", "metric delete",
                                "archive-policy delete", "archive-policy-rule delete",
                                "resource-type delete")):
            argv = argv[:-2]
        before = len(Recorder.exchanges)
        done = subprocess.run(argv, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit("%s failed (%d):\n%s" % (command, done.returncode, done.stderr))
        output = done.stdout
        for name in captures:
            captured[name] = json.loads(output)["id"]
        results.append({"command": template, "output": output,
                        "exchanges": Recorder.exchanges[before:] if record else []})
    return results


def shlex_split(text):
    import shlex
    return shlex.split(text)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--compare", metavar="URL")
    args = parser.parse_args()
    store = tempfile.mkdtemp(prefix="carbonara-client-")
    shutil.rmtree(store)
    subprocess.run([BINARY, "--store", store, "init", "-q", "--sacks", "8",
                    "--no-archive-policies"], check=True)
    port = free_port()
    server = subprocess.Popen([BINARY, "--store", store, "serve", "--listen",
                               "127.0.0.1:%d" % port, "--max-limit", "7",
                               "--process-interval", "0"],
                              stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)
        Recorder.upstream = "127.0.0.1:%d" % port
        proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        endpoint = "http://127.0.0.1:%d" % proxy.server_address[1]
        results = run_session(endpoint)
        proxy.shutdown()
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(store, ignore_errors=True)
    out = os.path.join(HERE, "gnocchiclient_session.json")
    with open(out, "w") as f:
        json.dump({"client": "gnocchiclient 7.2.0", "host": Recorder.upstream, "max_limit": 7,
                   "steps": results}, f,
                  indent=1, ensure_ascii=False)
        f.write("\n")
    print("%d commands, %d exchanges written to %s" % (
        len(results), sum(len(r["exchanges"]) for r in results), out))
    if args.compare:
        theirs = run_session(args.compare, record=False)
        mine, other = Normalizer(), Normalizer()
        for ours, their in zip(results, theirs):
            a, b = mine.apply(ours["output"]), other.apply(their["output"])
            if a != b:
                print("== %s\n-- carbonara:\n%s\n-- other:\n%s" % (ours["command"], a, b))


class Normalizer:
    """What differs between two servers by nature: random ids (numbered in
    order of appearance), times of the session, the order of sets."""

    def __init__(self):
        self.seen = {}

    def apply(self, text):
        import re
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        text = json.dumps(self.sort_sets(value), sort_keys=False)
        for found in re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}",
                                text):
            self.seen.setdefault(found, "UUID4-%d" % len(self.seen))
            text = text.replace(found, self.seen[found])
        return re.sub(r"20(2[5-9]|[3-9][0-9])-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00",
                      "NOW", text)

    def sort_sets(self, value):
        if isinstance(value, dict):
            return {k: (sorted(v) if k == "aggregation_methods" and isinstance(v, list)
                        else sorted(v.split(", ")) if k == "aggregation_methods"
                        else self.sort_sets(v)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.sort_sets(v) for v in value]
        return value


if __name__ == "__main__":
    main()
