# Greenlight: two commands do everything on a fresh machine.
#   make run   start the local stack (Azurite, sandbox, devhost, Agents Playground)
#   make test  lint + every test suite
#   make fuzz  a longer property-based run against the API's OpenAPI document
# Each bootstraps what it needs (venv, pip, npm, Chromium) and skips work already done.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY_STAMP   := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: run test lint bootstrap browser checkov teams-package package bench fuzz clean

bootstrap: $(PY_STAMP) $(NODE_STAMP)

$(PY_STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@touch $@

# `npm ci` first empties node_modules, through a symlink too: a checkout whose node_modules links to a shared
# install (a git worktree) would wipe it for everyone, so a linked one is left to its owner.
$(NODE_STAMP): package.json package-lock.json
	@if [ -L node_modules ]; then echo "node_modules links to a shared install: not reinstalling it"; \
	else npm ci --no-audit --no-fund --loglevel=error; fi
	@touch $@

# Debian's Chromium for the one browser-driven test (Playwright's own browser download cannot work offline).
browser:
	@bash scripts/ensure-chromium.sh

# checkov for the infra tests, in its own venv under .local/tools (it pins packaging<24, which pytest 9 refuses).
checkov:
	@bash infra/scripts/ensure-checkov.sh >/dev/null

lint: $(PY_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: bootstrap browser checkov lint
	$(BIN)/python -m pytest

run: bootstrap
	$(BIN)/python -m scripts.stack

# The zip Flex Consumption deploys (dist/greenlight-app.zip); DURABLE_BACKEND=dts when the Bicep deployed the
# Durable Task Scheduler (its `durableBackend` output). Contents: infra/scripts/package_app.py.
DURABLE_BACKEND ?= storage
package:
	$(PYTHON) infra/scripts/package_app.py --durable-backend $(DURABLE_BACKEND)

bench: bootstrap
	$(BIN)/python -m bench

# A longer, randomised run of the API fuzz test the suite runs briefly (FUZZ_EXAMPLES per route and caller).
FUZZ_EXAMPLES ?= 300
fuzz: bootstrap
	GREENLIGHT_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) GREENLIGHT_FUZZ_RANDOM=1 \
		$(BIN)/python -m pytest tests/integration/foundation/test_api_fuzz.py -p no:cacheprovider --timeout=3600

teams-package: $(PY_STAMP)
	$(BIN)/python -m scripts.teams_package

clean:
	rm -rf .local devTools test-artifacts .pytest_cache .ruff_cache
