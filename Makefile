# One entry point. `make up STACK=dev` deploys; `make test` runs every check the CI runs.
STACK ?= dev
ARGS ?=
VENV := .venv
BIN := $(VENV)/bin
# Local file state by default, so no Pulumi Cloud account is needed; export PULUMI_BACKEND_URL to override.
export PULUMI_BACKEND_URL ?= file://$(CURDIR)/.pulumi-state
export PULUMI_SKIP_UPDATE_CHECK := true

.PHONY: venv test lint preflight preview up destroy lock render schema bench

# uv, pinned in the lock, installs the lock in seconds.
$(BIN)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check $$(grep -E '^uv==' requirements.txt)
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.txt
	touch $@

venv: $(BIN)/.installed

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

# Plans of what each stack declares (plans/<stack>.yaml), rendered offline under the mock engine.
# `make render` renders every stack; `make render STACK=prod` only prod.
render: venv
	$(BIN)/python -m mesh_tracing.tooling.plan --secrets plans/assumed-secrets.yaml \
		$(if $(filter command line,$(origin STACK)),$(STACK),)

# The component provider's schema (what `pulumi package add provider/` reads), generated offline.
schema: venv
	$(BIN)/python -m mesh_tracing.tooling.schema

bench: venv
	$(BIN)/python -m scripts.bench_render

preflight: venv
	$(BIN)/python scripts/preflight.py

# The policy pack (policy/) is MANDATORY for prod and ADVISORY elsewhere; it reads the environment here.
export MESH_TRACING_ENVIRONMENT ?= $(STACK)

# The stack is selected, or created from stacks/Pulumi.$(STACK).yaml, then previewed or deployed.
preview up destroy: preflight
	@case "$$PULUMI_BACKEND_URL" in file://$(CURDIR)/.pulumi-state) mkdir -p .pulumi-state;; esac
	pulumi stack select --create $(STACK)
	pulumi $@ --stack $(STACK) $(if $(filter preview,$@),--diff,) $(if $(filter destroy,$@),,--policy-pack policy) $(ARGS)

# Refreshes the full lock from requirements.in, keeping the pins it can.
lock: venv
	$(BIN)/uv pip compile --quiet requirements.in --python-version 3.11 --output-file requirements.txt
