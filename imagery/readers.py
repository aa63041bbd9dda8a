"""Open COGs once and keep them open (a small per-thread LRU): reopening a
file per tile costs ~30 % of tile throughput (PERFORMANCE.md). Rasterio
datasets are not thread-safe, hence one cache per thread."""
import os
import threading
from collections import OrderedDict
from pathlib import Path

# GDAL tuning before the first dataset is opened (environment wins).
os.environ.setdefault("GDAL_DISABLE_READDIR_ON_OPEN", "EMPTY_DIR")
os.environ.setdefault("GDAL_CACHEMAX", "256")

import rasterio  # noqa: E402
from rio_tiler.io import Reader  # noqa: E402

from imagery import conf  # noqa: E402
from imagery.errors import ImageryFileMissing  # noqa: E402

_local = threading.local()


def _cache() -> OrderedDict:
    cache = getattr(_local, "readers", None)
    if cache is None:
        cache = _local.readers = OrderedDict()
    return cache


def get_reader(path: Path | str) -> Reader:
    """A rio-tiler Reader over an open dataset, reused across requests of this thread."""
    key = str(path)
    cache = _cache()
    reader = cache.get(key)
    if reader is not None and not reader.dataset.closed:
        cache.move_to_end(key)
        return reader
    if not Path(key).is_file():
        raise ImageryFileMissing(f"the stored file of this imagery is missing ({Path(key).name}); re-run import_imagery")
    dataset = rasterio.open(key)
    reader = Reader(None, dataset=dataset)
    cache[key] = reader
    while len(cache) > conf.open_datasets():
        _, old = cache.popitem(last=False)
        old.dataset.close()
    return reader


def get_dataset(path: Path | str):
    """The open rasterio dataset of ``path`` (shared with the tile reader)."""
    return get_reader(path).dataset


def forget(path: Path | str) -> None:
    """Close a cached dataset of this thread (e.g. before deleting its file)."""
    reader = _cache().pop(str(path), None)
    if reader is not None:
        reader.dataset.close()
