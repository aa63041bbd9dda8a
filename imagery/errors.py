"""Imagery exceptions and the one exception → HTTP status map (like titiler's
DEFAULT_STATUS_CODES), registered in the platform's one table (geo_platform.errors). Views never pick a status code themselves."""
from geo_platform import errors
from rio_tiler.errors import (
    InvalidColorMapName,
    InvalidExpression,
    InvalidBandName,
    PointOutsideBounds,
    TileOutsideBounds,
)


class ImageryError(Exception):
    """Base class; ``field`` names the input at fault (the key in ``errors``)."""

    field = "non_field_errors"

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        if field:
            self.field = field


class InvalidRaster(ImageryError):
    """Not a readable, georeferenced raster (corrupt, truncated, no CRS ...)."""

    field = "file"


class RasterTooLarge(ImageryError):
    field = "file"


class InvalidParameter(ImageryError):
    pass


class NotElevation(ImageryError):
    """Terrain analysis asked of imagery that is not a DEM/DSM."""

    field = "kind"


class OutsideRaster(ImageryError):
    """A point or shape wholly outside the raster."""

    field = "geometry"


class ImageryNotFound(ImageryError):
    field = "id"


class ImageryFileMissing(ImageryError):
    """The catalogue row exists but its COG is gone from IMAGERY_ROOT."""

    field = "file"


STATUS_CODES: dict[type[Exception], int] = {
    ImageryNotFound: 404,
    ImageryFileMissing: 404,
    TileOutsideBounds: 404,
    PointOutsideBounds: 404,
    OutsideRaster: 404,
    RasterTooLarge: 413,
    InvalidRaster: 400,
    InvalidParameter: 400,
    NotElevation: 400,
    InvalidColorMapName: 400,
    InvalidExpression: 400,
    InvalidBandName: 400,
}


# the `errors` key for library exceptions that carry no field of their own
FIELDS: dict[type[Exception], str] = {
    TileOutsideBounds: "tile",
    PointOutsideBounds: "point",
    InvalidColorMapName: "colormap_name",
    InvalidExpression: "expression",
    InvalidBandName: "bidx",
}


# one table for the whole platform (geo_platform.errors): imagery's rows join it
for _cls, _status in STATUS_CODES.items():
    errors.register(_cls, _status, FIELDS.get(_cls))
