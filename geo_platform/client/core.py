"""The client: HTTP (requests) for the API, SQLAlchemy + geopandas for the
direct-database path. It needs no Django: analysts can import it in any
Python with the project's requirements."""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import geopandas as gpd
import pandas as pd
import requests

from geo_platform.srid import STORAGE_SRID

DEFAULT_URL = "http://127.0.0.1:8000"
LAYERS = ("pju", "roads", "areas", "panels")
NEEDS = ("lighting-gaps", "proposed-pju", "broken-pju", "damaged-roads")
# Tables of the direct-database path (layers/models.py, Django's default names).
TABLES = {"pju": "layers_streetlight", "roads": "layers_roadsegment", "areas": "layers_area", "panels": "layers_panel"}
CRS = f"EPSG:{STORAGE_SRID}"  # GeoJSON (RFC 7946) is always WGS 84 lon/lat


# ---------------------------------------------------------------- errors
class PlatformError(Exception):
    """A request the platform refused or could not answer.

    ``status`` (HTTP status, None when the server was unreachable), ``detail``
    (the message), ``errors`` (per parameter/field lists) and ``url``."""

    def __init__(self, detail: str, *, status: int | None = None, errors: Mapping | None = None,
                 url: str = "", body: Any = None):
        self.detail, self.status, self.errors, self.url, self.body = detail, status, dict(errors or {}), url, body
        where = f" ({status} {url})" if status else (f" ({url})" if url else "")
        parts = [f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in self.errors.items()]
        fields = "; ".join(p for p in parts if p not in detail)
        super().__init__(f"{detail}{where}" + (f" — {fields}" if fields else ""))


class BadRequest(PlatformError):
    """400: a parameter or body the platform rejected (see ``errors``)."""


class AuthenticationError(PlatformError):
    """401: no or a wrong token (GEO_PLATFORM_TOKEN)."""


class PermissionDenied(PlatformError):
    """403: the token's user may not do this."""


class NotFound(PlatformError):
    """404: no such layer, feature or image."""


class Conflict(PlatformError):
    """409: a stale version; ``body["current"]`` holds the current feature."""


class ServerError(PlatformError):
    """5xx: a bug of the platform: please report it with ``url``."""


_BY_STATUS = {400: BadRequest, 401: AuthenticationError, 403: PermissionDenied, 404: NotFound, 409: Conflict}


def _error_from(response: requests.Response) -> PlatformError:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        detail = body.get("detail") or response.reason or "error"
        errors = body.get("errors") if isinstance(body.get("errors"), dict) else {}
    else:
        detail, errors = (response.text[:300].strip() or response.reason or "error"), {}
    cls = _BY_STATUS.get(response.status_code) or (ServerError if response.status_code >= 500 else PlatformError)
    return cls(str(detail), status=response.status_code, errors=errors, url=response.url, body=body)


# ---------------------------------------------------------------- helpers
def _bbox_param(bbox) -> str | None:
    """(minlon, minlat, maxlon, maxlat), a "a,b,c,d" string, or any object
    with ``total_bounds``/``bounds`` (GeoDataFrame, shapely geometry)."""
    if bbox is None:
        return None
    if isinstance(bbox, str):
        return bbox
    for attr in ("total_bounds", "bounds"):
        if hasattr(bbox, attr):
            bbox = getattr(bbox, attr)
            break
    values = [float(v) for v in bbox]
    if len(values) != 4:
        raise ValueError("bbox needs 4 numbers: minlon, minlat, maxlon, maxlat")
    return ",".join(repr(v) for v in values)


def _params(filters: Mapping) -> dict:
    """Lists/tuples/sets become comma-separated values; None is dropped."""
    out = {}
    for key, value in filters.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple, set)):
            value = ",".join(str(v) for v in value)
        elif isinstance(value, bool):
            value = "1" if value else "0"
        out[key] = value
    return out


def _geojson(geometry) -> dict:
    """A GeoJSON geometry from a dict, a shapely geometry or a list of lon/lat pairs."""
    if isinstance(geometry, Mapping):
        return dict(geometry)
    if hasattr(geometry, "__geo_interface__"):
        geo = geometry.__geo_interface__
        return geo.get("geometry", geo) if geo.get("type") == "Feature" else geo
    return {"type": "LineString", "coordinates": [list(map(float, c)) for c in geometry]}


def to_geodataframe(features: list[dict], *, index: str = "id") -> gpd.GeoDataFrame:
    """GeoJSON features → GeoDataFrame in EPSG:4326, indexed by the feature id."""
    if not features:
        return gpd.GeoDataFrame({index: pd.Series(dtype="int64")}, geometry=gpd.GeoSeries([], crs=CRS)).set_index(index)
    gdf = gpd.GeoDataFrame.from_features(features, crs=CRS)
    ids = [f.get("id") for f in features]
    if any(i is not None for i in ids):
        gdf.index = pd.Index(ids, name=index)
    return gdf


def sqlalchemy_url(database_url: str) -> str:
    """``postgis://…`` (Django/dj-database-url) → ``postgresql+psycopg2://…``."""
    scheme, sep, rest = database_url.partition("://")
    if not sep:
        raise ValueError(f"not a database URL: {database_url!r}")
    if scheme in ("postgis", "postgres", "postgresql", "pgsql"):
        scheme = "postgresql+psycopg2"
    return f"{scheme}://{rest}"


# ---------------------------------------------------------------- client
class Client:
    """Connection to one geo_platform.

    :param url: base URL, default ``GEO_PLATFORM_URL`` or http://127.0.0.1:8000
    :param token: DRF token (``manage.py drf_create_token USER``), default
        ``GEO_PLATFORM_TOKEN``; public layers are readable without one
    :param database_url: for :meth:`read_postgis`, default ``DATABASE_URL``
    :param page_size: features per request while paging (the server maximum, 10,000, by default)
    :param timeout: seconds per request
    """

    def __init__(self, url: str | None = None, token: str | None = None, *, database_url: str | None = None,
                 page_size: int = 10000, timeout: float = 120.0, session: requests.Session | None = None):
        self.url = (url or os.environ.get("GEO_PLATFORM_URL") or DEFAULT_URL).rstrip("/") + "/"
        self.token = token if token is not None else (os.environ.get("GEO_PLATFORM_TOKEN") or None)
        self.database_url = database_url or os.environ.get("DATABASE_URL") or None
        self.page_size = int(page_size)
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers["Accept"] = "application/geo+json, application/json"
        if self.token:
            self.session.headers["Authorization"] = f"Token {self.token}"
        self._engine = None

    def __repr__(self) -> str:
        return f"Client({self.url!r}, token={'set' if self.token else 'none'})"

    # ------------------------------------------------------------ HTTP
    def request(self, method: str, path: str, *, params: Mapping | None = None, json: Any = None,
                files=None, data=None, headers: Mapping | None = None) -> requests.Response:
        """One request; a 4xx/5xx raises the matching :class:`PlatformError`."""
        url = path if urlsplit(path).scheme else urljoin(self.url, path.lstrip("/"))
        try:
            response = self.session.request(method, url, params=params, json=json, files=files, data=data,
                                            headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            raise PlatformError(f"cannot reach the platform: {exc}", url=url) from exc
        if response.status_code >= 400:
            raise _error_from(response)
        return response

    def get(self, path: str, **params) -> Any:
        """GET a JSON document (filters as keyword arguments)."""
        return self.request("GET", path, params=_params(params)).json()

    def post(self, path: str, body: Any = None, **params) -> Any:
        """POST a JSON body, return the decoded JSON answer."""
        return self.request("POST", path, params=_params(params), json=body).json()

    def download(self, path: str, dest, *, method: str = "GET", body: Any = None, **params) -> Path:
        """Save an export (``format=xlsx|csv|gpkg|kml|pdf``) to ``dest``."""
        response = self.request(method, path, params=_params(params), json=body, headers={"Accept": "*/*"})
        dest = Path(dest)
        dest.write_bytes(response.content)
        return dest

    def features(self, path: str, *, bbox=None, page_size: int | None = None, max_features: int | None = None,
                 **filters) -> gpd.GeoDataFrame:
        """Every feature of a GeoJSON collection endpoint, following ``next``
        links page by page, as a GeoDataFrame (EPSG:4326, index = feature id).
        ``max_features`` stops early (e.g. for a quick look)."""
        limit = int(page_size or self.page_size)
        if max_features is not None:
            limit = max(1, min(limit, int(max_features)))
        params = _params({**filters, "bbox": _bbox_param(bbox), "limit": limit})
        features: list[dict] = []
        url: str | None = path
        count = None
        while url:
            page = self.request("GET", url, params=params).json()
            params = None  # the next link carries every parameter
            if page.get("type") != "FeatureCollection":
                raise PlatformError(f"{path} did not return a FeatureCollection", url=url, body=page)
            features.extend(page.get("features") or [])
            count = page.get("count", count)
            url = self._same_origin(page.get("next"))
            if max_features is not None and len(features) >= max_features:
                features = features[:max_features]
                break
            if not page.get("features"):
                break
        gdf = to_geodataframe(features)
        gdf.attrs["count"] = count if count is not None else len(features)
        gdf.attrs["source"] = urljoin(self.url, path.lstrip("/"))
        return gdf

    def _same_origin(self, link: str | None) -> str | None:
        """A `next` link re-based on our own scheme and host: the token never
        goes to another host, and links built behind a proxy (internal host
        names, http for https) still work."""
        if not link:
            return None
        parts = urlsplit(link)
        return urljoin(self.url, parts.path) + (f"?{parts.query}" if parts.query else "")

    # ------------------------------------------------------------ layers
    def layer(self, name: str, bbox=None, *, format: str | None = None, **filters) -> gpd.GeoDataFrame:
        """A layer (``pju``, ``roads``, ``areas``, ``panels``) as a GeoDataFrame.

        ``bbox`` = (minlon, minlat, maxlon, maxlat); filters as in SPEC §4:
        ``status``, ``road_class``, ``condition`` (a value or a list),
        ``area`` (area code), ``source``; ``fields`` (properties to fetch);
        ``page_size``, ``max_features``.

        ``format``: ``"fgb"`` reads FlatGeobuf (binary, one request for up to
        200,000 features; exports need a token), ``"geojson"`` pages through
        GeoJSON; by default FlatGeobuf when the client has a token and no
        ``page_size``/``max_features`` is given, falling back to GeoJSON if
        the server refuses it."""
        if name not in LAYERS:
            raise ValueError(f"unknown layer {name!r}; layers: {', '.join(LAYERS)}")
        if format not in (None, "fgb", "geojson"):
            raise ValueError("format is 'fgb' or 'geojson'")
        path = f"api/{name}/"
        auto = format is None and self.token and not {"page_size", "max_features"} & set(filters)
        if format == "fgb" or auto:
            try:
                return self.flatgeobuf(path, bbox=bbox, **filters)
            except (AuthenticationError, PermissionDenied, BadRequest):
                if format == "fgb":
                    raise
        return self.features(path, bbox=bbox, **filters)

    def flatgeobuf(self, path: str, *, bbox=None, **filters) -> gpd.GeoDataFrame:
        """Every feature of a layer endpoint as FlatGeobuf (``format=fgb``,
        written by PostGIS), following the ``Link: rel="next"`` header when a
        layer has more features than one file holds. Index = feature id,
        rows in id order, EPSG:4326."""
        import pyogrio

        params = _params({**filters, "bbox": _bbox_param(bbox), "format": "fgb"})
        frames, url = [], path
        while url:
            response = self.request("GET", url, params=params, headers={"Accept": "application/flatgeobuf, */*"})
            params = None  # the next link carries every parameter
            frames.append(pyogrio.read_dataframe(response.content))
            url = self._same_origin(response.links.get("next", {}).get("url"))
        gdf = pd.concat(frames) if len(frames) > 1 else frames[0]
        gdf = gpd.GeoDataFrame(gdf, geometry="geometry", crs=gdf.crs or CRS)
        if "id" in gdf.columns:
            gdf = gdf.set_index("id").sort_index()
        gdf.attrs["count"] = len(gdf)
        gdf.attrs["source"] = urljoin(self.url, path.lstrip("/"))
        return gdf

    def pju(self, bbox=None, **filters) -> gpd.GeoDataFrame:
        """Street lights (PJU); see :meth:`layer`."""
        return self.layer("pju", bbox, **filters)

    def roads(self, bbox=None, **filters) -> gpd.GeoDataFrame:
        """Road segments; see :meth:`layer`."""
        return self.layer("roads", bbox, **filters)

    def areas(self, bbox=None, **filters) -> gpd.GeoDataFrame:
        """Administrative areas (``level=kecamatan`` etc.); see :meth:`layer`."""
        return self.layer("areas", bbox, **filters)

    def panels(self, bbox=None, **filters) -> gpd.GeoDataFrame:
        """PJU control panels; see :meth:`layer`."""
        return self.layer("panels", bbox, **filters)

    def feature(self, name: str, pk: int) -> dict:
        """One feature of a layer as GeoJSON (dict)."""
        return self.get(f"api/{name}/{int(pk)}/")

    # ------------------------------------------------------------ needs
    def needs(self, kind: str, bbox=None, **filters) -> gpd.GeoDataFrame:
        """A needs layer: ``lighting-gaps``, ``proposed-pju``, ``broken-pju``
        or ``damaged-roads`` (underscores work too), with the layers' filters."""
        kind = kind.replace("_", "-")
        if kind not in NEEDS:
            raise ValueError(f"unknown needs layer {kind!r}; needs: {', '.join(NEEDS)}")
        return self.features(f"api/needs/{kind}/", bbox=bbox, **filters)

    def needs_summary(self, level: str = "kecamatan", *, include_unassigned: bool = False) -> pd.DataFrame:
        """``/api/needs/summary/`` as a table, one row per area (``code`` index);
        ``road_km_by_condition`` and ``cost_breakdown`` become columns."""
        data = self.get("api/needs/summary/", level=level)
        rows = list(data.get("areas") or [])
        if include_unassigned and data.get("unassigned"):
            rows.append({"code": "", "name": "(tanpa wilayah / unassigned)", **data["unassigned"]})
        df = pd.json_normalize(rows, sep=".")
        df.columns = [c.replace("road_km_by_condition.", "road_km_").replace("cost_breakdown.", "cost_") for c in df.columns]
        df.attrs.update({k: v for k, v in data.items() if k not in ("areas", "unassigned")})
        return df.set_index("code") if "code" in df.columns else df

    # ------------------------------------------------------------ imagery and terrain
    def imagery(self, bbox=None, **filters) -> gpd.GeoDataFrame:
        """Imagery catalogue footprints (``kind``, ``captured_on``, ``gsd_m``, ``crs``, …)."""
        return self.features("api/imagery/", bbox=bbox, **filters)

    def elevation(self, imagery_id: int, lon: float, lat: float) -> dict:
        """Elevation of one point on a DEM."""
        return self.get(f"api/imagery/{int(imagery_id)}/elevation/", lon=lon, lat=lat)

    def profile(self, imagery_id: int, line, *, interval_m: float | None = None, method: str = "nearest") -> gpd.GeoDataFrame:
        """Elevation profile along a LineString (shapely, GeoJSON or lon/lat
        pairs): one row per station (``distance_m``, ``elevation_m``) as points;
        the summary (``length_m``, ``min_m``, ``max_m``, ``ascent_m``, …) is in ``.attrs``."""
        body = {"geometry": _geojson(line), "method": method}
        if interval_m is not None:
            body["interval_m"] = interval_m
        data = self.post(f"api/imagery/{int(imagery_id)}/profile/", body)
        points = pd.DataFrame(data.pop("points"))
        gdf = gpd.GeoDataFrame(points, geometry=gpd.points_from_xy(points["lon"], points["lat"]), crs=CRS)
        gdf.attrs.update(data)
        return gdf

    def earthwork(self, imagery_id: int, alignment, *, width_m: float, start_elevation: float, grade_percent: float = 0.0,
                  side_slope: float = 0.0, method: str = "average_end_area", station_interval_m: float | None = None) -> dict:
        """Cut and fill of a planned road on a DEM (``cut_m3``, ``fill_m3``, ``net_m3``, ``stations``)."""
        body = {"alignment": _geojson(alignment), "width_m": width_m, "side_slope": side_slope, "method": method,
                "design": {"start_elevation": start_elevation, "grade_percent": grade_percent}}
        if station_interval_m is not None:
            body["station_interval_m"] = station_interval_m
        return self.post(f"api/imagery/{int(imagery_id)}/earthwork/", body)

    # ------------------------------------------------------------ estimates
    def templates(self) -> pd.DataFrame:
        """Pavement/work templates (``code`` index, layers and coats as lists)."""
        return pd.DataFrame(self.get("api/templates/")).set_index("code")

    def _estimate_body(self, geometry, width_m, template, road_ids) -> dict:
        if (geometry is None) == (road_ids is None):
            raise ValueError("give either geometry (+ width_m) or road_ids")
        body: dict[str, Any] = {"template": template}
        if geometry is not None:
            body["geometry"] = _geojson(geometry)
            if width_m is not None:
                body["width_m"] = width_m
        else:
            body["road_ids"] = [int(i) for i in road_ids]
        return body

    def estimate(self, geometry=None, *, template: str, width_m: float | None = None,
                 road_ids: Iterable[int] | None = None) -> dict:
        """Material estimate and cost (RAB) of a drawn line/polygon or of
        existing roads: ``length_m``, ``area_m2``, ``layers``, ``items``, ``total``…
        ``pandas.DataFrame(result["items"])`` gives the bill of quantities."""
        return self.post("api/estimates/", self._estimate_body(geometry, width_m, template, road_ids))

    def estimate_xlsx(self, dest, geometry=None, *, template: str, width_m: float | None = None,
                      road_ids: Iterable[int] | None = None) -> Path:
        """The RAB workbook of :meth:`estimate`, saved to ``dest``."""
        body = self._estimate_body(geometry, width_m, template, road_ids)
        return self.download("api/estimates/", dest, method="POST", body=body, format="xlsx")

    def programme(self, level: str = "kecamatan", budget: float | None = None, **params) -> dict:
        """Road maintenance programme (condition → treatment → cost, ranked,
        cut at ``budget``): ``groups``, ``segments``, ``treatments``, ``totals``."""
        return self.get("api/programme/", level=level, budget=budget, **params)

    # ------------------------------------------------------------ direct database
    def engine(self):
        """SQLAlchemy engine on ``DATABASE_URL`` (``postgis://`` accepted)."""
        if self._engine is None:
            if not self.database_url:
                raise PlatformError("no database URL: set DATABASE_URL or pass database_url=")
            from sqlalchemy import create_engine

            self._engine = create_engine(sqlalchemy_url(self.database_url))
        return self._engine

    def read_postgis(self, sql: str, params: Mapping | None = None, *, geom_col: str = "geom", index_col: str | None = None,
                     crs: Any = None) -> gpd.GeoDataFrame:
        """``geopandas.read_postgis`` through SQLAlchemy; bind values with
        ``:name`` placeholders and ``params`` (never format them into ``sql``)."""
        from sqlalchemy import text

        with self.engine().connect() as conn:
            return gpd.read_postgis(text(sql), conn, geom_col=geom_col, params=dict(params or {}), index_col=index_col,
                                    crs=crs)

    def db_layer(self, name: str, *, columns: Iterable[str] | None = None, include_deleted: bool = False) -> gpd.GeoDataFrame:
        """A whole layer straight from PostGIS (fast for 100k+ rows; no paging,
        no API filters). Index = id, CRS from the column's SRID."""
        if name not in TABLES:
            raise ValueError(f"unknown layer {name!r}; layers: {', '.join(TABLES)}")
        from sqlalchemy import text

        with self.engine().connect() as conn:
            available = list(conn.execute(text(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
                "AND table_name = :t ORDER BY ordinal_position"), {"t": TABLES[name]}).scalars())
        wanted = list(columns) if columns is not None else [c for c in available if c not in ("geom_3857",)]
        unknown = sorted(set(wanted) - set(available))
        if unknown:
            raise ValueError(f"unknown columns of {name}: {', '.join(unknown)}")
        cols = ", ".join(f'"{c}"' for c in dict.fromkeys(["id", *wanted, "geom"]))
        where = "" if include_deleted or "deleted_at" not in available else " WHERE deleted_at IS NULL"
        return self.read_postgis(f'SELECT {cols} FROM "{TABLES[name]}"{where} ORDER BY id', index_col="id")
