"""The XML writer writes what ElementTree writes for the same tree, byte for byte."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

import pytest

from ihanoi.open311.render import ITEM_NAMES, _text, to_xml


def _reference(root: str, payload: Any) -> bytes:
    """The writer as it was: an ElementTree, then ``tostring``."""

    def fill(element: ET.Element, value: Any) -> None:
        if isinstance(value, Mapping):
            for key, child in value.items():
                fill(ET.SubElement(element, key), child)
        elif isinstance(value, (list, tuple)):
            for item in value:
                fill(ET.SubElement(element, ITEM_NAMES.get(element.tag, "item")), item)
        else:
            element.text = _text(value)

    element = ET.Element(root)
    fill(element, payload)
    body = ET.tostring(element, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode()


REQUEST = {
    "service_request_id": "5f0c",
    "status": "open",
    "status_notes": "Đang xử lý <gấp> & \"sớm\" 'nhé' >",
    "description": "dòng một\r\ndòng hai\t\x01\x0b\ufffe",
    "service_notice": None,
    "address": "",
    "lat": 21.0287,
    "media_url": None,
    "extended_attributes": {"media_urls": [], "title": "Hồ Gươm"},
}


@pytest.mark.parametrize(
    ("root", "payload"),
    [
        ("service_requests", [REQUEST] * 3),
        ("service_requests", []),
        ("errors", [{"code": 400, "description": "bad \x01 text & <tags>", "x": None}]),
        (
            "discovery",
            {
                "endpoints": [{"formats": ["text/xml", "application/json"]}],
                "flag": True,
                "off": False,
                "empty": {},
            },
        ),
        ("service_definition", {"attributes": [{"values": [{"key": "a", "name": "Á"}]}]}),
        ("services", [{"keywords": None, "metadata": True, "nested": [[1, 2], []]}]),
    ],
)
def test_the_writer_matches_elementtree(root, payload):
    assert to_xml(root, payload) == _reference(root, payload)
