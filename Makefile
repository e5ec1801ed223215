# Set-up, build, test and demo. Everything it needs lives under .venv/ and build/.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
WHEELHOUSE := build/wheelhouse
# Builds of example_app take the hook and its build needs from the wheelhouse, never an index.
OFFLINE := PIP_NO_INDEX=1 PIP_FIND_LINKS=$(CURDIR)/$(WHEELHOUSE) UV_NO_INDEX=1 UV_FIND_LINKS=$(CURDIR)/$(WHEELHOUSE)

.PHONY: venv wheelhouse build lock demo fleet prometheus test test-pythons bench bench-fleet lint clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet --editable . --group test
	touch $@

venv: $(VENV)/.installed

# hatch-buildinfo's own wheel plus what an isolated build of a project using the hook needs.
wheelhouse: venv
	rm -rf $(WHEELHOUSE) && mkdir -p $(WHEELHOUSE)
	$(BIN)/python -m build --wheel --no-isolation --outdir $(WHEELHOUSE) . >/dev/null
	needs=$$($(BIN)/python -c 'from hatch_buildinfo.hook.build_hook import BUILD_DEPENDENCIES; print(*BUILD_DEPENDENCIES)') \
		&& $(BIN)/python -m pip download --quiet --dest $(WHEELHOUSE) hatchling $$needs

build: wheelhouse
	rm -rf dist
	cd example_app && $(OFFLINE) ../$(BIN)/python -m build --outdir ../dist .

# Refresh example_app's uv.lock: the exact versions its builds record.
lock: venv
	cd example_app && ../$(BIN)/uv lock --upgrade

# The demo installs exactly what example_app's lock pins, so --version shows no drift.
demo: build
	rm -rf $(VENV)/demo
	$(BIN)/uv venv --quiet --python $(PYTHON) $(VENV)/demo
	$(BIN)/uv export --quiet --project example_app --frozen --no-dev --no-emit-project \
		--no-emit-package hatch-buildinfo --no-hashes --output-file build/example_app-locked.txt
	$(BIN)/uv pip install --quiet --python $(VENV)/demo --find-links $(WHEELHOUSE) --refresh-package hatch-buildinfo \
		--constraint build/example_app-locked.txt dist/example_app-*.whl
	@echo '$$ example-app --version'
	@$(VENV)/demo/bin/example-app --version
	@echo '$$ python -m hatch_buildinfo inspect example-app --json'
	@$(VENV)/demo/bin/python -m hatch_buildinfo inspect example-app --json
	@echo '$$ hatch-buildinfo inspect example-app    # the same command; the text names the SBOM the wheel ships'
	@$(VENV)/demo/bin/hatch-buildinfo inspect example-app
	@echo '$$ example-app ping    # serves on a free loopback port, asks itself for /buildinfo with its User-Agent'
	@$(VENV)/demo/bin/example-app ping
	@echo '# what `example-app serve` exposes on /metrics, build-info series only:'
	@$(VENV)/demo/bin/python -c 'from example_app.app import application; import prometheus_client; print(prometheus_client.generate_latest().decode())' \
		| grep -E '(example_app_build_info|python_mod_info|python_mod_drift_info)'

# Debian's prometheus (it brings promtool too), installed when missing and we are root.
prometheus:
	@command -v prometheus >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq \
		&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; } \
		|| { echo "make: install Debian's prometheus package (needs root)" >&2; exit 2; }

# A fleet of example_app builds scraped by a real Prometheus on loopback; stops all it starts.
fleet: venv prometheus
	$(BIN)/python deploy/fleet.py

lint: venv
	$(BIN)/ruff check hatch_buildinfo example_app tests bench
	$(BIN)/ruff format --check hatch_buildinfo example_app tests bench
	$(BIN)/python -m mypy
	MYPYPATH=deploy $(BIN)/python -m mypy bench

test: lint
	$(BIN)/python -m pytest

# The run-time shim on every pyenv interpreter present (3.7 to 3.13); part of `make test` too.
test-pythons: venv
	$(BIN)/python -m pytest tests/test_pythons.py

bench: venv
	$(BIN)/python bench/runtime.py
	$(BIN)/python bench/build.py
	$(BIN)/python bench/advisories.py
	$(BIN)/python bench/freshness.py

# Real Prometheus servers on a simulated fleet of 1,000 and 10,000 services: deploy/'s rules on one server
# and on shards + a global server, against the old rules (bench/README.md, "Fleet"). 23 min for 1,000 here.
bench-fleet: venv prometheus
	$(BIN)/python bench/fleet.py

clean:
	rm -rf $(VENV) build dist
