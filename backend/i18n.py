"""Server-side messages in zh-CN (default), Uyghur and English.

Catalogs are JSON files under `locales/<lang>/`, one per capability, merged at load. A key missing
in one language falls back to Chinese, never to the bare key (a test checks every key exists in all
three).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from markupsafe import Markup

LOCALES_DIR = Path(__file__).parent / "locales"
DEFAULT_LANGUAGE = "zh-CN"
LANGUAGES = ("zh-CN", "ug", "en")
RTL_LANGUAGES = frozenset({"ug"})


@cache
def catalog(language: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for path in sorted((LOCALES_DIR / language).glob("*.json")):
        merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


def normalize_language(value: str | None) -> str | None:
    if not value:
        return None
    tag = value.strip().lower().replace("_", "-")
    if tag.startswith("zh"):
        return "zh-CN"
    if tag.startswith("ug"):
        return "ug"
    if tag.startswith("en"):
        return "en"
    return None


def accepted_language(accept_language: str | None) -> str | None:
    """The first supported language of an Accept-Language header, by weight; None if none is."""
    if not accept_language:
        return None
    weighted = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        weighted.append((-quality, position, tag))
    for _, _, tag in sorted(weighted):
        chosen = normalize_language(tag)
        if chosen:
            return chosen
    return None


def negotiate(accept_language: str | None, preferred: str | None = None) -> str:
    """The user's saved choice wins; then the browser's Accept-Language order; then Chinese."""
    return normalize_language(preferred) or accepted_language(accept_language) or DEFAULT_LANGUAGE


_DIGIT = re.compile(r"[0-9]")
_RTL_LETTER = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")


def isolate_ltr(value: Any) -> str:
    """A code, number, phone tail, amount or date kept left-to-right inside right-to-left text
    (U+2066 … U+2069): next to Uyghur letters 2-4-3303 would otherwise read 3303-4-2."""
    text = str(value)
    if not _DIGIT.search(text) or _RTL_LETTER.search(text) or text.startswith("\u2066"):
        return text
    return f"\u2066{text}\u2069"


def translate(key: str, language: str = DEFAULT_LANGUAGE, **params: Any) -> str:
    text = _catalog_text(key, language)
    try:
        return text.format(**_isolated(params, language)) if params else text
    except (KeyError, IndexError, ValueError):
        return text


def _catalog_text(key: str, language: str) -> str:
    return catalog(language).get(key) or catalog(DEFAULT_LANGUAGE).get(key) or key


def _isolated(params: dict[str, Any], language: str) -> dict[str, Any]:
    """Params as right-to-left text shows them: isolated left-to-right, unless already markup
    (a date in <bdi>)."""
    if language not in RTL_LANGUAGES:
        return params
    return {
        name: value if isinstance(value, Markup) else isolate_ltr(value)
        for name, value in params.items()
    }


def translate_html(key: str, language: str = DEFAULT_LANGUAGE, **params: Any) -> Markup:
    """`translate` for a page: the catalog's text escaped, markup params (a date already isolated
    in <bdi>) kept as markup, other params escaped and, in right-to-left text, isolated. A plain
    string would have had its <bdi> params escaped into visible "<bdi dir=…>" text."""
    text = Markup.escape(_catalog_text(key, language))
    try:
        return text.format(**_isolated(params, language)) if params else text
    except (KeyError, IndexError, ValueError):
        return text


def text_direction(language: str) -> str:
    return "rtl" if language in RTL_LANGUAGES else "ltr"
