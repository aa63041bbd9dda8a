"""Imagery exceptions and the one exception → HTTP status map (like titiler's
DEFAULT_STATUS_CODES). Views never pick a status code themselves."""
from django.http import JsonResponse
from rest_framework.exceptions import APIException
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


def status_for(exc: Exception) -> int | None:
    for cls in type(exc).__mro__:
        if cls in STATUS_CODES:
            return STATUS_CODES[cls]
    return None


def error_body(exc: Exception) -> dict:
    message = getattr(exc, "message", None) or str(exc)
    field = getattr(exc, "field", None) or next((f for cls, f in FIELDS.items() if isinstance(exc, cls)), "non_field_errors")
    return {"detail": message, "errors": {field: [message]}}


def json_error(exc: Exception) -> JsonResponse | None:
    """The API error shape for a mapped exception, else None (let it raise: a 5xx is a bug)."""
    status = status_for(exc)
    if status is None:
        return None
    return JsonResponse(error_body(exc), status=status)


class MappedAPIException(APIException):
    """Carries a mapped exception through DRF's handler (geo_platform.errors)."""

    def __init__(self, exc: Exception):
        body = error_body(exc)
        self.status_code = status_for(exc)
        super().__init__(detail=body["detail"])
        self.errors = body["errors"]


class MappedExceptionsMixin:
    """DRF views: turn mapped exceptions into {"detail", "errors"} with the mapped status."""

    def handle_exception(self, exc):
        if status_for(exc) is not None:
            response = super().handle_exception(MappedAPIException(exc))
            response.data = error_body(exc)
            return response
        return super().handle_exception(exc)
