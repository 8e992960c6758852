# Two entry points (see README): `make demo` and `make test`. Both install what they need first.
PYTHON ?= python3

.PHONY: install demo test lint bench

install:
	bash scripts/install.sh

demo: install
	grade generate --check
	grade demo -a hw5_cnn

test: install
	ruff check .
	$(PYTHON) -m pytest -q -n auto --dist loadfile  # one worker per core; a file stays on one worker (the PostgreSQL tests share one database)

lint:
	ruff check .

bench: install
	$(PYTHON) benchmarks/run_all.py
