"""A spec-faithful LTI 1.3 platform on loopback for the LTI tests (OAuth2 token + AGS).

It behaves as the AGS 2.0 and LTI Advantage security specs say and as Canvas does where they
leave room: it verifies the client assertion with the tool's registered JWK (RS256, `iss` =
`sub` = client_id, `aud` = token URL, `exp`, `jti` never reused), grants only registered scopes,
checks the bearer token and its scope on every call, enforces the AGS media types (406/415),
paginates line items with a `Link: rel="next"` header, rejects a Score for a user who is not a
student of the course with Canvas's 422 message, and keeps the Score with the latest timestamp.
Faults (a status with optional Retry-After, a delay that outlasts the client's timeout, or a
failure *after* the request was processed) are injected per method and path.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

LINEITEM_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
LINEITEM_READ_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
CONTAINER_TYPE = "application/vnd.ims.lis.v2.lineitemcontainer+json"
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
ACTIVITY = {"Initialized", "Started", "InProgress", "Submitted", "Completed"}
GRADING = {"FullyGraded", "Pending", "PendingManual", "Failed", "NotReady"}
NOT_A_STUDENT = "User not found in course or is not a student"
COURSE = "/api/lti/courses/101/line_items"


@dataclass
class Fault:
    """Answer the next `times` requests whose path ends with `path_end` with `status` (after
    `delay` s, optionally after processing them for real)."""

    method: str
    path_end: str
    status: int | None = None
    retry_after: str | None = None
    delay: float = 0.0
    after_processing: bool = False
    times: int = 1
    hits: int = 0


@dataclass
class Reply:
    status: int
    body: object = None
    content_type: str = "application/json"
    headers: dict = field(default_factory=dict)


class FakePlatform:
    """Start with `with FakePlatform(...) as p:`; `p.platform_toml()` is the tool's platform file."""

    def __init__(self, tool_jwk: dict, students: set[str], client_id: str = "10000000000042",
                 scopes: tuple[str, ...] = (LINEITEM_SCOPE, LINEITEM_READ_SCOPE, SCORE_SCOPE),
                 query: str = "", page_size: int = 2) -> None:
        self.tool_key = jwt.PyJWK(tool_jwk).key
        self.students, self.client_id, self.registered = students, client_id, set(scopes)
        self.query, self.page_size = query, page_size
        self.own_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.line_items: list[dict] = []
        self.scores: dict[tuple[int, str], dict] = {}
        self.score_posts: list[dict] = []
        self.requests: list[tuple[str, str]] = []
        self.token_requests: list[dict] = []
        self.faults: list[Fault] = []
        self.used_jti: set[str] = set()
        self.tokens: dict[str, set[str]] = {}
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakePlatform:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------ what the tool registers

    @property
    def token_url(self) -> str:
        return f"{self.base}/login/oauth2/token"

    @property
    def lineitems_url(self) -> str:
        return f"{self.base}{COURSE}" + (f"?{self.query}" if self.query else "")

    def platform_toml(self, **override: str) -> str:
        fields = {"issuer": "https://canvas.instructure.com", "client_id": self.client_id,
                  "deployment_id": "7:8865aa05b4b79b64a91a86042e43af5ea8ae79eb",
                  "token_url": self.token_url, "jwks_url": f"{self.base}/api/lti/security/jwks",
                  "lineitems_url": self.lineitems_url, **override}
        return "".join(f'{k} = "{v}"\n' for k, v in fields.items())

    def add_line_item(self, label: str, maximum: float, resource_id: str, tag: str) -> dict:
        with self.lock:
            return self._create_item({"label": label, "scoreMaximum": maximum, "resourceId": resource_id,
                                      "tag": tag})

    def posts_for(self, user_id: str) -> list[dict]:
        return [p for p in self.score_posts if p["userId"] == user_id]

    # ------------------------------------------------------------ request handling

    def handle(self, method: str, path: str, query: dict, headers, body: bytes) -> Reply:
        with self.lock:
            self.requests.append((method, path))
        if method == "GET" and path == "/api/lti/security/jwks":
            jwk = RSAAlgorithm.to_jwk(self.own_key.public_key(), as_dict=True)
            return Reply(200, {"keys": [{**jwk, "kid": "platform-1", "alg": "RS256", "use": "sig"}]})
        if method == "POST" and path == "/login/oauth2/token":
            return self._token(headers, body)
        scopes = self._bearer(headers)
        if scopes is None:
            return Reply(401, {"errors": [{"message": "Invalid access token"}]})
        if path == COURSE and method == "GET":
            return self._list(scopes, headers, query)
        if path == COURSE and method == "POST":
            return self._create(scopes, headers, body)
        parts = path[len(COURSE) + 1:].split("/") if path.startswith(COURSE + "/") else []
        if len(parts) == 2 and parts[1] == "scores" and parts[0].isdigit() and method == "POST":
            return self._score(scopes, headers, int(parts[0]), query, body)
        return Reply(404, {"errors": [{"message": "not found"}]})

    def _token(self, headers, body: bytes) -> Reply:
        if not headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            return Reply(400, {"error": "invalid_request", "error_description": "form body expected"})
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        with self.lock:
            self.token_requests.append(form)
        if form.get("grant_type") != "client_credentials":
            return Reply(400, {"error": "unsupported_grant_type"})
        if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            return Reply(400, {"error": "invalid_request", "error_description": "client_assertion_type"})
        try:
            claims = jwt.decode(form.get("client_assertion", ""), self.tool_key, algorithms=["RS256"],
                                audience=self.token_url, issuer=self.client_id,
                                options={"require": ["iss", "sub", "aud", "exp", "iat", "jti"]})
        except jwt.InvalidTokenError as exc:
            return Reply(401, {"error": "invalid_client", "error_description": str(exc)})
        if claims["sub"] != self.client_id or claims["exp"] - time.time() > 3600:
            return Reply(401, {"error": "invalid_client", "error_description": "bad sub or exp too far"})
        with self.lock:
            if claims["jti"] in self.used_jti:
                return Reply(401, {"error": "invalid_client", "error_description": "jti already used"})
            self.used_jti.add(claims["jti"])
            granted = set(form.get("scope", "").split()) & self.registered
            if not granted:
                return Reply(400, {"error": "invalid_scope"})
            token = secrets.token_urlsafe(16)
            self.tokens[token] = granted
        return Reply(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600,
                           "scope": " ".join(sorted(granted))})

    def _bearer(self, headers) -> set[str] | None:
        auth = headers.get("Authorization", "")
        with self.lock:
            return self.tokens.get(auth[7:]) if auth.startswith("Bearer ") else None

    def _list(self, scopes: set[str], headers, query: dict) -> Reply:
        if not scopes & {LINEITEM_SCOPE, LINEITEM_READ_SCOPE}:
            return Reply(403, {"errors": [{"message": "scope"}]})
        if CONTAINER_TYPE not in headers.get("Accept", ""):
            return Reply(406, {"errors": [{"message": f"Accept {CONTAINER_TYPE}"}]})
        with self.lock:
            items = [i for i in self.line_items
                     if all(i.get(k) == query[q] for q, k in (("resource_id", "resourceId"), ("tag", "tag"))
                            if q in query)]
        page = int(query.get("page", "1"))
        size = min(int(query.get("limit", self.page_size)), self.page_size)
        chunk = items[(page - 1) * size: page * size]
        links = {}
        if page * size < len(items):
            rest = "&".join(f"{k}={v}" for k, v in query.items() if k != "page")
            links["Link"] = f'<{self.base}{COURSE}?{rest}&page={page + 1}>; rel="next"'
        return Reply(200, chunk, CONTAINER_TYPE, links)

    def _create(self, scopes: set[str], headers, body: bytes) -> Reply:
        if LINEITEM_SCOPE not in scopes:
            return Reply(403, {"errors": [{"message": "scope"}]})
        if headers.get("Content-Type", "").split(";")[0].strip() != LINEITEM_TYPE:
            return Reply(415, {"errors": [{"message": f"Content-Type must be {LINEITEM_TYPE}"}]})
        data = json.loads(body)
        if not data.get("label") or not isinstance(data.get("scoreMaximum"), (int, float)) \
                or data["scoreMaximum"] <= 0:
            return Reply(400, {"errors": [{"message": "label and scoreMaximum > 0 required"}]})
        with self.lock:
            return Reply(201, self._create_item(data), LINEITEM_TYPE)

    def _create_item(self, data: dict) -> dict:
        number = len(self.line_items) + 1
        item = {"id": f"{self.base}{COURSE}/{number}" + (f"?{self.query}" if self.query else ""),
                **{k: data[k] for k in ("label", "scoreMaximum", "resourceId", "tag") if k in data}}
        self.line_items.append(item)
        return item

    def _score(self, scopes: set[str], headers, number: int, query: dict, body: bytes) -> Reply:
        if SCORE_SCOPE not in scopes:
            return Reply(403, {"errors": [{"message": "scope"}]})
        if headers.get("Content-Type", "").split(";")[0].strip() != SCORE_TYPE:
            return Reply(415, {"errors": [{"message": f"Content-Type must be {SCORE_TYPE}"}]})
        if self.query and f"{self.query}" != "&".join(f"{k}={v}" for k, v in query.items()):
            return Reply(404, {"errors": [{"message": "line item query lost"}]})
        if not 1 <= number <= len(self.line_items):
            return Reply(404, {"errors": [{"message": "no such line item"}]})
        score = json.loads(body)
        problem = _score_problem(score)
        if problem:
            return Reply(400, {"errors": [{"message": problem}]})
        if score["userId"] not in self.students:
            return Reply(422, {"errors": {"type": "unprocessable_entity", "message": NOT_A_STUDENT}})
        stamp = dt.datetime.fromisoformat(score["timestamp"])
        with self.lock:
            previous = self.scores.get((number, score["userId"]))
            if previous and dt.datetime.fromisoformat(previous["timestamp"]) > stamp:
                return Reply(409, {"errors": [{"message": "a newer score is on record"}]})
            self.scores[number, score["userId"]] = score
            self.score_posts.append(score)
        return Reply(200, {"resultUrl": f"{self.base}{COURSE}/{number}/results/{score['userId']}"})

    def fault_for(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.method == method and path.endswith(fault.path_end) and fault.hits < fault.times:
                    fault.hits += 1
                    return fault
        return None


def _score_problem(score: dict) -> str | None:
    if not isinstance(score.get("userId"), str) or not score["userId"]:
        return "userId is required"
    if score.get("activityProgress") not in ACTIVITY or score.get("gradingProgress") not in GRADING:
        return "activityProgress and gradingProgress are required"
    try:
        stamp = dt.datetime.fromisoformat(score.get("timestamp", ""))
    except (TypeError, ValueError):
        return "timestamp must be ISO 8601"
    if stamp.tzinfo is None or "." not in score["timestamp"]:
        return "timestamp needs a timezone and sub-second precision"
    given, maximum = score.get("scoreGiven"), score.get("scoreMaximum")
    if given is not None and (not isinstance(maximum, (int, float)) or maximum <= 0 or given < 0):
        return "scoreGiven needs scoreMaximum > 0"
    return None


def _handler(platform: FakePlatform) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def _serve(self, method: str) -> None:
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            fault = platform.fault_for(method, url.path)
            if fault and fault.delay:
                time.sleep(fault.delay)
            reply = None
            if fault is None or fault.status is None or fault.after_processing:
                reply = platform.handle(method, url.path, query, self.headers, body)
            if fault is not None and fault.status is not None:
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                reply = Reply(fault.status, {"errors": [{"message": "injected fault"}]}, headers=headers)
            self._write(reply)

        def _write(self, reply: Reply) -> None:
            data = json.dumps(reply.body).encode()
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(data)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (an injected delay outlasted its timeout)

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._serve("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._serve("POST")

    return Handler
