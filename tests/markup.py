"""Rendered pages read as assistive technology reads them: ids, what refers to them, headings."""

import re
from html.parser import HTMLParser
from itertools import pairwise

# Attributes whose value is one id (``for`` on a label) or a list of ids.
REFERENCES = ("aria-describedby", "aria-labelledby", "aria-controls", "aria-errormessage", "aria-owns", "for")


class Page(HTMLParser):
    """Every element of a page with its attributes, in document order."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {name: value or "" for name, value in attrs}))

    @property
    def ids(self) -> list[str]:
        return [attrs["id"] for _, attrs in self.elements if "id" in attrs]

    def references(self) -> list[tuple[str, str, str]]:
        """(tag, attribute, id) for each id an attribute points at."""
        found = []
        for tag, attrs in self.elements:
            for name in REFERENCES:
                if name in attrs and (name != "for" or tag in ("label", "output")):
                    found += [(tag, name, ref) for ref in attrs[name].split()]
        return found

    def find(self, tag: str, **wanted: str) -> dict[str, str]:
        """The attributes of the one ``tag`` whose attributes include ``wanted`` (``_`` for ``-``)."""
        wanted = {name.replace("_", "-"): value for name, value in wanted.items()}
        matches = [a for t, a in self.elements if t == tag and all(a.get(k) == v for k, v in wanted.items())]
        assert len(matches) == 1, (tag, wanted, matches)
        return matches[0]

    def headings(self) -> list[int]:
        return [int(tag[1]) for tag, _ in self.elements if re.fullmatch(r"h[1-6]", tag)]


def assert_references_resolve(html: str) -> Page:
    """Each id is used once, and each id an ARIA attribute or label names is on the page."""
    page = Page(html)
    ids = page.ids
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"ids used more than once: {duplicates}"
    dangling = [ref for ref in page.references() if ref[2] not in ids]
    assert not dangling, f"references to ids that are not on the page: {dangling}"
    return page


def assert_headings_nest(html: str) -> None:
    """One h1 first; no level skipped on the way down (h1 → h3 leaves a hole in the outline)."""
    levels = Page(html).headings()
    assert levels and levels[0] == 1 and levels.count(1) == 1, levels
    for before, after in pairwise(levels):
        assert after <= before + 1, f"h{before} followed by h{after}: {levels}"
