"""Nothing a person reads is left out of translation: every template's text is inside
{% trans %} or _(), and the Python that speaks to people (flash messages, domain errors,
form labels and validator messages) passes its words through a gettext marker.

These are static checks over the source, so a new English string fails here before it
ever reaches a Spanish reader."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import pytest
from jinja2 import Environment

import grants
from grants.core.errors import DomainError

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = sorted(
    p for p in (ROOT / "templates").rglob("*") if p.suffix in {".html", ".txt"} and p.is_file()
)
PLACEHOLDER = "\x00"
# Attributes whose values a person reads (or hears, through a screen reader).
READ_ATTRIBUTES = re.compile(
    r"""\b(alt|title|placeholder|aria-label|aria-description|aria-roledescription)\s*=\s*"([^"]*)\"""",
    re.I,
)
LETTER = re.compile(r"[^\W\d_]")


def _outside_trans(source: str) -> str:
    """The template's literal text outside {% trans %} blocks; each {{ }} / {% %} becomes a
    placeholder so a tag split by an expression still reads as one tag."""
    env = Environment(extensions=["jinja2.ext.i18n"])
    out: list[str] = []
    depth = 0
    expect_name = False
    for _lineno, kind, value in env.lex(source):
        if kind == "whitespace":
            continue
        if kind == "block_begin":
            expect_name = True
            continue
        if expect_name and kind == "name":
            if value == "trans":
                depth += 1
            elif value == "endtrans":
                depth -= 1
            expect_name = False
            continue
        expect_name = False
        if kind == "data" and depth == 0:
            out.append(value)
        elif kind in {"variable_begin", "block_end"} and depth == 0:
            out.append(PLACEHOLDER)
    return "".join(out)


def unmarked_text(source: str) -> list[str]:
    text = _outside_trans(source)
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    text = re.sub(r"<(style|script)\b.*?</\1>", "", text, flags=re.S | re.I)
    found = [value for _name, value in READ_ATTRIBUTES.findall(text) if LETTER.search(value)]
    text = re.sub(r"<[^>]*>", " ", text)
    text = re.sub(r"&[a-zA-Z]+;|&#\d+;", " ", text)
    for piece in text.split(PLACEHOLDER):
        piece = " ".join(piece.split())
        if LETTER.search(piece):
            found.append(piece)
    return found


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT / "templates")))
def test_template_text_is_marked_for_translation(path):
    assert unmarked_text(path.read_text()) == []


def test_the_template_check_can_fail():
    assert unmarked_text("<p>Hello {{ name }}</p>") == ["Hello"]
    assert unmarked_text('<img alt="A chart" src="x">') == ["A chart"]
    assert unmarked_text("<p>{% trans %}Hello {{ name }}{% endtrans %}</p>") == []
    assert unmarked_text('<p title="{{ _("Hi") }}">{{ _("Hello") }} · 12</p>') == []


# --- Python -----------------------------------------------------------------------------

MARKERS = {"_", "gettext", "ngettext", "lazy_gettext", "lazy_ngettext", "_l", "pgettext"}
SKIP = {"grants/core/i18n.py"}


def _domain_error_names() -> set[str]:
    for module in pkgutil.walk_packages(grants.__path__, "grants."):
        if ".cli" not in module.name:
            importlib.import_module(module.name)
    names, todo = set(), [DomainError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return names


def _is_literal(node: ast.AST | None) -> bool:
    """English written straight in: a string constant or an f-string with words in it."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(LETTER.search(node.value))
    if isinstance(node, ast.JoinedStr):
        return any(
            isinstance(part, ast.Constant) and LETTER.search(str(part.value))
            for part in node.values
        )
    if isinstance(node, ast.BinOp):  # "..." % x, "..." + x
        return _is_literal(node.left) or _is_literal(node.right)
    return False


def _name(func: ast.AST) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def unmarked_python(source: str, errors: set[str]) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        first = node.args[0] if node.args else None
        words: list[ast.AST | None] = []
        if name == "flash" or name in errors or name.endswith("Field"):
            words.append(first)
        if (
            name == "append"
            and isinstance(node.func, ast.Attribute)
            and _name(node.func.value) in {"errors", "form_errors"}
        ):
            words.append(first)
        words += [kw.value for kw in node.keywords if kw.arg in {"message", "label", "description"}]
        for word in words:
            if _is_literal(word):
                found.append(f"line {node.lineno}: {ast.unparse(word)[:80]}")
    return found


def test_python_words_for_people_are_marked_for_translation():
    errors = _domain_error_names()
    problems = {}
    for path in sorted((ROOT / "grants").rglob("*.py")):
        relative = str(path.relative_to(ROOT))
        if relative in SKIP or relative.startswith("grants/cli/"):
            continue
        found = unmarked_python(path.read_text(), errors)
        if found:
            problems[relative] = found
    assert problems == {}


def test_the_python_check_can_fail():
    errors = {"InvalidInput"}
    assert unmarked_python('flash("Saved.")', errors)
    assert unmarked_python('raise InvalidInput(f"No {x} here.")', errors)
    assert unmarked_python('name = StringField("Your name")', errors)
    assert unmarked_python('DataRequired(message="Enter it.")', errors)
    assert unmarked_python('form.x.errors.append("Too long.")', errors)
    assert not unmarked_python('flash(_("Saved."))', errors)
    assert not unmarked_python('raise InvalidInput(_("No %(x)s here.", x=x))', errors)
    assert not unmarked_python("flash(error.message)", errors)
