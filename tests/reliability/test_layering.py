"""The layering of the code (issue 15), enforced by walking every import (ast over every .py of the apps):

    geo_platform (kernel)
      ← layers (assets)
        ← imagery
          ← estimates            (estimates reads DEMs through imagery's selectors)
            ← needs
              ← live, reports, imports   (sensors, citizens' reports, background imports: all build on needs)
                ← ogc, webapp            (the outer doors: OGC API and the pages)

An app may import only apps on a lower level, never one on its own level or above. `geo_platform/`
imports no app at all; where the kernel must call out, apps register with it (audit recorder,
upload limits, error table) or listen to its signals. The project's wiring — settings, urls, asgi,
wsgi and celery — names apps by design and is exempt. Migrations are exempt too (a migration may
name another app's migration as a dependency and read its models through `apps.get_model`, but
historical code must not be rewritten). Tests are outside the apps.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LEVELS = [
    ("geo_platform",),
    ("layers",),
    ("imagery",),
    ("estimates",),
    ("needs",),
    ("live", "reports", "imports"),
    ("ogc", "webapp"),
]
LEVEL = {app: i for i, apps in enumerate(LEVELS) for app in apps}
WIRING = {"geo_platform/settings.py", "geo_platform/urls.py", "geo_platform/asgi.py", "geo_platform/wsgi.py",
          "geo_platform/celery.py"}


def imported_modules(tree: ast.AST):
    """(line, top-level module) of every absolute import, at module level or inside functions."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "import_module" \
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            yield node.lineno, node.args[0].value.split(".")[0]


def violations() -> list[str]:
    found = []
    for app, level in LEVEL.items():
        for path in sorted((ROOT / app).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel in WIRING or "/migrations/" in rel:
                continue
            for line, top in imported_modules(ast.parse(path.read_text(), rel)):
                if top in LEVEL and top != app and LEVEL[top] >= level:
                    found.append(f"{rel}:{line} imports {top} (level {LEVEL[top]}) from {app} (level {level})")
    return found


def test_every_app_has_a_level():
    """A new app must be placed in LEVELS (and in this docstring) before it lands."""
    apps = {p.parent.name for p in ROOT.glob("*/apps.py")} | {"geo_platform"}
    assert apps - set(LEVEL) == set(), "place these apps in LEVELS"


def test_no_import_runs_back_up():
    assert violations() == []


def test_the_walker_sees_function_level_imports(tmp_path):
    """The walker itself: an import inside a function (the usual way round a cycle) is found too."""
    tree = ast.parse("def f():\n    from needs.services import x\n    import layers.models\n")
    assert sorted(top for _, top in imported_modules(tree)) == ["layers", "needs"]


@pytest.mark.parametrize("kernel_file", ["audit.py", "hardening.py", "access.py", "errors.py"])
def test_kernel_modules_import_no_app(kernel_file):
    tree = ast.parse((ROOT / "geo_platform" / kernel_file).read_text())
    assert {top for _, top in imported_modules(tree)} & (set(LEVEL) - {"geo_platform"}) == set()
