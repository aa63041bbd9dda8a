"""`make bench`: run every tests/bench/bench_*.py and write docs/benchmarks.md.

Each module defines `run() -> list[dict]` returning rows with keys
`name`, `ours` (our measurement, e.g. "12.3 ms median"), `floor` (the floor
measured in the same run), `ratio` (ours / floor, float) and `notes`.
Speed is measured here, never asserted in tests."""
import datetime
import importlib
import os
import pkgutil
import platform
import sys
import time
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent.parent


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geo_platform.settings")
    sys.path.insert(0, str(ROOT))
    django.setup()
    import tests.bench as pkg

    only = sys.argv[1:]
    sections = []
    for mod in sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if m.name.startswith("bench_")):
        if only and mod not in only:
            continue
        print(f"[bench] {mod} …", file=sys.stderr)
        t0 = time.perf_counter()
        rows = importlib.import_module(f"tests.bench.{mod}").run()
        sections.append((mod, rows, time.perf_counter() - t0))
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` on {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; "
        f"{platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}. "
        "Each row compares our endpoint with its floor measured in the same run (ratio = ours / floor; lower is better).",
        "",
    ]
    for mod, rows, secs in sections:
        lines += [f"## {mod.removeprefix('bench_')}", "", "| what | ours | floor | ratio | notes |", "|---|---|---|---|---|"]
        for r in rows:
            ratio = r.get("ratio")
            lines.append(
                f"| {r['name']} | {r.get('ours', '')} | {r.get('floor', '')} | "
                f"{'' if ratio is None else f'{ratio:.2f}×'} | {r.get('notes', '')} |"
            )
        lines += ["", f"_{secs:.1f} s_", ""]
    out = ROOT / "docs" / "benchmarks.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines))
    print(out.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
