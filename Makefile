# One entry point. `make up STACK=dev` deploys; `make test` runs every check the CI runs; `make help` lists all.
STACK ?= dev
ARGS ?=
BASE ?= origin/main
VENV := .venv
BIN := $(VENV)/bin
# Local file state by default, so no Pulumi Cloud account is needed; export PULUMI_BACKEND_URL to override.
export PULUMI_BACKEND_URL ?= file://$(CURDIR)/.pulumi-state
export PULUMI_SKIP_UPDATE_CHECK := true
# The policy pack (policy/) is MANDATORY for prod and ADVISORY elsewhere. It reads the stack's environment
# here: its `environment` key, or else its name (so a prod-eu stack of environment prod gets prod's policy).
ifndef MESH_TRACING_ENVIRONMENT
export MESH_TRACING_ENVIRONMENT := $(shell python3 scripts/stacks.py environment $(STACK))
endif
# Runs before anything is installed (standard library only), so a missing CLI or cluster shows at once.
PREFLIGHT := $(if $(wildcard $(BIN)/python),$(BIN)/python,python3) -m scripts.preflight $(STACK)

.DEFAULT_GOAL := help
.PHONY: help venv test lint render plan-diff schema bench preflight preview up destroy purge verify jaeger-ui lock

help: ## List the targets
	@awk -F':.*## ' '/^[a-z-]+( [a-z-]+)*:.*## /{printf "  make %-20s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "  STACK=<name> picks the stack (default dev); ARGS=... goes to pulumi, e.g. ARGS=--yes"

# uv, pinned in the lock, installs the lock in seconds.
$(BIN)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check $$(grep -E '^uv==' requirements.txt)
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.txt
	touch $@

venv: $(BIN)/.installed ## Install the locked dependencies into .venv

lint: venv ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint ## Everything CI runs: lint, type-check, the whole test suite (no cluster, no CLI)
	$(BIN)/pytest

render: venv ## Write plans/<stack>.yaml for every stack file, offline (STACK=... for one)
	$(BIN)/python -m mesh_tracing.tooling.plan $(if $(filter command line,$(origin STACK)),$(STACK),)

plan-diff: venv ## What the plans change against BASE (default origin/main), replacements first
	$(BIN)/python -m mesh_tracing.tooling.plan_diff --base $(BASE)

schema: venv ## Print the component provider's schema (what `pulumi package add provider/` reads)
	$(BIN)/python -m mesh_tracing.tooling.schema

bench: venv ## Time `make render` next to the bare SDK imports
	$(BIN)/python -m scripts.bench_render

preflight: ## Check the CLI, the stack file, the passphrase and the cluster for STACK
	@$(PREFLIGHT)

# The stack is selected, or created from stacks/Pulumi.$(STACK).yaml, then previewed, deployed or destroyed.
preview: ## pulumi preview --diff of STACK, with the policy pack
up: ## pulumi up of STACK, with the policy pack
destroy: ## pulumi destroy of STACK, then what it kept on purpose (CRDs, data volumes) and why
preview up destroy:
	@$(PREFLIGHT)
	@$(MAKE) --no-print-directory venv
	@case "$$PULUMI_BACKEND_URL" in file://$(CURDIR)/.pulumi-state) mkdir -p .pulumi-state;; esac
	pulumi stack select --create $(STACK)
	pulumi $@ --stack $(STACK) $(if $(filter preview,$@),--diff,) $(if $(filter destroy,$@),,--policy-pack policy) $(ARGS)
	$(if $(filter destroy,$@),@$(BIN)/python -m mesh_tracing.tooling.teardown kept $(STACK),)

purge: ## Delete for good what `make destroy` kept for STACK, after a typed confirmation
	@$(PREFLIGHT) --cluster-only
	@$(MAKE) --no-print-directory venv
	$(BIN)/python -m mesh_tracing.tooling.teardown purge $(STACK)

verify: ## Prove STACK's traces connect: one trace across the Bookinfo hops, tags, sampling
	@$(PREFLIGHT)
	@$(MAKE) --no-print-directory venv
	$(BIN)/python -m mesh_tracing.tooling.verify $(STACK) $(ARGS)

jaeger-ui: ## Open STACK's Jaeger UI on localhost through its port-forward (Ctrl-C stops)
	@$(PREFLIGHT)
	@command -v kubectl >/dev/null || { echo "jaeger-ui: kubectl is not installed or not on PATH" >&2; exit 2; }
	@forward="$$(pulumi stack output jaegerUiPortForward --stack $(STACK))" && \
		echo "Jaeger UI of $(STACK): $$(pulumi stack output jaegerUi --stack $(STACK))  (Ctrl-C stops)" && \
		exec $$forward

lock: venv ## Refresh the full lock from requirements.in, keeping the pins it can
	$(BIN)/uv pip compile --quiet requirements.in --python-version 3.11 --output-file requirements.txt
