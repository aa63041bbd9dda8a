"""Cut and fill of a road corridor on a DEM (DOMAIN §3).

Design (SPEC §6): a finished road level z(c) = start_elevation +
grade_percent/100 · c along the alignment (c = chainage in metres) with a
crossfall (default 3 %) from the crown to both edges of the width W; the
earthwork formation (subgrade) lies the template's pavement depth below it
(the box); side slopes (H:V; 0 = vertical) run from the formation edges up in
cut (default 1:1) or down in fill (default 1:1.5) to the first point where
they meet the ground (daylight). Topsoil (default 0.15 m) is stripped over
the footprint first: cut and fill are measured against the stripped ground,
and the topsoil is a volume of its own (disposed).

Balance: cut (bank m³) is reused as fill before borrow; compacted fill needs
fill / shrinkage bank m³ (shrinkage 0.90); surplus cut and topsoil are
disposed as loose m³ (× (1 + swell)).

Metres are planar in the alignment's own UTM zone (geo_platform.srid.utm_srid),
never a fixed zone; the DEM is read in its native CRS (imagery.terrain).

Methods
- ``grid``: V = Σ (z_ground − z_design) · cell area over the cells whose
  centres lie in the corridor (flat-ended buffer of the alignment), cut (> 0)
  and fill (< 0) summed separately. When the DEM is stored in the same UTM
  zone its own cells are used (split into equal sub-cells carrying the cell's
  value when a cell is wider than a quarter of the road); otherwise the DEM is
  sampled bilinearly on a UTM grid no coarser than its cell nor W/4.
  Outside the formation a cell counts up to the daylight of its side,
  interpolated between the cross-sections.
- ``average_end_area``: V = Σ L (A₁ + A₂)/2 over cross-sections at every
  ``station_interval_m`` (and the end).
- ``prismoidal``: V = Σ L (A₁ + 4Aₘ + A₂)/6 with Aₘ a measured mid-section.
Cross-section areas integrate the piecewise-linear ground (bilinear DEM
samples) against the template exactly between samples.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import rasterio.windows
from affine import Affine
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import LineString

from estimates.errors import EstimateInputError
from geo_platform.srid import STORAGE_SRID, utm_srid
from imagery import conf, terrain
from imagery.readers import get_dataset

METHODS = ("grid", "average_end_area", "prismoidal")
DEFAULT_SWELL = 0.20      # loose/bank − 1: granular 10–15 %, clay 20–30 % (DOMAIN §3); estimate
DEFAULT_SHRINKAGE = 0.90  # compacted fill / bank volume (DOMAIN §3 [E1])
DEFAULT_CUT_SLOPE = 1.0   # H:V, SPEC §6
DEFAULT_FILL_SLOPE = 1.5  # H:V, SPEC §6
DEFAULT_CROSSFALL_PERCENT = 3.0  # SPEC §6
DEFAULT_TOPSOIL_M = 0.15  # SPEC §6
DEFAULT_TEMPLATE = "FFF1"  # pavement depth of the box when none is given: the lightest flexible structure
MAX_SECTION_POINTS = 61  # cross-section points returned per station


class NoDaylight(EstimateInputError):
    """A side slope still above/below the ground at the end of the search reach."""


MAX_REACH_DOUBLINGS = 4


@dataclass
class Design:
    width_m: float
    start_elevation: float
    grade_percent: float
    cut_slope: float
    fill_slope: float = None
    crossfall_percent: float = 0.0
    pavement_depth_m: float = 0.0
    topsoil_m: float = 0.0

    def __post_init__(self):
        if self.fill_slope is None:
            self.fill_slope = self.cut_slope

    @property
    def side_slope(self) -> float:  # the wider of the two (reach of the sections)
        return max(self.cut_slope, self.fill_slope)

    def grade_z(self, chainage):
        """Finished road level at the crown."""
        return self.start_elevation + self.grade_percent / 100.0 * np.asarray(chainage, float)

    def formation_z(self, chainage, offset):
        """Formation (subgrade) level: finished level − crossfall × offset (to the edge) − pavement depth."""
        o = np.minimum(np.abs(offset), self.width_m / 2)
        return self.grade_z(chainage) - self.crossfall_percent / 100.0 * o - self.pavement_depth_m

    def slopes(self, e):
        """Rise of the cut slope and drop of the fill slope at a distance e beyond the formation edge."""
        def one(s):
            return e / s if s > 0 else np.where(e > 0, np.inf, 0.0)
        return one(self.cut_slope), one(self.fill_slope)


def _positive_integral(x: np.ndarray, f: np.ndarray) -> float:
    """∫ max(f, 0) dx for f linear between samples (exact, zero crossings included)."""
    if len(x) < 2:
        return 0.0
    x0, x1, f0, f1 = x[:-1], x[1:], f[:-1], f[1:]
    dx = x1 - x0
    both = (f0 >= 0) & (f1 >= 0)
    area = np.where(both, (f0 + f1) / 2 * dx, 0.0)
    cross = (f0 > 0) != (f1 > 0)
    cross &= ~both
    with np.errstate(divide="ignore", invalid="ignore"):
        pos = np.where(f0 > 0, f0, f1)
        frac = pos / (np.abs(f0) + np.abs(f1))
    area = area + np.where(cross & np.isfinite(frac), pos * frac * dx / 2, 0.0)
    return float(area.sum())


def _first_daylight(x: np.ndarray, cut: np.ndarray, fill: np.ndarray) -> int:
    """Index after which the side slope has met the ground: first sample where
    neither cut nor fill is positive (the slope stops there)."""
    done = (cut <= 0) & (fill <= 0)
    idx = np.flatnonzero(done)
    return int(idx[0]) + 1 if len(idx) else len(x)


class Alignment:
    def __init__(self, coords, ds):
        pts = np.asarray(coords, float)[:, :2]
        lon0, lat0 = pts[:, 0].mean(), pts[:, 1].mean()
        self.epsg = utm_srid(lon0, lat0)
        self.crs = CRS.from_epsg(self.epsg)
        self.fwd = Transformer.from_crs(CRS.from_epsg(STORAGE_SRID), self.crs, always_xy=True)
        self.inv = Transformer.from_crs(self.crs, CRS.from_epsg(STORAGE_SRID), always_xy=True)
        x, y = self.fwd.transform(pts[:, 0], pts[:, 1])
        self.line = LineString(np.column_stack([x, y]))
        self.length = float(self.line.length)
        self.ds = ds
        native = ds.crs
        self.same_crs = bool(native and native.is_projected and CRS.from_wkt(native.to_wkt()).equals(self.crs))

    def frame(self, chainage: np.ndarray):
        """Points and unit left normals at chainages."""
        chainage = np.asarray(chainage, float)
        p = shapely.line_interpolate_point(self.line, chainage)
        xy = shapely.get_coordinates(p)
        h = np.minimum(0.01, self.length / 1000)
        a = shapely.get_coordinates(shapely.line_interpolate_point(self.line, np.clip(chainage - h, 0, self.length)))
        b = shapely.get_coordinates(shapely.line_interpolate_point(self.line, np.clip(chainage + h, 0, self.length)))
        t = b - a
        t /= np.linalg.norm(t, axis=1)[:, None]
        normal = np.column_stack([-t[:, 1], t[:, 0]])
        return xy, normal

    def ground(self, x: np.ndarray, y: np.ndarray, method="bilinear") -> np.ndarray:
        lon, lat = self.inv.transform(np.ravel(x), np.ravel(y))
        z = terrain.sample_dem(self.ds, np.column_stack([lon, lat]), method=method)
        return z.reshape(np.shape(x))


MAX_SAMPLES = 1_000_000  # issue 12: ground samples of one request (stations × cross-section points)


def check_samples(n: int) -> None:
    """Refuse (400) a request that would sample the DEM more than MAX_SAMPLES times, before allocating anything."""
    if n > MAX_SAMPLES:
        raise EstimateInputError(
            f"this corridor needs {n:,} ground samples (stations × cross-section points), more than the {MAX_SAMPLES:,} "
            "allowed: use a longer station_interval_m, a gentler side_slope or a shorter alignment", "station_interval_m")


def _sections(al: Alignment, d: Design, chainages: np.ndarray, step: float, reach: float) -> list[dict]:
    """Cross-sections at the chainages: cut/fill areas and the sampled profile."""
    half = d.width_m / 2
    n_in = max(int(math.ceil(half / step)), 1)
    inner = np.linspace(0.0, half, n_in + 1)
    n_outer = int(math.ceil((reach - half) / step)) if d.side_slope > 0 else 0
    check_samples(len(chainages) * 2 * (n_in + n_outer + 1))
    outer = half + np.arange(1, n_outer + 1) * step if d.side_slope > 0 else np.empty(0)
    offsets_side = np.concatenate([inner, outer])
    signed = np.concatenate([-offsets_side[::-1], offsets_side[1:]])  # right (−) … left (+)
    xy, normal = al.frame(chainages)
    px = xy[:, 0, None] + normal[:, 0, None] * signed[None, :]
    py = xy[:, 1, None] + normal[:, 1, None] * signed[None, :]
    zg = al.ground(px, py)
    zd = d.grade_z(chainages)
    centre = len(offsets_side) - 1
    out = []
    for i, c in enumerate(chainages):
        z = zg[i]
        cut_a = fill_a = 0.0
        design_profile = np.full(len(signed), np.nan)
        reach_used, daylight = {}, {}
        for side, sl in (("right", slice(centre, None, -1)), ("left", slice(centre, None))):
            o = np.abs(signed[sl])
            g = z[sl] - d.topsoil_m  # stripped ground
            e = np.maximum(o - half, 0.0)
            base = d.formation_z(c, o)
            rise, drop = d.slopes(e)
            cut = g - (base + rise)
            fill = (base - drop) - g
            k_in = n_in + 1
            if np.isnan(g[:k_in]).any():
                raise EstimateInputError(f"the corridor leaves the DEM (or meets nodata) at chainage {c:.1f} m", "alignment")
            n = k_in
            if d.side_slope > 0 and len(o) > k_in:
                n = k_in + _first_daylight(o[k_in:], cut[k_in:], fill[k_in:])
                n = min(n, len(o))
                if np.isnan(g[:n]).any():
                    raise EstimateInputError(f"the side slopes leave the DEM (or meet nodata) at chainage {c:.1f} m", "alignment")
                if n == len(o) and (cut[-1] > 0 or fill[-1] > 0):
                    raise NoDaylight(
                        f"the side slope does not reach the ground within {reach:.0f} m of the centreline at chainage {c:.1f} m", "side_slope")
            cut_a += _positive_integral(o[:n], cut[:n])
            fill_a += _positive_integral(o[:n], fill[:n])
            design_side = np.where(cut[:n] > 0, base[:n] + rise[:n], np.where(fill[:n] > 0, base[:n] - drop[:n], np.where(o[:n] <= half, base[:n], g[:n])))  # daylight: the slope meets the ground
            idx = np.arange(len(signed))[sl][:n]
            design_profile[idx] = design_side
            reach_used[side] = float(o[n - 1])
            # daylight offset, interpolated where the active slope's excess crosses zero (exact on planar ground)
            day = half
            if n > k_in:
                v = np.maximum(cut[:n], fill[:n])
                j = n - 1
                if v[j] <= 0 < v[j - 1]:
                    day = float(o[j - 1] + (o[j] - o[j - 1]) * v[j - 1] / (v[j - 1] - v[j]))
                else:
                    day = float(o[j])
            daylight[side] = day
        keep = np.isfinite(design_profile)
        prof_o, prof_g, prof_d = signed[keep], z[keep], design_profile[keep]
        if len(prof_o) > MAX_SECTION_POINTS:
            sel = np.unique(np.linspace(0, len(prof_o) - 1, MAX_SECTION_POINTS).round().astype(int))
            prof_o, prof_g, prof_d = prof_o[sel], prof_g[sel], prof_d[sel]
        lon, lat = al.inv.transform(xy[i, 0], xy[i, 1])
        out.append({
            "chainage_m": float(c),
            "lon": float(lon),
            "lat": float(lat),
            "ground_m": float(z[centre]),
            "design_m": float(zd[i]),
            "cut_area_m2": cut_a,
            "fill_area_m2": fill_a,
            "formation_m": float(d.formation_z(c, 0.0)),
            "footprint_m": daylight["left"] + daylight["right"],
            "topsoil_area_m2": d.topsoil_m * (daylight["left"] + daylight["right"]),
            "reach_left_m": reach_used["left"],
            "reach_right_m": reach_used["right"],
            "section": [{"offset_m": float(a), "ground_m": float(b), "design_m": float(e)} for a, b, e in zip(prof_o, prof_g, prof_d)],
        })
    return out


def _sections_within_reach(al: Alignment, d: Design, chainages: np.ndarray, step: float, reach: float):
    for attempt in range(MAX_REACH_DOUBLINGS + 1):
        try:
            return _sections(al, d, chainages, step, reach), reach
        except NoDaylight:
            if attempt == MAX_REACH_DOUBLINGS:
                raise
            reach = d.width_m / 2 + 2 * (reach - d.width_m / 2)
    raise AssertionError("unreachable")


def _grid(al: Alignment, d: Design, reach: float, stations: list[dict] | None = None) -> dict:
    """Grid method over the corridor (flat-ended buffer out to ``reach``). With
    the cross-sections given, cells outside the formation count only up to the
    daylight of their side, interpolated between the stations."""
    ds = al.ds
    half = d.width_m / 2
    margin = half if d.side_slope == 0 else reach
    footprint = al.line.buffer(margin, cap_style="flat", join_style="round")
    cell = terrain.pixel_size_m(ds)
    if al.same_crs:
        minx, miny, maxx, maxy = footprint.bounds
        inv = ~ds.transform
        cs, rs = zip(*(inv @ (x, y) for x, y in ((minx, miny), (minx, maxy), (maxx, miny), (maxx, maxy))))
        c0, c1 = max(int(math.floor(min(cs))), 0), min(int(math.ceil(max(cs))), ds.width)
        r0, r1 = max(int(math.floor(min(rs))), 0), min(int(math.ceil(max(rs))), ds.height)
        if c1 <= c0 or r1 <= r0:
            raise EstimateInputError("the alignment lies outside the DEM", "alignment")
        win = rasterio.windows.Window(c0, r0, c1 - c0, r1 - r0)
        if win.width * win.height > conf.max_analysis_pixels():
            raise EstimateInputError("the corridor covers too many DEM cells; shorten the alignment", "alignment")
        block = ds.read(1, window=win, masked=True)
        tr = ds.transform @ Affine.translation(c0, r0)  # = ds.window_transform(win), without rasterio's deprecated `*`
        zg = np.where(np.ma.getmaskarray(block), np.nan, block.filled(0).astype("float64"))
        # cells wider than a quarter of the road are split into equal sub-cells carrying the cell's value,
        # so the corridor's outline is followed closely (the volume per cell stays z_cell × area)
        sub = max(1, min(10, math.ceil(cell / (d.width_m / 4) - 1e-9)))
        if sub > 1:
            zg = np.repeat(np.repeat(zg, sub, axis=0), sub, axis=1)
            tr = tr @ Affine.scale(1 / sub)
        rows, cols = np.mgrid[0 : zg.shape[0], 0 : zg.shape[1]]
        xs = tr.c + (cols + 0.5) * tr.a + (rows + 0.5) * tr.b
        ys = tr.f + (cols + 0.5) * tr.d + (rows + 0.5) * tr.e
        cell_area = abs(tr.a * tr.e - tr.b * tr.d)
        cell = math.sqrt(cell_area)
    else:  # another CRS: a UTM grid no coarser than the DEM nor a quarter of the road, sampled bilinearly
        cell = min(cell, d.width_m / 4)
        minx, miny, maxx, maxy = footprint.bounds
        nx, ny = int(math.ceil((maxx - minx) / cell)), int(math.ceil((maxy - miny) / cell))
        if nx * ny > conf.max_analysis_pixels():
            raise EstimateInputError("the corridor covers too many DEM cells; shorten the alignment", "alignment")
        x0, y0 = math.floor(minx / cell) * cell, math.floor(miny / cell) * cell
        xs, ys = np.meshgrid(x0 + (np.arange(nx + 1) + 0.5) * cell, y0 + (np.arange(ny + 1) + 0.5) * cell)
        zg = None
        cell_area = cell * cell
    xs, ys = xs.ravel(), ys.ravel()
    inside = shapely.contains_xy(footprint, xs, ys)
    xs, ys = xs[inside], ys[inside]
    if zg is None:
        zg = al.ground(xs, ys)
    else:
        zg = zg.ravel()[inside]
    if not len(xs) or np.isnan(zg).all():
        raise EstimateInputError("the alignment lies outside the DEM (or on nodata)", "alignment")
    pts = shapely.points(xs, ys)
    chain = shapely.line_locate_point(al.line, pts)
    off = shapely.distance(al.line, pts)
    zd = d.formation_z(chain, off)
    e = np.maximum(off - half, 0.0)
    rise, drop = d.slopes(e)
    stripped = zg - d.topsoil_m
    cut = np.maximum(stripped - (zd + rise), 0.0)
    fill = np.maximum((zd - drop) - stripped, 0.0)
    if d.side_slope > 0 and stations:
        st_chain = np.array([st["chainage_m"] for st in stations])
        q, normal = al.frame(chain)
        left = ((xs - q[:, 0]) * normal[:, 0] + (ys - q[:, 1]) * normal[:, 1]) >= 0
        limit = np.where(left, np.interp(chain, st_chain, [st["reach_left_m"] for st in stations]),
                         np.interp(chain, st_chain, [st["reach_right_m"] for st in stations]))
        beyond = (e > 0) & (off > limit + cell / 2)
        cut[beyond] = 0.0
        fill[beyond] = 0.0
    road = off <= half
    nodata = np.isnan(zg)
    footprint_cells = road | (cut > 0) | (fill > 0)
    if nodata[road].any():
        raise EstimateInputError(f"{int(nodata[road].sum())} DEM cells under the road are nodata or off the DEM", "alignment")
    return {
        "cell_size_m": cell,
        "dem_cell_size_m": terrain.pixel_size_m(ds),
        "cells": int((~nodata).sum()),
        "nodata_cells": int(nodata.sum()),
        "cut_m3": float(np.nansum(cut) * cell_area),
        "fill_m3": float(np.nansum(fill) * cell_area),
        "topsoil_m3": float(np.sum(footprint_cells & ~nodata) * cell_area * d.topsoil_m),
        "resampled": not al.same_crs,
    }


def earthwork(dem_path, *, alignment, width_m: float, start_elevation: float, grade_percent: float,
              side_slope: float | None = None, method: str = "average_end_area", station_interval_m: float | None = None,
              swell: float = DEFAULT_SWELL, shrinkage: float = DEFAULT_SHRINKAGE, cut_slope: float | None = None,
              fill_slope: float | None = None, crossfall_percent: float = DEFAULT_CROSSFALL_PERCENT,
              pavement_depth_m: float = 0.0, topsoil_m: float = DEFAULT_TOPSOIL_M) -> dict:
    """`side_slope` (legacy) sets both slopes; else cut_slope/fill_slope default to 1:1 and 1:1.5.
    `start_elevation` is the finished road level; the formation is `pavement_depth_m` below it."""
    ds = get_dataset(dem_path)
    coords = np.asarray(alignment, float)
    al = Alignment(coords, ds)
    if al.length <= 0:
        raise EstimateInputError("the alignment has zero length", "alignment")
    lon, lat = coords[:, 0], coords[:, 1]
    b = ds.bounds
    x, y = terrain.to_native_xy(ds, lon, lat)
    if not ((x >= b.left) & (x <= b.right) & (y >= b.bottom) & (y <= b.top)).any() and \
            not shapely.intersects(shapely.box(*b), LineString(np.column_stack([x, y]))):
        raise EstimateInputError("the alignment lies outside the DEM", "alignment")
    cut_s = cut_slope if cut_slope is not None else (side_slope if side_slope is not None else DEFAULT_CUT_SLOPE)
    fill_s = fill_slope if fill_slope is not None else (side_slope if side_slope is not None else DEFAULT_FILL_SLOPE)
    d = Design(width_m, start_elevation, grade_percent, cut_s, fill_s, crossfall_percent, pavement_depth_m, topsoil_m)
    side_slope = d.side_slope
    cell = terrain.pixel_size_m(ds)
    interval = float(station_interval_m) if station_interval_m else max(cell, min(20.0, al.length))
    n_st = int(math.ceil(al.length / interval - 1e-9))
    if n_st + 1 > conf.max_profile_points():
        raise EstimateInputError(f"{al.length:.0f} m every {interval:g} m needs more than {conf.max_profile_points()} stations", "station_interval_m")
    chain = np.minimum(np.arange(n_st + 1) * interval, al.length)
    chain[-1] = al.length
    step = min(cell / 2, 0.5)
    # reach of the side slopes: from the depth at the centre and edges of the stations, generous;
    # doubled (a few times) where a slope has not met the ground within it
    xy, normal = al.frame(chain)
    zc = np.column_stack([al.ground(xy[:, 0] + k * normal[:, 0] * width_m / 2, xy[:, 1] + k * normal[:, 1] * width_m / 2)
                          for k in (-1, 0, 1)])
    if np.isnan(zc[:, 1]).all():
        raise EstimateInputError("the alignment lies outside the DEM (or on nodata)", "alignment")
    depth = float(np.nanmax(np.abs(zc - d.grade_z(chain)[:, None]))) + pavement_depth_m + topsoil_m + crossfall_percent / 100 * width_m / 2
    reach = d.width_m / 2 + side_slope * (3 * depth + 2 * cell + 1.0) + step
    stations, reach = _sections_within_reach(al, d, chain, step, reach)
    lengths = np.diff(chain)
    cut_a = np.array([s["cut_area_m2"] for s in stations])
    fill_a = np.array([s["fill_area_m2"] for s in stations])
    top_a = np.array([s["topsoil_area_m2"] for s in stations])
    aea = {"cut_m3": float(np.sum(lengths * (cut_a[:-1] + cut_a[1:]) / 2)),
           "fill_m3": float(np.sum(lengths * (fill_a[:-1] + fill_a[1:]) / 2)),
           "topsoil_m3": float(np.sum(lengths * (top_a[:-1] + top_a[1:]) / 2))}
    volumes = {"average_end_area": aea}
    if method == "prismoidal":
        mids, reach = _sections_within_reach(al, d, (chain[:-1] + chain[1:]) / 2, step, reach)
        cut_m = np.array([s["cut_area_m2"] for s in mids])
        fill_m = np.array([s["fill_area_m2"] for s in mids])
        top_m = np.array([s["topsoil_area_m2"] for s in mids])
        volumes["prismoidal"] = {
            "cut_m3": float(np.sum(lengths * (cut_a[:-1] + 4 * cut_m + cut_a[1:]) / 6)),
            "fill_m3": float(np.sum(lengths * (fill_a[:-1] + 4 * fill_m + fill_a[1:]) / 6)),
            "topsoil_m3": float(np.sum(lengths * (top_a[:-1] + 4 * top_m + top_a[1:]) / 6)),
        }
    grid = None
    if method == "grid":
        grid = _grid(al, d, reach, stations)
        volumes["grid"] = {"cut_m3": grid["cut_m3"], "fill_m3": grid["fill_m3"], "topsoil_m3": grid["topsoil_m3"]}
    chosen = volumes[method]
    balance = earthwork_balance(cut_m3=chosen["cut_m3"], fill_m3=chosen["fill_m3"], topsoil_m3=chosen["topsoil_m3"],
                                swell=swell, shrinkage=shrinkage)
    return {
        "method": method,
        "crs": f"EPSG:{al.epsg}",
        "length_m": al.length,
        "width_m": width_m,
        "side_slope": side_slope,
        "cut_slope": d.cut_slope,
        "fill_slope": d.fill_slope,
        "crossfall_percent": d.crossfall_percent,
        "pavement_depth_m": d.pavement_depth_m,
        "topsoil_m": d.topsoil_m,
        "design": {"start_elevation": start_elevation, "grade_percent": grade_percent,
                   "end_elevation": float(d.grade_z(al.length)),
                   "formation": "finished level − crossfall × offset − pavement depth (the box)"},
        "station_interval_m": interval,
        "cut_m3": chosen["cut_m3"],
        "fill_m3": chosen["fill_m3"],
        "net_m3": chosen["cut_m3"] - chosen["fill_m3"],
        "topsoil_m3": chosen["topsoil_m3"],
        "balance": balance,
        # bulking (DOMAIN §3): cut swells when dug; compacted fill needs more bank volume
        "cut_loose_m3": chosen["cut_m3"] * (1 + swell),
        "fill_bank_m3": chosen["fill_m3"] / shrinkage,
        "balance_bank_m3": chosen["cut_m3"] - chosen["fill_m3"] / shrinkage,
        "factors": {"swell": swell, "shrinkage": shrinkage,
                    "source": "swell 10–30 % (estimate: 20 %), compacted fill ≈ 0.90 of bank volume (DOMAIN §3 [E1])"},
        "volumes": volumes,
        "grid": grid,
        "stations": stations,
    }


def earthwork_balance(*, cut_m3: float, fill_m3: float, topsoil_m3: float, swell: float, shrinkage: float) -> dict:
    """Cut reused as fill before borrow (SPEC §6). Bank m³ of cut; compacted m³ of fill; loose m³ to dispose.
    fill needs fill/shrinkage bank m³; reuse = min(cut, that); borrow supplies the rest; surplus cut and the
    stripped topsoil are disposed, swollen by (1 + swell)."""
    need_bank = fill_m3 / shrinkage
    reuse_bank = min(cut_m3, need_bank)
    borrow_bank = need_bank - reuse_bank
    surplus_bank = cut_m3 - reuse_bank
    return {
        "cut_reused_bank_m3": reuse_bank,
        "fill_from_cut_m3": reuse_bank * shrinkage,
        "fill_from_borrow_m3": fill_m3 - reuse_bank * shrinkage,
        "borrow_bank_m3": borrow_bank,
        "surplus_cut_bank_m3": surplus_bank,
        "disposal_loose_m3": (surplus_bank + topsoil_m3) * (1 + swell),
        "topsoil_m3": topsoil_m3,
    }
