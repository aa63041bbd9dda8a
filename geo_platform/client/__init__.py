"""Python client for analysts: every layer of the platform as a GeoDataFrame.

    >>> from geo_platform.client import Client
    >>> gp = Client()                      # GEO_PLATFORM_URL, GEO_PLATFORM_TOKEN, DATABASE_URL
    >>> pju = gp.layer("pju", bbox=(106.80, -6.22, 106.84, -6.18), status=["off", "damaged"])
    >>> gaps = gp.needs("lighting-gaps", area="36.71.01")
    >>> rab = gp.estimate(road_ids=[12, 13], template="OVERLAY-40")
    >>> roads = gp.read_postgis("SELECT id, road_class, geom FROM layers_roadsegment")  # inside the network

Errors of the platform (SPEC §4: ``{"detail": ..., "errors": {...}}``) become
:class:`PlatformError` subclasses carrying the status, detail and errors.
"""
from geo_platform.client.core import (
    AuthenticationError,
    BadRequest,
    Client,
    Conflict,
    NotFound,
    PermissionDenied,
    PlatformError,
    ServerError,
)

__all__ = [
    "AuthenticationError", "BadRequest", "Client", "Conflict", "NotFound", "PermissionDenied",
    "PlatformError", "ServerError",
]
