# geo_platform — the two quick-start commands are `make run` and `make test`.
SHELL := /bin/bash
HOST ?= 127.0.0.1
PORT ?= 8000
PY := .venv/bin/python
# Issue 18: web processes for `make run` (one per core, at most 4).
WEB_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ $$n -gt 4 ] && n=4; echo $$n)
# DATABASE_URL from the environment wins; otherwise the local one setup.sh created.
DBURL = $${DATABASE_URL:-$$(cat var/database_url)}

.PHONY: setup run test bench demo clean-venv notebook

setup:
	./scripts/setup.sh

demo: setup
	DATABASE_URL=$(DBURL) $(PY) manage.py load_demo

run: demo
	@DATABASE_URL=$(DBURL) $(PY) manage.py ensure_admin
	@echo ""
	@echo "  geo_platform:  http://$(HOST):$(PORT)/"
	@echo "  admin:         http://$(HOST):$(PORT)/admin/   (login: admin / admin — change it)"
	@echo "  planner map:   http://$(HOST):$(PORT)/map/      field app: http://$(HOST):$(PORT)/field/"
	@echo "  API:           http://$(HOST):$(PORT)/api/   docs: http://$(HOST):$(PORT)/api/docs/   OGC: http://$(HOST):$(PORT)/ogc/"
	@echo "  dashboard:     http://$(HOST):$(PORT)/dashboard/   citizen reports: http://$(HOST):$(PORT)/lapor/   web import: http://$(HOST):$(PORT)/imports/"
	@echo ""
	@echo "  (web: uvicorn, $(WEB_WORKERS) processes × $${WEB_MAX_CONCURRENT_REQUESTS:-8} requests at once; worker: Celery on $${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0})"
	@echo ""
	DATABASE_URL=$(DBURL) HOST=$(HOST) WEB_WORKERS=$(WEB_WORKERS) .venv/bin/honcho -f Procfile start -p $(PORT)

test: setup
	npm run -s lint   # issue 15: ESLint and the browser unit tests (node --test) before pytest
	npm test --silent
	DATABASE_URL=$(DBURL) $(PY) -m pytest -q

bench: demo
	DATABASE_URL=$(DBURL) $(PY) -m tests.bench.run

# Backups (issue 9, docs/reliability.md): `make backup [BACKUP_DIR=…]`, `make restore BACKUP=DIR [TARGET_DATABASE_URL=…]`.
.PHONY: backup restore
backup:
	DATABASE_URL=$(DBURL) ./scripts/backup.sh $(BACKUP_DIR)

restore:
	@test -n "$(BACKUP)" || { echo "usage: make restore BACKUP=var/backups/<stamp>"; exit 2; }
	DATABASE_URL=$(DBURL) ./scripts/restore.sh $(BACKUP)

# Jupyter for analysts against the running platform (`make run` in another terminal);
# GEO_PLATFORM_URL / GEO_PLATFORM_TOKEN / DATABASE_URL from the environment win. See docs/analysts.md.
JUPYTER_HOST ?= 127.0.0.1
JUPYTER_PORT ?= 8888
notebook: setup
	@url=$${GEO_PLATFORM_URL:-http://$(HOST):$(PORT)}; \
	$(PY) -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + '/api/', timeout=5)" "$$url" 2>/dev/null \
	  || echo "warning: no platform answers at $$url — start it with 'make run' in another terminal"; \
	if [ -n "$$GEO_PLATFORM_TOKEN" ]; then tok="set"; else tok="not set (public reads only; get one: manage.py drf_create_token USER)"; fi; \
	echo "Jupyter against $$url — GEO_PLATFORM_TOKEN $$tok"; \
	GEO_PLATFORM_URL=$$url DATABASE_URL=$(DBURL) PYTHONPATH=$(CURDIR) GEO_PLATFORM_OUTPUT=$(CURDIR)/notebooks/output \
	  $(PY) -m jupyterlab --no-browser --ip=$(JUPYTER_HOST) --port=$(JUPYTER_PORT) --notebook-dir=$(CURDIR)/notebooks \
	  $$([ "$$(id -u)" = 0 ] && echo --allow-root)

# Load test alone (also part of `make bench`): gunicorn on loopback, bounded; LOAD_WORKERS, LOAD_CLIENTS, LOAD_SECONDS.
.PHONY: load
load: demo
	DATABASE_URL=$(DBURL) $(PY) -m tests.bench.bench_load
