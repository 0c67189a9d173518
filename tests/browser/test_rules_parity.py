"""The counter's rules are written once (pwa/data/rules.json); the server's Python and the PWA's
JavaScript apply them. Both run here on the same generated cases and must agree exactly:
tracking-number normalisation (JD packages included), the carrier guess, carrier formats and the
forms of a recipient's phone and how a list masks it and a service account (backend/privacy.py),
how a typed number is read (backend/numbers.py) and a pasted phone (backend/phones.py)."""

from __future__ import annotations

import random
import string

import pytest

from backend.ledger.carriers import (
    CARRIERS,
    RULES,
    guess_carrier,
    is_possible_tracking_no,
    matches_carrier,
    parse_tracking_no,
    phone_form,
)
from backend.numbers import Unreadable, read_decimal, read_yuan
from backend.phones import normalize_phone
from backend.privacy import mask_account, mask_phone
from tests.browser.helpers import login

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def generated_numbers(rng: random.Random, n: int) -> list[str]:
    digits = string.digits
    shapes = [
        lambda: "SF" + "".join(rng.choices(digits, k=13)),
        lambda: "YT" + "".join(rng.choices(digits, k=13)),
        lambda: "JT" + "".join(rng.choices(digits, k=13)),
        lambda: "JD" + "".join(rng.choices(digits + "ABC", k=rng.randint(10, 19))),
        lambda: "".join(rng.choices(digits, k=rng.randint(10, 16))),
        lambda: (
            "".join(rng.choices(string.ascii_uppercase, k=2))
            + "".join(rng.choices(digits, k=9))
            + "CN"
        ),
        lambda: "".join(rng.choices(string.ascii_letters + digits + " -#*", k=rng.randint(0, 32))),
    ]
    cases = []
    for _ in range(n):
        number = rng.choice(shapes)()
        if number.startswith("JD") and rng.random() < 0.6:
            m = rng.randint(1, 12)
            number += f"-{rng.randint(1, m + 2)}-{m}" + rng.choice(["-", "", "--"])
        if rng.random() < 0.3:
            number = number.lower()
        if rng.random() < 0.3:
            at = rng.randint(0, len(number))
            number = number[:at] + rng.choice([" ", "-", "  "]) + number[at:]
        if rng.random() < 0.2:
            number = f"  {number}\t"
        cases.append(number)
    return cases


def generated_phones(rng: random.Random, n: int) -> list[str]:
    shapes = [
        lambda: "1" + rng.choice("3456789") + "".join(rng.choices(string.digits, k=9)),
        lambda: (
            "".join(rng.choices(string.digits, k=rng.randint(0, 4)))
            + "*" * rng.randint(0, 6)
            + "".join(rng.choices(string.digits, k=rng.randint(2, 5)))
        ),
        lambda: "".join(rng.choices(string.digits, k=rng.randint(3, 12))),
        lambda: "".join(rng.choices(string.digits + "*-# ", k=rng.randint(0, 14))),
    ]
    return [rng.choice(shapes)() for _ in range(n)]


def python_answers(numbers, remembered, phones):
    tracking = []
    for number, carrier in zip(numbers, remembered, strict=True):
        scanned = parse_tracking_no(number)
        tracking.append(
            {
                "tracking_no": scanned.tracking_no,
                "package": scanned.package,
                "possible": is_possible_tracking_no(scanned.tracking_no),
                "guess": guess_carrier(scanned.tracking_no, carrier),
                "matches": [c for c in CARRIERS if matches_carrier(c, scanned.tracking_no)],
            }
        )
    return {
        "tracking": tracking,
        "phones": [phone_form(p) for p in phones],
        "masked": [mask_phone(p) for p in phones],
        "accounts": [mask_account(p) for p in phones],
    }


JS_ANSWERS = """async ([numbers, remembered, phones]) => {
  const icon = document.querySelector("link[rel=icon]").href;
  const rules = await import(icon.replace("icons/icon-192.png", "js/carriers.js"));
  await rules.rulesReady;
  const tracking = numbers.map((number, i) => {
    const scanned = rules.parseTrackingNo(number);
    return {
      tracking_no: scanned.tracking_no,
      package: scanned.package,
      possible: rules.isPossibleTrackingNo(scanned.tracking_no),
      guess: rules.guessCarrier(scanned.tracking_no, remembered[i]),
      matches: rules.CARRIERS.filter((c) => rules.matchesCarrier(c, scanned.tracking_no)),
    };
  });
  return {
    tracking,
    phones: phones.map((p) => rules.phoneForm(p)),
    masked: phones.map((p) => rules.maskedPhone(p)),
    accounts: phones.map((p) => rules.maskedAccount(p)),
    version: rules.rulesVersion(),
  };
}"""


async def test_the_pwa_and_the_server_apply_the_same_rules(phone, pwa_server):
    rng = random.Random(20261202)
    numbers = generated_numbers(rng, 600)
    numbers += ["JD0123456789012-1-3-", "jd0123456789012-2-3", "773298765432109"]
    numbers += [" sf1234 567890123 "]
    remembered = [rng.choice([*CARRIERS, None]) for _ in numbers]
    remembered[-2] = "SF"  # an all-digit number after an SF parcel is not SF
    phones = [*generated_phones(rng, 400), "138****5678", "****5678", "5678", "1381234*5678"]
    expected = python_answers(numbers, remembered, phones)
    assert expected["tracking"][-4]["package"] == "1/3"
    assert expected["tracking"][-2]["guess"] == "ZTO"

    page = await phone.new_page()
    await login(page, pwa_server.url, "13800000029")
    answers = await page.evaluate(JS_ANSWERS, [numbers, remembered, phones])
    assert answers.pop("version") == RULES["version"]
    for number, python, js in zip(numbers, expected["tracking"], answers["tracking"], strict=True):
        assert js == python, number
    assert answers["phones"] == expected["phones"]
    assert answers["masked"] == expected["masked"]
    assert answers["accounts"] == expected["accounts"]
    # The generated cases reach every branch: packages, every carrier guessed, every phone form.
    assert {t["package"] is not None for t in expected["tracking"]} == {True, False}
    assert {t["guess"] for t in expected["tracking"]} >= set(CARRIERS) - {"STO", "YUNDA", "BEST"}
    assert set(expected["phones"]) == {"full", "masked", "last4", None}
    assert {"138****5678", "5678", "", "***"} <= set(expected["masked"])


def generated_typed_numbers(rng: random.Random, n: int) -> list[str]:
    """What a keeper or county officer may type into a number box."""
    digits = lambda k: "".join(rng.choices(string.digits, k=k))  # noqa: E731
    shapes = [
        lambda: digits(rng.randint(1, 14)),
        lambda: digits(rng.randint(0, 4)) + rng.choice(".,") + digits(rng.randint(0, 4)),
        lambda: digits(rng.randint(1, 3)) + rng.choice(".,") + digits(3),  # 1,250 or 1.250
        lambda: digits(rng.randint(1, 3)) + ",000,000",
        lambda: "1,250.5" if rng.random() < 0.5 else "1.250,50",
        lambda: "".join(rng.choices(string.digits + ".,-¥ 元a", k=rng.randint(0, 8))),
    ]
    full_width = {ord(c): ord(c) + 0xFEE0 for c in string.digits + ".-"} | {ord(","): "，"}
    cases = []
    for _ in range(n):
        typed = rng.choice(shapes)()
        if rng.random() < 0.2:
            typed = "-" + typed
        if rng.random() < 0.15:
            typed = typed.translate(full_width)
        if rng.random() < 0.1:
            typed = typed.replace(",", rng.choice(["\u060c", "\u066b"]))
        if rng.random() < 0.1:
            typed = typed.replace(".", "\u3002")  # a Chinese keyboard's 。 for a point
        if rng.random() < 0.15:
            typed = rng.choice(["¥", "￥", " ¥"]) + typed if rng.random() < 0.5 else typed + "元"
        if rng.random() < 0.15:
            typed = rng.choice([" ", "\u3000", "\xa0"]) + typed + " "
        cases.append(typed)
    return cases


def python_reading(typed: str, places: int | str, signed: bool) -> str:
    """`places` "yuan": an amount in 元 (read_yuan); else the decimals a box takes."""
    try:
        if places == "yuan":
            return f"{read_yuan(typed, signed=signed):.2f}"
        return f"{read_decimal(typed, int(places), signed=signed):.{places}f}"
    except Unreadable as refusal:
        return refusal.reason


JS_READING = """async (cases) => {
  const icon = document.querySelector("link[rel=icon]").href;
  const util = await import(icon.replace("icons/icon-192.png", "js/util.js"));
  return cases.map(([typed, places, signed]) => {
    const read = places === "yuan" ? util.readYuan(typed) : util.readDecimal(typed, places, signed);
    if (read.error) return read.error;
    return places ? `${read.sign}${read.whole}.${read.fraction}` : `${read.sign}${read.whole}`;
  });
}"""


async def test_the_pwa_and_the_server_read_a_typed_number_alike(phone, pwa_server):
    """backend/numbers.py (the county's forms) and util.js `readDecimal` (the keeper's money,
    weight and quantity boxes): "12,5" and full-width digits read, "1,250" refused alike."""
    rng = random.Random(20261207)
    typed = [*generated_typed_numbers(rng, 1500), "12,5", "1,250", "１２，５", "0,250", "1.250"]
    cases = [(t, rng.choice([0, 2, 3, 4]), rng.random() < 0.3) for t in typed]
    cases += [(t, "yuan", False) for t in rng.sample(typed, 500)]  # the money boxes
    cases += [("12。5", 2, False), ("¥12.5", "yuan", False), ("12,5元", "yuan", False)]
    cases += [("1.250", 2, False), ("1.250", 3, False), ("12,000", 0, False), ("-0", 2, True)]
    expected = [python_reading(*case) for case in cases]

    page = await phone.new_page()
    await login(page, pwa_server.url, "13800000029")
    answers = await page.evaluate(JS_READING, [list(case) for case in cases])
    for case, python, js in zip(cases, expected, answers, strict=True):
        assert js == python, case
    assert expected[-7:] == ["12.50", "12.50", "12.50", "ambiguous", "1.250", "ambiguous", "0.00"]
    # The generated cases reach every answer: read, refused as unclear, refused as no number.
    assert {"ambiguous", "format"} <= set(expected)
    assert sum(answer.replace(".", "").lstrip("-").isdigit() for answer in expected) > 300


def generated_pasted_phones(rng: random.Random, n: int) -> list[str]:
    """A villager's number as typed or pasted from contacts and chats."""
    cases = []
    for _ in range(n):
        digits = "1" + rng.choice("3456789") + "".join(rng.choices(string.digits, k=9))
        if rng.random() < 0.2:
            digits = "".join(rng.choices(string.digits, k=rng.randint(4, 13)))
        prefix = rng.choice(["", "", "+86", "86", "0086", "+86 ", "（+86）", "(+86) ", "＋８６"])
        body = "".join(c + rng.choice(["", "", " ", "-", "\u3000"]) for c in digits)
        if rng.random() < 0.2:
            body = body.translate({ord(d): ord(d) + 0xFEE0 for d in string.digits})
        cases.append(prefix + body)
    return cases


async def test_the_pwa_and_the_server_read_a_pasted_phone_alike(phone, pwa_server):
    """backend/phones.py `normalize_phone` (accounts, households, the API) and util.js
    `normalizePhone` (the counter's phone boxes): "+86 138-1234-5678" is 13812345678 on both."""
    phones = generated_pasted_phones(random.Random(20261208), 600)
    page = await phone.new_page()
    await login(page, pwa_server.url, "13800000029")
    answers = await page.evaluate(
        """async (phones) => {
          const icon = document.querySelector("link[rel=icon]").href;
          const util = await import(icon.replace("icons/icon-192.png", "js/util.js"));
          return phones.map((p) => util.normalizePhone(p));
        }""",
        phones,
    )
    for typed, js in zip(phones, answers, strict=True):
        assert js == normalize_phone(typed), typed
    # The cases reach both outcomes: a prefix taken off, and text left as it was cleaned.
    assert sum(normalize_phone(p) != p for p in phones if p.startswith(("+86", "86"))) > 50
