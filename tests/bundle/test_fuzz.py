"""Seeded mutation fuzzing: every mutant is refused with a PepperpyError or is identical."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

from pepperpy.bundle.trust import VerifiedCache
from pepperpy.core import PepperpyError
from pepperpy.trust.gate import Trust, check, verify_bundle
from pepperpy_testing.bundles import BundleFactory

ROUNDS = 2500


def _mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        op = rng.randrange(5)
        pos = rng.randrange(len(buf) + 1) if buf else 0
        if op == 0 and buf:  # flip bits
            i = min(pos, len(buf) - 1)
            buf[i] ^= 1 << rng.randrange(8)
        elif op == 1 and buf:  # set a random byte
            buf[min(pos, len(buf) - 1)] = rng.randrange(256)
        elif op == 2:  # truncate
            del buf[pos:]
        elif op == 3:  # insert
            buf[pos:pos] = rng.randbytes(rng.randint(1, 8))
        elif buf:  # delete a run
            del buf[pos: pos + rng.randint(1, 8)]
    return bytes(buf)


def test_random_mutations_are_refused_or_identical(
    factory: BundleFactory, marker_files: dict[str, bytes], marker: Path, tmp_path: Path
) -> None:
    good = factory.build({**marker_files, "data/words.txt": b"alpha beta gamma " * 40})
    snapshot = factory.snapshot()
    trust = Trust(snapshot, "test", VerifiedCache(tmp_path / "verified.json"))
    rng = random.Random(20250101)
    refused = identical = 0
    target = tmp_path / "mutant.pepperplugin"
    for round_no in range(ROUNDS):
        mutant = _mutate(rng, good)
        try:
            verify_bundle(mutant, snapshot)
        except PepperpyError:
            refused += 1
            in_memory = False
        else:
            assert mutant == good, f"round {round_no}: a mutant verified"
            identical += 1
            in_memory = True
        if round_no % 10 == 0:  # the streaming path refuses exactly what verify refuses
            target.write_bytes(mutant)
            try:
                streamed = check(target, trust).digest == hashlib.sha256(good).hexdigest()
            except PepperpyError:
                streamed = False
            assert streamed == in_memory, f"round {round_no}: the two paths disagree"
    assert refused + identical == ROUNDS
    assert refused > ROUNDS * 0.9
    assert not marker.exists()
