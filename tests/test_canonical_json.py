"""The canonical JSON the content and chain hashes cover must stay byte for byte what
`json.dumps(ensure_ascii=False, sort_keys=True, separators=(",", ":"))` wrote when the logged
events were hashed, whichever encoder writes it now: else stored chains stop verifying."""

from __future__ import annotations

import json
import random

from backend.ledger.validation import canonical_json

ALPHABET = (
    "azAZ09 _-/\\\"'\n\r\t\b\f\x00\x01\x1f\x7f\u0085\u00a0é核桃斤拼多多\u2028\u2029\ufeff\uffff"
    "😀𠀀\U0010ffff"
)


def reference(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def text(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(0, 12)))


def number(rng: random.Random):
    return rng.choice(
        [
            rng.randrange(-(2**70), 2**70),
            rng.randrange(-1000, 100_000),
            rng.random() * 10 ** rng.randint(-25, 25),
            rng.uniform(-180, 180),
            float(rng.randrange(10**6)) / 100,
            -0.0,
            True,
            False,
            None,
        ]
    )


def value(rng: random.Random, depth: int = 0):
    roll = rng.random()
    if depth < 3 and roll < 0.25:
        return {text(rng): value(rng, depth + 1) for _ in range(rng.randrange(0, 6))}
    if depth < 3 and roll < 0.4:
        return [value(rng, depth + 1) for _ in range(rng.randrange(0, 4))]
    return text(rng) if roll < 0.7 else number(rng)


def test_canonical_json_is_byte_identical_to_json_dumps_over_many_values():
    rng = random.Random(17)
    for _ in range(20_000):
        data = {text(rng): value(rng) for _ in range(rng.randrange(0, 8))}
        assert canonical_json(data) == reference(data)


def test_canonical_json_keeps_json_dumps_text_for_floats_and_lone_surrogates():
    for data in (
        {"lat": 1e16, "lng": 1e-05},
        {"weight": 1.2345678901234568e16, "x": [1e22, 2.5e-300, -0.0, 0.1]},
        {"note": "\ud800 lone surrogate"},
        {"n": 2**64, "big": -(2**63)},
        {"é": 1, "z": 2, "Z": 3, "😀": 4, "\uffff": 5},
    ):
        assert canonical_json(data) == reference(data)
