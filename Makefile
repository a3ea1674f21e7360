# The two commands a newcomer needs: `make run` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
# The services come from their one registry (mercado_shared.registry.SERVICES), read once
# the virtualenv exists: `=` defers the lookup until a recipe uses it.
PACKAGES = shared devtools $(shell $(PY) -c 'from mercado_shared.registry import SERVICES; print(*(s.directory for s in SERVICES))')
TYPEPATH := $(CURDIR)/shared:$(CURDIR)/devtools

.PHONY: run test test-fast lint format install clean archive-purchases check-invariants deploy plan release rollback destroy terraform-generate provider-schemas bench

run: $(INSTALLED) ## start the whole system locally, in the foreground, until Ctrl-C
	$(PY) scripts/run.py

test: $(INSTALLED) lint provider-schemas ## install what is needed, lint, and run every test suite
	$(PY) scripts/test.py

test-fast: $(INSTALLED) ## the inner loop: unit and per-service integration suites, no lint, no end-to-end
	$(PY) scripts/test.py --fast

lint: $(INSTALLED) ## ruff (lint and format) and mypy, package by package
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@for p in $(PACKAGES); do \
	  echo "mypy $$p"; \
	  case $$p in shared) m=mercado_shared;; devtools) m=mercado_devtools;; *) m=app;; esac; \
	  (cd $$p && MYPYPATH=$(TYPEPATH) ../$(VENV)/bin/mypy --config-file ../pyproject.toml --cache-dir $(CURDIR)/.mypy_cache $$m tests) || exit 1; \
	done
	@echo "mypy tests (cross-service)"
	MYPYPATH=$(TYPEPATH) $(VENV)/bin/mypy --config-file pyproject.toml tests scripts bench

bench: $(INSTALLED) ## measure latency, throughput, listings and memory on the local system (about 10 min)
	$(PY) -m bench.run

archive-purchases: $(INSTALLED) ## while make run runs: archive finished purchases past PURCHASE_ARCHIVE_AFTER_DAYS to the storage emulator, then purge them
	$(PY) scripts/archive_purchases.py

check-invariants: $(INSTALLED) ## check the purchase invariants across every service's database
	$(PY) -m mercado_shared.invariants $(ARGS)

deploy: $(INSTALLED) ## a person: infrastructure and code on GCP: PROJECT_ID=… DOMAIN=… ALERT_EMAIL=… [REGION=…] [DRY_RUN=1]
	$(PY) scripts/deploy.py deploy

plan: $(INSTALLED) ## the infrastructure change make deploy would apply, for review: PROJECT_ID=… DOMAIN=… ALERT_EMAIL=…
	$(PY) scripts/deploy.py plan

release: $(INSTALLED) ## CD: this commit's code, no traffic until its smoke test passes: PROJECT_ID=… [REGION=…] [DRY_RUN=1]
	$(PY) scripts/deploy.py release

rollback: $(INSTALLED) ## traffic back to the release before (or TO=<commit>); never a schema downgrade: PROJECT_ID=…
	$(PY) scripts/deploy.py rollback

destroy: $(INSTALLED) ## tear the deployment down: PROJECT_ID=… DOMAIN=… ALERT_EMAIL=… CONFIRM=<project id> [DRY_RUN=1]
	$(PY) scripts/deploy.py destroy

provider-schemas: $(INSTALLED) ## the Terraform providers' schemas the static checks use (downloaded once, cached in .cache/)
	$(PY) scripts/provider_schema.py

terraform-generate: $(INSTALLED) ## regenerate terraform/pubsub.tf.json and access.tf.json from the code
	$(PY) scripts/terraform_generate.py

format: $(INSTALLED)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

install: $(INSTALLED)

$(INSTALLED): scripts/install.sh requirements.txt requirements-dev.txt requirements-tools.txt shared/pyproject.toml devtools/pyproject.toml
	scripts/install.sh

clean: ## remove the virtualenv and the local data of `make run`
	rm -rf $(VENV) .run .cache
