"""Reports step: LTI 1.3 Advantage: owns pushing the gradebook's counted grades into an LMS (AGS).

`keys` makes and loads the tool's RSA key, `platform` reads a course's platform file, `ags`
speaks the Assignment and Grade Services protocol, `publish` decides what each student gets
and records what was sent. Set-up per LMS: docs/lms.md.
"""

from pathlib import Path

DEFAULT_KEY_DIR = Path("~/.config/intro2ai/lti")  # outside any repository; mode 0700
