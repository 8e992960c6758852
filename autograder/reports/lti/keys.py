"""Reports step: LTI tool key: owns creating, storing and loading the tool's RSA signing key and its JWKS.

The private key is the tool's identity towards every platform it is registered with: it is
written once with mode 0600 into a folder outside any git work tree (never in the repo, never
in a result document), and refused when its file is readable by others, as ssh does.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from autograder.reports.lti import DEFAULT_KEY_DIR

PRIVATE_KEY_FILE = "lti-tool-private.pem"
JWKS_FILE = "jwks.json"
KEY_BITS = 2048
ALGORITHM = "RS256"


class ToolKeyError(Exception):
    """The tool key cannot be made or used; the message is one line with the fix."""


@dataclass(frozen=True)
class ToolKey:
    """The tool's private key and the public JWK platforms verify its assertions with."""

    path: Path
    private_key: rsa.RSAPrivateKey
    kid: str

    def public_jwk(self) -> dict:
        jwk = RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "alg": ALGORITHM, "use": "sig"}

    def jwks(self) -> dict:
        return {"keys": [self.public_jwk()]}

    def public_pem(self) -> str:
        """The public key as PEM (Moodle's 'RSA key' field takes this, not a JWK)."""
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def ensure_key(key_dir: Path) -> tuple[ToolKey, bool]:
    """The key in `key_dir`, created first when absent; True when it was just created."""
    key_dir = key_dir.expanduser().resolve()
    if (key_dir / PRIVATE_KEY_FILE).exists():
        return load_key(key_dir), False
    repo = _git_work_tree(key_dir)
    if repo is not None:
        raise ToolKeyError(f"{key_dir} is inside the git work tree {repo}: keep the private key out of "
                        f"repositories (use the default {DEFAULT_KEY_DIR} or another --key-dir)")
    key_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    path = key_dir / PRIVATE_KEY_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    key = ToolKey(path, private, _thumbprint(private))
    (key_dir / JWKS_FILE).write_text(json.dumps(key.jwks(), indent=2) + "\n", encoding="utf-8")
    return key, True


def load_key(key_dir: Path) -> ToolKey:
    """The tool key of `key_dir`; a missing, unreadable or world-readable file is refused."""
    path = key_dir.expanduser().resolve() / PRIVATE_KEY_FILE
    if not path.is_file():
        raise ToolKeyError(f"no tool key at {path}: create it with `grade lti keys` and register "
                        f"the JWKS it prints on the platform")
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ToolKeyError(f"{path} has permissions {mode:04o}, readable by others: run chmod 600 {path}")
    try:
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise ToolKeyError(f"{path} is not an unencrypted PEM private key ({exc})") from exc
    if not isinstance(private, rsa.RSAPrivateKey):
        raise ToolKeyError(f"{path} is not an RSA key: LTI 1.3 signs with RS256")
    return ToolKey(path, private, _thumbprint(private))


def _thumbprint(private: rsa.RSAPrivateKey) -> str:
    """RFC 7638 JWK thumbprint: a key id that any party can recompute from the public key."""
    jwk = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    canonical = json.dumps({k: jwk[k] for k in ("e", "kty", "n")}, separators=(",", ":"),
                           sort_keys=True)
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _git_work_tree(folder: Path) -> Path | None:
    for parent in (folder, *folder.parents):
        if (parent / ".git").exists():
            return parent
    return None
