"""`make bench`: run every tests/bench/bench_*.py and update docs/benchmarks.md.

Each module defines `run() -> list[dict]` returning rows with keys
`name`, `ours` (our measurement, e.g. "12.3 ms median"), `floor` (the floor
measured in the same run), `ratio` (ours / floor, float) and `notes`.
Speed is measured here, never asserted in tests.

`python -m tests.bench.run bench_x bench_y` runs only those modules: their
`## x` sections of docs/benchmarks.md are replaced (in place; a new one is
appended) and every other section is kept as it was."""
import datetime
import importlib
import os
import pkgutil
import platform
import re
import sys
import time
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent.parent
OUT = ROOT / "docs" / "benchmarks.md"
TITLE = "# Benchmarks"
INTRO = ("Written by `make bench` (`python -m tests.bench.run [bench_x …]` reruns some sections and keeps the others); "
         "each section says when and where it was measured. Each row compares our endpoint with its floor measured "
         "in the same run (ratio = ours / floor; lower is better).")
_SECTION = re.compile(r"^## (\S+)\s*$")
# The one-line header of files written before sections carried their own date.
_OLD_INTRO = re.compile(r"^Written by `make bench` on (.+? UTC); (.+?)\. Each row")


def split_sections(text: str) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """Markdown → (lines before the first `## ` heading, [(name, lines incl. its heading)])."""
    head: list[str] = []
    sections: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        m = _SECTION.match(line)
        if m:
            sections.append((m.group(1), [line]))
        elif sections:
            sections[-1][1].append(line)
        else:
            head.append(line)
    return head, sections


def render_section(name: str, rows: list[dict], secs: float, when: datetime.datetime, load: str) -> list[str]:
    lines = [f"## {name}", "", "| what | ours | floor | ratio | notes |", "|---|---|---|---|---|"]
    for r in rows:
        ratio = r.get("ratio")
        lines.append(
            f"| {r['name']} | {r.get('ours', '')} | {r.get('floor', '')} | "
            f"{'' if ratio is None else f'{ratio:.2f}×'} | {r.get('notes', '')} |"
        )
    lines += ["", f"_{secs:.1f} s; {when:%Y-%m-%d %H:%M} UTC on {platform.node()}, {os.cpu_count()} cores, "
                  f"Python {platform.python_version()}, load average {load} at the start_", ""]
    return lines


def notes_after_footer(lines: list[str]) -> list[str]:
    """The hand-written notes a section carries after its table's `_… s; …_`
    footer line (they give their own dates); kept when the table is rerun."""
    i = next((k for k, line in enumerate(lines) if line.startswith("|")), None)
    if i is None:
        return []
    while i < len(lines) and lines[i].startswith("|"):
        i += 1
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i >= len(lines) or not (lines[i].startswith("_") and lines[i].rstrip().endswith("_")):
        return []
    notes = lines[i + 1:]
    while notes and not notes[0].strip():
        notes = notes[1:]
    return notes


def merge(old_text: str, new: dict[str, list[str]]) -> str:
    """Replace the sections named in `new` (keeping their place), append the
    ones the file does not have yet, keep every other section untouched. A
    replaced section keeps the notes written after its old table's footer."""
    head, sections = split_sections(old_text)
    out = [TITLE, "", INTRO, ""]
    for line in head:  # notes written by hand above the sections stay; the old one-line header becomes a note
        m = _OLD_INTRO.match(line)
        if m:
            line = f"Sections without a date of their own were measured on {m.group(1)} ({m.group(2)})."
        if line.strip() and line not in (TITLE, INTRO):
            out += [line, ""]
    seen = set()
    for name, lines in sections:
        if name in new:
            notes = notes_after_footer(lines)
            lines = list(new[name])
            while lines and lines[-1] == "":
                lines.pop()
            if notes:
                lines += [""] + notes
            seen.add(name)
        body = list(lines)
        while body and body[-1] == "":
            body.pop()
        out += body + [""]
    for name, lines in new.items():
        if name not in seen:
            body = list(lines)
            while body and body[-1] == "":
                body.pop()
            out += body + [""]
    return "\n".join(out)


def _load() -> str:
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "?"


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geo_platform.settings")
    sys.path.insert(0, str(ROOT))
    django.setup()
    import tests.bench as pkg

    only = sys.argv[1:]
    new: dict[str, list[str]] = {}
    for mod in sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if m.name.startswith("bench_")):
        if only and mod not in only:
            continue
        print(f"[bench] {mod} …", file=sys.stderr)
        when, load, t0 = datetime.datetime.now(datetime.timezone.utc), _load(), time.perf_counter()
        rows = importlib.import_module(f"tests.bench.{mod}").run()
        name = mod.removeprefix("bench_")
        new[name] = render_section(name, rows, time.perf_counter() - t0, when, load)
        OUT.parent.mkdir(exist_ok=True)  # written after each module: a run stopped half-way keeps what it measured
        OUT.write_text(merge(OUT.read_text() if OUT.exists() else "", {name: new[name]}))
    print(OUT.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
