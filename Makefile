# carecoord: `make dev` serves, `make test` tests. Only Python 3.11+ is needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The example partner plugin (its own package) is installed for the tests only.
PARTNER_STAMP := $(VENV)/.partner-example

.PHONY: dev test lint typecheck bench migrate install clean audit

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,embedded]"
	touch $(STAMP)

install: $(STAMP)

$(PARTNER_STAMP): $(STAMP) tests/partner_example/pyproject.toml
	$(BIN)/python -m pip install --quiet --no-deps -e tests/partner_example
	touch $(PARTNER_STAMP)

dev: $(STAMP)
	$(BIN)/carecoord dev

test: $(STAMP) $(PARTNER_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/bandit -q -r core plugins workers tenants -b .ci/bandit-baseline.json

# Known vulnerabilities of constraints.txt's pins (pip-audit; needs its vulnerability service: .ci/audit_dependencies.py)
audit: $(STAMP)
	$(BIN)/python .ci/audit_dependencies.py

migrate: $(STAMP)
	$(BIN)/carecoord migrate

# The HTTP suite drives its load with wrk (Debian's package), installed here when absent.
bench: $(STAMP)
	@command -v wrk >/dev/null 2>&1 || { \
	  echo "== installing wrk (apt-get) =="; \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo="sudo"; \
	  log="$$(mktemp)"; \
	  if ! { $$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq --no-install-recommends wrk; } >"$$log" 2>&1; then \
	    tail -n 20 "$$log"; rm -f "$$log"; \
	    echo "bench: could not install wrk (apt-get install -y wrk); install it and run make bench again" >&2; \
	    exit 1; \
	  fi; rm -f "$$log"; }
	$(BIN)/python -m bench $(BENCH)

clean:
	rm -rf $(VENV) .carecoord .pytest_cache .mypy_cache .ruff_cache
