"""Records carbonara's keystone authentication against a real Keystone.

Run by scripts/oracle/keystone.sh (which installs Keystone, bootstraps it
on SQLite and builds carbonara); not meant to be run alone. Arguments:
WORKDIR KEYSTONE_PORT CARBONARA_BINARY KEYSTONE_SERVE_EXAMPLE OUT_DIR.

Keystone's WSGI application is served on loopback by this script (a child
process, `serve` below) behind a middleware that logs every exchange. For
each scenario a fresh `carbonara serve` in keystone mode (the
keystone_serve example, on a fresh store) and keystonemiddleware's own
auth_token in front of a WSGI application that echoes the identity headers
it receives (what gnocchi-api's KeystoneAuthHelper reads) are sent the same
requests. tests/golden/keystone/<scenario>.json keeps the requests, both
answers, and every exchange carbonara and keystonemiddleware had with
Keystone; the base URL of Keystone is written `{keystone}`.
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import wsgiref.simple_server

SERVICE_PASSWORD = "gnocchi-secret"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Quiet(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, *args):
        pass


class Threaded(wsgiref.simple_server.WSGIServer):
    daemon_threads = True

    def process_request(self, request, client_address):
        thread = threading.Thread(
            target=self._handle, args=(request, client_address), daemon=True)
        thread.start()

    def _handle(self, request, client_address):
        try:
            self.finish_request(request, client_address)
        finally:
            self.shutdown_request(request)


# --- Keystone, served with a recording middleware (child process) -------

RECORDED_REQUEST_HEADERS = (
    "X-Auth-Token", "X-Subject-Token", "Content-Type", "Accept",
    "OpenStack-Identity-Access-Rules", "User-Agent")
RECORDED_RESPONSE_HEADERS = ("X-Subject-Token", "Content-Type")


def serve(workdir, port):
    os.environ["OS_KEYSTONE_CONFIG_FILES"] = os.path.join(
        workdir, "keystone.conf")
    # Keystone's oslo.config reads the command line: it must not see ours.
    sys.argv = sys.argv[:1]
    from keystone.wsgi.api import application
    log = open(os.path.join(workdir, "exchanges.jsonl"), "a")
    lock = threading.Lock()

    def recording(environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        import io
        environ["wsgi.input"] = io.BytesIO(body)
        headers = {}
        for name in RECORDED_REQUEST_HEADERS:
            key = "HTTP_" + name.upper().replace("-", "_")
            if name == "Content-Type":
                # wsgiref makes up text/plain when none is sent.
                key = "CONTENT_TYPE" if body else "-"
            if environ.get(key):
                headers[name.lower()] = environ[key]
        seen = {}

        def capture(status, response_headers, exc_info=None):
            seen["status"] = int(status.split()[0])
            seen["headers"] = {
                k.lower(): v for k, v in response_headers
                if k in RECORDED_RESPONSE_HEADERS}
            return start_response(status, response_headers, exc_info)

        chunks = list(application(environ, capture))
        answer = b"".join(chunks)
        record = {
            "request": {
                "method": environ["REQUEST_METHOD"],
                "path": environ.get("SCRIPT_NAME", "") + environ["PATH_INFO"],
                "query": environ.get("QUERY_STRING", ""),
                "headers": headers,
                "body": body.decode() if body else None,
            },
            "response": {
                "status": seen["status"],
                "headers": seen["headers"],
                "body": answer.decode(),
            },
        }
        with lock:
            log.write(json.dumps(record) + "\n")
            log.flush()
        return [answer]

    server = wsgiref.simple_server.make_server(
        "127.0.0.1", port, recording, server_class=Threaded,
        handler_class=Quiet)
    server.serve_forever()


# --- the driver ----------------------------------------------------------

def http(method, url, headers=None, body=None):
    data = None if body is None else body.encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), \
                response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


class Keystone:
    def __init__(self, workdir, port):
        self.workdir = workdir
        self.port = port
        self.url = "http://127.0.0.1:%d" % port
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [sys.executable, __file__, "serve", self.workdir, str(self.port)],
            stdout=open(os.path.join(self.workdir, "keystone.out"), "a"),
            stderr=subprocess.STDOUT)
        for _ in range(600):
            try:
                with socket.create_connection(("127.0.0.1", self.port), 1):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise SystemExit("Keystone did not start: see %s/keystone.out"
                             % self.workdir)

    def stop(self):
        if self.process:
            self.process.terminate()
            self.process.wait()
            self.process = None

    def api(self, method, path, token=None, body=None, subject=None):
        headers = {"Content-Type": "application/json",
                   "Accept": "application/json",
                   "User-Agent": "keystone-record-admin"}
        if token:
            headers["X-Auth-Token"] = token
        if subject:
            headers["X-Subject-Token"] = subject
        status, response_headers, text = http(
            method, self.url + "/v3" + path, headers,
            None if body is None else json.dumps(body))
        if status >= 400:
            raise SystemExit("%s %s: %d %s" % (method, path, status, text))
        return response_headers, (json.loads(text) if text else None)

    def token(self, user, password, project):
        headers, _ = self.api("POST", "/auth/tokens", body={"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user, "domain": {"id": "default"},
                "password": password}}},
            "scope": {"project": {"name": project,
                                  "domain": {"id": "default"}}}}})
        return headers["X-Subject-Token"]

    def exchanges(self):
        path = os.path.join(self.workdir, "exchanges.jsonl")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f]


def echo(environ, start_response):
    """What gnocchi-api's KeystoneAuthHelper would read."""
    identity = {name: environ.get("HTTP_" + name.upper().replace("-", "_"))
                for name in ("X-Identity-Status", "X-User-Id", "X-Project-Id",
                             "X-Domain-Id", "X-Roles")}
    body = json.dumps(identity).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


class Middleware:
    """keystonemiddleware's auth_token in front of `echo` for /v1, as
    gnocchi-api's paste urlmap has it; nothing in front of the rest."""

    def __init__(self, options):
        from keystonemiddleware import auth_token
        protected = auth_token.filter_factory({}, **options)(echo)

        def app(environ, start_response):
            path = environ["PATH_INFO"]
            if path == "/v1" or path.startswith("/v1/"):
                return protected(environ, start_response)
            return echo(environ, start_response)

        self.port = free_port()
        self.server = wsgiref.simple_server.make_server(
            "127.0.0.1", self.port, app, server_class=Threaded,
            handler_class=Quiet)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def send(self, step):
        status, headers, body = http(
            step["method"], "http://127.0.0.1:%d%s" % (self.port, step["path"]),
            step.get("headers"), step.get("body"))
        return answer(status, headers, body)


class Carbonara:
    def __init__(self, workdir, binary, example, options, name):
        store = os.path.join(workdir, "store-" + name)
        subprocess.run([binary, "--store", store, "init", "--sacks", "8"],
                       check=True, stdout=subprocess.DEVNULL)
        options_file = os.path.join(workdir, name + ".json")
        with open(options_file, "w") as f:
            json.dump(options, f)
        self.port = free_port()
        self.process = subprocess.Popen(
            [example, store, "127.0.0.1:%d" % self.port, options_file],
            stderr=open(os.path.join(workdir, name + ".log"), "w"))
        for _ in range(300):
            try:
                with socket.create_connection(("127.0.0.1", self.port), 1):
                    return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("carbonara did not start: see %s/%s.log"
                         % (workdir, name))

    def send(self, step):
        status, headers, body = http(
            step["method"], "http://127.0.0.1:%d%s" % (self.port, step["path"]),
            step.get("headers"), step.get("body"))
        return answer(status, headers, body)

    def stop(self):
        self.process.terminate()
        self.process.wait()


def answer(status, headers, body):
    kept = {k.lower(): v for k, v in headers.items()
            if k.lower() in ("content-type", "www-authenticate")}
    return {"status": status, "headers": kept, "body": body}


class Session:
    """One Keystone, its users, and the scenarios recorded against it."""

    def __init__(self, workdir, port, binary, example, out):
        self.keystone = Keystone(workdir, port)
        self.workdir, self.binary, self.example, self.out = \
            workdir, binary, example, out
        self.keystone.start()
        k = self.keystone
        self.admin = k.token("admin", "admin-secret", "admin")
        _, roles = k.api("GET", "/roles", self.admin)
        role = {r["name"]: r["id"] for r in roles["roles"]}
        if "service" not in role:
            _, created = k.api("POST", "/roles", self.admin,
                               {"role": {"name": "service"}})
            role["service"] = created["role"]["id"]
        project = {}
        for name in ("service", "demo"):
            _, created = k.api("POST", "/projects", self.admin, {"project": {
                "name": name, "domain_id": "default"}})
            project[name] = created["project"]["id"]
        for user, password, on, role_name in (
                ("gnocchi", SERVICE_PASSWORD, "service", "service"),
                ("alice", "alice-secret", "demo", "member")):
            _, created = k.api("POST", "/users", self.admin, {"user": {
                "name": user, "password": password, "domain_id": "default"}})
            k.api("PUT", "/projects/%s/users/%s/roles/%s" % (
                project[on], created["user"]["id"], role[role_name]),
                self.admin)

    def options(self):
        return {
            "auth_type": "password",
            "auth_url": self.keystone.url,
            "www_authenticate_uri": self.keystone.url + "/v3",
            "username": "gnocchi",
            "password": SERVICE_PASSWORD,
            "user_domain_name": "Default",
            "project_name": "service",
            "project_domain_name": "Default",
            # Keystone down: answered at once, not after 0.5 + 1 + 2 s.
            "http_request_max_retries": "0",
        }

    def alice(self):
        return self.keystone.token("alice", "alice-secret", "demo")

    def admin_token(self):
        return self.keystone.token("admin", "admin-secret", "admin")

    def record(self, name, description, steps):
        """Runs `steps` (requests, or callables run between them) against
        a fresh carbonara and keystonemiddleware; writes the scenario."""
        options = self.options()
        before = len(self.keystone.exchanges())
        carbonara = Carbonara(self.workdir, self.binary, self.example,
                              options, name)
        middleware = Middleware(options)
        recorded = []
        try:
            for step in steps:
                if callable(step):
                    recorded.append({"action": step(self)})
                    continue
                carbonara_answer = carbonara.send(step)
                middleware_answer = middleware.send(step)
                recorded.append({"request": step, "carbonara": carbonara_answer,
                                 "keystonemiddleware": middleware_answer})
        finally:
            carbonara.stop()
            middleware.server.shutdown()
        exchanges = self.keystone.exchanges()[before:]
        # keystonemiddleware's calls say keystonemiddleware or
        # keystoneclient; the script's own say keystone-record-admin.
        agent = lambda e: e["request"]["headers"].get("user-agent", "")
        by = lambda wanted: [
            {"request": dict(e["request"], headers={
                k: v for k, v in e["request"]["headers"].items()
                if k != "user-agent"}), "response": e["response"]}
            for e in exchanges if wanted(agent(e))]
        document = {
            "scenario": name,
            "description": description,
            "options": options,
            "steps": recorded,
            "keystone": by(lambda a: a.startswith("carbonara/")),
            "keystonemiddleware_keystone": by(
                lambda a: not a.startswith(("carbonara/",
                                            "keystone-record-admin"))),
        }
        text = json.dumps(document, indent=1, sort_keys=False)
        text = text.replace(self.keystone.url, "{keystone}")
        with open(os.path.join(self.out, name + ".json"), "w") as f:
            f.write(text + "\n")
        print("recorded %s: %d steps, %d carbonara exchanges with Keystone"
              % (name, len(recorded), len(document["keystone"])))


JSON = {"Content-Type": "application/json", "Accept": "application/json"}


def get(path, token, **extra):
    headers = {"Accept": "application/json"}
    if token:
        headers["X-Auth-Token"] = token
    headers.update(extra)
    return {"method": "GET", "path": path, "headers": headers}


def post(path, token, body, **extra):
    headers = dict(JSON)
    if token:
        headers["X-Auth-Token"] = token
    headers.update(extra)
    return {"method": "POST", "path": path, "headers": headers,
            "body": json.dumps(body)}


def main():
    if sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]))
        return
    workdir, port, binary, example, out = sys.argv[1:6]
    session = Session(workdir, int(port), binary, example, out)
    try:
        alice = session.alice()
        session.record(
            "valid_token",
            "A member's token: a metric created (creator user_id:project_id),"
            " read back with the same token (validated once, then cached);"
            " the root and the health check need no token.",
            [post("/v1/metric", alice, {"archive_policy_name": "low"}),
             get("/v1/metric", alice),
             get("/v1/archive_policy/low", alice),
             {"method": "GET", "path": "/", "headers": {}}])
        admin = session.admin_token()
        alice = session.alice()
        session.record(
            "admin_role",
            "The admin role creates archive policies; a member may not.",
            [post("/v1/archive_policy", admin,
                  {"name": "keystone", "definition": [
                      {"granularity": "1s", "points": 60}]}),
             post("/v1/archive_policy", alice,
                  {"name": "keystone2", "definition": [
                      {"granularity": "1s", "points": 60}]})])
        alice = session.alice()
        revoked = session.alice()
        session.keystone.api("DELETE", "/auth/tokens", session.admin,
                             subject=revoked)
        session.record(
            "bad_token",
            "No token, a token Keystone never made, a revoked one: 401 with"
            " keystonemiddleware's body and WWW-Authenticate, whatever the"
            " Accept header.",
            [get("/v1/metric", None),
             get("/v1/metric", "not-a-token"),
             get("/v1/metric", "not-a-token", Accept="text/html"),
             get("/v1/metric", revoked),
             get("/v1/metric", alice)])
        alice = session.alice()
        session.record(
            "spoofed_headers",
            "A member's token sent with identity headers of its own making:"
            " they are ignored (X-Roles: admin gives no admin rights).",
            [post("/v1/archive_policy", alice,
                  {"name": "spoofed", "definition": [
                      {"granularity": "1s", "points": 60}]},
                  **{"X-Roles": "admin", "X-User-Id": "root",
                     "X-Project-Id": "admin", "X-Identity-Status":
                     "Confirmed"}),
             post("/v1/metric", alice, {"archive_policy_name": "low"},
                  **{"X-Roles": "admin", "X-User-Id": "root",
                     "X-Project-Id": "admin"})])
        first, second = session.alice(), session.alice()

        def revoke_service_tokens(s):
            exchanges = s.keystone.exchanges()
            for agent in ("carbonara/", "keystonemiddleware"):
                tokens = [e["response"]["headers"].get("x-subject-token")
                          for e in exchanges
                          if e["request"]["method"] == "POST"
                          and e["request"]["headers"].get(
                              "user-agent", "").startswith(agent)]
                s.keystone.api("DELETE", "/auth/tokens", s.admin,
                               subject=tokens[-1])
            return "revoke_service_tokens"

        session.record(
            "service_token_renewed",
            "carbonara's (and keystonemiddleware's) service token revoked in"
            " Keystone between two requests: the validation answered 401"
            " makes it authenticate again and validate once more.",
            [get("/v1/metric", first),
             revoke_service_tokens,
             get("/v1/metric", second)])
        first, second = session.alice(), session.alice()

        def stop_keystone(s):
            s.keystone.stop()
            return "stop_keystone"

        session.record(
            "keystone_down",
            "Keystone stops between two requests: a token already validated"
            " is still served from the cache, a new one gets"
            " keystonemiddleware's 503.",
            [get("/v1/metric", first),
             stop_keystone,
             get("/v1/metric", first),
             get("/v1/metric", second),
             get("/v1/metric", second, Accept="text/html"),
             {"method": "GET", "path": "/v1/metric",
              "headers": {"X-Auth-Token": second}}])
    finally:
        session.keystone.stop()


if __name__ == "__main__":
    main()
