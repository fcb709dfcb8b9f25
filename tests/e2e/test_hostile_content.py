"""Hostile message texts are rendered by the real client as inert text (issue 4 acceptance).

Payloads from ``shared/testdata/xss`` (stripped and de-duplicated, see its
README) are sent through the real client, one per message, and rendered by
the other side's browser. The DOM must then hold no script, iframe, object,
embed or base element from them, no ``on*`` attribute, no URL outside
https/mailto; no dialog may open and the CSP must record no violation.
"""

from pathlib import Path

import pytest

from tests.e2e.conftest import (
    PASSPHRASE,
    compose,
    entry_with,
    invite,
    open_thread,
    send,
    set_up_keys,
    wait_js,
    wait_ready,
)
from tests.e2e.test_consultation import two_ministries
from tests.testdata import TESTDATA

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.slow]

XSS = Path(TESTDATA) / "xss"
SAMPLE_EVERY = 50  # of payloadbox's 6,613 lines, every 50th: about 560 payloads in all with the other lists

# What must not be found inside the timeline after rendering.
DOM_AUDIT = """
(() => {
  const root = document.getElementById('entries');
  const bad = [];
  const forbidden = 'script, iframe, object, embed, base, frame, frameset, svg, math, form, meta, link, style';
  for (const el of root.querySelectorAll(forbidden)) bad.push('element ' + el.tagName);
  for (const el of root.querySelectorAll('*')) {
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      if (name.startsWith('on') || name === 'style' || name === 'srcdoc') {
        bad.push('attribute ' + name + ' on ' + el.tagName);
      }
      if (['href', 'src', 'xlink:href', 'action', 'formaction', 'data', 'poster'].includes(name)) {
        const value = attr.value.trim();
        const local = value.startsWith('#') || (value.startsWith('/') && !value.startsWith('//'));
        if (!local && !/^(https:|mailto:)/i.test(value)) bad.push(name + '=' + value.slice(0, 60));
      }
    }
  }
  return bad;
})()
"""


# Payloads aimed at the Markdown subset itself: link schemes, emphasis and quotes around markup.
MARKDOWN_PAYLOADS = [
    "[click](javascript:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[y](vbscript:msgbox(1))",
    "**<img src=x onerror=alert(1)>**",
    "> <iframe src=javascript:alert(1)>",
    "```\n</code><script>alert(1)</script>\n```",
    '[ok](https://example.org/" onmouseover="alert(1))',
]


def payloads() -> list[str]:
    """Stripped, de-duplicated payloads: the PayloadsAllTheThings lists, a sample of payloadbox, the SVG files."""
    seen: dict[str, None] = {}

    def add(lines: list[str]) -> None:
        for line in lines:
            text = line.strip()
            if text and len(text) < 4000:
                seen.setdefault(text, None)

    for name in ("xss_payloads_quick.txt", "XSS_Polyglots.txt", "IntrudersXSS.txt", "XSSDetection.txt"):
        add((XSS / "payloadsallthethings" / name).read_text(encoding="utf-8", errors="replace").splitlines())
    box = (XSS / "payloadbox" / "xss-payload-list.txt").read_text(encoding="utf-8", errors="replace").splitlines()
    add(box[::SAMPLE_EVERY])
    for svg in sorted((XSS / "payloadsallthethings" / "svg").glob("*.svg")):
        add([svg.read_text(encoding="utf-8", errors="replace")])
    add(MARKDOWN_PAYLOADS)
    # Lone surrogates cannot be encrypted as UTF-8 (the client refuses them): keep what can be sent.
    return [p for p in seen if not any(0xD800 <= ord(c) <= 0xDFFF for c in p)]


def test_hostile_texts__render_as_inert_text(open_tab) -> None:  # type: ignore[no-untyped-def]
    fr, de, case = two_ministries()
    paris, berlin = open_tab(fr), open_tab(de)
    set_up_keys(paris)
    set_up_keys(berlin, PASSPHRASE + " de")
    thread = open_thread(paris, str(case.pk), "<script>alert('subject')</script>")
    invite(paris, "Jonas Weber")
    berlin.goto(f"/threads/{thread}/")
    wait_ready(berlin)

    texts = payloads()
    assert 300 <= len(texts) <= 1000
    sent = paris.page.evaluate(
        """async (texts) => {
          // The client's own sealing and socket, without the per-message UI round trip.
          const page = window.comityThread;
          await page.actions.ready();
          for (const text of texts) {
            const envelope = await page.state.seal('text', {}, {text, reply_to: null, edits: null, files: []});
            await page.socket.request({type: 'send', thread: page.thread, envelope});
          }
          return texts.length;
        }""",
        texts,
    )
    assert sent == len(texts)
    # A hostile file name travels in the encrypted payload too.
    compose(paris, "<svg onload=alert(1)>", kind="document")
    paris.page.set_input_files("#compose-file", files=[{"name": "<img src=x onerror=alert(1)>.pdf",
                                                        "mimeType": "text/html", "buffer": b"%PDF-1.4"}])  # fmt: skip
    send(paris)

    for tab in (berlin, paris):
        wait_js(
            tab, f"window.comityThread.state.items.filter((i) => i.kind === 'message').length >= {len(texts) + 1}", 60
        )
        tab.page.evaluate("window.comityThread.shown = 100000; window.comityThread.renderNow()")
        rendered = tab.page.locator("#entries li.message:not(.pending)").count()
        assert rendered == len(texts) + 1
        assert tab.page.evaluate(DOM_AUDIT) == []
        assert tab.page.locator("#entries .undecryptable, #entries .alert-inline").count() == 0
        assert tab.dialogs() == 0
        assert tab.csp_violations() == []
        assert tab.errors == []
    entry_with(berlin, "<script>alert(1)</script>")  # shown as the text it is
    berlin.page.locator("button.file", has_text="<img src=x onerror=alert(1)>.pdf").wait_for()
    assert "<script>alert('subject')</script>" in berlin.page.inner_text("#thread-title")
