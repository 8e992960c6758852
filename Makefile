# Two entry points (see README): `make demo` and `make test`. Both install what they need first.
PYTHON ?= python3

.PHONY: install demo test lint bench

install:
	bash scripts/install.sh

demo: install
	grade generate --check
	grade demo

test: install
	ruff check .
	$(PYTHON) -m pytest -q

lint:
	ruff check .

bench: install
	$(PYTHON) benchmarks/run_all.py
