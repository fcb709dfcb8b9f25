"""The stylesheet's colours, read from the real file: contrast ratios of WCAG 2.2 (1.4.3, 1.4.11)."""

import re
from pathlib import Path

import pytest

CSS = Path(__file__).resolve().parents[2] / "frontend" / "static" / "comity" / "comity.css"
TEXT = 4.5  # 1.4.3: text of normal size
NON_TEXT = 3.0  # 1.4.11: what marks out a control or its focus


def _rules() -> dict[str, dict[str, str]]:
    """Selector → declarations, later rules overriding earlier ones (media queries included)."""
    text = re.sub(r"/\*.*?\*/", "", CSS.read_text(), flags=re.S)
    rules: dict[str, dict[str, str]] = {}
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", text):
        declarations = dict(
            (name.strip(), value.strip()) for name, value in re.findall(r"([\w-]+)\s*:\s*([^;]+)", body)
        )
        for selector in selectors.split(","):
            rules.setdefault(" ".join(selector.split()), {}).update(declarations)
    return rules


RULES = _rules()


def colour(value: str) -> str:
    """The one colour in a declaration's value, custom properties resolved."""
    value = re.sub(r"var\((--[\w-]+)\)", lambda m: RULES[":root"][m.group(1)], value)
    found = re.findall(r"#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b", value)
    assert len(found) == 1, value
    hex_ = found[0][1:]
    return "#" + (hex_ if len(hex_) == 6 else "".join(c * 2 for c in hex_)).lower()


def luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def ratio(a: str, b: str) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def prop(selector: str, name: str) -> str:
    return colour(RULES[selector][name])


def test_contrast__ratio_matches_the_wcag_definition() -> None:
    assert ratio("#000000", "#ffffff") == pytest.approx(21)
    assert ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize(
    ("text", "background"),
    [
        (".badge.ok", ".badge.ok"),
        (".badge.warn", ".badge.warn"),
        (".badge.muted", ".badge"),
        (".status-awaiting_information", ".status-awaiting_information"),
        (".status-closed", ".status-closed"),
    ],
)
def test_contrast__text_on_tinted_labels(text: str, background: str) -> None:
    fg, bg = prop(text, "color"), prop(background, "background")
    assert ratio(fg, bg) >= TEXT, (text, fg, bg, round(ratio(fg, bg), 2))


SURFACES = [":root --card", ":root --bg", ".notice background", ".alert background", ".messages .message background"]


def _surface(spec: str) -> str:
    selector, name = spec.rsplit(" ", 1)
    return prop(selector, name)


@pytest.mark.parametrize("surface", SURFACES)
def test_contrast__focus_ring_against_what_surrounds_it(surface: str) -> None:
    """The ring is drawn 2 px off the element, so what touches it is the surface underneath."""
    ring, under = prop(":focus-visible", "outline"), _surface(surface)
    assert ratio(ring, under) >= NON_TEXT, (ring, under, round(ratio(ring, under), 2))


@pytest.mark.parametrize("selector", [".site-header :focus-visible", ".skip-link:focus-visible"])
def test_contrast__focus_ring_on_the_dark_header(selector: str) -> None:
    ring, header = prop(selector, "outline-color"), prop(".site-header", "background")
    assert ratio(ring, header) >= NON_TEXT, (ring, header, round(ratio(ring, header), 2))


@pytest.mark.parametrize("control", [".field input", ".field select", ".field textarea", "button"])
@pytest.mark.parametrize("surface", [":root --card", ":root --bg"])
def test_contrast__control_boundaries(control: str, surface: str) -> None:
    border, under = prop(control, "border"), _surface(surface)
    assert ratio(border, under) >= NON_TEXT, (control, border, under, round(ratio(border, under), 2))


def test_live_regions__never_hidden_while_empty() -> None:
    """An empty status or alert line collapses; display:none would make its next text go unannounced."""
    for selector, declarations in RULES.items():
        if ":empty" in selector:
            assert declarations.get("display") != "none", selector
            assert declarations.get("visibility") != "hidden", selector
