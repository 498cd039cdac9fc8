# Shortcuts for the README's two quick-start commands (scripts/demo.sh, scripts/test.sh) and the rest.
.PHONY: demo test build fixtures bench

demo:
	@scripts/demo.sh

test:
	@scripts/test.sh

build:
	swift build -c release

fixtures:
	@python="$$(scripts/setup.sh | tail -n 1)"; \
	"$$python" scripts/make_numpy_fixtures.py && "$$python" scripts/make_demo_fixture.py && \
	"$$python" scripts/make_hdf5_layer_fixture.py && "$$python" scripts/make_reference_numerics.py && \
	"$$python" scripts/keras_fixtures.py

bench:
	@scripts/bench.sh
