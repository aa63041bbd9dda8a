# geo_platform — the two quick-start commands are `make run` and `make test`.
SHELL := /bin/bash
HOST ?= 127.0.0.1
PORT ?= 8000
PY := .venv/bin/python
# DATABASE_URL from the environment wins; otherwise the local one setup.sh created.
DBURL = $${DATABASE_URL:-$$(cat var/database_url)}

.PHONY: setup run test bench demo clean-venv

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
	@echo ""
	DATABASE_URL=$(DBURL) $(PY) manage.py runserver $(HOST):$(PORT)

test: setup
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
