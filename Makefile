# The two newcomer commands (see README.md): `make run` and `make test`.
.PHONY: setup run demo test lint bench

setup:
	scripts/setup.sh all

# Set up, create a workspace, make benign sample media and a bank, scan them.
run: setup
	scripts/run-example.sh

# Set up, build the demo workspace (./jikimi-demo) and serve it on http://127.0.0.1:8787.
demo: setup
	.venv/bin/jikimi demo

test:
	scripts/setup.sh dev
	scripts/ensure-postgres.sh
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/pytest -q

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

bench:
	.venv/bin/python benchmarks/bench_hashing.py
	.venv/bin/python benchmarks/bench_pdq_index.py
