"""Reports step: AGS client: owns the HTTP conversation with a platform (token, line items, scores).

Protocol pieces come from libraries: PyJWT signs the client assertion (RFC 7523), requests
speaks HTTP, urllib3's `Retry` retries 429 and 5xx with exponential backoff that honours
`Retry-After`. Two retry rules, because not every request is safe to repeat:

- token requests, reads and Score posts are idempotent (a Score carries its own timestamp and
  replaces the previous one), so they are retried on 429, 5xx, timeouts and lost connections;
- creating a line item is not: a 500 or a timeout may come after the platform created it, and
  a blind retry makes the duplicate gradebook column other tools are known for. It is retried
  only when the platform certainly did nothing (429, or a refused connection); after any other
  failure the line items are listed again and the one found is used.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import jwt
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from autograder.reports.lti.keys import ALGORITHM, ToolKey
from autograder.reports.lti.platform import Platform

LINEITEM_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
CONTAINER_TYPE = "application/vnd.ims.lis.v2.lineitemcontainer+json"
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME = dt.timedelta(minutes=5)
RETRY_STATUSES = (429, 500, 502, 503, 504)
PAGE_SIZE = 100
UTC = dt.timezone.utc


class PlatformError(Exception):
    """The platform refused or failed a request; the message is one line naming the step."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class HttpSettings:
    """Timeouts and retry budget for every request to the platform."""

    timeout_s: float = 30.0
    retries: int = 5
    backoff_s: float = 1.0
    backoff_max_s: float = 60.0
    retry_after_max_s: int = 300


@dataclass(frozen=True)
class LineItem:
    """A gradebook column as the platform reports it."""

    id: str
    label: str
    score_maximum: float
    resource_id: str
    tag: str

    @classmethod
    def from_json(cls, data: dict) -> LineItem:
        return cls(str(data["id"]), str(data.get("label") or ""), float(data.get("scoreMaximum") or 0),
                   str(data.get("resourceId") or ""), str(data.get("tag") or ""))

    @property
    def scores_url(self) -> str:
        """`<line item>/scores`, keeping a query such as Moodle's `?type_id=`."""
        parts = urlsplit(self.id)
        return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/scores"))


@dataclass(frozen=True)
class Score:
    """One AGS Score: always a completed activity with a final grade (Canvas ignores others)."""

    user_id: str
    score_given: float
    score_maximum: float
    comment: str

    def to_json(self, timestamp: dt.datetime) -> dict:
        return {"userId": self.user_id, "scoreGiven": self.score_given,
                "scoreMaximum": self.score_maximum, "comment": self.comment,
                "timestamp": timestamp.isoformat(timespec="milliseconds"),
                "activityProgress": "Completed", "gradingProgress": "FullyGraded"}


def client_assertion(platform: Platform, key: ToolKey, now: dt.datetime) -> str:
    """The RS256 JWT the tool authenticates with (iss = sub = client_id, aud = token URL)."""
    claims = {"iss": platform.client_id, "sub": platform.client_id, "aud": platform.token_url,
              "iat": now, "exp": now + ASSERTION_LIFETIME, "jti": str(uuid.uuid4())}
    return jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})


class AgsClient:
    """An authenticated AGS session with one platform (call `connect` first)."""

    def __init__(self, platform: Platform, key: ToolKey, settings: HttpSettings | None = None) -> None:
        self.platform, self.key = platform, key
        self.settings = settings or HttpSettings()
        self._http = self._session(frozenset({"GET", "POST"}), RETRY_STATUSES, self.settings.retries)
        self._create = self._session(frozenset({"POST"}), (429,), 0)
        self._scopes: tuple[str, ...] = ()

    def _session(self, methods: frozenset[str], statuses: tuple[int, ...], read_retries: int) -> requests.Session:
        s = self.settings
        retry = Retry(total=s.retries, connect=s.retries, read=read_retries, status=s.retries, other=0,
                      allowed_methods=methods, status_forcelist=statuses, backoff_factor=s.backoff_s,
                      backoff_max=s.backoff_max_s, retry_after_max=s.retry_after_max_s,
                      respect_retry_after_header=True, raise_on_status=False)
        session = requests.Session()
        session.mount("https://", HTTPAdapter(max_retries=retry))
        session.mount("http://", HTTPAdapter(max_retries=retry))
        return session

    def close(self) -> None:
        self._http.close()
        self._create.close()

    def __enter__(self) -> AgsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ token

    def connect(self, scopes: tuple[str, ...] = (LINEITEM_SCOPE, SCORE_SCOPE)) -> None:
        """Get an access token by the client-credentials grant; refusals name the likely cause."""
        form = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": client_assertion(self.platform, self.key, dt.datetime.now(UTC)),
                "scope": " ".join(scopes)}
        response = self._send(self._http, "POST", self.platform.token_url, "token request",
                              data=form, headers={"Accept": "application/json"})
        if response.status_code in (400, 401, 403):
            raise PlatformError(_token_refusal(response, self.platform, self.key), response.status_code)
        body = _json(_checked(response, "token request"), "token request")
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise PlatformError("token request: the platform's answer has no access_token")
        granted = set(str(body.get("scope") or " ".join(scopes)).split())
        missing = [s for s in scopes if s not in granted]
        if missing:
            raise PlatformError(f"token request: the platform did not grant {', '.join(missing)}; "
                                "enable these AGS scopes in the tool's registration (docs/lms.md)")
        for session in (self._http, self._create):
            session.headers["Authorization"] = f"Bearer {token}"
        self._scopes = scopes

    def platform_key_count(self) -> int:
        """Fetch the platform's JWKS (the keys its launches are signed with) and count its keys."""
        response = _checked(self._send(self._http, "GET", self.platform.jwks_url, "fetching the platform JWKS",
                                       headers={"Accept": "application/json"}), "fetching the platform JWKS")
        try:
            return len(jwt.PyJWKSet.from_dict(_json(response, "fetching the platform JWKS")).keys)
        except (jwt.PyJWKSetError, jwt.InvalidKeyError, AttributeError, TypeError) as exc:
            raise PlatformError(f"fetching the platform JWKS: {self.platform.jwks_url} is not a JWKS ({exc})") from exc

    # ------------------------------------------------------------ line items

    def find_line_items(self, resource_id: str, tag: str) -> list[LineItem]:
        """Line items of the course with this resourceId and tag (every page, filtered here too,
        since some platforms ignore the query parameters)."""
        url: str | None = self.platform.lineitems_url
        params: dict | None = {"resource_id": resource_id, "tag": tag, "limit": PAGE_SIZE}
        found: list[LineItem] = []
        while url:
            response = _checked(self._authorized(self._http, "GET", url, "listing line items", params=params,
                                           headers={"Accept": CONTAINER_TYPE}), "listing line items")
            items = _json(response, "listing line items")
            if not isinstance(items, list):
                raise PlatformError("listing line items: the platform's answer is not a list")
            found += [LineItem.from_json(i) for i in items
                      if i.get("resourceId") == resource_id and i.get("tag") == tag]
            url, params = response.links.get("next", {}).get("url"), None
        return found

    def create_line_item(self, resource_id: str, tag: str, label: str, maximum: float) -> tuple[LineItem, bool]:
        """Create the line item (call after `find_line_items` found none); False when the create
        failed but a relisting shows the platform made it anyway."""
        body = {"label": label, "scoreMaximum": maximum, "resourceId": resource_id, "tag": tag}
        try:
            response = _checked(self._authorized(self._create, "POST", self.platform.lineitems_url,
                                           "creating the line item", json_body=body,
                                           content_type=LINEITEM_TYPE, accept=LINEITEM_TYPE),
                                "creating the line item", retried=(429,))
        except PlatformError:
            again = self.find_line_items(resource_id, tag)  # it may exist despite the error
            if again:
                return again[0], False
            raise
        return LineItem.from_json(_json(response, "creating the line item")), True

    # ------------------------------------------------------------ scores

    def post_score(self, line_item: LineItem, score: Score) -> None:
        """Post one Score (retried: the platform keeps the one with the latest timestamp)."""
        what = f"posting the score of user {score.user_id}"
        _checked(self._authorized(self._http, "POST", line_item.scores_url, what,
                            json_body=score.to_json(dt.datetime.now(UTC)), content_type=SCORE_TYPE), what)

    # ------------------------------------------------------------ plumbing

    def _authorized(self, session: requests.Session, method: str, url: str, what: str,
                    **kwargs) -> requests.Response:
        """A service call; a 401 (the access token expired, e.g. after an hour on Canvas) gets a
        new token and one more try."""
        response = self._send(session, method, url, what, **kwargs)
        if response.status_code == 401 and self._scopes:
            self.connect(self._scopes)
            response = self._send(session, method, url, what, **kwargs)
        return response

    def _send(self, session: requests.Session, method: str, url: str, what: str, *,
              json_body: dict | None = None, content_type: str | None = None, accept: str | None = None,
              **kwargs) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if content_type:
            headers["Content-Type"] = content_type
        if accept:
            headers["Accept"] = accept
        data = kwargs.pop("data", None)
        if json_body is not None:
            data = json.dumps(json_body)
        try:
            return session.request(method, url, data=data, headers=headers,
                                   timeout=self.settings.timeout_s, **kwargs)
        except requests.RequestException as exc:
            raise PlatformError(f"{what}: no usable answer from {urlsplit(url).netloc} "
                                f"({_reason(exc)})") from exc


def _checked(response: requests.Response, what: str,
             retried: tuple[int, ...] = RETRY_STATUSES) -> requests.Response:
    if response.ok:
        return response
    note = " after retries" if response.status_code in retried else ""
    raise PlatformError(f"{what}: HTTP {response.status_code}{note}: {_excerpt(response)}",
                        response.status_code)


def _json(response: requests.Response, what: str):
    try:
        return response.json()
    except ValueError as exc:
        raise PlatformError(f"{what}: the platform's answer is not JSON ({_excerpt(response)})") from exc


def _excerpt(response: requests.Response) -> str:
    text = " ".join(response.text.split())
    return text[:200] or response.reason or "no body"


def _reason(exc: requests.RequestException) -> str:
    inner = exc.args[0] if exc.args else exc
    reason = getattr(inner, "reason", None) or inner
    return " ".join(str(reason).split())[:200]


def _token_refusal(response: requests.Response, platform: Platform, key: ToolKey) -> str:
    try:
        body = response.json()
    except ValueError:
        body = {}
    error = body.get("error", "refused") if isinstance(body, dict) else "refused"
    detail = body.get("error_description", "") if isinstance(body, dict) else ""
    return (f"the platform refused the tool's token request (HTTP {response.status_code} {error}"
            f"{': ' + detail if detail else ''}): check that the key {key.kid} printed by "
            f"`grade lti keys` is registered for client_id {platform.client_id} and that "
            f"token_url is the platform's token endpoint")
