"""One payload, two formats: the spec's XML and its JSON (the Spark convention).

A payload is what the JSON shows: a list for the collection resources (services, service
requests, updates, errors), an object for discovery and a service definition. The XML is
derived from it: the root element is named by the resource, each item of a list by
``ITEM_NAMES`` (``services`` → ``service``), ``None`` is an empty element and booleans are
``true``/``false``, as in the spec's examples.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from django.http import HttpResponse
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language

FORMATS = ("json", "xml")
CONTENT_TYPES = {
    "json": "application/json; charset=utf-8",
    "xml": "text/xml; charset=utf-8",
}
ITEM_NAMES = {
    "services": "service",
    "service_requests": "request",
    "service_request_updates": "request_update",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "media_urls": "media_url",
}
# Characters XML 1.0 cannot carry at all; a client's text may contain them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _escape(text: str) -> str:
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def _write(out: list[str], tag: str, value: Any) -> None:
    """``value`` as the element ``tag``, appended to ``out`` as text. The markup is what
    ElementTree writes for the same tree (an empty element is ``<tag />``); written
    directly, because building a thousand requests' elements first costs several times
    more. Tags are ours (the payloads' keys), never a client's text."""
    children: list[tuple[str, Any]]
    if isinstance(value, Mapping):
        children = list(value.items())
    elif isinstance(value, (list, tuple)):
        item_name = ITEM_NAMES.get(tag, "item")
        children = [(item_name, item) for item in value]
    else:
        text = _text(value)
        out.append(f"<{tag}>{_escape(text)}</{tag}>" if text else f"<{tag} />")
        return
    if not children:
        out.append(f"<{tag} />")
        return
    out.append(f"<{tag}>")
    for name, child in children:
        _write(out, name, child)
    out.append(f"</{tag}>")


def to_xml(root: str, payload: Mapping[str, Any] | Sequence[Any]) -> bytes:
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n']
    _write(out, root, payload)
    out.append("\n")
    return "".join(out).encode()


def to_json(payload: Mapping[str, Any] | Sequence[Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


def respond(
    fmt: str,
    root: str,
    payload: Mapping[str, Any] | Sequence[Any],
    *,
    status: int = 200,
) -> HttpResponse:
    body = to_xml(root, payload) if fmt == "xml" else to_json(payload)
    response = HttpResponse(body, status=status, content_type=CONTENT_TYPES[fmt])
    patch_vary_headers(response, ("Accept-Language",))
    response.headers["Content-Language"] = get_language()
    return response


def errors(fmt: str, status: int, descriptions: Sequence[str]) -> HttpResponse:
    """The spec's error body: ``errors/error{code, description}``, one per problem; the
    code is the HTTP status, which every client understands."""
    payload = [{"code": status, "description": text} for text in descriptions]
    return respond(fmt, "errors", payload, status=status)
