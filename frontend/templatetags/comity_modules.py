"""``{% module_script "comity/ui/x.js" %}``: an ES module with Subresource Integrity (DESIGN §8).

A module's own imports cannot carry an ``integrity`` attribute, so every
module it reaches is also announced with ``<link rel="modulepreload"
integrity=...>``: the browser fetches each once, checks its SHA-384, and the
import graph then uses those checked copies. Hashes come from the static
files themselves (cached per file modification time).
"""

import base64
import hashlib
import re
from pathlib import Path

from django import template
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

register = template.Library()

# Static `import … from './x.js'`, `export … from '../y.js'` and bare `import './z.js'`.
_IMPORT = re.compile(
    r"""^\s*(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]""", re.M
)
_cache: dict[tuple[str, float], tuple[str, list[str]]] = {}


def _path(name: str) -> Path:
    found = finders.find(name)
    if not found:
        raise template.TemplateSyntaxError(f"module_script: no static file {name!r}")
    return Path(found if isinstance(found, str) else found[0])


def _module(name: str) -> tuple[str, list[str]]:
    """The module's ``sha384-…`` integrity and the static names it imports."""
    path = _path(name)
    key = (name, path.stat().st_mtime)
    if key not in _cache:
        data = path.read_bytes()
        integrity = "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()
        base = name.rsplit("/", 1)[0]
        imports = []
        for match in _IMPORT.finditer(data.decode()):
            target = match.group(1) or match.group(2)
            if target.startswith("."):
                parts: list[str] = base.split("/")
                for piece in target.split("/"):
                    if piece == "..":
                        parts.pop()
                    elif piece != ".":
                        parts.append(piece)
                imports.append("/".join(parts))
        _cache[key] = (integrity, imports)
    return _cache[key]


def module_graph(entry: str) -> list[tuple[str, str]]:
    """``(static name, integrity)`` of ``entry`` and every module it imports, entry first."""
    seen: dict[str, str] = {}
    pending = [entry]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        integrity, imports = _module(name)
        seen[name] = integrity
        pending.extend(imports)
    return list(seen.items())


@register.simple_tag
def module_script(entry: str) -> SafeString:
    graph = module_graph(entry)
    preloads = format_html_join(
        "\n",
        '<link rel="modulepreload" href="{}" integrity="{}">',
        ((static(name), integrity) for name, integrity in graph[1:]),
    )
    script = format_html('<script type="module" src="{}" integrity="{}"></script>', static(entry), graph[0][1])
    return format_html("{}\n{}", preloads, script)
