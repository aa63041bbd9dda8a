"""GeoReport v2 representations: one tree of dicts and lists rendered as JSON
or XML (the element names of the spec's examples), and its error list
(`[{"code": 400, "description": "..."}]`, `<errors><error>…`)."""
from __future__ import annotations

import json
from xml.etree.ElementTree import Element, SubElement, tostring

from django.http import HttpResponse

FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
# a list's element → the name of each item's element
ITEM_NAMES = {
    "services": "service", "service_requests": "request", "attributes": "attribute", "values": "value",
    "endpoints": "endpoint", "formats": "format", "errors": "error", "keywords": "keyword",
}


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(parent: Element, value) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _fill(SubElement(parent, key), item)
    elif isinstance(value, list):
        name = ITEM_NAMES.get(parent.tag, "item")
        for item in value:
            _fill(SubElement(parent, name), item)
    else:
        parent.text = _text(value)


def to_xml(root: str, value) -> bytes:
    element = Element(root)
    _fill(element, value)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + tostring(element, encoding="utf-8", xml_declaration=False)


def render(fmt: str, root: str, value, status: int = 200) -> HttpResponse:
    """`value` as JSON, or as XML under the element `root` (for a list, each
    item's element is ITEM_NAMES[root])."""
    if fmt == "xml":
        body = to_xml(root, value)
    else:
        body = json.dumps(value, ensure_ascii=False).encode()
    return HttpResponse(body, status=status, content_type=FORMATS.get(fmt, FORMATS["json"]))


def error(fmt: str, status: int, description: str, code: int | None = None) -> HttpResponse:
    return render(fmt, "errors", [{"code": code or status, "description": description}], status=status)
