"""Declaration step: staff settings file: owns reading the `grade` configuration (TOML) into a typed `Config`.

One file per grading host, so that a choice such as accepting weaker isolation is made once, in
writing, rather than by whoever types the command. Looked up in `--config FILE`, else
`$INTRO2AI_CONFIG`, else `$XDG_CONFIG_HOME/intro2ai-autograder/config.toml` (default
`~/.config/...`); no file means the defaults. Example:

    [sandbox]
    allow_weaker_isolation = true   # grade with the rlimits-only runner where bubblewrap cannot work
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

from autograder.assignment import tomllib


class ConfigError(Exception):
    """The settings file cannot be used; the message names the file, the cause and the fix."""


@dataclass(frozen=True)
class Config:
    """Every setting a config file may hold, with its default (the `[sandbox]` table)."""

    allow_weaker_isolation: bool = False


def default_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "intro2ai-autograder" / "config.toml"


def read_config(path: Path | None) -> Config:
    """The settings of `path` (which must exist), else of the default file if there is one."""
    if path is None:
        path = default_config_path()
        if not path.is_file():
            return Config()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path} is not valid UTF-8 TOML ({exc}): fix the file or pass another --config") from exc
    known = [f.name for f in fields(Config)]
    sandbox = raw.pop("sandbox", {})
    if not isinstance(sandbox, dict):
        raise ConfigError(f"{path}: [sandbox] must be a table")
    unknown = [f"[{k}]" for k in raw] + [f"sandbox.{k}" for k in sandbox if k not in known]
    if unknown:
        raise ConfigError(f"{path}: unknown setting {', '.join(unknown)} "
                          f"(known: {', '.join('sandbox.' + k for k in known)})")  # fmt: skip
    for key, value in sandbox.items():
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: sandbox.{key} must be true or false, not {value!r}")
    return Config(**sandbox)
