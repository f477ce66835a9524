# The README names two commands: `make up` and `make test`. Everything else here serves them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: up test lint typecheck unit bench clean install

up: $(STAMP)
	$(BIN)/gennaker up

test: $(STAMP) system-deps
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest -n 2 --dist loadgroup

install: $(STAMP)

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Gennaker needs Python 3.11 or newer; found " + sys.version.split()[0])'
	@$(PYTHON) -m venv $(VENV) || { echo "Could not create $(VENV): on Debian/Ubuntu install python3-venv (apt-get install python3-venv)."; exit 1; }

# Installs the locked dependency set, then the package itself in editable mode.
$(STAMP): $(VENV)/bin/python requirements.lock pyproject.toml
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

# Debian packages for servers the tests start themselves: a Docker registry (docker triggers),
# openssl (a self-signed certificate for the SMTP STARTTLS test), Chromium, Prometheus (the canary
# analysis' metric source), haproxy (the local provider's load balancers), git (baking images
# from repositories), etcd-server (the store of the real Kubernetes control plane in
# ../shared/kube), slapd (the LDAP role provider's directory) and Node.js with panva's
# oidc-provider (a real OpenID Connect provider for the sign-in tests).
system-deps:
	@./scripts/system-deps.sh docker-registry openssl chromium prometheus haproxy git etcd-server xz-utils slapd ldap-utils nodejs
	@npm ci --prefix tests/authz/oidc_provider --no-audit --no-fund --silent

lint:
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -n 2 --dist loadgroup -m "not slow"

bench: $(STAMP)
	$(BIN)/python bench/engine.py

lock:
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
