"""The rules file (pwa/data/rules.json) is the one place the counter's data rules live: the
server's event schemas and counter name the carriers, platforms and services it lists; every
event type the PWA records, forms or projects is one the server knows, and has its words in the
PWA's catalogs; and the phone leaves out of the cashbook what the server leaves out.
(tests/browser/test_rules_parity.py and test_ledger_parity.py run the rules that are code on
both sides.)"""

from __future__ import annotations

import json
import re
import typing
from pathlib import Path

from backend.counter.service import CARRIERS as COUNTER_CARRIERS
from backend.ledger.carriers import RULES
from backend.ledger.projector import NOT_IN_CASHBOOK, UNCOUNTED, cashbook_kind
from backend.ledger.schemas import EVENT_TYPES, Carrier, Platform, Service

PWA = Path(__file__).resolve().parents[1] / "pwa"
CATALOGS = {
    lang: {
        **json.loads((PWA / "locales" / f"{lang}.json").read_text(encoding="utf-8")),
        **json.loads((PWA / "locales" / "counter" / f"{lang}.json").read_text(encoding="utf-8")),
    }
    for lang in ("zh-CN", "ug", "en")
}


def js_source(name: str) -> str:
    return (PWA / "js" / name).read_text(encoding="utf-8")


def test_the_server_names_the_carriers_platforms_and_services_of_the_rules_file():
    carriers = [c["code"] for c in RULES["carriers"]]
    for listed in (carriers, RULES["platforms"], RULES["services"]):
        assert len(set(listed)) == len(listed), listed
    assert set(typing.get_args(Carrier)) == set(carriers)
    assert set(COUNTER_CARRIERS) == set(carriers)
    assert set(typing.get_args(Platform)) == set(RULES["platforms"])
    assert set(typing.get_args(Service)) == set(RULES["services"])
    # The PWA reads them from the file: no list of its own.
    for name in ("form-fields.js", "forms.js"):
        assert '"pinduoduo"' not in js_source(name) and '"phone_topup"' not in js_source(name)


def event_types_named_by_the_pwa() -> set[str]:
    source = "\n".join(p.read_text(encoding="utf-8") for p in (PWA / "js").rglob("*.js"))
    named = set(re.findall(r'(?:case |record\(|=== |!== )"([a-z]+\.[a-z_]+)"', source))
    named |= set(re.findall(r'^  "([a-z]+\.[a-z_]+)": \[', js_source("form-fields.js"), re.M))
    return named


def test_every_event_type_the_pwa_names_is_the_servers_and_has_its_words():
    named = event_types_named_by_the_pwa()
    assert {"parcel.received", "parcel.moved", "cash.counted", "entry.reversed"} <= named
    assert named <= set(EVENT_TYPES), sorted(named - set(EVENT_TYPES))
    projected = set(re.findall(r'case "([a-z]+\.[a-z_]+)":', js_source("projector.js")))
    assert projected <= set(EVENT_TYPES)
    kinds = {
        cashbook_kind(event_type, {"service": service})
        for event_type in EVENT_TYPES
        for service in RULES["services"]
        if event_type not in UNCOUNTED
    } - NOT_IN_CASHBOOK
    for lang, catalog in CATALOGS.items():
        assert not [t for t in EVENT_TYPES if f"type.{t}" not in catalog], lang
        assert not [k for k in kinds if f"kind.{k}" not in catalog], lang
        for family in ("carrier", "platform", "service"):
            codes = [c["code"] for c in RULES["carriers"]] if family == "carrier" else None
            for code in codes or RULES[f"{family}s"]:
                assert f"{family}.{code}" in catalog, (lang, family, code)


def test_the_phone_leaves_out_of_the_cashbook_what_the_server_leaves_out():
    found = re.search(r"const NOT_IN_CASHBOOK = (\[.*?\]);", js_source("projector.js"), re.S)
    server = set(UNCOUNTED) | {
        t for t in EVENT_TYPES if cashbook_kind(t, {"service": "other"}) in NOT_IN_CASHBOOK
    }
    assert set(json.loads(found.group(1))) == server
