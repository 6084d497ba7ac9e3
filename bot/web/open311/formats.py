"""JSON and XML renderings of one GeoReport v2 document, and its error documents.

A document is a root element name and a body: a mapping (one element per key) or `Many` (a list of
same-named elements). JSON follows the spec's mapping of its XML: a list becomes a bare array, a
mapping an object; XML is schemaless, without a namespace, preceded by the UTF-8 declaration.
A `None` value is left out of both renderings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Union
from xml.etree import ElementTree as ET

from aiohttp import web

FORMATS = ("json", "xml")
CONTENT_TYPES = {"json": "application/json", "xml": "text/xml"}
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
# Characters XML 1.0 cannot carry at all, even escaped (C0 controls but tab, CR, LF; lone surrogates).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

Value = Union[str, int, float, bool, None, "Many", Mapping[str, "Value"]]


@dataclass(frozen=True, slots=True)
class Many:
    """A list whose XML items are each called `tag` (`<services><service>…`)."""

    tag: str
    items: Sequence[Value]


def fmt_of(request: web.Request) -> str:
    """The format the path asked for; XML (the spec's required one) for anything else."""
    wanted = request.match_info.get("fmt", "xml")
    return wanted if wanted in FORMATS else "xml"


def _json_value(value: Value) -> object:
    if isinstance(value, Many):
        return [_json_value(v) for v in value.items]
    if isinstance(value, Mapping):
        return {k: _json_value(v) for k, v in value.items() if v is not None}
    return value


def _text(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("\ufffd", str(value))


def _fill(element: ET.Element, value: Value) -> None:
    if isinstance(value, Many):
        for item in value.items:
            _fill(ET.SubElement(element, value.tag), item)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if item is not None:
                _fill(ET.SubElement(element, key), item)
    elif value is not None:
        element.text = _text(value)


def render_json(body: Value) -> str:
    """The JSON text of a document's body."""
    return json.dumps(_json_value(body), ensure_ascii=False, separators=(",", ":"))


def render_xml(root: str, body: Value) -> str:
    """The XML text of a document, with its declaration."""
    element = ET.Element(root)
    _fill(element, body)
    return DECLARATION + ET.tostring(element, encoding="unicode")


# A data document, never a page: a browser that opens one must not sniff it into HTML or run
# anything in it.
DATA_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; sandbox",
}


def respond(
    fmt: str, root: str, body: Value, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """The document in `fmt`, UTF-8, with the spec's content type."""
    text = render_json(body) if fmt == "json" else render_xml(root, body)
    return web.Response(
        text=text,
        status=status,
        content_type=CONTENT_TYPES[fmt],
        charset="utf-8",
        headers={**DATA_HEADERS, **(headers or {})},
    )


def error(
    fmt: str, status: int, description: str, *, headers: Mapping[str, str] | None = None
) -> web.Response:
    """The spec's error document: `[{"code", "description"}]` / `<errors><error>…`."""
    body = Many("error", [{"code": status, "description": description}])
    return respond(fmt, "errors", body, status=status, headers=headers)
