# The two commands of the quick start: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# `make run` installs what serving needs; `make test` adds the test and training extras.
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test test-slow bench deps venv clean eval image screenshots

$(RUN_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP)
	$(BIN)/pip install --quiet -e '.[test,train]'
	touch $(STAMP)

venv: $(STAMP)

# axe-core, injected into the pages by the browser tests (test-only: never served).
AXE := tests/browser/node_modules/axe-core/axe.min.js
$(AXE): tests/browser/package.json tests/browser/package-lock.json
	@command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq npm >/dev/null; }
	npm ci --prefix tests/browser --no-audit --no-fund --silent
	touch $(AXE)

# System packages the tests need: PostgreSQL server binaries, Debian's chromium, and
# axe-core for the browser tests.
deps: $(AXE)
	@command -v initdb >/dev/null && command -v pg_ctl >/dev/null || { \
	  apt-get update -qq && apt-get install -y -qq postgresql >/dev/null && \
	  ln -sf /usr/lib/postgresql/*/bin/initdb /usr/local/bin/initdb && \
	  ln -sf /usr/lib/postgresql/*/bin/pg_ctl /usr/local/bin/pg_ctl && \
	  ln -sf /usr/lib/postgresql/*/bin/postgres /usr/local/bin/postgres; }
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

run: $(RUN_STAMP)
	mkdir -p var
	$(BIN)/moderation serve --host $(HOST) --port $(PORT)

# The whole suite, benchmarks included in quick mode (small sizes, few rounds).
test: venv deps
	MODERATION_BENCH_QUICK=1 $(BIN)/pytest tests benchmarks -m "not fault" \
	  --benchmark-min-rounds=1 --benchmark-max-time=0.05 --benchmark-warmup=off \
	  --benchmark-columns=mean,ops,rounds $(PYTEST_ARGS)

# The long fault and load tests: several API processes on PostgreSQL, node loss on a
# two-node local Ray cluster.
test-slow: venv deps
	$(BIN)/pytest tests benchmarks/bench_processes.py -m fault -v $(PYTEST_ARGS)

# Full-size benchmarks; figures go to benchmarks/README.md by hand, with the machine.
bench: venv
	$(BIN)/pytest benchmarks --benchmark-only --benchmark-columns=mean,median,ops,rounds

# The container image (Dockerfile), with whichever builder this machine has. IMAGE names
# it. ../shared/tools/oci-smoke builds the committed tree with buildah and checks the result.
IMAGE ?= localhost/moderation:dev
image:
	@if command -v buildah >/dev/null; then buildah bud --format docker --layers -t $(IMAGE) .; \
	elif command -v podman >/dev/null; then podman build --format docker -t $(IMAGE) .; \
	elif command -v docker >/dev/null && docker info >/dev/null 2>&1; then docker build -t $(IMAGE) .; \
	else echo "no image builder: install buildah, podman or docker (or run ../shared/tools/oci-smoke as root)"; exit 1; fi

# The review UI's screenshots at 1440x900 (and 1024x768), both languages, light and dark,
# written to docs/screenshots/ (linked from the README): the queue and item pages from their
# browser tests, then every page (log in, queue, item, search, author, dashboard, admin
# pages) from a service with seeded data (tests/browser/screenshots.py).
screenshots: venv deps
	MODERATION_SCREENSHOTS=docs/screenshots $(BIN)/pytest tests/browser/test_queue_page.py \
	  tests/browser/test_search_ui.py -p no:cacheprovider -q $(PYTEST_ARGS)
	$(BIN)/python tests/browser/screenshots.py docs/screenshots

eval: venv
	$(BIN)/moderation eval photos
	$(BIN)/moderation eval text

clean:
	rm -rf $(VENV) var .pytest_cache .benchmarks
