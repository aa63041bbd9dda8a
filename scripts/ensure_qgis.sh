#!/usr/bin/env bash
# QGIS for `BENCH_QGIS=1 make bench` (issue 20): tests/bench/qgis_oapif.py drives QGIS's own
# OAPIF provider through Debian's python3-qgis (QGIS 3.22 on Debian 12), run with /usr/bin/python3.
# Installed here when missing; nothing else needs it.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

if /usr/bin/python3 -c "import qgis.core" 2>/dev/null; then exit 0; fi
printf '\033[1m[qgis]\033[0m %s\n' "installing python3-qgis (Debian package)" >&2
as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-qgis >/dev/null
