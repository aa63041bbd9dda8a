"""Execute the notebooks against a running platform (nbclient, the venv's
kernel), failing on the first cell error.

    .venv/bin/python notebooks/run.py                     # all, outputs discarded
    .venv/bin/python notebooks/run.py 02_celah_penerangan.ipynb
    .venv/bin/python notebooks/run.py --write-outputs notebooks/executed   # keep executed copies

The kernel reads GEO_PLATFORM_URL, GEO_PLATFORM_TOKEN, DATABASE_URL,
GEO_PLATFORM_OUTPUT (files the notebooks write; default notebooks/output)
and BASEMAP_URL. The committed notebooks carry no outputs: never write the
executed copies over them (tests/notebooks checks)."""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def notebooks() -> list[Path]:
    """The numbered notebooks, in order."""
    return sorted(HERE.glob("[0-9][0-9]_*.ipynb"))


@contextlib.contextmanager
def _environ(extra: dict[str, str]):
    old = {k: os.environ.get(k) for k in extra}
    os.environ.update({k: str(v) for k, v in extra.items()})
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def execute(path: Path, *, env: dict[str, str] | None = None, timeout: int = 600) -> nbformat.NotebookNode:
    """Run every cell of the notebook at `path` (working directory: its
    folder; the project root on PYTHONPATH) and return the executed notebook.
    A cell error raises nbclient's CellExecutionError naming the cell."""
    nb = nbformat.read(path, as_version=4)
    pythonpath = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    with _environ({"PYTHONPATH": pythonpath, **(env or {})}):
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(Path(path).parent)}})
        client.execute()
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebook file names (default: all)")
    parser.add_argument("--write-outputs", metavar="DIR", help="save the executed notebooks into DIR")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args(argv)
    paths = [HERE / n for n in args.names] if args.names else notebooks()
    for path in paths:
        print(f"running {path.name} …", file=sys.stderr)
        nb = execute(path, timeout=args.timeout)
        if args.write_outputs:
            out = Path(args.write_outputs)
            out.mkdir(parents=True, exist_ok=True)
            if out.resolve() == HERE:
                raise SystemExit("refusing to overwrite the committed notebooks with outputs")
            nbformat.write(nb, out / path.name)
    print(f"{len(paths)} notebook(s) ran without errors", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
