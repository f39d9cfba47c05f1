"""Crafted bundles, one per attack; each must be refused by verify with its exact error.

Every crafted plugin's module writes a marker file when imported; no marker may appear.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from pepperpy.bundle.trust import VerifiedCache
from pepperpy.core import (
    BundleInvalidError,
    RevokedError,
    TrustError,
    UntrustedPublisherError,
)
from pepperpy.trust.gate import Trust, Verified, check, verify_bundle
from pepperpy.trust.types import TrustSnapshot
from pepperpy_testing.bundles import (
    BundleFactory,
    add_entry,
    append_bytes,
    duplicate_entry,
    make_entry,
    pack,
    prepend_bytes,
    remove_entry,
    rename_entry,
    replace_entry,
    set_fields,
    sign_raw,
    unpack,
    zip64_confusion,
)

MOD = "markerplugin.py"
SIG = ".pepperpy-signature"
EVIL = b"import pathlib\npathlib.Path('/tmp/pepperpy-evil').write_text('pwned')\n"


@dataclass
class Ctx:
    good: bytes
    files: dict[str, bytes]
    f: BundleFactory
    s: BundleFactory

    def signed(self, extra: dict[str, bytes] | None = None, **manifest: object) -> bytes:
        files = dict(self.files)
        if manifest:
            m = json.loads(files["plugin.json"])
            m.update(manifest)
            files["plugin.json"] = json.dumps(m).encode()
        files.update(extra or {})
        return sign_raw(sorted(files.items()), self.f.key)


def _mix(c: Ctx) -> bytes:
    """Files of bundle B with the signature entry of bundle A (same trusted key)."""
    other = c.signed(extra={"notes.txt": b"version two"})
    a, b = unpack(c.good), unpack(other)
    return pack([*b[:-1], a[-1]])


def _zip64_confusion(c: Ctx) -> bytes:
    """zipfile follows the ZIP64 record to the signed directory; zipimport follows the
    classic end record to a directory that also holds a package shadowing the module."""
    return zip64_confusion(c.good, "markerplugin/__init__.py", EVIL)


def _bomb_ratio(c: Ctx) -> bytes:
    """20 MiB of zeros, deflated about 1000x: refused on declared sizes, before inflating."""
    files = {**c.files, "data.bin": bytes(20 * 1024 * 1024)}
    return sign_raw(sorted(files.items()), c.f.key, deflate=True)


def _bomb_lying_size(c: Ctx) -> bytes:
    """Declares 1 KiB but inflates to 200 MiB (the ratio check passes: both sizes small).
    Signed by the trusted key, so it reaches inflation: bounded by the declared size."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    payload = comp.compress(bytes(200 * 1024 * 1024)) + comp.flush()
    bomb = make_entry("data.bin", b"x" * 1024)
    bomb.payload, bomb.method = payload, 8
    return sign_raw([], c.f.key, entries=[bomb, *unpack(c.good)[:-1]])


def _signed_bad_crc(c: Ctx) -> bytes:
    """Genuinely signed, but one entry's content does not match its CRC-32."""
    entries = unpack(c.good)[:-1]
    i = next(i for i, e in enumerate(entries) if e.name == MOD.encode())
    entries[i] = make_entry(MOD, EVIL)
    entries[i].crc ^= 1
    return sign_raw([], c.f.key, entries=entries)


def _recompressed(c: Ctx) -> bytes:
    """Same content, other deflate bytes: would dodge a revoked digest if accepted."""
    entries = unpack(c.good)
    for e in entries:
        if e.name == MOD.encode():
            comp = zlib.compressobj(1, zlib.DEFLATED, -15)
            e.payload = comp.compress(e.content) + comp.flush()
    return pack(entries)


CASES: list[tuple[str, Callable[[Ctx], bytes], type[TrustError], str]] = [
    # --- tampering with signed content
    ("modified-entry", lambda c: replace_entry(c.good, MOD, EVIL), BundleInvalidError,
     "modified after signing"),
    ("modified-entry-stale-crc", lambda c: replace_entry(c.good, MOD, EVIL, fix_crc=False),
     BundleInvalidError, "modified after signing"),
    ("signed-stale-crc", lambda c: _signed_bad_crc(c), BundleInvalidError, "CRC-32"),
    ("modified-plugin-json", lambda c: replace_entry(
        c.good, "plugin.json", c.files["plugin.json"].replace(b"1.0.0", b"9.0.0")),
     BundleInvalidError, "modified after signing"),
    ("added-entry", lambda c: add_entry(c.good, "zzz.py", EVIL), BundleInvalidError,
     "modified after signing"),
    ("added-entry-after-signature", lambda c: add_entry(c.good, "zzz.py", EVIL, position=3),
     BundleInvalidError, "last"),
    ("removed-entry", lambda c: remove_entry(c.good, MOD), BundleInvalidError,
     "modified after signing"),
    ("removed-signature", lambda c: remove_entry(c.good, SIG), BundleInvalidError,
     "last entry must be"),
    ("duplicate-before", lambda c: duplicate_entry(c.good, MOD, where="before", content=EVIL),
     BundleInvalidError, "duplicated"),
    ("duplicate-after", lambda c: duplicate_entry(c.good, MOD, where="after", content=EVIL),
     BundleInvalidError, "duplicated"),
    ("duplicate-signature", lambda c: duplicate_entry(c.good, SIG), BundleInvalidError,
     "more than once"),
    ("renamed-entry", lambda c: rename_entry(c.good, MOD, "markerplugin2.py"),
     BundleInvalidError, "modified after signing"),
    ("renamed-local-header-only", lambda c: rename_entry(c.good, MOD, "zzzzzzplugin.py",
                                                         local_only=True),
     BundleInvalidError, "local header"),
    ("recompressed-entry", _recompressed, BundleInvalidError, "modified after signing"),
    ("signature-entry-deflated", lambda c: pack(
        [*unpack(c.good)[:-1], make_entry(SIG, unpack(c.good)[-1].content, deflate=True)]),
     BundleInvalidError, "must be stored"),
    ("mix-and-match", _mix, BundleInvalidError, "modified after signing"),
    # --- names
    ("dotdot-name", lambda c: add_entry(c.good, "../evil.py", EVIL), BundleInvalidError,
     "traversal"),
    ("absolute-name", lambda c: add_entry(c.good, "/evil.py", EVIL, position=0),
     BundleInvalidError, "absolute"),
    ("backslash-name", lambda c: add_entry(c.good, "a\\..\\evil.py", EVIL, position=0),
     BundleInvalidError, "outside"),
    ("nul-name", lambda c: add_entry(c.good, "evil.py\x00.txt", EVIL), BundleInvalidError,
     "outside"),
    ("non-ascii-name", lambda c: rename_entry(c.good, MOD, "markerpl\u00fcgin.py".encode()),
     BundleInvalidError, "not ASCII"),
    ("directory-entry", lambda c: add_entry(c.good, "pkg/", b"", position=0),
     BundleInvalidError, "empty segment"),
    ("case-insensitive-duplicate", lambda c: c.signed(extra={"Markerplugin.py": EVIL}),
     BundleInvalidError, "case"),
    ("hidden-file", lambda c: add_entry(c.good, ".pth", EVIL, position=0), BundleInvalidError,
     "hidden"),
    # --- file types and shadowing (genuinely signed: the policy must refuse them)
    ("signed-pyc", lambda c: c.signed(extra={"markerplugin.pyc": b"\x00" * 16}),
     BundleInvalidError, "not an allowed type"),
    ("signed-so", lambda c: c.signed(extra={"native.so": b"\x7fELF"}), BundleInvalidError,
     "not an allowed type"),
    ("signed-pth", lambda c: c.signed(extra={"evil.pth": b"import os"}), BundleInvalidError,
     "not an allowed type"),
    ("signed-package-shadows-module", lambda c: c.signed(
        extra={"markerplugin/__init__.py": EVIL}), BundleInvalidError, "shadowed"),
    ("signed-unsorted", lambda c: sign_raw(sorted(c.files.items(), reverse=True), c.f.key),
     BundleInvalidError, "out of order"),
    ("signed-no-manifest", lambda c: sign_raw([(MOD, c.files[MOD])], c.f.key),
     BundleInvalidError, "plugin.json is missing"),
    ("signed-missing-entry-point", lambda c: c.signed(entry_point="nothere:Provider"),
     BundleInvalidError, "nothere"),
    ("signed-invalid-schema", lambda c: c.signed(category="../llm"), BundleInvalidError,
     "category"),
    ("signed-unknown-field", lambda c: c.signed(postinstall="rm -rf /"), BundleInvalidError,
     "postinstall"),
    ("signed-url-dependency", lambda c: c.signed(dependencies=["evil @ https://x.test/e.whl"]),
     BundleInvalidError, "dependency"),
    ("signed-option-dependency", lambda c: c.signed(
        dependencies=["--index-url=https://evil.test"]), BundleInvalidError, "option"),
    # --- header fields
    ("symlink-mode", lambda c: set_fields(c.good, MOD, external=0o120777 << 16),
     BundleInvalidError, "symlinks"),
    ("executable-mode", lambda c: set_fields(c.good, MOD, external=0o100755 << 16),
     BundleInvalidError, "regular 0644"),
    ("encrypted-flag", lambda c: set_fields(c.good, MOD, flags=1), BundleInvalidError,
     "encrypted"),
    ("encrypted-flag-local-only", lambda c: set_fields(c.good, MOD, local_overrides={"flags": 1}),
     BundleInvalidError, "local header"),
    ("data-descriptor-flag", lambda c: set_fields(c.good, MOD, flags=8), BundleInvalidError,
     "data descriptor"),
    ("utf8-flag", lambda c: set_fields(c.good, MOD, flags=0x800), BundleInvalidError,
     "not canonical"),
    ("method-bzip2", lambda c: set_fields(c.good, MOD, method=12), BundleInvalidError,
     "method 12"),
    ("method-mismatch-local", lambda c: set_fields(c.good, MOD, local_overrides={"method": 0}),
     BundleInvalidError, "local header"),
    ("size-mismatch-local", lambda c: set_fields(c.good, MOD, local_overrides={"size": 1}),
     BundleInvalidError, "local header"),
    ("crc-mismatch-local", lambda c: set_fields(c.good, MOD, local_overrides={"crc": 7}),
     BundleInvalidError, "local header"),
    ("timestamp", lambda c: set_fields(c.good, MOD, time=0x6000), BundleInvalidError,
     "timestamp"),
    ("central-extra-field", lambda c: set_fields(c.good, MOD, central_extra=b"UT\x01\x00\x00"),
     BundleInvalidError, "extra field"),
    ("local-extra-field", lambda c: set_fields(c.good, MOD, local_extra=b"\x00\x00\x04\x00EVIL"),
     BundleInvalidError, "offset"),
    # --- bytes outside entries
    ("prepended-bytes", lambda c: prepend_bytes(c.good, b"#!/bin/sh\nexit 0\n"),
     BundleInvalidError, "end exactly"),
    ("appended-bytes", lambda c: append_bytes(c.good, b"PK\x05\x06 trailing"),
     BundleInvalidError, "end record"),
    ("eocd-comment", lambda c: pack(unpack(c.good), comment=b"hello"), BundleInvalidError,
     "end record"),
    ("zip64-confusion", _zip64_confusion, BundleInvalidError, ""),
    ("truncated", lambda c: c.good[: len(c.good) // 2], BundleInvalidError, "end record"),
    ("truncated-by-one", lambda c: c.good[:-1], BundleInvalidError, "end record"),
    ("empty-file", lambda c: b"", BundleInvalidError, "too short"),
    ("not-a-zip", lambda c: b"#!/usr/bin/env python\nprint('hi')\n" * 10, BundleInvalidError,
     "end record"),
    # --- zip bombs
    ("zip-bomb-ratio", _bomb_ratio, BundleInvalidError, "inflates"),
    ("zip-bomb-lying-size", _bomb_lying_size, BundleInvalidError, "past its declared"),
    # --- trust
    ("untrusted-key", lambda c: c.s.build(c.files), UntrustedPublisherError, "not in the trust"),
    ("forged-key-id", lambda c: _forge_key_id(c), BundleInvalidError, "modified after signing"),
    ("bad-signature-format", lambda c: replace_entry(
        c.good, SIG, unpack(c.good)[-1].content.replace(b"bundle/2", b"bundle/1")),
     BundleInvalidError, "not supported"),
    ("signature-entry-extra-key", lambda c: replace_entry(
        c.good, SIG, unpack(c.good)[-1].content[:-1] + b',"z":1}'), BundleInvalidError,
     "exactly the keys"),
]


def _forge_key_id(c: Ctx) -> bytes:
    """A stranger's signature relabelled with the trusted key id."""
    theirs = unpack(c.s.build(c.files))[-1].content
    body = json.loads(theirs)
    body["key_id"] = c.f.key.key_id
    forged = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return replace_entry(c.good, SIG, forged)


@pytest.fixture
def ctx(factory: BundleFactory, stranger: BundleFactory, marker_files: dict[str, bytes]) -> Ctx:
    return Ctx(factory.build(marker_files), marker_files, factory, stranger)


def test_good_bundle_verifies(ctx: Ctx, marker: Path) -> None:
    bundle = verify_bundle(ctx.good, ctx.f.snapshot())
    assert bundle.manifest.name == "markerplugin"
    assert bundle.digest == hashlib.sha256(ctx.good).hexdigest()
    assert not marker.exists()


@pytest.mark.parametrize(("build", "error", "fragment"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_refused(ctx: Ctx, marker: Path, build: Callable[[Ctx], bytes],
                 error: type[TrustError], fragment: str) -> None:
    data = build(ctx)
    assert data != ctx.good
    with pytest.raises(TrustError) as info:
        verify_bundle(data, ctx.f.snapshot())
    assert type(info.value) is error, str(info.value)
    assert fragment in str(info.value)
    assert not marker.exists()


def _streamed(data: bytes, snapshot: TrustSnapshot, tmp_path: Path) -> Verified:
    """``pepperpy plugin verify``'s path: the file read once in bounded chunks."""
    tmp_path.mkdir(exist_ok=True)
    path = tmp_path / "case.pepperplugin"
    path.write_bytes(data)
    return check(path, Trust(snapshot, "case", VerifiedCache(tmp_path / "verified.json")))


@pytest.mark.parametrize(("build", "error", "fragment"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_the_streaming_check_refuses_every_case_alike(
        ctx: Ctx, marker: Path, tmp_path: Path, build: Callable[[Ctx], bytes],
        error: type[TrustError], fragment: str) -> None:
    """The same kit against ``gate.check`` (chunks, only the needed pieces kept): the
    same refusal, error class and reason as the in-memory verification."""
    with pytest.raises(TrustError) as info:
        _streamed(build(ctx), ctx.f.snapshot(), tmp_path)
    assert type(info.value) is error, str(info.value)
    assert fragment in str(info.value)
    assert not marker.exists()


def test_the_streaming_check_accepts_the_good_bundle_and_refuses_revocations(
        ctx: Ctx, tmp_path: Path) -> None:
    digest = hashlib.sha256(ctx.good).hexdigest()
    assert _streamed(ctx.good, ctx.f.snapshot(), tmp_path).digest == digest
    with pytest.raises(RevokedError, match="revoked"):
        _streamed(ctx.good, ctx.f.snapshot(revoked=True), tmp_path / "x")
    with pytest.raises(RevokedError, match=digest):
        _streamed(ctx.good, ctx.f.snapshot(revoked_bundles=frozenset({digest})), tmp_path / "y")


def test_revoked_key(ctx: Ctx, marker: Path) -> None:
    with pytest.raises(RevokedError, match="revoked"):
        verify_bundle(ctx.good, ctx.f.snapshot(revoked=True))
    assert not marker.exists()


def test_revoked_bundle_digest(ctx: Ctx, marker: Path) -> None:
    digest = hashlib.sha256(ctx.good).hexdigest()
    with pytest.raises(RevokedError, match=digest):
        verify_bundle(ctx.good, ctx.f.snapshot(revoked_bundles=frozenset({digest})))
    assert not marker.exists()


def _respelled(body: dict[str, object]) -> list[bytes]:
    """The signature entry's own values, written as JSON other than the canonical form."""
    key_id = str(body["key_id"])
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return [
        json.dumps(body, sort_keys=True).encode(),  # spaces after ":" and ","
        json.dumps(dict(reversed(list(body.items()))), separators=(",", ":")).encode(),
        canonical.replace(key_id, "\\u00" + f"{ord(key_id[0]):x}" + key_id[1:]).encode(),
        canonical.encode() + b"\n",
        canonical.replace('{"format"', '{"key_id":"' + "0" * 64 + '","format"').encode(),
    ]


def test_a_revoked_bundle_with_its_signature_entry_respelled_is_refused(
        ctx: Ctx, marker: Path) -> None:
    """The signature entry lies outside the signed prefix: spelling its JSON another way
    (spaces, key order, an escape, a trailing newline, a duplicate key) keeps the key id
    and signature, so the signature still verifies, under a new digest that a digest
    revocation does not match. Only the canonical form is accepted."""
    digest = hashlib.sha256(ctx.good).hexdigest()
    snapshot = ctx.f.snapshot(revoked_bundles=frozenset({digest}))
    body = json.loads(unpack(ctx.good)[-1].payload)
    for content in _respelled(body):
        forged = replace_entry(ctx.good, SIG, content)
        assert hashlib.sha256(forged).hexdigest() != digest
        with pytest.raises(BundleInvalidError, match="not in canonical form"):
            verify_bundle(forged, snapshot)
    assert not marker.exists()


def test_zip64_confusion_is_real(ctx: Ctx, tmp_path: Path) -> None:
    """Prove the crafted archive really splits the two parsers (so the refusal matters)."""
    import zipimport

    data = _zip64_confusion(ctx)
    seen_by_zipfile = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert "markerplugin/__init__.py" not in seen_by_zipfile
    path = tmp_path / "confused.zip"
    path.write_bytes(data)
    importer = zipimport.zipimporter(str(path))
    assert importer.is_package("markerplugin")  # zipimport sees the shadowing package


def test_zip_bomb_is_refused_fast_with_bounded_memory(ctx: Ctx) -> None:
    data = _bomb_lying_size(ctx)
    tracemalloc.start()
    start = time.perf_counter()
    with pytest.raises(BundleInvalidError):
        verify_bundle(data, ctx.f.snapshot())
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 2.0
    assert peak < 8 * 1024 * 1024 + 2 * len(data)


def test_built_bundle_is_importable_by_zipimport(factory: BundleFactory, tmp_path: Path) -> None:
    """The canonical layout is a normal ZIP for both stdlib parsers."""
    import zipimport

    data = factory.build()
    path = tmp_path / "ok.zip"
    path.write_bytes(data)
    assert zipfile.ZipFile(path).testzip() is None
    import importlib.util

    spec = zipimport.zipimporter(str(path)).find_spec("sample")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert hasattr(module, "SampleProvider")
