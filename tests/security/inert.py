"""Whether HTML (or the HTML inside a feed) can run anything: parsed the way a browser parses it.

dangers() lists what would run or navigate to script: script elements other than the app's own
static files, on* and hx-on* attributes, javascript:/vbscript:/data: URLs in any attribute a
browser follows (href, src, action, formaction, xlink:href, ...), url() and expression() in
styles, and elements that load or frame other documents (iframe, object, embed, base, frame).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import html5lib

XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
URL_ATTRIBUTES = frozenset(
    {
        "href",
        "src",
        "action",
        "formaction",
        "xlink:href",
        XLINK_HREF,
        "data",
        "poster",
        "background",
        "srcset",
        "cite",
        "longdesc",
        "lowsrc",
        "dynsrc",
        "ping",
        "manifest",
        "codebase",
        "to",
        "values",
        "from",
        "by",
    }
)
FRAMING = frozenset({"iframe", "frame", "frameset", "object", "embed", "applet", "base"})
# What the URL parser ignores: C0 controls and spaces around a URL, tabs and newlines anywhere.
_AROUND = "".join(chr(c) for c in range(0x21))
_INSIDE = re.compile(r"[\t\n\r]+")
_DANGEROUS_SCHEME = re.compile(r"^(?:javascript|vbscript|data|livescript|mocha):", re.I)
_STYLE_DANGER = re.compile(r"url\s*\(|expression\s*\(|@import|javascript:|behavior\s*:", re.I)
# The app's own scripts: files under /static/, nothing inline.
_OWN_SCRIPT = re.compile(r"^/static/[\w./-]+\.js(?:\?[\w=.&-]*)?$")


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1].lower()


def _dangerous_url(value: str) -> bool:
    return bool(_DANGEROUS_SCHEME.match(_INSIDE.sub("", value.strip(_AROUND))))


def _element_dangers(element: ET.Element, where: str, own_styles: bool) -> list[str]:
    found = []
    tag = _local(str(element.tag))
    attributes = {str(k): str(v) for k, v in element.attrib.items()}
    if tag == "script":
        src = attributes.get("src", "")
        if not (_OWN_SCRIPT.match(src) and not (element.text or "").strip()):
            found.append(f"{where}: a <script> element ({src or (element.text or '')[:60]!r})")
    if tag in FRAMING:
        found.append(f"{where}: a <{tag}> element")
    if tag == "meta" and "refresh" in attributes.get("http-equiv", "").lower():
        found.append(f"{where}: a <meta http-equiv=refresh>")
    if tag == "style" and not own_styles and _STYLE_DANGER.search(element.text or ""):
        found.append(f"{where}: a <style> element with {element.text!r}")
    for name, value in attributes.items():
        local = _local(name)
        if local.startswith(("on", "hx-on", "data-hx-on")):
            found.append(f"{where}: an event handler attribute {local}={value[:60]!r}")
        elif (name in URL_ATTRIBUTES or local in URL_ATTRIBUTES) and _dangerous_url(value):
            found.append(f"{where}: <{tag} {local}={value[:60]!r}>")
        elif local == "style" and _STYLE_DANGER.search(value):
            found.append(f"{where}: <{tag} style={value[:60]!r}>")
    return found


def dangers(html: str, where: str = "page", *, own_styles: bool = False) -> list[str]:
    """Everything in `html` that could run script, each named with `where`; [] when inert.

    own_styles: the document is the app's own page, whose <style> blocks (none today) are not
    user text; user text never reaches a <style> element, since the sanitizer drops them.
    """
    tree = html5lib.parse(html, treebuilder="etree", namespaceHTMLElements=False)
    found: list[str] = []
    for element in tree.iter():
        if isinstance(element.tag, str):
            found += _element_dangers(element, where, own_styles)
    return found


def fragment_dangers(html: str, where: str) -> list[str]:
    """dangers() for a fragment of HTML (a stored field, a feed entry's content)."""
    tree = html5lib.parseFragment(html, treebuilder="etree", namespaceHTMLElements=False)
    found: list[str] = []
    for element in tree.iter():
        if isinstance(element.tag, str):
            found += _element_dangers(element, where, own_styles=False)
    return found
