"""Builds reference/HW5.ipynb from the HW5 seed text, so the notebook's provenance is reproducible.

The seed is the course notebook exported as text: markdown, then `In [..]:` and the code, then
(for the two executed cells) their printed output. Every cell is kept in order, the Korean text
verbatim, outputs dropped; markdown is split at headings. Only what must change to run here is
edited (ADJUSTMENTS), each edit commented in its cell; a seed that no longer contains the
original text makes the build fail instead of silently skipping the edit.

Usage (from the repository root): PYTHONPATH=. python reference/tools/build_hw5_notebook.py [SEED] [OUT]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import notebook_builder  # noqa: E402  (reference/tools is not a package)

SEED = Path("/work/shared/seeds/001_d3f7b29d9e632b31.txt")
OUT = Path(__file__).resolve().parent.parent / "HW5.ipynb"

_CODE_START = re.compile(r"^In \[(\d*|None)\]:$")
_HANGUL = re.compile(r"[\uac00-\ud7a3]")

# (original text in the seed's code, replacement): the image cell reads two photos that ship
# with matplotlib instead of kitten.jpg/puppy.jpg, which are not in this repository.
ADJUSTMENTS = (
    (
        "from imageio import imread\nfrom PIL import Image\n\n"
        "kitten = imread('intro2ai/notebook_images/kitten.jpg')\n"
        "puppy = imread('intro2ai/notebook_images/puppy.jpg')\n",
        "from PIL import Image\n"
        "# Adjusted to run here: two photos that ship with matplotlib replace\n"
        "# kitten.jpg/puppy.jpg (nothing is downloaded).\n"
        "from intro2ai.data_utils import sample_photos\n\n"
        "kitten, puppy = sample_photos()\n",
    ),
    (
        "kitten_cropped = kitten[:, d//2:-d//2, :]\n",
        "kitten_cropped = kitten[:, d//2:kitten.shape[1]-d//2, :]  # adjusted: also right when d == 0\n",
    ),
)


def _split_markdown(text: str) -> list[str]:
    """One markdown cell per heading (the export does not show where cells began)."""
    cells: list[list[str]] = []
    for line in text.split("\n"):
        if not cells or (line.startswith("#") and any(s.strip() for s in cells[-1])):
            cells.append([])
        cells[-1].append(line)
    return [joined for cell in cells if (joined := "\n".join(cell).strip("\n"))]


def _split_code(block: list[str], executed: bool) -> tuple[str, str]:
    """Code and the markdown after it: markdown starts at the first line with Korean text;
    an executed cell's printed output is the last paragraph before it and is dropped."""
    markdown_at = next((i for i, line in enumerate(block) if _HANGUL.search(line)), len(block))
    code = block[:markdown_at]
    while code and not code[-1].strip():
        code.pop()
    if executed:
        last_blank = max(i for i, line in enumerate(code) if not line.strip())
        code = code[:last_blank]
        while code and not code[-1].strip():
            code.pop()
    return "\n".join(code), "\n".join(block[markdown_at:])


def parse_seed(text: str) -> list[tuple[str, str]]:
    """The seed's cells in order, as (cell_type, source)."""
    cells: list[tuple[str, str]] = []
    markdown: list[str] = []
    code: list[str] | None = None
    executed = False
    for line in [*text.split("\n"), "In [None]:"]:
        start = _CODE_START.match(line)
        if not start:
            (markdown if code is None else code).append(line)
            continue
        if code is not None:
            source, after = _split_code(code, executed)
            cells.append(("code", source))
            markdown = [after]
        cells += [("markdown", cell) for cell in _split_markdown("\n".join(markdown))]
        code, markdown, executed = [], [], start.group(1).isdigit()
    return cells


def _adjust(source: str) -> str:
    for original, replacement in ADJUSTMENTS:
        if original in source:
            source = source.replace(original, replacement)
    return source


def build(seed_text: str) -> str:
    """The reference notebook JSON for `seed_text`."""
    missing = [original for original, _ in ADJUSTMENTS if original not in seed_text]
    if missing:
        raise SystemExit(f"seed no longer contains: {missing!r}")
    cells = [(kind, _adjust(source) if kind == "code" else source) for kind, source in parse_seed(seed_text)]
    return notebook_builder.build(cells, seed_text, (), "HW5.ipynb")


def main(argv: list[str]) -> None:
    seed = Path(argv[0]) if argv else SEED
    out = Path(argv[1]) if len(argv) > 1 else OUT
    out.write_text(build(seed.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
