"""Pages for the public (a buyer scanning a trace label, a villager tracking a parcel): no login,
no script, no cookie, one small page with the shared stylesheet inline. The content-security
policy admits that stylesheet by its hash and nothing else."""

from __future__ import annotations

import base64
import hashlib

from backend.web.pages import STATIC_DIR

PUBLIC_STYLE = (STATIC_DIR / "public.css").read_text(encoding="utf-8")


def style_hash(css: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()


def page_policy(css: str, form_action: str = "'none'") -> str:
    """Nothing but this page's own inline CSS (and same-origin images); forms only where told."""
    return (
        f"default-src 'none'; style-src '{style_hash(css)}'; img-src 'self' data:; "
        f"base-uri 'none'; form-action {form_action}; frame-ancestors 'none'"
    )
