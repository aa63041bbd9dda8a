"""tests/bench/run.py updates docs/benchmarks.md section by section: a run of
some modules replaces only their sections and keeps the others (hand-written
notes included)."""
import datetime

from tests.bench.run import INTRO, merge, render_section, split_sections

OLD = """# Benchmarks

Written by `make bench` on 2026-11-22 14:24 UTC; vm, 2 cores, Python 3.11.2. Each row compares our endpoint with its floor measured in the same run (ratio = ours / floor; lower is better).

## client

| what | ours | floor | ratio | notes |
|---|---|---|---|---|
| client row | 1 ms | 1 ms | 1.00× |  |

_22.8 s_

## needs

Measured by hand under load.

| what | ours | floor | ratio | notes |
|---|---|---|---|---|
| needs row | 9 s | 3 s | 3.00× |  |

_211.1 s_

## bulk

Run alone.

| what | ours | floor | ratio | notes |
|---|---|---|---|---|
| bulk row | 2 s | 1 s | 2.00× |  |
"""

WHEN = datetime.datetime(2026, 12, 3, 9, 30, tzinfo=datetime.timezone.utc)


def section_of(text, name):
    return dict(split_sections(text)[1])[name]


def test_a_partial_run_replaces_only_its_sections():
    new = {"needs": render_section("needs", [{"name": "fresh row", "ours": "4 s", "floor": "2 s", "ratio": 2.0}], 5.0, WHEN, "1.5")}
    text = merge(OLD, new)
    names = [name for name, _ in split_sections(text)[1]]
    assert names == ["client", "needs", "bulk"]  # order kept
    needs = "\n".join(section_of(text, "needs"))
    assert "| fresh row | 4 s | 2 s | 2.00× |  |" in needs
    assert "needs row" not in needs and "Measured by hand" not in needs
    assert "2026-12-03 09:30 UTC" in needs and "load average 1.5" in needs
    # The sections not run are byte-for-byte what they were (trailing blank lines aside).
    for name in ("client", "bulk"):
        assert [l for l in section_of(text, name) if l] == [l for l in section_of(OLD, name) if l]
    # The old header's date now applies to the sections that carry none.
    assert INTRO in text
    assert "Sections without a date of their own were measured on 2026-11-22 14:24 UTC (vm, 2 cores, Python 3.11.2)." in text


def test_a_new_section_is_appended_and_merging_again_changes_nothing():
    new = {"reports": render_section("reports", [{"name": "r", "ours": "1 ms", "floor": "", "ratio": None}], 1.0, WHEN, "0.3")}
    once = merge(OLD, new)
    assert [name for name, _ in split_sections(once)[1]] == ["client", "needs", "bulk", "reports"]
    assert "| r | 1 ms |  |  |  |" in once
    assert merge(once, new) == once
    assert merge(once, {}) == once
    assert once.count("Sections without a date of their own") == 1


def test_a_first_run_writes_a_whole_file():
    text = merge("", {"client": render_section("client", [], 0.5, WHEN, "0.1")})
    assert text.startswith("# Benchmarks\n\n" + INTRO)
    assert [name for name, _ in split_sections(text)[1]] == ["client"]


def test_notes_written_after_a_sections_footer_survive_a_rerun_of_its_table():
    old = OLD.replace("_211.1 s_\n", "_211.1 s_\n\nWhere the time goes (by hand, 2026-12-01): the upsert.\n\n- a second note line\n")
    new = {"needs": render_section("needs", [{"name": "fresh row", "ours": "4 s", "floor": "2 s", "ratio": 2.0}], 5.0, WHEN, "1.5")}
    once = merge(old, new)
    needs = section_of(once, "needs")
    text = "\n".join(needs)
    assert "| fresh row |" in text and "needs row" not in text
    assert "Measured by hand" not in text  # prose above the old table goes with it
    # the notes come after the new footer, in order
    footer = next(k for k, l in enumerate(needs) if l.startswith("_5.0 s;"))
    assert needs.index("Where the time goes (by hand, 2026-12-01): the upsert.") > footer
    assert needs.index("- a second note line") > needs.index("Where the time goes (by hand, 2026-12-01): the upsert.")
    assert merge(once, new) == once  # rerunning again changes nothing
