"""The Spanish catalogue is complete: every message the code and templates hold (as
`pybabel extract` finds them) has a Spanish translation, none fuzzy, each keeping the
English's placeholders. A new English string without its Spanish fails here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ["es"]


@pytest.fixture(scope="module")
def source_messages(tmp_path_factory):
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run(
        [
            sys.executable, "-m", "babel.messages.frontend", "-q", "extract",
            "-F", "babel.cfg", "--no-location",
            "-k", "_l", "-k", "lazy_gettext", "-k", "lazy_ngettext:1,2",
            "-o", str(pot), ".",
        ],
        cwd=ROOT,
        check=True,
    )  # fmt: skip
    with pot.open("rb") as handle:
        return read_po(handle)


def _catalogue(language: str):
    with (ROOT / "translations" / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=language)


def test_the_source_has_messages(source_messages):
    ids = {
        message.id if isinstance(message.id, str) else message.id[0] for message in source_messages
    }
    assert "Support now" in ids  # the hub's own text
    assert "Log out" in ids  # a template's
    assert len(ids) > 300


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated(source_messages, language):
    catalogue = _catalogue(language)
    missing, fuzzy, empty = [], [], []
    for message in source_messages:
        if not message.id:
            continue
        translated = catalogue.get(message.id, message.context)
        if translated is None:
            missing.append(message.id)
        elif translated.fuzzy:
            fuzzy.append(message.id)
        elif not all(
            translated.string if isinstance(translated.string, tuple) else [translated.string]
        ):
            empty.append(message.id)
    assert missing == [], (
        f"{len(missing)} messages not in the {language} catalogue (make extract-messages)"
    )
    assert fuzzy == [], f"fuzzy in {language}"
    assert empty == [], f"untranslated in {language}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_the_placeholders(language):
    problems = []
    for message, errors in _catalogue(language).check():
        problems += [f"{message.id!r}: {error}" for error in errors]
    assert problems == []
