# One entry point for people and CI. `make demo` and `make test` set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAM_VENV := .venv-sam
CHECKOV_VENV := .venv-checkov
PY := $(BIN)/python
export PYTHONPATH := $(CURDIR):$(CURDIR)/layers/qbosync
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help venv tools hooks demo test lint typecheck template-checks unit pytest peer-tests fuzz bench build lock openapi clean redrive

help:
	@echo "make demo   - run the whole story on the local stack"
	@echo "make test   - every test, lint, types, template checks and sam build (what CI runs)"
	@echo "make bench  - print the benchmark figures"
	@echo "make fuzz   - schema-driven fuzzing of the app routes, longer than the one in make test"
	@echo "make peer-tests - python-quickbooks' own integration suite against the QuickBooks emulator"
	@echo "make build  - sam build (needs python3.13 on PATH)"
	@echo "make hooks  - install the git pre-commit hooks"
	@echo "make redrive QUEUE=payment-events|copy-jobs [STACK=qbosync-prod] - move dead-lettered messages back"

$(VENV)/.stamp: requirements/dev.txt requirements/bootstrap.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --require-hashes -r requirements/bootstrap.txt
	$(BIN)/uv pip sync -q --require-hashes --python $(PY) requirements/dev.txt
	touch $@

$(SAM_VENV)/.stamp: requirements/sam.txt requirements/bootstrap.txt $(VENV)/.stamp
	$(PYTHON) -m venv $(SAM_VENV)
	$(BIN)/uv pip sync -q --require-hashes --python $(SAM_VENV)/bin/python requirements/sam.txt
	touch $@

$(CHECKOV_VENV)/.stamp: requirements/checkov.txt requirements/bootstrap.txt $(VENV)/.stamp
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(BIN)/uv pip sync -q --require-hashes --python $(CHECKOV_VENV)/bin/python requirements/checkov.txt
	touch $@

venv: $(VENV)/.stamp

# Git hooks (.pre-commit-config.yaml): ruff, mypy, the layer contracts and the unit tests before each commit.
hooks: venv
	$(BIN)/pre-commit install
tools: $(SAM_VENV)/.stamp $(CHECKOV_VENV)/.stamp

demo: venv
	$(PY) -m local.demo

# moto server and both emulators for `sam local` (README "With Docker: sam local"), until Ctrl-C: writes
# .sam-local/env.json and the template for SAM CLI, prints the sam commands. Options: LOCAL_STACK_ARGS="--help".
.PHONY: local-stack
LOCAL_STACK_ARGS ?=
local-stack: venv
	$(PY) -m local.sam_local $(LOCAL_STACK_ARGS)

# The peer suite mostly waits (120 ms a request, a second a test), so it runs beside the project's tests.
test: lint typecheck template-checks build
	$(MAKE) --no-print-directory -j2 -Otarget pytest peer-tests

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: venv
	$(BIN)/mypy

template-checks: venv tools
	$(BIN)/cfn-lint template.yaml
	$(BIN)/cfn-lint template.yaml -a cfn_lint_serverless.rules
	$(SAM_VENV)/bin/sam validate --lint --template template.yaml
	$(CHECKOV_VENV)/bin/checkov -f template.yaml --framework cloudformation --quiet --compact --skip-download

pytest: venv
	$(BIN)/pytest -n 2 --durations=15 --cov --cov-report=term

# python-quickbooks' own integration suite, vendored unchanged, against the QuickBooks emulator as
# shipped (`python -m local.qbo_emulator --latency-ms 120`); tests/peer/README.md. It runs from its own
# directory with its own pytest.ini, and without our PYTHONPATH, so its `tests` package is the one found.
peer-tests: venv
	cd tests/peer && PYTHONPATH= $(CURDIR)/$(BIN)/pytest

# The fuzz test of `make test` with 3,000 generated examples (a new seed each run) and schemathesis'
# coverage phase. FUZZ_EXAMPLES=10000 make fuzz for more.
FUZZ_EXAMPLES ?= 3000
fuzz: venv
	QBOSYNC_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) QBOSYNC_FUZZ_THOROUGH=1 $(BIN)/pytest -n 2 tests/integration/test_fuzz.py

bench: venv
	$(PY) -m bench

# sam build needs python3.13 (the Lambda runtime) on PATH; with pyenv, make its 3.13 visible too.
build: tools
	PYENV_VERSION="$$(pyenv versions --bare 2>/dev/null | grep -E '^3\.13' | head -n 1):$$(pyenv version-name 2>/dev/null)" \
	  PATH="$(CURDIR)/$(SAM_VENV)/bin:$$PATH" $(SAM_VENV)/bin/sam build --template template.yaml

# Move a queue's dead-lettered messages back to it once the cause is fixed (docs/runbook.md "Redrive"):
# the local stack (its endpoint: ENDPOINT=..., AWS_ENDPOINT_URL, or .sam-local/stack.json of make local-stack), or
# the stack STACK=... on AWS with your AWS credentials. Safe to run twice.
QUEUE ?=
redrive: venv
	@test -n "$(QUEUE)" || { echo "usage: make redrive QUEUE=payment-events|copy-jobs [STACK=qbosync-prod]"; exit 2; }
	$(PY) -m local.redrive --queue $(QUEUE) $(if $(STACK),--stack-name $(STACK),--local $(if $(ENDPOINT),--endpoint-url $(ENDPOINT)))

openapi: venv
	$(PY) -m local.openapi --write

lock:
	$(BIN)/uv pip compile --universal --python-version 3.11 --generate-hashes --no-header -q requirements/bootstrap.in -o requirements/bootstrap.txt
	for f in runtime dev sam checkov; do \
	  $(BIN)/uv pip compile --universal --python-version 3.11 --generate-hashes --no-header -q requirements/$$f.in -o requirements/$$f.txt; done
	cp requirements/runtime.txt layers/qbosync/requirements.txt

clean:
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache
