"""The French and Spanish catalogues: every message in the code present, every entry translated, none
fuzzy, placeholders kept, .mo in step with .po.

Django shows the English msgid wherever a msgstr is empty or fuzzy, or where the msgid is not in the
catalogue at all, so a gap is silent in the UI. What the code holds is found the way ``makemessages``
finds it, by running it on a copy of the project (the catalogues are edited by hand, not regenerated).
The .po is read with a few lines here (no polib or babel in the project). The compiled .mo is
compared by content, not by date: a checkout sets every file's time, so only the content can tell
whether someone edited the .po and forgot ``compilemessages``.
"""

import gettext
import os
import re
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

LOCALE = Path(settings.LOCALE_PATHS[0])
LANGUAGES = [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE.split("-")[0]]

ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
# %(name)s, %s, %d, {name}, and HTML tags: what the code fills in or the browser reads.
PLACEHOLDER = re.compile(
    r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[a-zA-Z]"  # %(name)s
    r"|%[-#0 +]*\d*(?:\.\d+)?[a-zA-Z%]"  # %s, %d, %%
    r"|\{\w*\}"  # {name}
    r"|</?[a-zA-Z][^>]*>"  # <code>, </code>
)


@dataclass
class Entry:
    line: int
    flags: set[str] = field(default_factory=set)
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The msgid as gettext looks it up: with its context, if any, before an EOT."""
        ctx = self.fields.get("msgctxt")
        return self.fields["msgid"] if ctx is None else f"{ctx}\x04{self.fields['msgid']}"

    @property
    def plural(self) -> bool:
        return "msgid_plural" in self.fields

    @property
    def translations(self) -> list[str]:
        if not self.plural:
            return [self.fields.get("msgstr", "")]
        forms = sorted(int(k[7:-1]) for k in self.fields if k.startswith("msgstr["))
        return [self.fields[f"msgstr[{n}]"] for n in forms]


def _unquote(literal: str) -> str:
    assert literal.startswith('"') and literal.endswith('"'), literal
    return re.sub(r"\\(.)", lambda m: ESCAPES[m.group(1)], literal[1:-1])


def read_po(path: Path) -> list[Entry]:
    """Entries in file order, the header first; obsolete (#~) entries left out."""
    entries: list[Entry] = []
    flags: set[str] = set()
    current: Entry | None = None
    last = ""
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#~"):
            continue
        if line.startswith("#,"):
            flags |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            assert current is not None, f"{path}:{number}: a string outside an entry"
            current.fields[last] += _unquote(line)
        else:
            keyword, _, rest = line.partition(" ")
            if keyword == "msgctxt" or (keyword == "msgid" and last != "msgctxt"):
                current = Entry(number, flags)
                entries.append(current)
                flags = set()
            assert current is not None, f"{path}:{number}: {keyword} before any msgid"
            current.fields[keyword] = _unquote(rest.strip())
            last = keyword
    return entries


def catalogue(language: str) -> tuple[Path, Entry, list[Entry]]:
    path = LOCALE / language / "LC_MESSAGES" / "django.po"
    header, *entries = read_po(path)
    assert header.key == "", f"{path}: the header must come first"
    return path, header, entries


def nplurals(header: Entry) -> int:
    found = re.search(r"nplurals\s*=\s*(\d+)", header.fields["msgstr"])
    assert found, "the header has no Plural-Forms"
    return int(found.group(1))


def _without_creation_date(header: str) -> str:
    return "".join(line for line in header.splitlines(keepends=True) if not line.startswith("POT-Creation-Date:"))


# What makemessages reads for the "django" domain. The browser's strings are in a JS module of their
# own, not a djangojs catalogue, so JavaScript is not extracted.
SOURCE_SUFFIXES = {".py", ".html", ".txt"}
NOT_SOURCES = {"node_modules", "__pycache__", "locale", "staticfiles"}


def _not_sources(directory: str, names: list[str]) -> set[str]:
    """For copytree: hidden entries (.git, .venv, caches), the catalogues, and files makemessages skips."""
    return {
        name
        for name in names
        if name.startswith(".")
        or name in NOT_SOURCES
        or (Path(directory, name).is_file() and Path(name).suffix not in SOURCE_SUFFIXES)
    }


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str | None]:
    """Every message makemessages finds in the project: msgid (with its context) -> msgid_plural.

    It runs on a copy, with LOCALE_PATHS pointed at the copy, so the catalogues here are never touched.
    makemessages needs GNU gettext's xgettext: without it the test skips, or fails in CI (as conftest does
    for a missing service).
    """
    if shutil.which("xgettext") is None:
        reason = "needs GNU gettext to extract messages: apt-get install gettext"
        if os.environ.get("COMITY_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason} (COMITY_REQUIRE_SERVICES=1)", pytrace=False)
        pytest.skip(reason)
    copy = tmp_path_factory.mktemp("extract") / "project"
    shutil.copytree(settings.BASE_DIR, copy, ignore=_not_sources)
    (copy / "locale").mkdir()
    with pytest.MonkeyPatch.context() as patch, override_settings(LOCALE_PATHS=[copy / "locale"]):
        patch.chdir(copy)
        call_command("makemessages", locale=["fr"], domain="django", verbosity=0)
    _header, *entries = read_po(copy / "locale" / "fr" / "LC_MESSAGES" / "django.po")
    return {entry.key: entry.fields.get("msgid_plural") for entry in entries}


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue__has_every_message_the_code_uses(language: str, extracted: dict[str, str | None]) -> None:
    path, _header, entries = catalogue(language)
    present = {entry.key: entry.fields.get("msgid_plural") for entry in entries}
    assert len(extracted) > 100, f"too few messages extracted ({len(extracted)}): did makemessages read the project?"
    missing = [
        f"{key!r}" + (f" (plural {plural!r})" if plural else "")
        for key, plural in extracted.items()
        if key not in present or present[key] != plural
    ]
    assert not missing, (
        f"{len(missing)} messages used in the code are missing from {path} (or differ in their plural); "
        f"add and translate them, then run: python manage.py compilemessages\n" + "\n".join(missing)
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue__every_entry_is_translated_and_none_is_fuzzy(language: str) -> None:
    path, header, entries = catalogue(language)
    forms = nplurals(header)
    gaps = []
    for entry in entries:
        where = f"{path.name}:{entry.line} {entry.fields['msgid']!r}"
        if "fuzzy" in entry.flags:
            gaps.append(f"{where}: fuzzy")
        if entry.plural and len(entry.translations) != forms:
            gaps.append(f"{where}: {len(entry.translations)} plural forms, the header says {forms}")
        if any(not text for text in entry.translations):
            gaps.append(f"{where}: empty msgstr")
    assert len(entries) > 100, f"{path}: too few entries read ({len(entries)}): is the parser wrong?"
    assert not gaps, f"{len(gaps)} untranslated or fuzzy entries in {language}:\n" + "\n".join(gaps)


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue__translations_keep_placeholders_tags_and_edge_whitespace(language: str) -> None:
    path, _header, entries = catalogue(language)
    wrong = []
    for entry in entries:
        source = entry.fields.get("msgid_plural", entry.fields["msgid"])
        for text in filter(None, entry.translations):
            where = f"{path.name}:{entry.line} {entry.fields['msgid']!r} -> {text!r}"
            if Counter(PLACEHOLDER.findall(text)) != Counter(PLACEHOLDER.findall(source)):
                wrong.append(f"{where}: placeholders or tags differ")
            if text[: len(text) - len(text.lstrip())] != source[: len(source) - len(source.lstrip())]:
                wrong.append(f"{where}: leading whitespace differs")
            if text[len(text.rstrip()) :] != source[len(source.rstrip()) :]:
                wrong.append(f"{where}: trailing whitespace differs")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue__compiled_mo_is_in_step_with_the_po(language: str) -> None:
    path, header, entries = catalogue(language)
    # What msgfmt writes: the header (less POT-Creation-Date, which GNU msgfmt drops), and every
    # entry that is translated and not fuzzy.
    expected: dict[str | tuple[str, int], str] = {"": _without_creation_date(header.fields["msgstr"])}
    for entry in entries:
        if "fuzzy" in entry.flags or not all(entry.translations):
            continue
        if entry.plural:
            expected.update({(entry.key, n): text for n, text in enumerate(entry.translations)})
        else:
            expected[entry.key] = entry.translations[0]
    with path.with_suffix(".mo").open("rb") as compiled:
        found = dict(gettext.GNUTranslations(compiled)._catalog)  # type: ignore[attr-defined]
    found[""] = _without_creation_date(found.get("", ""))
    stale = sorted(
        (repr(key) for key in expected.keys() | found.keys() if expected.get(key) != found.get(key)),
    )
    assert not stale, (
        f"{path.with_suffix('.mo')} is out of step with {path.name} on {len(stale)} entries "
        f"(run: python manage.py compilemessages):\n" + "\n".join(stale[:20])
    )
