"""Rendering an exported record as one self-contained HTML page, and as PDF (DESIGN §5).

The page has no script and no external resource: styles are inline in a
``<style>`` element, message text goes through :mod:`consult.lib.sanitize`.
"""

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from consult.lib.sanitize import markdown_to_html, plain_text

STYLE = """
body{font:15px/1.5 system-ui,sans-serif;color:#1b1f24;max-width:60rem;margin:2rem auto;padding:0 1rem}
h1{font-size:1.5rem}table{border-collapse:collapse}td,th{padding:.2rem .6rem;text-align:left;vertical-align:top}
.entry{border-top:1px solid #d0d7de;padding:.6rem 0}.meta{color:#59636e;font-size:.85rem}
.kind{font-weight:600;text-transform:uppercase;font-size:.75rem;letter-spacing:.05em}
.purged{color:#9a6700;font-style:italic}.hash{font-family:monospace;font-size:.75rem;word-break:break-all}
@media print{body{margin:0}.entry{break-inside:avoid}}
"""


def _who(members: Mapping[str, Mapping[str, Any]], user: str | None) -> str:
    if user is None:
        return "Comity (server)"
    member = members.get(user)
    return f"{member['display_name']} ({member['authority']})" if member else user


def entry_number(value: Any) -> int | None:
    """``value`` if it names an entry (a positive integer), else None: a payload holds what a member's
    client wrote, which the server cannot read, let alone check."""
    return value if type(value) is int and value > 0 else None


def attachments(payload: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The attachments a payload lists, leaving out anything that is not one."""
    files = payload.get("files", [])
    return [f for f in files if isinstance(f, dict)] if isinstance(files, list) else []


def purge_reasons(items: Sequence[Mapping[str, Any]]) -> dict[int, str]:
    """Why each purged entry lost its content, from the ``purge`` entries: seq → reason."""
    reasons: dict[int, str] = {}
    for item in items:
        entry = item.get("entry") or {}
        body = entry.get("body")
        if entry.get("kind") == "purge" and isinstance(body, dict) and type(body.get("seq")) is int:
            reasons[body["seq"]] = str(body.get("reason"))
    return reasons


def purged_note(item: Mapping[str, Any], reasons: Mapping[int, str]) -> str:
    """What a purged item shows: retracted by its sender, or removed under retention, and when."""
    seq = item.get("seq")
    retracted = isinstance(seq, int) and reasons.get(seq) == "retracted"
    how = "retracted by its sender" if retracted else "removed under retention"
    return f"Content {how} on {item.get('purged_on', '')}."


def _body_html(
    entry: Mapping[str, Any], item: Mapping[str, Any], members: Mapping[str, Any], reasons: Mapping[int, str]
) -> str:
    kind, body = entry["kind"], entry.get("body") or {}
    if "digest" in item:
        return f'<p class="purged">{plain_text(purged_note(item, reasons))}</p>'
    if kind == "message":
        payload = item.get("payload")
        header = body.get("header", {})
        meta = " ".join(f"{plain_text(k)}: {plain_text(v)}" for k, v in sorted(header.get("meta", {}).items()))
        if payload is None:
            return f"<p>[{plain_text(header.get('kind'))}] {meta} (encrypted: open with the records key)</p>"
        files = "".join(
            f"<li>{plain_text(f.get('name'))} ({plain_text(f.get('size'))} bytes, "
            f"SHA-256 {plain_text(f.get('sha256'))})</li>"
            for f in attachments(payload)
        )
        extra = "".join(
            f"<p class='meta'>{label} entry {entry_number(payload.get(key))}</p>"
            for key, label in (("reply_to", "In reply to"), ("edits", "Edits"))
            if entry_number(payload.get(key))
        )
        return (
            f"<p class='meta'>{plain_text(header.get('kind'))} {meta}</p>{extra}"
            f"{markdown_to_html(str(payload.get('text', '')))}" + (f"<ul>{files}</ul>" if files else "")
        )
    if kind == "member":
        return f"<p>{plain_text(body.get('action'))}: {plain_text(_who(members, body.get('user')))}</p>"
    if kind == "expiry":
        return f"<p>{plain_text(_who(members, body.get('user')))}: {plain_text(body.get('reason'))}</p>"
    if kind == "keys":
        recipients = ", ".join(plain_text(r["id"]) for r in body.get("recipients", []) if r.get("kind") == "records")
        return (
            f"<p>Key epoch {int(body.get('epoch', 0))} ({plain_text(body.get('reason'))}); recorded by {recipients}</p>"
        )
    if kind == "receipt":
        return f"<p>Acknowledged everything up to entry {int(body.get('seq', 0))}.</p>"
    if kind == "create":
        return f"<p>Thread opened: {plain_text(body.get('subject'))}</p>"
    if kind == "purge":
        how = "retracted by its sender" if body.get("reason") == "retracted" else "removed under retention"
        return f"<p>Content of entry {plain_text(body.get('seq'))} {how}.</p>"
    return f"<p>{plain_text(kind)}: {plain_text(body)}</p>"


def render_html(manifest: Mapping[str, Any], items: Sequence[Mapping[str, Any]]) -> str:
    """The whole record as one HTML document with no script."""
    members = {m["user"]: m for m in manifest.get("members", [])}
    reasons = purge_reasons(items)
    case, thread = manifest.get("case", {}), manifest.get("thread", {})
    rows = "".join(
        f"<tr><td>{plain_text(m['display_name'])}</td><td>{plain_text(m['authority'])}</td>"
        f"<td>{plain_text(m['role'])}</td><td>{int(m['joined_seq'])}</td>"
        f"<td>{plain_text(m.get('ended_seq') or '')} {plain_text(m.get('end_reason') or '')}</td></tr>"
        for m in manifest.get("members", [])
    )
    entries = "".join(
        f'<section class="entry" id="e{int(i["seq"])}"><div class="meta">'
        f'<span class="kind">{plain_text(i["entry"]["kind"])}</span>'
        f" · entry {int(i['seq'])} · {plain_text(i['entry']['at'])} · "
        f"{plain_text(_who(members, (i['entry'].get('actor') or {}).get('user')))}</div>"
        f"{_body_html(i['entry'], i, members, reasons)}<div class='hash'>{plain_text(i['hash'])}</div></section>"
        for i in items
    )
    title = f"Record of {plain_text(case.get('requesting_reference'))} — {plain_text(thread.get('subject'))}"
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{STYLE}</style></head><body><header><h1>{title}</h1>"
        f"<p>{plain_text(case.get('requesting_authority'))} → {plain_text(case.get('requested_authority'))} · "
        f"format {plain_text(manifest.get('format'))} · exported {plain_text(manifest.get('exported_at'))} "
        f"by {plain_text(_who(members, (manifest.get('exporter') or {}).get('user')))}</p>"
        f"<p class='hash'>Head: entry {int((manifest.get('head') or {}).get('seq', 0))}, "
        f"{plain_text((manifest.get('head') or {}).get('hash'))}</p></header><main>"
        f"<h2>Members</h2><table><thead><tr><th>Name</th><th>Authority</th><th>Role</th><th>From entry</th>"
        f"<th>Until</th></tr></thead><tbody>{rows}</tbody></table><h2>Entries</h2>{entries}</main></body></html>"
    )


FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def render_pdf(manifest: Mapping[str, Any], items: Sequence[Mapping[str, Any]]) -> bytes:
    """A printable PDF of the record: one block per entry, text as written."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    unicode_font = FONT.exists()
    if unicode_font:
        pdf.add_font("body", "", str(FONT))
    family = "body" if unicode_font else "helvetica"

    def clean(text: str) -> str:
        # The core fonts are Latin-1 only.
        return text if unicode_font else text.encode("latin-1", "replace").decode("latin-1")

    members = {m["user"]: m for m in manifest.get("members", [])}
    reasons = purge_reasons(items)
    case, thread = manifest.get("case", {}), manifest.get("thread", {})
    pdf.set_font(family, size=14)
    pdf.multi_cell(
        0,
        8,
        clean(f"Record of {case.get('requesting_reference')} — {thread.get('subject')}"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font(family, size=9)
    head = manifest.get("head", {})
    pdf.multi_cell(0, 5, clean(f"Head: entry {head.get('seq')} {head.get('hash')}"), new_x="LMARGIN", new_y="NEXT")
    for item in items:
        entry = item["entry"]
        who = _who(members, (entry.get("actor") or {}).get("user"))
        pdf.ln(2)
        pdf.set_font(family, size=9)
        pdf.multi_cell(
            0, 5, clean(f"#{item['seq']} {entry['at']} {entry['kind']} — {who}"), new_x="LMARGIN", new_y="NEXT"
        )
        payload = item.get("payload")
        text = f"[{purged_note(item, reasons)}]" if "digest" in item else (payload or {}).get("text", "")
        if text:
            pdf.set_font(family, size=11)
            pdf.multi_cell(0, 6, clean(str(text)), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
