"""XML output (Junos ``| display xml``, NX-OS ``| xml``) turned into the JSON document the same
command prints with ``| display json`` / ``| json``, so one adapter reads both.

Junos' JSON is its XML written out: every element is a key holding a list of objects, a leaf
is ``[{"data": text}]`` and attributes go under ``"attributes"``. NX-OS' JSON is the
``__readonly__`` element of its XML: a leaf is its text, a repeated element (``ROW_x``) a
list. Entities and DTDs are refused (defusedxml).
"""

from __future__ import annotations

import re
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

__all__ = ["xml_document"]

#: NX-OS ends an XML answer with the NETCONF framing marker.
_NETCONF_END = re.compile(r"\]\]>\]\]>\s*$")
_JUNOS_BANNER = re.compile(r"\n\s*\{(?:master|backup|primary|secondary|linecard)(?::[\w-]+)?\}\s*$")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].split(":")[-1]


def _junos(element: Element) -> dict[str, Any]:
    node: dict[str, Any] = {}
    if element.attrib:
        node["attributes"] = {_local(k): v for k, v in element.attrib.items()}
    children = list(element)
    if not children:
        node["data"] = (element.text or "").strip()
        return node
    for child in children:
        node.setdefault(_local(child.tag), []).append(_junos(child))
    return node


def _nxos(element: Element) -> Any:
    children = list(element)
    if not children:
        return (element.text or "").strip()
    node: dict[str, Any] = {}
    for child in children:
        key, value = _local(child.tag), _nxos(child)
        if key in node:
            known = node[key]
            node[key] = [*known, value] if isinstance(known, list) else [known, value]
        else:
            node[key] = value
    return node


def xml_document(text: str, platform: str) -> dict[str, Any]:
    """The JSON-shaped document of an XML output; ValueError when it is not one."""
    cleaned = _NETCONF_END.sub("", _JUNOS_BANNER.sub("", text.strip()))
    try:
        root = ElementTree.fromstring(cleaned)
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        raise ValueError(str(exc)) from None
    if platform == "cisco_nxos":
        for element in root.iter():
            if _local(element.tag) == "__readonly__":
                found = _nxos(element)
                return found if isinstance(found, dict) else {}
        raise ValueError("no __readonly__ element: not an NX-OS show command's XML")
    body = [c for c in root if _local(c.tag) not in ("cli", "banner")]
    if _local(root.tag) != "rpc-reply":
        body = [root]
    document: dict[str, Any] = {}
    for child in body:
        document.setdefault(_local(child.tag), []).append(_junos(child))
    return document
