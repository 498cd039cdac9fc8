# The two commands of the README's quick start:
#   make demo   installs what is missing, builds, and runs the main job on a shipped fixture
#   make test   installs what is missing and runs the whole test suite (CI runs this)
SHELL := /bin/bash
.PHONY: demo test build fixtures bench

demo:
	@scripts/demo.sh

test:
	@python="$$(scripts/setup.sh | tail -n 1)"; \
	LSTMFORMAT_PYTHON="$$python" swift test

build:
	swift build -c release

fixtures:
	@python="$$(scripts/setup.sh | tail -n 1)"; \
	"$$python" scripts/make_numpy_fixtures.py && "$$python" scripts/make_demo_fixture.py

bench:
	@scripts/bench.sh
