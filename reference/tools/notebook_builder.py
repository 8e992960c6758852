"""Builds a homework's reference notebook from (kind, source) cells: the part every builder shares.

A builder (build_<homework>_notebook.py) holds its cells and the seed sentences it quotes; this
module checks the quotes against the seed (the build fails when one is gone), gives the cells
stable ids and writes the notebook through autograder.authoring.notebooks.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.authoring.notebooks import KERNELSPEC, stable_cell_id, write_notebook


def build(cells: list[tuple[str, str]], seed_text: str, quoted: tuple[str, ...], label: str) -> str:
    """The reference notebook JSON; fails if a quoted seed sentence is no longer in the seed."""
    missing = [sentence for sentence in quoted if sentence not in seed_text]
    if missing:
        raise SystemExit(f"seed no longer contains: {missing!r}")
    made = [(new_code_cell if kind == "code" else new_markdown_cell)(source, id=stable_cell_id(index))
            for index, (kind, source) in enumerate(cells)]  # fmt: skip
    nb = new_notebook(cells=made, metadata={"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}})
    nb.nbformat_minor = 5
    return write_notebook(nbformat.from_dict(nb), label)


def main(cells: list[tuple[str, str]], quoted: tuple[str, ...], seed: Path, out: Path, argv: list[str] | None = None) -> None:
    """Command line: [SEED] [OUT] override the builder's defaults."""
    argv = sys.argv[1:] if argv is None else argv
    seed = Path(argv[0]) if argv else seed
    out = Path(argv[1]) if len(argv) > 1 else out
    out.write_text(build(cells, seed.read_text(encoding="utf-8"), quoted, out.name), encoding="utf-8")
    print(f"wrote {out}")
