"""The one place that turns message Markdown into HTML the server renders (DESIGN §5).

Used only offline — ``record open`` and export rendering — since the server
never sees message text. Markdown is parsed with raw HTML disabled, then the
result is cleaned with bleach to the small set of tags the subset needs, and
links keep only https and mailto.
"""

import html

import bleach
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset(
    {"p", "br", "strong", "em", "ul", "ol", "li", "blockquote", "a", "code", "pre", "hr", "h1", "h2", "h3"}
)
ALLOWED_ATTRIBUTES = {"a": ["href", "title"]}
ALLOWED_PROTOCOLS = frozenset({"https", "mailto"})

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).disable(["image"])


def markdown_to_html(text: str) -> str:
    """Render the Markdown subset as sanitised HTML (no script, no handlers, safe links)."""
    rendered = _markdown.render(text)
    return bleach.clean(
        rendered, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, protocols=ALLOWED_PROTOCOLS, strip=True
    )


def plain_text(value: object) -> str:
    """Any other label (subjects, names, file names) as inert, escaped text."""
    return html.escape(str(value), quote=True)
