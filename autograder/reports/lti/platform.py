"""Reports step: LTI platform file: owns reading and validating one course's registration on an LMS (TOML).

Every problem is reported on its own line, naming the field and what the LMS calls it, so a
TA can fix the whole file in one pass. URLs must be https (http only on loopback, for tests).
"""

from __future__ import annotations

import ipaddress
import sys
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class PlatformFileError(Exception):
    """The platform file cannot be used; `problems` holds one line per field."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        super().__init__(f"{path}: {len(problems)} problem(s)")
        self.path = path
        self.problems = problems


@dataclass(frozen=True)
class Platform:
    """One course on one LMS, as registered for this tool."""

    issuer: str
    client_id: str
    deployment_id: str
    token_url: str
    jwks_url: str
    lineitems_url: str


# What each field is and where the LMS shows it (the details per LMS are in docs/lms.md).
FIELD_HELP = {
    "issuer": "the platform's issuer (Canvas: https://canvas.instructure.com; Moodle: the site URL; "
              "Blackboard: https://blackboard.com)",
    "client_id": "the tool's client id (Canvas: the developer key's id; Moodle: Client ID; "
                 "Blackboard: the application id)",
    "deployment_id": "the deployment id (Canvas: the app's Deployment Id; Moodle: Deployment ID; "
                     "Blackboard: the deployment id of the placement)",
    "token_url": "the OAuth2 access token URL (Moodle: Access token URL)",
    "jwks_url": "the platform's public keyset URL (Moodle: Public keyset URL)",
    "lineitems_url": "the course's line items URL (the AGS claim's 'lineitems' of a launch)",
}
URL_FIELDS = ("token_url", "jwks_url", "lineitems_url", "issuer")


def read_platform(path: Path) -> Platform:
    """The validated platform file; PlatformFileError lists every problem, one per line."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeError) as exc:
        raise PlatformFileError(path, [f"{path}: cannot read it ({exc})"]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise PlatformFileError(path, [f"{path}: not valid TOML ({exc})"]) from exc
    problems = _problems(raw)
    if problems:
        raise PlatformFileError(path, [f"{path}: {p}" for p in problems])
    return Platform(**{f.name: raw[f.name].strip() for f in fields(Platform)})


def _problems(raw: dict) -> list[str]:
    names = [f.name for f in fields(Platform)]
    problems = [f"unknown field {key!r} (known: {', '.join(names)})" for key in raw if key not in names]
    for name in names:
        value = raw.get(name)
        if value is None:
            problems.append(f"{name} is missing: {FIELD_HELP[name]}")
        elif not isinstance(value, str) or not value.strip():
            problems.append(f"{name} must be a non-empty string: {FIELD_HELP[name]}")
        elif name in URL_FIELDS:
            problems += [f"{name} {value!r} {why}" for why in _url_problems(value.strip(), name)]
    return problems


def _url_problems(url: str, name: str) -> list[str]:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return ["is not an absolute https:// URL"]
    if parts.scheme == "http" and not _loopback(parts.hostname):
        return ["must use https:// (plain http is only accepted on this machine's loopback)"]
    if parts.fragment:
        return ["must not have a #fragment"]
    if name == "issuer" and parts.query:
        return ["must not have a ?query (an issuer is compared as a plain URL)"]
    return []


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
