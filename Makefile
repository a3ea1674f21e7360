# The two commands a newcomer needs: `make run` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
PACKAGES := shared cliente-service veiculo-service pagamento-service orquestrador

.PHONY: run test lint format install clean check-invariants deploy destroy terraform-topology provider-schemas bench

run: $(INSTALLED) ## start the whole system locally, in the foreground, until Ctrl-C
	$(PY) scripts/run.py

test: $(INSTALLED) lint provider-schemas ## install what is needed, lint, and run every test suite
	$(PY) scripts/test.py

lint: $(INSTALLED) ## ruff (lint and format) and mypy, package by package
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@for p in $(PACKAGES); do \
	  echo "mypy $$p"; \
	  (cd $$p && MYPYPATH=$(CURDIR)/shared ../$(VENV)/bin/mypy --config-file ../pyproject.toml $$( [ $$p = shared ] && echo mercado_shared || echo app ) tests) || exit 1; \
	done
	@echo "mypy tests (cross-service)"
	MYPYPATH=$(CURDIR)/shared $(VENV)/bin/mypy --config-file pyproject.toml tests scripts bench

bench: $(INSTALLED) ## measure latency, throughput, listings and memory on the local system (about 10 min)
	$(PY) -m bench.run

check-invariants: $(INSTALLED) ## check the purchase invariants across every service's database
	$(PY) -m mercado_shared.invariants $(ARGS)

deploy: $(INSTALLED) ## build, push, migrate and apply on GCP: PROJECT_ID=… ALERT_EMAIL=… [REGION=…] [DRY_RUN=1]
	$(PY) scripts/deploy.py deploy

destroy: $(INSTALLED) ## tear the deployment down: PROJECT_ID=… CONFIRM=<project id> [DRY_RUN=1]
	$(PY) scripts/deploy.py destroy

provider-schemas: $(INSTALLED) ## the Terraform providers' schemas the static checks use (downloaded once, cached in .cache/)
	$(PY) scripts/provider_schema.py

terraform-topology: $(INSTALLED) ## regenerate terraform/pubsub.tf.json from the shared topology
	$(PY) scripts/terraform_topology.py

format: $(INSTALLED)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

install: $(INSTALLED)

$(INSTALLED): scripts/install.sh requirements.txt requirements-dev.txt requirements-tools.txt shared/pyproject.toml
	scripts/install.sh

clean: ## remove the virtualenv and the local data of `make run`
	rm -rf $(VENV) .run .cache
