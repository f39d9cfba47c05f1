"""Mutation run: remove each security check in turn and show that its tests fail.

Every row of ``MUTATIONS`` names one check of docs/security.md's threat table: the file,
the exact source snippet that implements it, the replacement that removes or disables
it, and the pytest node ids that must fail without it. For each row the script copies
the repository once to a temporary folder, edits that copy (never the checkout; the
edit is undone in a ``finally``), and runs only the named tests against it with this
interpreter (``-x -q -p no:cacheprovider``, ``PYTHONPATH`` = the copy, bytecode off), so
the mutated package is the one imported, in pytest and in every ``python -m pepperpy``
child process the tests start (checked before the first row). A row is

- ``killed``: at least one named test failed (or timed out): the tests see the removal;
- ``SURVIVED``: every named test passed without the check: the tests cannot detect it.

Usage::

    .venv/bin/python tools/mutation_run.py            # every row (about 2 minutes)
    .venv/bin/python tools/mutation_run.py rollback   # rows whose id contains a filter
    .venv/bin/python tools/mutation_run.py --list     # the table; checks every snippet
    .venv/bin/python tools/mutation_run.py --each     # no -x: which named tests fail

Exit status 1 if any row survived, 2 if the table is stale (a snippet is not found
exactly once) or the unmutated tests fail.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_IGNORE = shutil.ignore_patterns(".venv", ".git", "__pycache__", "*.pyc", ".pytest_cache",
                                 ".mypy_cache", ".ruff_cache", ".pepperpy-demo", "*.egg-info")

A = "tests/bundle/test_adversarial.py::test_refused"
LOAD = "tests/plugins/test_loading.py::"
CORE = "tests/plugins/test_trust_core.py::"
INST = "tests/plugins/test_install.py::"
SEAL = "tests/plugins/test_sealed_import.py::"
DEPS = "tests/plugins/test_dependencies.py::"
CONS = "tests/plugins/test_dependency_constraints.py::"
DOCS = "tests/documents/"
KERNEL = "tests/trust/test_verify_before_inflate.py::"
STREAM = "tests/trust/test_streaming.py::"
CRCW = "tests/trust/test_crc_worker.py::"
QUICK = "tests/distribution/test_quick_refresh_attacks.py::"
STREAM_CASES = "tests/bundle/test_adversarial.py::test_the_streaming_check_refuses_every_case_alike"
SLOT = "tests/trust/test_slots.py::"
TOOL = "tests/toolcalls/test_tool_safety.py::"
MCP = "tests/toolcalls/test_mcp.py::"
FUZZ = "tests/distribution/test_damaged_catalog.py::"
PENDING = "tests/state/test_crash_index_trust.py::"
SEVERAL = "tests/distribution/test_install_several.py::"


@dataclass(frozen=True)
class Edit:
    """Replace ``find`` (present exactly once in ``path``) by ``replace``."""

    path: str
    find: str
    replace: str


@dataclass(frozen=True)
class Mutation:
    """One check removed: the threat row it serves, the edits, the tests that catch it."""

    id: str
    threat: str
    edits: tuple[Edit, ...]
    tests: tuple[str, ...]


def m(id: str, threat: str, path: str, find: str, replace: str, *tests: str) -> Mutation:
    return Mutation(id, threat, (Edit(path, find, replace),), tests)


VERIFY = "pepperpy/trust/authentic.py"
ZIP = NAMES = "pepperpy/trust/archive.py"
MANIFEST = "pepperpy/trust/manifest.py"
POLICY = "pepperpy/trust/admissible.py"
LOADER = "pepperpy/trust/sealed.py"
ANTHROPIC = "plugin_src/llm_anthropic_provider/provider.py"
OPENAI_CHAT = "pepperpy/openai_compatible/chat.py"
OPENAI_WIRE = "tests/llm/test_openai_read_wire.py::"
HOSTILE = "tests/llm/test_hostile_types.py::"
CHROMA_MODES = "tests/rag/test_chroma_modes.py::"
EMBED_OPENAI = "plugin_src/embeddings_openai_provider/provider.py"
BROKEN_EMBEDDINGS = ("tests/llm/test_embeddings_openai.py::"
                     "test_a_broken_embeddings_answer_is_a_provider_error")
QUICK_SEARCH = (CHROMA_MODES
                + "test_a_quick_search_runs_on_the_loop_and_a_write_sends_the_next_to_the_worker")
WIRE = "tests/llm/test_anthropic_reads_the_wire.py::"
GATE = "pepperpy/trust/gate.py"
MANAGER = "pepperpy/plugins/manager.py"
UNCHANGED = "pepperpy/distribution/unchanged.py"
UNCHANGED_TESTS = "tests/distribution/test_unchanged.py"

MUTATIONS: tuple[Mutation, ...] = (
    m("signature", "modified file or manifest; mix-and-match", VERIFY,
      "if not _signature_valid(record.public_key, signature, statement(scanned[0])):",
      "if False:",
      f"{A}[modified-entry]", f"{A}[modified-plugin-json]", f"{A}[mix-and-match]"),
    Mutation("case-duplicates", "duplicate entries", (
        Edit(ZIP, "if name.lower() in seen:", "if False:"),
        Edit(NAMES, "if low in lowered:", "if False:")),
        (f"{A}[case-insensitive-duplicate]",)),
    m("name-order", "duplicate entries", ZIP,
      "if last and name <= last:", "if False:",
      f"{A}[duplicate-before]", f"{A}[duplicate-after]"),
    m("entry-names", "zip slip", ZIP,
      "if problem := name_problem(name, limits=limits):", "if problem := None:",
      f"{A}[dotdot-name]", f"{A}[absolute-name]", f"{A}[backslash-name]"),
    m("file-mode", "symlinks, executables, encrypted entries", ZIP,
      "if external != EXTERNAL_ATTR:", "if False:",
      f"{A}[symlink-mode]", f"{A}[executable-mode]"),
    m("local-central-agree", "two ZIP parsers; renamed entries", ZIP,
      "if bytes(buf[:LOCAL_SIZE + len(entry.name)]) != expected + entry.name.encode(\"ascii\"):",
      "if False:",
      f"{A}[method-mismatch-local]", f"{A}[size-mismatch-local]", f"{A}[crc-mismatch-local]",
      f"{A}[renamed-local-header-only]"),
    m("cd-at-end-record", "bytes outside the entries", ZIP,
      "if cd_offset + cd_size != file_size - END_SIZE:", "if False:",
      f"{A}[prepended-bytes]"),
    m("signature-entry-canonical", "a revoked bundle's signature entry respelled (spaces, "
      "key order, an escape, a duplicate key): the same signature under a new digest",
      VERIFY, "    if encode_signature_entry(key_id=key_id, signature=signature) != raw:",
      "    if False:",
      "tests/bundle/test_adversarial.py::"
      "test_a_revoked_bundle_with_its_signature_entry_respelled_is_refused"),
    m("end-record-in-verified-bytes", "bytes after the signed prefix", ZIP,
      "if cd_offset + len(directory) + END_SIZE != size or tail != directory + end:",
      "if False:",
      "tests/trust/test_end_record.py::"
      "test_bytes_with_another_end_record_than_the_screened_directory_are_refused",
      "tests/trust/test_end_record.py::"
      "test_a_revoked_bundle_flipping_its_end_record_never_authenticates",
      "tests/trust/test_end_record.py::test_every_byte_outside_the_signed_prefix_is_pinned"),
    m("crc", "two ZIP parsers; any byte-level damage", ZIP,
      "        if crc != entry.crc:", "        if False:",
      f"{A}[signed-stale-crc]"),
    m("crc-stored-in-pass", "a stored entry's CRC-32, computed in the one pass", VERIFY,
      "crcs.add(i, chunk[lo - at:hi - at])", "crcs.values[i] = e.crc",
      f"{A}[signed-stale-crc]", f"{STREAM_CASES}[signed-stale-crc]",
      f"{CRCW}test_large_stored_entries_are_crc_checked_by_every_form[True]"),
    m("crc-worker-waits", "CRC-32s read before the second thread computed them",
      "pepperpy/_crcs.py", "                piece.done.acquire()  # released by the worker",
      "                pass  # released by the worker",
      f"{CRCW}test_the_caller_waits_for_a_slice_the_worker_is_computing",
      f"{CRCW}test_crcs_match_zlib_for_any_mix_of_slices"),
    m("crc-caller-computes", "CRC-32s of slices the second thread has not reached",
      "pepperpy/_crcs.py", "                piece.compute()\n            else:",
      "                pass\n            else:",
      f"{CRCW}test_slices_the_worker_has_not_reached_are_computed_by_the_caller"),
    m("crc-settled-per-chunk", "CRC-32s of a reused read buffer computed after it was refilled",
      VERIFY, "        crcs.settled()  # this chunk's CRCs done: its buffer may be reused\n", "",
      "tests/trust/test_crc_handover.py::"
      "test_a_reused_buffer_is_not_refilled_before_its_slices_are_computed"),
    m("crc-no-thread-inline", "a verification failing (RuntimeError) when no thread can start",
      "pepperpy/_crcs.py", "            except RuntimeError:  # no thread to be had",
      "            except ZeroDivisionError:  # no thread to be had",
      "tests/trust/test_crc_handover.py::test_no_thread_to_be_had_computes_in_line"),
    m("crc-queue-after-start", "slices held forever by a CRC queue no thread reads",
      "pepperpy/_crcs.py", "        threading.Thread(target=_run, args=(work,), daemon=True, "
      "name=\"pepperpy-crc32\").start()\n        _work.append(work)\n",
      "        _work.append(work)\n        threading.Thread(target=_run, args=(work,), "
      "daemon=True, name=\"pepperpy-crc32\").start()\n",
      "tests/trust/test_crc_handover.py::test_no_thread_to_be_had_computes_in_line"),
    m("zip-bomb-ratio", "zip bombs", ZIP,
      "if usize > limits.ratio_floor and usize > max(csize, 1) * limits.max_compression_ratio:",
      "if False:",
      f"{A}[zip-bomb-ratio]"),
    m("bounded-inflate", "zip bombs", ZIP,
      "out = inflater.decompress(raw, entry.size + 1)", "out = inflater.decompress(raw)",
      "tests/bundle/test_adversarial.py::test_zip_bomb_is_refused_fast_with_bounded_memory"),
    m("cd-size-bound", "every input is bounded (sparse central directory)", ZIP,
      "if cd_size > n_total * (CENTRAL_SIZE + limits.max_name_length):", "if False:",
      f"{CORE}test_sparse_huge_directory_is_refused_before_it_is_read"),
    m("file-types", "shadowing a signed module", NAMES,
      "if file_kind(name) is None:", "if False:",
      f"{A}[signed-pyc]", f"{A}[signed-so]", f"{A}[signed-pth]"),
    m("module-shadowing", "shadowing a signed module", NAMES,
      "if low.endswith(\".py\") and low[:-3] in folders:", "if False:",
      f"{A}[signed-package-shadows-module]"),
    m("screen", "untrusted publisher (verify before parse)", GATE,
      "    authentic.check_key(trust, key_id, None)\n    return size,", "    return size,",
      f"{CORE}test_plugin_list_memory_stays_bounded_with_hostile_files",
      f"{KERNEL}test_the_screen_refuses_a_key_nobody_trusts_before_reading_the_file"),
    m("signature-before-inflate", "naming a trusted key id to make every load inflate",
      VERIFY, "    record = check_key(trust, key_id, scanned[1])\n",
      "    record = check_key(trust, key_id, scanned[1])\n"
      "    [zf.inflate(zf.data_of(p, e), e) for p, e in zip(scanned[3], entries) if e.method]\n",
      f"{KERNEL}test_a_file_naming_a_trusted_key_costs_one_hash_pass_not_inflation",
      f"{KERNEL}test_a_wrong_signature_is_refused_before_any_entry_inflates"),
    m("weak-key", "weak ed25519 keys", VERIFY,
      "if weak_key_problem(record.public_key) is not None:", "if False:",
      "tests/bundle/test_keys.py::test_neutral_key_forgery_refused_even_if_forced_into_store"),
    m("revoked-key", "revoked key or bundle", VERIFY,
      "if record.revoked:", "if False:",
      f"{LOAD}test_revoked_key_is_refused",
      "tests/bundle/test_adversarial.py::test_revoked_key"),
    m("revoked-digest", "revoked key or bundle", VERIFY,
      "if digest is not None and digest in snapshot.revoked_bundles:", "if False:",
      "tests/bundle/test_adversarial.py::test_revoked_bundle_digest",
      f"{LOAD}test_revoked_digest_is_refused_even_when_installed"),
    m("cache-trust-fingerprint", "revoked key or bundle (verified cache)", GATE,
      "if hit is not None and hit.get(\"trust\") != trust.fingerprint:",
      "if False:",
      f"{CORE}test_a_bundle_revoked_after_it_was_verified_and_cached_is_refused"),
    m("slot-install-rollback", "rollback of a slot through another name (install)",
      "pepperpy/plugins/install.py",
      "if holder is not None and holder.name != m.name and holder.key_id == record.key_id:",
      "if False:",
      "tests/plugins/test_slot_install.py::"
      "test_an_older_release_under_another_name_is_not_installed_into_a_held_slot",
      "tests/plugins/test_slot_install.py::"
      "test_a_newer_release_under_another_name_replaces_the_slot_holder"),
    m("slot-install-displaces", "two plugins of one publisher in one slot (fallback)",
      "pepperpy/plugins/install.py",
      "        (old.category, old.provider_name) == (new.category, new.provider_name))",
      "        (old.category, old.provider_name) == (new.category, new.provider_name)\n"
      "        and old.key_id != new.key_id)",
      "tests/plugins/test_slot_install.py::"
      "test_a_newer_release_under_another_name_replaces_the_slot_holder"),
    m("cache-verifier-version", "a verification cached by an older, laxer PepperPy",
      "pepperpy/bundle/trust.py",
      'fingerprint = f"pepperpy-{__version__}:{fingerprint}"', "pass",
      "tests/trust/test_cache_binding.py::"
      "test_a_verification_cached_by_an_older_pepperpy_is_not_trusted_after_an_upgrade"),
    m("sealed-issued-only", "swap between verify and import", LOADER,
      "if not isinstance(bundle, VerifiedBundle) or not issued(bundle):", "if False:",
      f"{SEAL}test_only_a_bundle_the_gate_verified_is_imported"),
    m("issued-same-object", "swap between verify and import", GATE,
      "return (held := _ISSUED.get(id(bundle))) is not None and held() is bundle",
      "return (held := _ISSUED.get(id(bundle))) is not None",
      f"{SEAL}test_an_issued_bundle_is_forgotten_when_it_dies_and_its_id_vouches_for_no_other"),
    m("import-from-path", "swap between verify and import", MANAGER,
      "cls = with_room(import_bundle, verified, location=Path(chosen.found.path))",
      "cls = with_room(import_bundle, __import__('pepperpy.trust.gate', fromlist=['x'])"
      ".verify_bundle("
      "Path(chosen.found.path).read_bytes(), self.trust().snapshot), "
      "location=Path(chosen.found.path))",
      f"{SEAL}test_imported_bytes_are_the_verified_ones_when_the_file_changes_before_the_"
      "import"),
    m("traceback-verified-lines", "tracebacks showing what sits on disk now", LOADER,
      "remember(filename, text)  # tracebacks read these lines",
      "pass  # tracebacks read these lines",
      f"{SEAL}test_traceback_lines_come_from_the_verified_bytes_when_a_folder_replaces_the_"
      "bundle"),
    m("traceback-lines-wait", "tracebacks showing what sits on disk now (linecache loaded "
      "after the load)", "pepperpy/_lines.py",
      "spec.loader = _Filling(spec.loader)", "pass",
      f"{SEAL}test_verified_lines_wait_for_linecache_when_the_load_does_not_import_it"),
    m("traceback-lines-wait-threads", "tracebacks showing what sits on disk now (linecache "
      "imported by another thread when the lines arrived)", "pepperpy/_lines.py",
      "            return not _FILLING[0] and _importing()", "            return False",
      "tests/plugins/test_lines_threads.py::"
      "test_lines_remembered_while_another_thread_imports_linecache_all_reach_it"),
    m("traceback-lines-finder-leaves", "the traceback-lines finder left on sys.meta_path "
      "(linecache imported by another thread without it)", "pepperpy/_lines.py",
      "    _unhook()  # linecache ran (perhaps without the finder)", "    pass  #",
      "tests/plugins/test_lines_threads.py::"
      "test_lines_remembered_while_another_thread_imports_linecache_all_reach_it"),
    m("lazy-import-from-path", "swap between verify and import (lazy import)", LOADER,
      "source = self.read(entry).replace(",
      "source = __import__('zipfile').ZipFile(self.root).read(entry).replace(",
      f"{SEAL}test_lazily_imported_submodule_is_the_verified_one_after_files_change"),
    m("data-from-path", "swap between verify and import (data files)", LOADER,
      "return self._importer.read(self._at)",
      "return __import__('zipfile').ZipFile(self._importer.root).read(self._at)",
      f"{SEAL}test_data_file_is_the_verified_one_after_files_change"),
    m("policy-matches-record", "rollback (installed copy swapped)", POLICY,
      "        matches_record(c, state)\n    else:", "        pass\n    else:",
      f"{LOAD}test_installed_file_swapped_for_an_older_signed_version_is_refused"),
    m("policy-no-rollback", "rollback (other folders)", POLICY,
      "    else:\n        no_rollback(c, state)", "    else:\n        pass",
      f"{LOAD}test_installed_copy_deleted_does_not_roll_back_to_an_older_plugin_path_version",
      f"{LOAD}test_installed_copy_tampered_does_not_roll_back_to_an_older_plugin_path_version",
      f"{LOAD}test_same_version_other_bytes_from_plugin_path_replaces_no_missing_installed_copy"),
    m("policy-downgrade", "rollback (install)",
      "pepperpy/plugins/install.py",
      "if new_v < old_v and not allow_downgrade:", "if False:",
      f"{INST}test_downgrade_refused_unless_allowed"),
    m("policy-same-version", "same version, other bytes",
      "pepperpy/plugins/install.py",
      "if new_v == old_v and not force:", "if False:",
      f"{INST}test_same_version_other_bytes_refused_unless_forced"),
    m("policy-owner-load", "name takeover (discovery and load)", POLICY,
      "    owner(c, state, scopes)\n    compatible(", "    compatible(",
      f"{LOAD}test_name_owned_by_installed_key_is_not_taken_over_by_discovery"),
    m("policy-owner-install", "name takeover (install)",
      "pepperpy/plugins/install.py",
      "    if not transfer_owner:\n        policy.owner(c, state, scopes)",
      "    if False:\n        policy.owner(c, state, scopes)",
      f"{INST}test_name_takeover_by_another_trusted_key_refused"),
    m("policy-compatible-load", "a plugin built for another PepperPy (load)", POLICY,
      "    owner(c, state, scopes)\n    compatible(c.manifest, path=c.path, "
      "pepperpy_version=pepperpy_version)\n",
      "    owner(c, state, scopes)\n",
      f"{CORE}test_a_bundle_for_another_pepperpy_is_never_loaded"),
    m("policy-compatible-install", "a plugin built for another PepperPy (install)",
      "pepperpy/plugins/install.py",
      "    policy.compatible(c.manifest, path=c.path, pepperpy_version=pepperpy_version)\n"
      "    if not transfer_owner:",
      "    if not transfer_owner:",
      f"{INST}test_incompatible_bundle_is_not_installed"),
    m("policy-rank", "rollback (ranking)", POLICY,
      "key=lambda i: (Version(pairs[i][0]), -i), reverse=True)",
      "key=lambda i: i)",
      f"{LOAD}test_conflict_highest_version_wins_with_a_warning"),
    m("policy-unsigned-allowed", "developer mode only where listed",
      "pepperpy/plugins/devmode.py",
      "return any(folder in (base, base / folder.name) for base in dev_folders)",
      "return True",
      f"{CORE}test_unsigned_code_runs_only_from_folders_listed_for_developer_mode"),
    m("policy-signer-allowed", "a key trusted for some plugins only", POLICY,
      "    if only is None or f\"{m.name}@{m.slot}\" in only:\n        return",
      "    return",
      f"{CORE}test_a_key_trusted_only_for_some_plugins_signs_nothing_else",
      "tests/distribution/test_client.py::"
      "test_trust_publishers_imports_the_keys_the_index_names"),
    m("yanked-at-download", "a version yanked after it was listed",
      "pepperpy/distribution/client.py", "        if again[0].yanked:", "        if False:",
      "tests/distribution/test_yanked.py::"
      "test_a_version_yanked_after_it_was_listed_is_refused_at_download"),
    m("policy-not-yanked", "a yanked version in a searched folder or as a fallback", POLICY,
      "    if c.yanked:", "    if False:",
      "tests/distribution/test_yanked.py::"
      "test_a_yanked_version_in_a_searched_folder_is_never_chosen"),
    m("slot-pin-at-install", "a name-only key taking another provider slot",
      "pepperpy/plugins/install.py",
      "        TrustStore(settings.trust_file).pin(verified.key_id, m.name, m.slot)\n", "",
      f"{SLOT}test_a_name_only_key_is_pinned_to_the_slot_of_its_first_install"),
    m("slot-plain-name", "a name-only key taking another provider slot", POLICY,
      "    if m.name in only and (named is None or (named.category, named.provider_name) == (\n"
      "            m.category, m.provider_name)) and (",
      "    if m.name in only and (True or (\n            m.category)) and (",
      f"{SLOT}test_a_plain_name_entry_never_follows_its_plugin_into_another_slot"),
    m("slot-other-name", "another name taking an installed slot (outright, fallback)",
      POLICY, "    if holder is not None and holder.name != m.name:", "    if False:",
      f"{SLOT}test_another_name_never_takes_an_installed_slot_outright",
      f"{SLOT}test_a_fallback_never_leaves_the_installed_plugin_for_another_name"),
    m("deps-installed-bundle", "plugin deps installing another bundle's requirements",
      "pepperpy/cli/manage.py", "manager.install_dependencies(manager.installed(name))",
      "manager.install_dependencies(manager.choose(manager.installed(name).manifest.category,"
      " manager.installed(name).manifest.provider_name))",
      f"{SLOT}test_plugin_deps_installs_the_requirements_of_the_installed_bundle"),
    m("dev-mode-only", "searched folders used without development mode",
      "pepperpy/plugins/discovery.py",
      "    if not settings.dev_mode:\n        return folders\n", "",
      "tests/plugins/test_discovery.py::"
      "test_installed_plugins_are_the_only_candidates_unless_development_mode_is_on"),
    m("checkout-not-from-cwd", "a planted ancestor checkout becoming a plugin source",
      "pepperpy/plugins/discovery.py",
      "    root = root or Path(__file__).resolve().parents[2]\n",
      "    root = root or next((f for f in (Path.cwd(), *Path.cwd().parents)\n"
      "                         if (f / 'dist_plugins').is_dir()), Path.cwd())\n",
      "tests/plugins/test_discovery.py::"
      "test_a_planted_ancestor_checkout_is_never_a_plugin_source"),
    m("index-offer-matches-manifest", "an index relabelling a genuine old bundle",
      "pepperpy/plugins/install.py", "        accept(verified)\n", "        pass\n",
      "tests/distribution/test_threats.py::"
      "test_an_old_bundle_listed_as_a_new_version_is_refused"),
    m("index-target-hash", "arbitrary package (other bytes for a listed bundle)",
      "pepperpy/distribution/fetch.py",
      "            target.check(verified.digest)  # the bytes the index signed, before all else\n",
      "            pass\n",
      "tests/distribution/test_threats.py::"
      "test_a_signed_bundle_other_than_the_listed_one_is_refused"),
    m("index-target-length", "arbitrary package (other bytes for a listed bundle)",
      "pepperpy/distribution/client.py",
      "        if (size := len(data) if into is None else into.size) != info.length:\n",
      "        if (size := 0) and False:\n",
      "tests/distribution/test_threats.py::test_a_short_download_is_refused"),
    m("depcache-folder-identity", "a dependency removed or downgraded after a met check",
      "pepperpy/plugins/depcache.py", "        entries.append([folder, _identity(st)])\n",
      "        entries.append([folder, None])\n",
      "tests/plugins/test_depcache.py::test_a_change_after_the_memo_is_caught"),
    m("depcache-witness", "an extra's METADATA edited in place after a met check",
      "pepperpy/plugins/depcache.py", "        if list(_identity(st)) != item[1]:\n",
      "        if False:\n",
      "tests/plugins/test_depcache.py::test_metadata_edited_in_place_is_caught"),
    m("depcache-racy", "a second change within one clock tick hidden from the memo",
      "pepperpy/plugins/depcache.py", "    if time.time_ns() - newest < _RACY_NS:\n",
      "    if False:\n",
      "tests/plugins/test_depcache.py::test_a_folder_changed_just_now_is_not_remembered"),
    m("depcache-exact-only", "a met check answered by importlib.metadata remembered",
      "pepperpy/plugins/dependencies.py",
      "        if env is not None and sources.exact:\n", "        if env is not None:\n",
      "tests/plugins/test_depcache.py::test_an_answer_from_importlib_metadata_is_not_remembered"),
    m("index-target-size-bound", "endless data (a target longer than any bundle, held in memory)",
      "pepperpy/distribution/client.py",
      "        if info.length > DEFAULT_LIMITS.max_bundle_size:  # held in memory: bounded first\n",
      "        if False:\n",
      "tests/distribution/test_threats.py::"
      "test_a_target_longer_than_any_bundle_is_refused_before_it_is_downloaded"),
    m("index-target-refused-bytes", "arbitrary package (other bytes for a listed bundle)",
      "pepperpy/distribution/client.py",
      "        if isinstance(refusal, IndexRefusedError):\n            return\n",
      "        return\n",
      "tests/distribution/test_threats.py::test_arbitrary_package_bytes_differ_from_metadata",
      "tests/distribution/test_download_check.py::"
      "test_a_refusal_of_unsigned_bytes_names_the_arbitrary_package"),
    m("index-unchanged-digests", "an index refresh that skips ngclient (edited local metadata)",
      UNCHANGED, "                sha256(raw[role]).hexdigest() != expected:\n",
      "                False:\n",
      f"{UNCHANGED_TESTS}::test_an_edited_local_targets_file_is_never_listed"),
    m("index-unchanged-record-url", "an index refresh that skips ngclient (a record for another "
      "URL)", UNCHANGED, "    if record.get(\"version\") != 1 or record.get(\"metadata_url\") "
      "!= metadata_url \\\n", "    if record.get(\"version\") != 1 \\\n",
      f"{UNCHANGED_TESTS}::test_a_damaged_record_is_a_full_refresh[other-url]"),
    m("index-unchanged-record-pinned", "an index refresh that skips ngclient (another pinned root)",
      UNCHANGED, "            or record.get(\"pinned\") != sha256(pinned).hexdigest() "
      "\\\n", "",
      f"{UNCHANGED_TESTS}::test_a_changed_pinned_root_is_a_full_refresh",
      f"{UNCHANGED_TESTS}::test_a_damaged_record_is_a_full_refresh[other-root]"),
    m("index-unchanged-slow-once", "a slow index waited out twice (quick check, then ngclient)",
      UNCHANGED,
      "        if type(exc).__name__ == \"SlowRetrievalError\" and _slow(exc):  # workflow\n"
      "            raise\n", "",
      f"{UNCHANGED_TESTS}::test_a_slow_index_is_waited_for_once_and_reported_as_the_full_"
      "workflow_does[2.root.json]"),
    m("index-quick-dns-deadline", "a name lookup that never ends (slow retrieval)",
      "pepperpy/distribution/download.py",
      "    if not done.wait(max(0.0, deadline - time.monotonic())):",
      "    if not done.wait():",
      "tests/distribution/test_dns_deadline.py::"
      "test_a_resolver_that_never_answers_is_a_slow_index_by_the_deadline"),
    m("index-quick-connect-deadline", "a name with many silent addresses (slow retrieval)",
      "pepperpy/distribution/download.py",
      "        left = deadline - time.monotonic()\n"
      "        if left <= 0:  # the tries so far used up the deadline: slow, as a timeout is\n"
      "            raise TimeoutError(\"the deadline passed while connecting\")\n"
      "        sock = socket.socket(family, kind, proto)\n"
      "        try:\n"
      "            sock.settimeout(min(timeout, left))",
      "        sock = socket.socket(family, kind, proto)\n"
      "        try:\n"
      "            sock.settimeout(timeout)",
      "tests/distribution/test_connect_deadline.py::"
      "test_a_name_with_many_silent_addresses_is_a_slow_index_by_the_deadline"),
    m("index-unchanged-record-nofollow", "an index refresh that skips ngclient (a planted link)",
      UNCHANGED, "(0 if follow else os.O_NOFOLLOW)", "0",
      f"{UNCHANGED_TESTS}::test_a_damaged_record_is_a_full_refresh[link]"),
    m("index-unchanged-expiry", "freeze (the same bytes, expired)", UNCHANGED,
      "    return time.strftime(\"%Y-%m-%dT%H:%M:%SZ\", time.gmtime()) >= expires\n",
      "    return False\n", f"{UNCHANGED_TESTS}::test_the_same_bytes_expired_are_a_freeze"),
    m("index-unchanged-next-root", "root rotation missed by a refresh that skips ngclient",
      UNCHANGED, "    return status in (403, 404)\n", "    return True\n",
      f"{UNCHANGED_TESTS}::test_a_new_root_is_picked_up",
      f"{UNCHANGED_TESTS}::test_junk_for_the_next_root_is_refused_by_the_full_workflow"),
    m("index-unchanged-local-next-root", "root rotation missed by a refresh that skips ngclient",
      UNCHANGED, "    if os.path.lexists(folder / \"metadata\" / \"root_history\" / "
      "f\"{version + 1}.root.json\"):\n", "    if False:\n",
      f"{UNCHANGED_TESTS}::test_a_root_waiting_in_the_local_history_is_a_full_refresh"),
    m("index-unchanged-timestamp", "rollback or a new index state missed by a refresh that skips "
      "ngclient", UNCHANGED, "    if served != raw[\"timestamp\"]:\n", "    if False:\n",
      f"{UNCHANGED_TESTS}::test_a_timestamp_re_signed_with_a_new_version_is_a_full_refresh",
      f"{UNCHANGED_TESTS}::test_a_replayed_old_timestamp_is_refused_as_a_rollback"),
    m("index-unchanged-delegations", "delegated targets read without ngclient", UNCHANGED,
      "    if signed[\"targets\"].get(\"delegations\") is not None:\n", "    if False:\n",
      f"{UNCHANGED_TESTS}::test_delegations_are_left_to_ngclient"),
    m("index-unchanged-forget", "a record vouching for half-written metadata after a crash",
      "pepperpy/distribution/client.py",
      "            unchanged.forget(self.folder)  # before ngclient writes anything\n", "",
      f"{UNCHANGED_TESTS}::test_a_crash_mid_refresh_leaves_no_record_for_the_new_files"),
    m("index-download-length", "endless data (a bundle fetched without ngclient's fetcher)",
      "pepperpy/distribution/download.py", "        if received > max_length:\n",
      "        if False:\n", f"{UNCHANGED_TESTS}::test_endless_data_for_a_bundle"),
    m("index-download-deadline", "slow retrieval (a bundle fetched without ngclient's fetcher)",
      "pepperpy/distribution/download.py",
      "        if time.monotonic() > deadline:  # a body trickling in\n", "        if False:\n",
      f"{UNCHANGED_TESTS}::test_slow_retrieval_of_a_bundle[trickle]"),
    m("index-download-header-deadline", "slow retrieval (a bundle fetched without ngclient's "
      "fetcher)", "pepperpy/distribution/download.py",
      "        if time.monotonic() > deadline:  # headers trickling in\n",
      "        if False:\n",
      f"{UNCHANGED_TESTS}::test_slow_retrieval_of_a_bundle[trickle_headers]"),
    m("index-download-declared-deadline", "slow retrieval (a bundle fetched without ngclient's "
      "fetcher)", "pepperpy/distribution/download.py",
      "            if time.monotonic() > deadline:  # a body trickling in (declared length)\n",
      "            if False:\n",
      f"{UNCHANGED_TESTS}::test_a_declared_body_trickling_in_hits_the_deadline[memory]"),
    m("index-download-declared-deadline-into", "slow retrieval (a bundle received into an "
      "unnamed file)", "pepperpy/distribution/download.py",
      "        if time.monotonic() > deadline:  # a declared body trickling in, written\n",
      "        if False:\n",
      f"{UNCHANGED_TESTS}::test_a_declared_body_trickling_in_hits_the_deadline[into]"),
    m("index-download-declared-length", "endless data (a bundle fetched without ngclient's "
      "fetcher)", "pepperpy/distribution/download.py",
      "    if expected is not None and expected <= max_length:\n",
      "    if expected is not None:\n",
      f"{UNCHANGED_TESTS}::test_endless_data_for_a_bundle",
      f"{UNCHANGED_TESTS}::test_a_declared_body_arrives_whole"),
    m("index-unchanged-expiry-ascii", "freeze (an expiry's year rewritten in other digits, "
      "signature intact)", UNCHANGED,
      '_EXPIRES = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")',
      '_EXPIRES = re.compile(r"\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z")',
      f"{QUICK}test_the_quick_expiry_reads_as_tuf_reads",
      f"{QUICK}test_an_expiry_in_other_digits_is_still_a_freeze"),
    m("index-download-no-file-redirect", "a redirect into the local disk (a file-existence "
      "probe)", "pepperpy/distribution/download.py",
      "            if hop:  # as urllib3: an index redirects to http(s) only, never into this "
      "disk\n", "            if False:\n",
      f"{QUICK}test_a_redirect_to_a_local_file_is_not_followed",
      f"{QUICK}test_a_redirect_to_the_local_timestamp_is_not_unchanged",
      f"{QUICK}test_a_root_question_redirected_to_a_local_file_is_no_probe"),
    m("index-download-bad-url", "a hostile redirect crashing install (no PepperpyError)",
      "pepperpy/distribution/download.py", "    except ValueError as exc:  # a URL nothing can "
      "be asked of", "    except ZeroDivisionError as exc:  # a URL nothing can be asked of",
      f"{QUICK}test_a_hostile_answer_is_a_download_error[port-out-of-range]",
      f"{QUICK}test_a_hostile_answer_is_a_download_error[open-ipv6-bracket]",
      f"{QUICK}test_a_hostile_answer_is_a_download_error[long-idna-label]",
      f"{QUICK}test_a_hostile_answer_is_a_download_error[nul-in-file-path]"),
    Mutation("index-download-ascii-length", "a hostile Content-Length crashing install (no "
             "PepperpyError; the ValueError catch backs the ASCII check, so both go)", (
                 Edit("pepperpy/distribution/download.py",
                      "not (declared.isascii() and declared.isdigit())", "not declared.isdigit()"),
                 Edit("pepperpy/distribution/download.py", "    except ValueError as exc:  # a URL "
                      "nothing can be asked of", "    except ZeroDivisionError as exc:  # a URL "
                      "nothing can be asked of")),
             (f"{QUICK}test_a_hostile_bundle_answer_fails_install_cleanly",
              f"{QUICK}test_a_hostile_answer_is_a_download_error[superscript-length]")),
    m("index-download-framing-repeat", "two framing headers with two values (request "
      "smuggling, a length lie)", "pepperpy/distribution/download.py",
      "(name in _FRAMING and headers.get(name, value) != value)", "False",
      f"{UNCHANGED_TESTS}::test_the_plain_downloader_refuses_what_it_cannot_frame"),
    m("index-mirror-locked-refresh", "metadata written outside the store lock (index mirror "
      "after a quick refresh)", "pepperpy/distribution/mirror.py",
      "    if client.unchanged is not None:  # the quick refresh answered: ngclient's own, now\n"
      "        offers = client.full_refresh()\n", "",
      f"{QUICK}test_index_mirror_refreshes_only_under_the_store_lock"),
    Mutation("deadline-timer-own-context", "call deadlines lost on a loop (one callback context "
             "shared by the timers of loops in two threads)", (
                 Edit("pepperpy/reliability/watchdog.py",
                      "        self._context = contextvars.Context()\n",
                      "        self._context = _SHARED_CONTEXT\n"),
                 Edit("pepperpy/reliability/watchdog.py", '__all__ = ["Deadlines", "Watchdog"]\n',
                      '__all__ = ["Deadlines", "Watchdog"]\n'
                      '_SHARED_CONTEXT = contextvars.Context()\n')),
             ("tests/reliability/test_deadline_timer_threads.py::"
              "test_a_timer_of_another_loop_running_at_the_same_moment",)),
    m("stream-attempt-span-on-close", "a fallback's attempt missing from the trace",
      "pepperpy/reliability/layer.py",
      "                except GeneratorExit:  # the caller stopped reading: the attempt ends too\n"
      "                    if child is not None:\n"
      "                        child.set_attributes(_result_attributes(last))\n"
      "                        child.end()\n"
      "                    raise\n", "",
      "tests/reliability/test_tracing.py::"
      "test_a_stream_closed_early_after_a_fallback_ends_its_attempt_span"),
    m("stream-attempt-span-on-cancel", "a fallback's attempt missing from the trace",
      "pepperpy/reliability/layer.py",
      "                except BaseException as exc:  # cancelled, or not the provider's failure\n"
      "                    if child is not None:\n"
      "                        self._attempt_failed(call, span, child, exc)\n"
      "                    raise\n", "",
      "tests/reliability/test_tracing.py::"
      "test_a_stream_cancelled_during_a_fallback_ends_its_attempt_span"),
    m("deadline-follows-reader", "a stream's deadline cancelling the wrong task (read on by "
      "another task)", "pepperpy/reliability/layer.py",
      "                                dog.follow(task)  # type: ignore[arg-type]\n",
      "                                pass\n",
      "tests/reliability/test_deadline_timer_threads.py::"
      "test_a_stream_read_on_by_another_task_times_out_there"),
    m("manifest-duplicate-keys", "JSON tricks in plugin.json", MANIFEST,
      "object_pairs_hook=_no_duplicates,", "",
      "tests/bundle/test_manifest.py::test_json_traps_refused[duplicate-key]"),
    m("manifest-depth", "JSON tricks in plugin.json", MANIFEST,
      "if not _depth_ok(raw, limits.max_json_depth):", "if False:",
      "tests/bundle/test_manifest.py::test_json_traps_refused[deep-nesting]"),
    m("manifest-trailing-newline", "JSON tricks in plugin.json ($ and a final newline)",
      MANIFEST,
      "return _anchored(load_schema())  # type: ignore[no-any-return]",
      "return load_schema()  # type: ignore[no-any-return]",
      "tests/bundle/test_manifest.py::test_trailing_newline_never_satisfies_a_pattern"),
    m("manifest-hand-check-pattern", "plugin.json fields (the check that spares jsonschema)",
      MANIFEST, '"pattern": lambda s, r, v: isinstance(v, str) and re.search(r, v) is not None,',
      '"pattern": lambda s, r, v: True,',
      "tests/trust/test_manifest_check.py::test_the_hand_check_accepts_nothing_jsonschema_refuses",
      f"{A}[signed-invalid-schema]",
      "tests/trust/test_manifest_adversarial.py::"
      "test_the_hand_check_and_jsonschema_agree_on_adversarial_manifests"),
    m("manifest-hand-check-extra-keys", "plugin.json fields (the check that spares jsonschema)",
      MANIFEST, "r is True or (r is not False and _fits(r, item))", "True",
      "tests/trust/test_manifest_check.py::test_the_hand_check_accepts_nothing_jsonschema_refuses",
      f"{A}[signed-unknown-field]",
      "tests/trust/test_manifest_adversarial.py::"
      "test_the_hand_check_and_jsonschema_agree_on_adversarial_manifests"),
    m("stream-size-change", "a file changed while plugin verify streams it", GATE,
      "    if at != size or handle.read(1):", "    if False:",
      f"{STREAM}test_a_file_changed_while_it_is_streamed_is_refused"),
    m("cache-hit-directory", "a directory swapped between the screen and the read (cache hit)",
      GATE, "            zf.check_archive(scanned[3], entries, size)  # the screen's directory",
      "            pass  # the screen's directory",
      "tests/trust/test_cache_hit_race.py::"
      "test_a_directory_swapped_between_screen_and_read_is_refused_on_a_cache_hit",
      "tests/trust/test_cache_hit_race.py::"
      "test_a_directory_swapped_between_screen_and_stream_is_refused_on_a_cache_hit"),
    m("read-size-change", "a file changed between the screen and the whole-file read", GATE,
      "    if len(data := os.pread(handle.fileno(), size + 1, 0)) != size:",
      "    if not (data := os.pread(handle.fileno(), size + 1, 0)):",
      f"{STREAM}test_a_file_changed_after_the_screen_is_refused_when_kept_in_memory"),
    m("manifest-dependencies", "malicious requirement strings", MANIFEST,
      "        check_dependency(dep, limits=limits)\n", "        pass\n",
      f"{A}[signed-url-dependency]", f"{A}[signed-option-dependency]"),
    m("uv-sealed-environment", "hostile uv configuration (UV_*, PIP_*)",
      "pepperpy/plugins/dependencies.py",
      "cmd, cwd=cwd, env=_sealed_environment(),", "cmd, cwd=cwd, env=dict(os.environ),",
      f"{DEPS}test_uv_variables_cannot_change_what_is_installed"),
    m("uv-no-config", "hostile uv configuration (uv.toml)",
      "pepperpy/plugins/dependencies.py",
      "cmd += [\"--no-config\", \"--no-progress\", \"--color\", \"never\"]",
      "cmd += [\"--no-progress\", \"--color\", \"never\"]",
      f"{DEPS}test_uv_command_is_sealed",
      f"{DEPS}test_first_load_installs_with_uv_second_starts_no_subprocess"),
    m("uv-constraints", "a plugin's dependencies replacing the core's",
      "pepperpy/plugins/dependencies.py",
      "    if constraints_file is not None:\n        cmd += [\"--constraint\", "
      "str(constraints_file)]\n",
      "",
      f"{CONS}test_dependency_moving_a_core_package_transitively_is_refused_by_the_pinned_dry_run"),
    m("direct-conflicts", "a plugin's dependencies replacing the core's",
      "pepperpy/plugins/dependencies.py",
      "    conflicts = direct_conflicts(spec.needs(), protected)\n",
      "    conflicts = []\n",
      f"{CONS}test_plugin_needing_an_incompatible_core_dependency_is_refused_before_uv_runs",
      f"{CONS}test_conflict_with_auto_install_off_names_the_core_and_starts_nothing"),
    m("uv-require-hashes", "a package index serving other wheels",
      "pepperpy/plugins/dependencies.py",
      "cmd += [\"--require-hashes\", \"--requirements\", str(requirements_file)]",
      "cmd += [\"--requirements\", str(requirements_file)]",
      f"{DEPS}test_uv_command_is_sealed"),
    Mutation("lock-hashes", "a package index serving other wheels (uv run)", (
        Edit("pepperpy/plugins/dependencies.py",
             "cmd += [\"--require-hashes\", \"--requirements\", str(requirements_file)]",
             "cmd += [\"--requirements\", str(requirements_file)]"),
        Edit("pepperpy/plugins/depcache.py",
             "hashes = \"\".join(f\" --hash={h}\" for h in self.hashes)", "hashes = \"\"")),
        (f"{DEPS}test_hash_mismatch_is_refused_by_uv",)),
    m("install-lock", "concurrent installs corrupting state", "pepperpy/plugins/install.py",
      "    with file_lock(settings.home / \"install.lock\"):\n        state = settle("
      "settings)\n        previous",
      "    if True:\n        state = settle(settings)\n        previous",
      f"{INST}test_install_waits_for_the_install_lock_before_reading_the_state"),
    m("lock-removed-relock", "two writers at once after a lock file was removed",
      "pepperpy/fsio.py", "            if _same_file(fd, path):\n                break\n",
      "            if True:\n                break\n",
      "tests/state/test_lock_removal.py::test_a_waiter_on_a_removed_lock_file_holds_the_new_one"),
    m("one-bad-bundle-discovery", "one bad bundle taking down the rest",
      "pepperpy/plugins/discovery.py",
      "    except PepperpyError as exc:\n        return {\"problem\"",
      "    except OSError as exc:\n        return {\"problem\"",
      f"{LOAD}test_one_good_and_five_broken_bundles"),
    m("one-bad-bundle-policy", "one bad bundle taking down the rest", MANAGER,
      "                except PepperpyError as exc:\n                    failures.append("
      "(found, exc))",
      "                except OSError as exc:\n                    failures.append((found, exc))",
      f"{LOAD}test_older_plugin_path_version_is_reported_as_rollback"),
    m("listing-file-identity", "a bundle rewritten in place behind a listing's cache",
      "pepperpy/plugins/discovery.py", "st.st_mtime_ns, st.st_ctime_ns, st.st_ino",
      "st.st_mtime_ns, st.st_ino",
      "tests/plugins/test_listing_cache.py::"
      "test_same_size_and_mtime_with_other_bytes_is_checked_again"),
    m("nonblocking-open", "a FIFO named *.pepperplugin hanging discovery", GATE,
      "_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC",
      "_FLAGS = os.O_RDONLY | os.O_CLOEXEC",
      "tests/plugins/test_discovery.py::test_fifo_in_a_plugin_folder_does_not_hang_discovery"),
    m("regular-file", "a FIFO named *.pepperplugin hanging discovery", GATE,
      "if not stat.S_ISREG(mode := os.fstat(fd).st_mode):", "if (mode := 0):",
      "tests/plugins/test_discovery.py::test_fifo_in_a_plugin_folder_does_not_hang_discovery",
      f"{INST}test_fifo_is_refused_at_install_without_blocking"),
    m("load-under-install-lock", "a concurrent upgrade: new file, old record", MANAGER,
      "        with self.install_read_lock():\n            state = load_state("
      "self.settings.state_file)\n            if not offered:",
      "        if True:\n            state = load_state(self.settings.state_file)\n"
      "            if not offered:",
      f"{LOAD}test_loading_waits_for_an_install_holding_the_lock"),
    m("read-again-after-install", "a read of a home with no lock file mixing the state "
      "before an install and after", "pepperpy/plugins/state.py",
      "        if absent and os.path.lexists(path):\n            raise InstallStarted(path)",
      "        if False:\n            raise InstallStarted(path)",
      "tests/plugins/test_read_only.py::"
      "test_a_read_without_a_lock_file_is_read_again_when_an_install_starts"),
    m("trust-store-not-json", "corrupt trust store", "pepperpy/bundle/trust.py",
      "        data = parse_json(raw, path=self.path, what=\"trust store\", fix=self._fix(), "
      "depth=8)\n",
      "        try:\n            data = parse_json(raw, path=self.path, what=\"trust store\", "
      "fix=self._fix(), depth=8)\n        except ConfigurationError:\n"
      "            return {}, set()\n",
      "tests/bundle/test_trust_cli.py::test_corrupt_trust_store"),
    m("trust-store-version", "corrupt trust store", "pepperpy/bundle/trust.py",
      "        if not isinstance(data, dict) or data.get(\"version\") != STORE_VERSION:",
      "        if not isinstance(data, dict):",
      "tests/bundle/test_trust_cli.py::test_corrupt_trust_store"),
    m("private-key-0600", "leaked secrets", "pepperpy/bundle/keys.py",
      "_write_new(private_path, key.private_pem(passphrase=passphrase), 0o600)",
      "_write_new(private_path, key.private_pem(passphrase=passphrase), 0o644)",
      "tests/bundle/test_keys.py::test_keygen_writes_0600_key_and_pub"),
    m("cli-printable-list", "terminal escapes in untrusted names (list)",
      "pepperpy/cli/manage.py",
      "        print(printable(f\"{r.state:<21} {r.name or '?'}",
      "        print((f\"{r.state:<21} {r.name or '?'}",
      f"{INST}test_list_doctor_and_errors_escape_terminal_controls_in_file_names"),
    m("cli-printable-errors", "terminal escapes in untrusted names (errors)",
      "pepperpy/cli/__init__.py",
      "return printable(\" \".join(message.split()))",
      "return \" \".join(message.split())",
      f"{INST}test_list_doctor_and_errors_escape_terminal_controls_in_file_names"),
    m("uv-output-escape", "terminal escapes in uv's output", "pepperpy/plugins/dependencies.py",
      "progress(f\"  uv: {printable(line)}\")",
      "progress(f\"  uv: {line}\")",
      "tests/plugins/test_dependencies.py::"
      "test_uv_output_is_relayed_with_terminal_escapes_neutralised"),
    m("cli-chat-escape", "terminal escapes in model output (chat)", "pepperpy/cli/chat.py",
      "sys.stdout.write(terminal_text(chunk.content))",
      "sys.stdout.write(chunk.content)",
      "tests/e2e/test_cli_chat.py::test_chat_output_escapes_control_and_bidi_characters"),
    m("demo-escape", "terminal escapes in model output (demo)", "tools/demo.py",
      "A: {terminal_text(content.strip())}",
      "A: {content.strip()}",
      "tests/e2e/test_cli_chat.py::test_demo_answer_is_escaped"),
    m("conformance-secret-logs", "leaked secrets (a provider's log lines)",
      "packages/pepperplug-testing/pepperpy_testing/conformance/common.py",
      "        shown += [(f\"a log record of {r.name!r}\", _log_text(r)) for r in records]\n",
      "",
      "tests/testing/test_conformance_suite.py::"
      "test_a_provider_that_leaks_a_secret_fails_and_the_report_masks_it"),
    m("conformance-report-mask", "leaked secrets (the suite's report)",
      "packages/pepperplug-testing/pepperpy_testing/conformance/runner.py",
      "    return _masked(outcome, harness.secrets())",
      "    return outcome",
      "tests/testing/test_conformance_suite.py::"
      "test_a_provider_that_leaks_a_secret_fails_and_the_report_masks_it"),
    m("docx-declared-size", "a .docx ZIP bomb given to rag.add_files",
      "plugin_src/documents_docx_provider/provider.py",
      "    if total > max_bytes:", "    if False:",
      f"{DOCS}test_loaders.py::test_docx_bomb_is_refused_by_declared_size"),
    m("docx-ratio", "a .docx ZIP bomb given to rag.add_files",
      "plugin_src/documents_docx_provider/provider.py",
      "if entry.file_size > max_ratio * max(entry.compress_size, 1) and",
      "if False and",
      f"{DOCS}test_loaders.py::test_docx_bomb_by_ratio"),
    m("html-depth", "HTML nested deep enough to stall the parser",
      "plugin_src/documents_html_provider/provider.py",
      "        if depth > limit:\n            raise ValidationError(",
      "        if False:\n            raise ValidationError(",
      f"{DOCS}test_loaders.py::test_deep_html_is_refused_before_parsing"),
    m("milvus-filter-quoting", "metadata filters pasted into a Milvus expression",
      "plugin_src/rag_milvus_provider/provider.py",
      "literal = json.dumps(value, ensure_ascii=False)", "literal = f'\"{value}\"'",
      "tests/rag/test_milvus_contract.py::test_filter_values_are_quoted_not_pasted"),
    m("ingest-escaped-names", "terminal escapes in file names given to rag.add_files",
      "pepperpy/ingest.py",
      'log.warning("skipped %s: %s", printable(str(path)), printable(reason))',
      'log.warning("skipped %s: %s", path, reason)',
      f"{DOCS}test_add_files.py::test_a_hostile_file_name_stays_one_escaped_line"),
    m("tool-schema", "tool arguments the schema does not allow", "pepperpy/tools.py",
      "        problem = _mismatch(tool, call.arguments)\n",
      "        problem = None\n",
      f"{TOOL}test_arguments_are_checked_against_the_schema_before_the_tool_runs"),
    m("tool-schema-direct", "tool arguments the schema does not allow", "pepperpy/tools.py",
      "        problem = _mismatch(tool, arguments if arguments is not None else {})",
      "        problem = None",
      f"{MCP}test_arguments_that_do_not_match_the_schema_are_refused_before_the_call"),
    m("tool-result-size", "tool results flooding the prompt", "pepperpy/tools.py",
      "        if len(text) <= self._max_chars:", "        if True:",
      f"{TOOL}test_a_huge_tool_result_is_cut_before_it_reenters_the_prompt"),
    m("tool-error-result-size", "an error result repeating the model's arguments (a schema "
      "or signature mismatch, a tool's exception) flooding the prompt uncut",
      "pepperpy/tools.py", "        return self._bounded(await self._reply(call))",
      "        return await self._reply(call)",
      f"{TOOL}test_an_error_result_repeating_the_models_arguments_is_cut_too"),
    m("tool-call-budget", "runaway tool loops", "pepperpy/tools.py",
      "        if len(self.steps) >= self._max_calls:", "        if False:",
      f"{TOOL}test_calls_past_max_tool_calls_are_answered_with_an_error_not_run"),
    m("mcp-stuck-start", "MCP server processes left running",
      "plugin_src/tools_mcp_provider/provider.py",
      "            task.cancel()  # still starting", "            pass  # still starting",
      f"{MCP}test_a_server_that_never_answers_times_out_and_is_stopped"),
)

# Durable state (docs/security.md, "Durable state"): the one writer, bounded state reads,
# the install journal, resumable publishing, the response cache, text at the door.
FSIO = "pepperpy/fsio.py"
STATE = "tests/state/"
CRASH = "tests/state/test_crash.py::"
DAMAGED = "tests/state/test_damaged.py::test_damaged_state_file_is_refused_by_name"
MIRROR = "tests/distribution/test_mirror_writes.py::"
INCOMING = "tests/distribution/test_incoming.py::"
RCACHE = "tests/reliability/test_cache.py::"


def _server_text_rows() -> list[Mutation]:
    """What the server chose (a tool name, a call id, its model, an id) shown bounded and
    redacted, or refused when it is not text."""
    bounded = "tests/llm/test_server_text_bounded.py::"
    named = f"{HOSTILE}test_a_model_or_id_that_is_not_text_is_a_provider_error_naming_it"
    return [
        m("openai-tool-name-shown", "a tool name the server chose (the API key it was sent, "
          "or a megabyte) repeated whole in an error about the tool's arguments",
          OPENAI_CHAT, "        return repr(shown(name, 100, self.config.get(\"api_key\")))",
          "        return repr(name)",
          f"{bounded}test_openai_generate_arguments_not_json_do_not_repeat_the_tool_name",
          f"{bounded}test_openai_stream_tool_errors_do_not_repeat_the_tool_name"),
        m("anthropic-tool-name-shown", "a tool name the server chose repeated whole in an "
          "error about the tool's input", ANTHROPIC,
          "    return repr(shown(name, 100, secret))", "    return repr(name)",
          f"{bounded}test_anthropic_generate_a_tool_input_error_does_not_repeat_the_tool_name",
          f"{bounded}test_anthropic_stream_tool_input_errors_do_not_repeat_the_tool_name"),
        m("shown-bounded", "the server's words cut to no length: a megabyte in a message, a "
          "tool result sent back to the model, or a span", "pepperpy/http_errors.py",
          "    return text if len(text) <= limit else f\"{text[:limit]}...\"",
          "    return text",
          f"{bounded}test_openai_generate_arguments_not_json_do_not_repeat_the_tool_name"
          "[a-megabyte]",
          f"{bounded}test_a_tool_name_never_offered_is_answered_without_repeating_it_whole"),
        m("tool-runner-name-shown", "a tool name never offered (or a call id) sent back to the "
          "model, or into a span, whole: a megabyte a prompt-injected model chose",
          "pepperpy/tools.py", "    text = shown(str(text), 100)", "    text = str(text)",
          f"{bounded}test_a_tool_name_never_offered_is_answered_without_repeating_it_whole",
          f"{bounded}test_a_tool_calls_id_reaches_its_span_bounded"),
        m("span-server-text-bounded", "the model and finish reason the server names reaching "
          "the call's span whole", "pepperpy/reliability/layer.py",
          "    if value.__class__ is str and len(value) > 300:", "    if False:",
          f"{bounded}test_the_model_and_finish_reason_the_server_names_reach_the_span_bounded"),
        m("openai-model-type", "a model that is a number, a list or an object reaching the "
          "answer", OPENAI_CHAT,
          "        if model.__class__ is not str and model is not None:", "        if False:",
          f"{named}[openai-model-number]", f"{named}[openai-model-list]"),
        m("openai-id-type", "an id that is not text reaching the answer's metadata",
          OPENAI_CHAT,
          "        if reply_id.__class__ is not str and reply_id is not None:",
          "        if False:", f"{named}[openai-id-number]", f"{named}[openai-id-object]"),
        m("openai-refusal-type", "a refusal that is not text reaching the answer's metadata",
          OPENAI_CHAT, "            metadata[\"refusal\"] = self._text(refusal, \"a refusal\")",
          "            metadata[\"refusal\"] = refusal",
          f"{HOSTILE}test_openai_a_refusal_that_is_not_text_is_a_provider_error"),
        m("anthropic-model-type", "a model that is not text reaching the answer", ANTHROPIC,
          "        if model.__class__ is not str and model is not None:", "        if False:",
          f"{named}[anthropic-model-number]", f"{named}[anthropic-model-list]"),
        m("anthropic-id-type", "an id that is not text reaching the answer's metadata",
          ANTHROPIC,
          "        if message_id.__class__ is not str and message_id is not None:",
          "        if False:", f"{named}[anthropic-id-number]", f"{named}[anthropic-id-object]"),
    ]


def _openai_wire_rows() -> list[Mutation]:
    """The shape checks of the OpenAI-compatible provider, which reads the JSON body and
    the server-sent events itself: each removed, what the server sent escapes as a bare
    exception (or a wrong value) instead of a ProviderError naming it."""
    gen, ev = f"{OPENAI_WIRE}test_generate_a_body_of_the_wrong_shape_is_a_provider_error", \
        f"{OPENAI_WIRE}test_stream_an_event_of_the_wrong_shape_is_a_provider_error"
    off = "if False:"
    rows = [  # id, snippet, replacement, the cases of the two tests that must fail
        ("body-json", "        except (ValueError, RecursionError) as exc:  # ValueError: not",
         "        except KeyError as exc:  # ValueError: not",
         [f"{gen}[not-json]", f"{gen}[not-utf8]", f"{gen}[nested-too-deep]"]),
        ("body-object", "        if value.__class__ is not dict:", f"        {off}",
         [f"{gen}[not-an-object]"]),
        ("choices", "        if choices.__class__ is not list or not choices or choices[0]",
         "        if False or choices[0]", [f"{gen}[no-choices]"]),
        ("message", "        if message.__class__ is not dict:", f"        {off}",
         [f"{gen}[no-message]"]),
        ("text", "        if value.__class__ is not str:", f"        {off}",
         [f"{gen}[tool-id-not-text]", f"{gen}[tool-name-not-text]",
          f"{ev}[tool-id-not-text]"]),
        ("event-arguments-text", "                    if args.__class__ is not str:",
         f"                    {off}", [f"{ev}[arguments-not-text]"]),
        ("finish-reason", "        if value is None or value.__class__ is str:",
         "        if True:", [f"{gen}[finish-not-text]", f"{ev}[finish-not-text]"]),
        ("usage-object", "        if raw.__class__ is not dict:", f"        {off}",
         [f"{gen}[usage-not-an-object]", f"{ev}[usage-not-an-object]"]),
        ("calls-list", "        if wire.__class__ is not list:", f"        {off}",
         [f"{gen}[tool-calls-not-a-list]"]),
        ("call-object", "            if call.__class__ is not dict:", f"            {off}",
         [f"{gen}[tool-call-not-an-object]"]),
        ("call-function", "            if function.__class__ is not dict:\n"
         "                raise self._broken(\"sent a function call",
         f"            {off}\n                raise self._broken(\"sent a function call",
         [f"{gen}[function-missing]"]),
        ("event-json", "                    except (ValueError, RecursionError) as exc:",
         "                    except KeyError as exc:",
         [f"{ev}[not-json]", f"{ev}[nested-too-deep]"]),
        ("event-object", "                    if chunk.__class__ is not dict:",
         f"                    {off}", [f"{ev}[not-an-object]", f"{ev}[null]"]),
        ("event-choice", "                    if choice.__class__ is not dict:",
         f"                    {off}", [f"{ev}[choices-not-a-list]",
                                       f"{ev}[choice-not-an-object]"]),
        ("event-delta", "                    if delta.__class__ is not dict:",
         f"                    {off}", [f"{ev}[delta-not-an-object]"]),
        ("event-calls-list", "        if pieces.__class__ is not list:", f"        {off}",
         [f"{ev}[tool-calls-not-a-list]"]),
        ("event-call-object", "            if piece.__class__ is not dict:",
         f"            {off}", [f"{ev}[tool-call-not-an-object]"]),
        ("event-call-index", "                if index is not None:", f"                {off}",
         [f"{ev}[index-not-a-number]"]),
        ("event-call-function", "                if function.__class__ is not dict:\n"
         "                    raise self._broken(\"streamed a tool call whose function",
         f"                {off}\n"
         "                    raise self._broken(\"streamed a tool call whose function",
         [f"{ev}[function-not-an-object]"]),
    ]
    return [m(f"openai-wire-{name}", "a body or event of the wrong shape from a hostile or "
              "broken OpenAI-compatible server escaping as a bare exception or a wrong value",
              OPENAI_CHAT, find, replace, *tests) for name, find, replace, tests in rows]


MUTATIONS += (
    m("writer-link-target", "writes through a planted link", FSIO,
      "    if not stat.S_ISREG(st.st_mode):\n        raise state_error(path, "
      "f\"is {_kind(st.st_mode)}, not a file\",",
      "    if False:\n        raise state_error(path, "
      "f\"is {_kind(st.st_mode)}, not a file\",",
      f"{STATE}test_writer.py::test_a_link_at_the_target_is_refused_and_not_followed",
      f"{INCOMING}test_a_link_planted_at_the_bundle_is_refused_and_not_followed",
      f"{MIRROR}test_links_planted_in_the_mirror_change_nothing_outside_it[bundle-file]"),
    m("writer-link-folder", "writes through a planted link", FSIO,
      "return os.open(part, _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=fd)",
      "return os.open(part, _DIR_FLAGS, dir_fd=fd)",
      f"{STATE}test_writer.py::test_a_linked_folder_below_the_root_is_refused",
      f"{INCOMING}test_a_linked_plugin_folder_is_refused_before_anything_is_received",
      f"{MIRROR}test_links_planted_in_the_mirror_change_nothing_outside_it[metadata-folder]"),
    m("writer-confined", "files created outside their folder", FSIO,
      "        raise StateError(f\"{folder} is outside {base}; PepperPy writes nothing there\",\n"
      "                         path=str(folder)) from None",
      "        base, parts = folder, ()",
      f"{STATE}test_writer.py::test_creates_nothing_outside_its_root"),
    m("writer-names-target", "errors naming a temp file, not the file written", FSIO,
      "        raise write_error(path, exc) from exc\n\n\ndef ensure_folder",
      "        raise\n\n\ndef ensure_folder",
      f"{STATE}test_writer.py::test_a_failed_write_names_the_target_and_removes_its_temp_file",
      f"{STATE}test_full_disk.py::test_full_disk_during_install_keeps_the_old_version"),
    m("writer-temp-removed", "temporary files left by a failed write", FSIO,
      "    except BaseException:\n        with contextlib.suppress(OSError):\n"
      "            os.unlink(tmp, dir_fd=temp_folder)\n        raise",
      "    except BaseException:\n        raise",
      f"{STATE}test_writer.py::test_a_failed_write_names_the_target_and_removes_its_temp_file"),
    m("incoming-names-target", "errors naming nothing useful (a full disk while a bundle "
      "arrives)", "pepperpy/plugins/incoming.py",
      "        except OSError as exc:  # a full disk: nothing was changed, the file vanishes\n"
      "            raise write_error(self.target, exc) from exc\n",
      "        except ZeroDivisionError:\n            raise\n",
      f"{INCOMING}test_a_full_disk_while_receiving_names_the_bundle_and_leaves_nothing"),
    m("incoming-unnamed", "an unverified download others can open, or left behind",
      FSIO, "return os.open(\".\", flag | os.O_RDWR | os.O_CLOEXEC, 0o600, dir_fd=dir_fd)",
      "return os.open(\"incoming\", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600, "
      "dir_fd=dir_fd)",
      f"{INCOMING}test_the_incoming_file_has_no_name_until_it_is_named",
      f"{INCOMING}test_a_refused_download_leaves_the_plugin_folder_as_it_was"),
    m("incoming-folder-removed", "a refused first install leaving an empty plugin folder",
      "pepperpy/plugins/incoming.py", "        incoming.created = folder if new else None",
      "        incoming.created = None",
      f"{INCOMING}test_a_refused_first_install_leaves_no_plugin_folder_behind"),
    m("incoming-folder-removed-locked", "a refused first install removing the plugin folder "
      "another install has opened to name its bundle in (that install then fails)",
      "pepperpy/plugins/incoming.py",
      '        with file_lock(settings.home / "install.lock"):\n',
      "        with contextlib.nullcontext():\n",
      f"{INCOMING}test_a_refused_first_install_never_removes_the_folder_another_install_is_naming_in"),
    m("incoming-folder-removed-in-memory", "a refused first install leaving an empty plugin "
      "folder where the system turned out to have no unnamed files (kept in memory)",
      "pepperpy/plugins/incoming.py",
      "            if new:  # the folder was made before the system said it has no unnamed files",
      "            if False:",
      f"{INCOMING}test_a_refused_first_install_leaves_no_plugin_folder_behind"),
    m("incoming-synced-first", "a named bundle lost to a power cut (named before fsynced)",
      "pepperpy/plugins/incoming.py", "        self._joined()  # durable before it has a name\n",
      "", f"{INCOMING}test_the_bundle_is_durable_before_it_gets_a_name",
      f"{INCOMING}test_a_failed_fsync_of_the_bundle_installs_nothing"),
    m("incoming-sync-error", "a bundle whose fsync failed named and recorded",
      "pepperpy/plugins/incoming.py", "        if self._sync_error:\n", "        if False:\n",
      f"{INCOMING}test_a_failed_fsync_of_the_bundle_installs_nothing"),
    m("mirror-hash-is-hex", "a hostile index naming a path outside the mirror",
      "pepperpy/distribution/catalog.py", "not _SHA256.fullmatch(sha) or ", "",
      f"{MIRROR}test_a_hostile_index_cannot_name_a_path_outside_the_mirror"),
    m("mirror-spool", "unverified downloads in the mirror; writes through links",
      "pepperpy/distribution/mirror.py", "info, filepath=str(spool / offer.path))",
      "info, filepath=str(target))",
      f"{MIRROR}test_links_planted_in_the_mirror_change_nothing_outside_it[bundle-file]",
      f"{MIRROR}test_mirror_downloads_pass_through_the_private_spool"),
    m("state-regular-file", "a state file that is a device, a folder or a FIFO", FSIO,
      "        if not stat.S_ISREG(st.st_mode):\n            raise state_error(path, "
      "f\"(the {what}) is",
      "        if False:\n            raise state_error(path, f\"(the {what}) is",
      f"{STATE}test_reads.py::test_not_a_file_is_refused_by_name"),
    Mutation("state-size-bound", "unbounded state reads (200 MB, /dev/zero)", (
        Edit(FSIO, "        if st.st_size > limit:", "        if False:"),
        Edit(FSIO, "        while size <= limit:", "        while True:")),
        (f"{STATE}test_reads.py::test_size_is_checked_before_reading",)),
    m("state-depth", "deeply nested state files", FSIO,
      "    if _too_deep(text, depth):", "    if False:",
      f"{STATE}test_reads.py::test_nesting_is_checked_before_parsing"),
    Mutation("state-empty-is-damage", "a damaged trust store read as empty (revocations lost)", (
        Edit(FSIO, "    if not raw.strip():\n        raise state_error(",
             "    if not raw.strip():\n        return None\n        raise state_error("),
        Edit("pepperpy/bundle/trust.py", "        if raw is not None and not raw.strip():",
             "        if False:")),
        (f"{DAMAGED}[trust.json]",
         f"{STATE}test_reads.py::test_missing_is_none_but_empty_is_damage")),
    m("trust-backup", "revocations lost with a damaged trust store", "pepperpy/bundle/trust.py",
      "        atomic_write(self.backup, data, mode=0o600)\n", "",
      f"{STATE}test_crash_index.py::test_trust_change_killed_at_every_write_point_keeps_"
      "revocations[revoke]"),
    m("pinned-root-local", "local damage blamed on the index", "pepperpy/distribution/client.py",
      "except (ValueError, KeyError, TypeError, RepositoryError) as exc:",
      "except (ValueError, KeyError, TypeError) as exc:",
      f"{DAMAGED}[indexes/main/root.json]"),
    m("install-journal", "a crash between bundle and record: a working plugin refused",
      "pepperpy/plugins/install.py",
      "    save_state(settings.state_file, journal)\n    try:", "    try:",
      f"{CRASH}test_install_upgrade_killed_at_every_write_point"),
    m("load-accepts-pending", "a crash between bundle and record: a working plugin refused",
      MANAGER, "        state = settled_for(state, m.name, verified.digest)", "",
      f"{CRASH}test_install_upgrade_killed_at_every_write_point"),
    m("doctor-accepts-pending", "doctor calling a half-done install tampered",
      "pepperpy/plugins/doctor.py",
      "    state = settled_for(state, manifest.name, str(found.digest))", "",
      f"{CRASH}test_install_upgrade_killed_at_every_write_point"),
    m("settle-leftovers", "leftovers of crashed installs", "pepperpy/plugins/install.py",
      "    for leftover in install_leftovers(settings):\n        remove_file(leftover)",
      "    for leftover in install_leftovers(settings):\n        pass",
      f"{CRASH}test_doctor_lists_what_a_crash_left_and_fix_settles_it"),
    m("rag-prune-only-gone", "chunks of a file that is still there deleted by a prune",
      "pepperpy/rag_remove.py",
      "             if any(_under(p, root) for root in roots) and gone(p)}",
      "             if any(_under(p, root) for root in roots)}",
      "tests/documents/test_remove.py::"
      "test_prune_keeps_files_that_exist_but_cannot_be_read_now"),
    m("rag-remove-folder-boundary", "a sibling folder's chunks removed with a folder",
      "pepperpy/rag_remove.py",
      "    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)",
      "    return path.startswith(root)",
      "tests/documents/test_remove.py::test_a_path_with_no_chunks_removes_nothing_and_says_so"),
    m("rag-remove-folder-links", "a removed folder's files read through its links kept",
      "pepperpy/rag_remove.py",
      "            reached, led = _reached(raw) if os.path.isdir(identity) else (frozenset(), [])",
      "            reached, led = frozenset(), _reached(raw)[1] if os.path.isdir(identity) else []",
      "tests/documents/test_remove.py::"
      "test_removing_a_folder_takes_the_files_add_files_read_through_its_links"),
    m("rag-prune-broken-links", "a pruned folder still answered from files gone from "
      "behind its links", "pepperpy/ingest.py",
      "    led = broken_links(unreadable) if prune else []",
      "    led = []",
      "tests/documents/test_remove.py::"
      "test_prune_takes_what_was_read_through_a_link_whose_target_is_gone"),
    m("rag-remove-broken-links", "a removed folder still answered from files gone from "
      "behind its links", "pepperpy/rag_remove.py",
      "    return frozenset(os.path.realpath(p) for p in files), broken_links(skipped)",
      "    return frozenset(os.path.realpath(p) for p in files), []",
      "tests/documents/test_remove.py::"
      "test_a_folder_left_with_only_broken_links_can_be_pruned_and_removed"),
    m("rag-paths-nul", "a path with a NUL failing deep in the walk as a bare ValueError",
      "pepperpy/ingest_walk.py", '        if isinstance(path, str) and "\\0" not in path:',
      "        if isinstance(path, str):",
      "tests/documents/test_remove.py::"
      "test_what_is_not_a_list_of_paths_is_refused_with_what_to_pass"),
    m("cli-groups-name-folded", "the top-level help naming a group's distribution other than "
      "importlib.metadata does (a folded Name)", "pepperpy/cli/groups_found.py",
      "            return None if folded else value.strip()",
      "            return value.strip()",
      "tests/core/test_cli_groups.py::"
      "test_a_name_email_reads_otherwise_is_left_to_importlib_metadata"),
    m("cli-groups-name-headers", "the top-level help naming a group's distribution other than "
      "importlib.metadata does (a Name after the headers ended)",
      "pepperpy/cli/groups_found.py",
      '        if not re.match(r"[\\x21-\\x39\\x3b-\\x7e]*:", line):\n            return None\n',
      "", "tests/core/test_cli_groups.py::"
      "test_a_name_email_reads_otherwise_is_left_to_importlib_metadata"),
    m("update-settles-pending", "an update leaving a crashed install unsettled",
      "pepperpy/plugins/state.py",
      "    return bool(load_state(settings.state_file).pending or install_leftovers(settings))",
      "    return False",
      f"{STATE}test_crash_index.py::"
      "test_update_with_nothing_newer_settles_what_a_killed_install_left"),
    m("repo-finish-interrupted", "a retried publish reporting success with nothing served",
      "packages/pepperplug-dev/pepperpy_dev/repository.py",
      "            self.finish_interrupted(signers)\n            targets = self.targets()",
      "            targets = self.targets()",
      f"{STATE}test_crash_index.py::test_repo_add_killed_at_every_write_point_is_finished_"
      "by_running_it_again"),
    m("repo-staging", "temporary files in a served folder",
      "packages/pepperplug-dev/pepperpy_dev/repository.py",
      "atomic_write(path, data, root=self.folder, staging=self.staging_dir)",
      "atomic_write(path, data, root=self.folder)",
      f"{STATE}test_crash_index.py::test_repo_add_killed_at_every_write_point_is_finished_"
      "by_running_it_again"),
    m("index-clean", "leftovers of crashed index commands", "pepperpy/distribution/fetch.py",
      "                    self.store.clean()\n", "",
      f"{STATE}test_crash_index.py::test_update_killed_at_every_write_point"),
    m("cache-identity", "one tenant's cached answer served to another",
      "pepperpy/reliability/cache.py",
      "\"chain\": [[name, _digest(\"config\", _canonical(dict(config)))]",
      "\"chain\": [[name, None]",
      f"{RCACHE}test_two_tenants_sharing_one_cache_never_see_each_others_answers"),
    m("cache-check", "a poisoned cache entry served", "pepperpy/reliability/cache.py",
      "    if entry.get(\"check\") != _digest(\"check\", key):", "    if False:",
      f"{RCACHE}test_a_poisoned_or_malformed_entry_is_a_miss[foreign-check]"),
    m("cache-malformed", "a malformed cache entry served or a KeyError",
      "pepperpy/reliability/cache.py",
      "    if not isinstance(data, dict) or not isinstance(data.get(\"content\"), str):",
      "    if False:",
      f"{RCACHE}test_a_poisoned_or_malformed_entry_is_a_miss[content-not-text]"),
    m("text-generate", "lone surrogates failing deep in an SDK", "pepperpy/chat.py",
      "            check_text(m.content, f\"message {number} ({m.role.value})\")",
      "            pass",
      "tests/llm/test_bad_text.py::test_generate_names_the_message_instead_of_failing_in_the_sdk"),
    m("text-learn", "lone surrogates failing deep in a store", "pepperpy/rag_builder.py",
      "            check_text(text, f\"text {number}\"", "            (text, f\"text {number}\"",
      "tests/llm/test_bad_text.py::test_learn_names_the_text"),
    m("anthropic-stream-tool-json", "a streamed tool input that is not JSON escaping the "
      "anthropic plugin as a JSONDecodeError/TypeError",
      "plugin_src/llm_anthropic_provider/provider.py",
      "                    data = _streamed_input(block[\"name\"], block[\"json\"], self._key)",
      "                    data = json.loads(\"\".join(block[\"json\"]) or \"{}\")",
      "tests/llm/test_anthropic_hostile_stream.py::"
      "test_a_tool_input_that_is_not_json_fails_the_stream_as_a_provider_error"),
    m("anthropic-stream-text-type", "a streamed text piece that is null or a number reaching "
      "the caller as a chunk whose content is not text (a TypeError in the CLI)", ANTHROPIC,
      "                            if text.__class__ is not str:  # not checked by json.loads",
      "                            if False:",
      f"{HOSTILE}test_anthropic_a_streamed_text_piece_that_is_not_text_is_a_provider_error"),
    m("anthropic-stream-structured-type", "a structured-output piece that is not text "
      "reaching the caller as a chunk", ANTHROPIC,
      "                                if piece.__class__ is not str:",
      "                                if False:",
      f"{HOSTILE}test_anthropic_a_streamed_structured_piece_that_is_not_text_is_a_provider_error"),
    m("anthropic-usage-type", "usage counts that are not integers escaping as a TypeError",
      ANTHROPIC,
      "    if prompt.__class__ is not int or completion.__class__ is not int:",
      "    if False:",
      f"{HOSTILE}test_usage_counts_that_are_not_integers_are_a_provider_error"),
    m("anthropic-generate-tool-input-type", "a tool input that is a list or a string escaping "
      "generate as a TypeError/ValueError, or a stream passing it on as the arguments "
      "(a bare TypeError in the tool loop)", ANTHROPIC,
      "    if data.__class__ is not dict:", "    if False:",
      f"{HOSTILE}test_anthropic_generate_a_tool_input_that_is_not_an_object_is_a_provider_error",
      f"{WIRE}test_a_streamed_tool_input_that_is_not_an_object_is_a_provider_error"),
    m("anthropic-generate-text-type", "a text block that is not text escaping generate as a "
      "TypeError", ANTHROPIC,
      "                    if block[\"text\"].__class__ is not str:",
      "                    if False:",
      f"{HOSTILE}test_anthropic_generate_a_text_block_that_is_not_text_is_a_provider_error"),
    m("anthropic-call-types", "a tool call id or name that is not text reaching the caller "
      "(a tool looked up by a number, an id sent back as one)", ANTHROPIC,
      "    if call_id.__class__ is not str or name.__class__ is not str:", "    if False:",
      f"{WIRE}test_a_stream_event_that_is_not_what_it_should_be_is_a_provider_error"
      "[call-id-number]",
      f"{WIRE}test_an_answer_that_is_not_what_it_should_be_is_a_provider_error[call-id-number]"),
    m("anthropic-stop-type", "a stop reason that is not text reaching the caller as the "
      "finish reason", ANTHROPIC,
      "    if stop is not None and stop.__class__ is not str:", "    if False:",
      f"{WIRE}test_a_stream_event_that_is_not_what_it_should_be_is_a_provider_error"
      "[stop-number]",
      f"{WIRE}test_an_answer_that_is_not_what_it_should_be_is_a_provider_error[stop-list]"),
    m("anthropic-event-json", "a streamed event that is not JSON escaping as a "
      "JSONDecodeError", ANTHROPIC,
      "raise _broken(f\"sent {_named(event)} that is not JSON\") from exc", "raise",
      f"{WIRE}test_a_stream_event_that_is_not_what_it_should_be_is_a_provider_error[not-json]"),
    m("anthropic-answer-json", "an answer body that is not JSON escaping as a "
      "JSONDecodeError", ANTHROPIC,
      "        raise _broken(f\"sent {what} that is not JSON\") from exc", "        raise",
      f"{WIRE}test_an_answer_that_is_not_what_it_should_be_is_a_provider_error[not-json]"),
    m("anthropic-answer-object", "an answer body that is JSON but not an object escaping "
      "as a TypeError", ANTHROPIC,
      "    if value.__class__ is not dict:", "    if False:",
      f"{WIRE}test_an_answer_that_is_not_what_it_should_be_is_a_provider_error[a-list]"),
    m("anthropic-event-shape", "a streamed event with a field missing or of the wrong type "
      "escaping as a KeyError/TypeError/AttributeError", ANTHROPIC,
      "raise _shape(_named(event) if event else \"a stream\", exc) from exc", "raise",
      f"{WIRE}test_a_stream_event_that_is_not_what_it_should_be_is_a_provider_error[no-delta]"),
    m("anthropic-answer-shape", "an answer with a field missing or of the wrong type escaping "
      "as a KeyError/TypeError", ANTHROPIC,
      "raise _shape(\"an answer\", exc) from exc", "raise",
      f"{WIRE}test_an_answer_that_is_not_what_it_should_be_is_a_provider_error[no-content]"),
    m("anthropic-request-own-error", "a request that fails before any answer blamed on the "
      "server as a stream of the wrong shape", ANTHROPIC,
      "            if response is None:  # the request's own failure, before any answer\n"
      "                raise\n", "",
      f"{WIRE}test_a_request_the_sdk_cannot_send_is_not_blamed_on_the_server"),
    m("anthropic-error-event", "an error event mid-stream read as an unknown event: the "
      "stream ends as if answered", ANTHROPIC,
      "                    if event == \"error\":", "                    if False:",
      f"{WIRE}test_an_error_event_is_the_error_its_type_names"),
    m("anthropic-error-event-type", "an overload (or any error) inside a stream read as a "
      "refused request (200): never retried, and named as the caller's fault",
      "plugin_src/llm_anthropic_provider/_errors.py",
      "    if status < 400:  # an `error` event in a stream", "    if False:",
      f"{WIRE}test_an_overload_before_any_text_is_retried"),
    m("anthropic-stream-timeout", "a stalled stream reported as a dropped connection, not a "
      "timeout", ANTHROPIC,
      "    if any(c.__name__ == \"TimeoutException\" for c in type(exc).__mro__):",
      "    if False:",
      f"{WIRE}test_a_stream_that_stalls_times_out"),
    m("anthropic-stream-closed", "a stream left early keeping its connection checked out",
      ANTHROPIC,
      "            async with self._require_client().messages.with_streaming_response.create(\n"
      "                    **params) as response:",
      "            manager = self._require_client().messages.with_streaming_response.create("
      "**params)\n            if True:\n                response = await manager.__aenter__()",
      f"{WIRE}test_leaving_a_stream_early_closes_its_connection[break]"),
    m("anthropic-sse-runtime", "a 1.1 bundle on a runtime without pepperpy.sse failing with "
      "a bare \"cannot import name\"", ANTHROPIC,
      "except ImportError as exc:  # a runtime from before pepperpy.sse: say what to do",
      "except ZeroDivisionError as exc:",
      "tests/llm/test_text_chunk.py::"
      "test_the_anthropic_plugin_on_a_runtime_from_before_pepperpy_sse_says_what_to_do"),
    m("worker-fork-close", "a worker's inbox, alive in a forked child, closing the parent's "
      "descriptor numbers there (at exit, or stopped or collected): the child's own files "
      "reused those numbers", "plugin_src/_shared/_worker.py",
      "        ends, self._ends = self._ends, ()\n        if self._fork != _forks[0]:\n"
      "            return\n", "        ends, self._ends = self._ends, ()\n",
      "tests/rag/test_worker.py::"
      "test_a_forked_child_never_closes_the_descriptors_of_its_parents_worker"),
    m("worker-fork-stop", "stop() in a forked child taking the parent's worker lock (held at "
      "the fork: a hang) and closing its inbox", "plugin_src/_shared/_worker.py",
      "        if self._fork != _forks[0]:  # a forked child: no thread to stop, and the inbox",
      "        if False:",
      "tests/rag/test_worker.py::"
      "test_a_forked_child_never_closes_the_descriptors_of_its_parents_worker"),
    m("worker-here-after-submitted", "a call run on the caller's thread overtaking one "
      "submitted before it (queued or running on the worker): out of order, or beside it",
      "plugin_src/_shared/_worker.py",
      "        if self._unfinished or not", "        if not",
      "tests/rag/test_worker.py::"
      "test_a_call_never_runs_here_ahead_of_one_submitted_before_it"),
    m("worker-here-one-at-a-time", "two threads each running a call on their own thread at "
      "once, a synchronous store seeing two calls together", "plugin_src/_shared/_worker.py",
      "        if self._unfinished or not self._running.acquire(blocking=False):\n"
      "            return BUSY\n        try:\n            return fn(*args)\n"
      "        finally:\n            self._running.release()\n",
      "        if self._unfinished:\n            return BUSY\n        return fn(*args)\n",
      "tests/rag/test_worker.py::"
      "test_a_call_here_never_runs_beside_a_call_from_another_thread"),
    m("worker-runs-under-lock", "the worker running a call from another thread beside one "
      "run on its caller's thread", "plugin_src/_shared/_worker.py",
      "            with self._running:\n                try:",
      "            if True:\n                try:",
      "tests/rag/test_worker.py::"
      "test_a_call_here_never_runs_beside_a_call_from_another_thread"),
    m("worker-here-fork", "a call on the caller's thread in a forked child, on a store "
      "client that did not survive the fork", "plugin_src/_shared/_worker.py",
      "        if self._stopped or self._fork != _forks[0]:\n            self._refuse()\n"
      "        if self._unfinished",
      "        if self._stopped:\n            self._refuse()\n        if self._unfinished",
      "tests/rag/test_worker.py::test_a_call_in_a_forked_child_is_refused_not_left_waiting"),
    m("chroma-add-retimes-search", "a search after an add run on the event loop's thread on "
      "the strength of a timing taken before the add (the add may have made it slow): the "
      "mark cleared on the loop as the add is called, which a search still queued on the "
      "worker sets again when it ends", "plugin_src/rag_chroma_provider/provider.py",
      "                await self._on_worker(self._write, \"add documents\", "
      "_upsert_replacing, upsert)",
      "                self._quick = None\n"
      "                await self._on_worker(_upsert_replacing, \"add documents\", upsert)",
      CHROMA_MODES + "test_a_search_timed_while_a_write_waits_never_marks_the_next_as_quick"),
    m("chroma-delete-retimes-search", "the same after a delete (not cleared at all)",
      "plugin_src/rag_chroma_provider/provider.py",
      "await self._on_worker(self._write, \"delete documents\", _delete, batch)",
      "await self._on_worker(_delete, \"delete documents\", batch)", QUICK_SEARCH),
    m("chroma-slow-search-on-worker", "a search slower than inline_search_ms (or any, with 0) "
      "holding the event loop's thread", "plugin_src/rag_chroma_provider/provider.py",
      "        quick = perf_counter() - start < self._inline_s",
      "        quick = True",
      CHROMA_MODES + "test_embedded_queries_leave_the_event_loop_free_with_inline_searches_off"),
    m("chroma-search-shape", "a search asking for every chunk, filtered by metadata, or "
      "with a hostile embeddings server's million floats run on the event loop's thread "
      "because a small one was quick (one hostile k held the loop for a second)",
      "plugin_src/rag_chroma_provider/provider.py",
      "        if (quick is not None and k <= quick[0] and len(vector) == quick[1]\n"
      "                and query[\"where\"] == quick[2]):",
      "        if quick is not None:",
      CHROMA_MODES + "test_only_a_search_no_bigger_than_the_one_timed_runs_on_the_loop",
      CHROMA_MODES + "test_a_search_that_failed_never_marks_the_next_as_quick"),
    m("chroma-refused-search-clears", "a search chroma refused, after taking who knows how "
      "long, leaving the mark that sends the next one of its size to the loop's thread",
      "plugin_src/rag_chroma_provider/provider.py",
      "        except BaseException:\n            self._quick = None\n            raise\n",
      "        except BaseException:\n            raise\n",
      CHROMA_MODES + "test_a_search_that_failed_never_marks_the_next_as_quick"),
    m("chroma-reopen-retimes", "the first search after the store is opened again (its index "
      "loaded from disk) run on the loop on the last session's timing",
      "plugin_src/rag_chroma_provider/provider.py",
      "        self._quick = None  # a store opened again loads its index on the first search\n",
      "", CHROMA_MODES + "test_the_first_search_after_reopening_is_timed_on_the_worker"),
    m("chroma-busy-submits", "a search the worker answered BUSY for (a write queued) "
      "returning the marker, not the write's results",
      "plugin_src/rag_chroma_provider/provider.py",
      "            if found is not BUSY:", "            if True:",
      CHROMA_MODES + "test_a_quick_search_called_while_a_write_is_queued_waits_for_it"),
    m("chroma-inline-budget-bounds", "a provider built directly with a budget of seconds "
      "(every search may hold the loop that long), text (a bare TypeError) or NaN",
      "plugin_src/rag_chroma_provider/provider.py",
      "                or not 0 <= inline_search_ms <= _INLINE_MAX_MS):",
      "                or False):",
      CHROMA_MODES + "test_inline_search_ms_is_checked_when_the_provider_is_built_directly"),
    m("config-nan-refused", "a number option of NaN (a timeout, a temperature, a budget) "
      "passing every minimum and maximum and failing at the first call as a bare ValueError",
      "pepperpy/config.py", "    _refuse_nan(filled, label)\n", "",
      "tests/core/test_config_check.py::test_nan_is_refused_whatever_the_bounds"),
    m("embeddings-openai-sdk-reading", "a broken embeddings answer the SDK fails to decode "
      "(no data, text that is not base64, items that are not objects) escaping as a bare "
      "ValueError, binascii.Error or AttributeError", EMBED_OPENAI,
      "        except (ValueError, TypeError, AttributeError) as exc:  # the SDK decoding",
      "        except ZeroDivisionError as exc:  # the SDK decoding",
      BROKEN_EMBEDDINGS + "[no-data]", BROKEN_EMBEDDINGS + "[embedding-not-base64]",
      BROKEN_EMBEDDINGS + "[item-not-object]"),
    m("embeddings-openai-indexes", "embeddings whose indexes repeat or leave one text out: "
      "a text given another text's vector", EMBED_OPENAI,
      "i.__class__ is not int for i in indexes) or sorted(indexes) != list(range(count)):",
      "i.__class__ is not int for i in indexes):",
      BROKEN_EMBEDDINGS + "[index-twice]", BROKEN_EMBEDDINGS + "[index-out-of-range]"),
    m("embeddings-openai-finite", "a vector with NaN or infinity stored (every distance to it "
      "NaN)", EMBED_OPENAI, " or total - total != 0:", ":",
      BROKEN_EMBEDDINGS + "[nan]", BROKEN_EMBEDDINGS + "[infinity]"),
    m("embeddings-openai-one-length", "vectors of two lengths (or empty) from one answer "
      "passed on", EMBED_OPENAI, "if total is None or len(vector) != size or not size or",
      "if total is None or", BROKEN_EMBEDDINGS + "[two-lengths]", BROKEN_EMBEDDINGS + "[empty]"),
    m("embeddings-openai-numbers", "a vector of text or null passed on", EMBED_OPENAI,
      "        except TypeError:  # None, text, an object's keys\n            total = None\n",
      "        except TypeError:  # None, text, an object's keys\n            total = 0\n",
      BROKEN_EMBEDDINGS + "[embedding-of-text]", BROKEN_EMBEDDINGS + "[embedding-null]"),
    m("worker-here-stopped", "a call on the caller's thread after the worker stopped (its "
      "store's client closed)", "plugin_src/_shared/_worker.py",
      "        if self._stopped or self._fork != _forks[0]:\n            self._refuse()\n"
      "        if self._unfinished",
      "        if self._fork != _forks[0]:\n            self._refuse()\n"
      "        if self._unfinished",
      "tests/rag/test_worker.py::test_a_call_runs_here_when_nothing_submitted_is_unfinished"),
    m("worker-here-release-on-raise", "a call on the caller's thread that raised keeping the "
      "lock: every later call waits forever", "plugin_src/_shared/_worker.py",
      "        try:\n            return fn(*args)\n        finally:\n"
      "            self._running.release()\n",
      "        found = fn(*args)\n        self._running.release()\n        return found\n",
      "tests/rag/test_worker.py::test_a_call_runs_here_when_nothing_submitted_is_unfinished"),
    m("worker-unfinished-settled", "a settled call still counted unfinished: no call runs on "
      "its caller's thread again", "plugin_src/_shared/_worker.py",
      "                self._unfinished -= 1\n", "",
      "tests/rag/test_worker.py::test_a_call_runs_here_when_nothing_submitted_is_unfinished"),
    m("index-add-trust-read-first", "index add with a damaged trust store recording the index "
      "(and printing it added) before the store's error", "pepperpy/distribution/fetch.py",
      "    trusted = _trust_snapshot(settings)  # a damaged store refuses here, before any write",
      "    trusted = {}",
      "tests/distribution/test_operator_loose_ends.py::"
      "test_index_add_with_a_damaged_trust_store_adds_nothing_and_says_nothing_was_done"),
    m("index-add-trust-or-forget", "index add --trust-publishers whose trust write fails "
      "leaving the index recorded", "pepperpy/distribution/fetch.py",
      "        store.forget(name)\n", "",
      "tests/distribution/test_operator_loose_ends.py::"
      "test_index_add_whose_trust_write_fails_takes_the_index_out_again"),
    m("index-trust-one-write", "index trust killed between the keys of two publishers: some "
      "trusted, some not", "pepperpy/distribution/fetch.py",
      "    TrustStore(settings.trust_file).add_all(  # one write: all of them or none\n"
      "        [(c.key.pem, _publisher_name(c.key), c.slots) for c in changes])",
      "    for c in changes:\n        TrustStore(settings.trust_file).add("
      "c.key.pem, publisher=_publisher_name(c.key), only=c.slots)",
      "tests/state/test_crash_index.py::"
      "test_index_trust_killed_at_every_write_point_trusts_every_key_or_none"),
    m("install-targets-looked-up-first", "plugin install A B with B a typo installing A "
      "before B is refused", "pepperpy/cli/manage.py",
      "    session = _read_targets(args)\n    plan = Plan(settings)\n    checked = []\n",
      "    for target in args.targets:  # each installed as it is found\n"
      "        _install_one(argparse.Namespace(**{**vars(args), \"target\": target}))\n"
      "    return []\n",
      "tests/distribution/test_names.py::"
      "test_several_targets_are_all_looked_up_before_the_first_installs"),
    m("repo-add-check-all-first", "repo add A B writing A's target file before B is refused "
      "for other bytes at its version", "packages/pepperplug-dev/pepperpy_dev/repository.py",
      "            for data, verified in checked:  # every refusal before the first file is "
      "written\n                _listed(targets.signed, verified, data)\n", "",
      "tests/distribution/test_publisher.py::"
      "test_a_refused_bundle_among_several_publishes_and_writes_none_of_them"),
    m("index-add-trust-one-unit", "index add --trust-publishers killed between recording the "
      "index and writing its trust: the index left recorded without its publishers' keys",
      "pepperpy/distribution/fetch.py",
      "                pending_trust.note_keys(staged, keys)  # recorded with the index",
      "                pass",
      f"{PENDING}test_index_add_trusting_publishers_killed_anywhere_adds_both_or_neither",
      f"{PENDING}test_killed_between_the_record_and_the_trust_write_the_next_install_undoes_it"),
    m("index-add-trust-undo", "the index of a crashed index add --trust-publishers kept "
      "without its keys once its note is settled", "pepperpy/distribution/pending_trust.py",
      "            store.forget(name)\n", "            pass\n",
      f"{PENDING}test_killed_between_the_record_and_the_trust_write_the_next_install_undoes_it"),
    m("index-add-trust-held-check", "a crashed index add --trust-publishers settled as "
      "finished without its keys in the trust store", "pepperpy/distribution/pending_trust.py",
      "        if _trusted(settings, note):", "        if True:",
      f"{PENDING}test_killed_between_the_record_and_the_trust_write_the_next_install_undoes_it"),
    m("index-add-trust-session-settles", "an install reading an index a crashed index add "
      "--trust-publishers left recorded without its keys", "pepperpy/distribution/fetch.py",
      "        pending_trust.settle(settings, self.store, progress)\n", "",
      f"{PENDING}test_killed_between_the_record_and_the_trust_write_the_next_install_undoes_it"),
    m("install-several-checked-first", "plugin install A B installing A before B's own "
      "trust, revocation or rollback check refuses B", "pepperpy/cli/manage.py",
      "        checked = _check_targets(args, settings, held)\n"
      "        for offer, bundle in checked:\n"
      "            result = install_checked(bundle, settings=settings)\n"
      "            _report(args, settings, result, offer)\n",
      "        for target in args.targets:\n"
      "            _install_one(argparse.Namespace(**{**vars(args), \"target\": target}))\n",
      f"{SEVERAL}test_a_refused_second_file_installs_nothing_and_is_named",
      f"{SEVERAL}test_a_refused_name_after_a_good_one_installs_nothing"),
    m("install-several-plan-state", "plugin install a-2.0 a-1.0 installing a-2.0 before the "
      "rollback to a-1.0 is refused: each target judged against the installed plugins only",
      "pepperpy/plugins/install_plan.py",
      "        self.state = _after(self.state, pending)\n", "",
      f"{SEVERAL}test_a_refused_second_file_installs_nothing_and_is_named"),
    m("install-several-trust-recheck", "a bundle checked, then its signer revoked by another "
      "process, installed from the earlier check", "pepperpy/plugins/install_plan.py",
      "    if trust is not checked.trust:", "    if False:",
      f"{SEVERAL}test_the_trust_store_changed_after_the_check_is_checked_again"),
    m("catalog-row-checked", "a cached catalog row of the wrong types (a list for a name) "
      "used as an offer: a bare TypeError from the category hint",
      "pepperpy/distribution/catalog.py",
      "    offer = _offer(index, custom[\"path\"], custom[\"length\"], "
      "{\"sha256\": custom[\"sha256\"]},\n                   custom)",
      "    offer = Offer(**custom)",
      f"{FUZZ}test_every_damaged_catalog_keeps_the_commands_own_error",
      f"{FUZZ}test_a_catalog_with_wrong_types_says_it_is_damaged_and_how_to_rebuild_it"),
    m("catalog-file-shape", "a cached catalog whose time or offers are of the wrong type "
      "escaping as a bare TypeError", "pepperpy/distribution/store.py",
      "        if type(when) not in (int, float) or not isinstance(offers, list):",
      "        if False:",
      f"{FUZZ}test_every_damaged_catalog_keeps_the_commands_own_error"),
    m("catalog-time-overflow", "a cached catalog whose time is an integer too large for a "
      "float escaping as a bare OverflowError", "pepperpy/distribution/store.py",
      "        except OverflowError:  # an integer too large for a float",
      "        except ZeroDivisionError:",
      f"{FUZZ}test_every_damaged_catalog_keeps_the_commands_own_error"),
    m("yank-list-bounded", "a FIFO planted at a cached catalog making every check of a bundle "
      "from a searched folder wait forever (or a huge file read whole)",
      "pepperpy/plugins/discovery.py",
      "            data = load_json(catalog, what=\"cached catalog\", limit=CATALOG_LIMIT, "
      "depth=8,\n                             fix=\"`pepperpy plugin search --refresh` "
      "rebuilds it\")\n",
      "            data = json.loads(catalog.read_bytes())\n",
      f"{FUZZ}test_the_yank_list_reads_each_cached_catalog_bounded"),
    m("sse-line-ends", "a model's text holding U+2028, U+2029 or U+0085 (JSON leaves them "
      "unescaped) ending its SSE line: the event cut in two, the answer failed as not JSON",
      "pepperpy/sse.py",
      "        lines = chunk.splitlines()  # bytes: CR, LF and CRLF only",
      "        lines = [x.encode() for x in chunk.decode(\"utf-8\", \"replace\").splitlines()]",
      "tests/llm/test_sse.py::test_only_cr_and_lf_end_a_line"),
    m("sse-long-line-linear", "one long line sent a byte at a time read in quadratic time "
      "(the pieces so far joined again on every piece): a hostile server's hang",
      "pepperpy/sse.py",
      "        lines = chunk.splitlines()  # bytes: CR, LF and CRLF only",
      "        if pending:  # the naive reader: the pieces so far again, on every piece\n"
      "            chunk, pending = b\"\".join(pending) + chunk, []\n"
      "        lines = chunk.splitlines()",
      "tests/llm/test_sse.py::test_a_long_line_in_tiny_pieces_is_no_hang"),
    m("openai-stream-line-ends", "the OpenAI-compatible stream read through httpx's "
      "aiter_lines, which ends a line at U+2028 and the like inside a text piece", OPENAI_CHAT,
      "                events = server_sent_events(body_lines(http.aiter_bytes()))",
      "                http.encoding = \"utf-8\"\n"
      "                events = server_sent_events(http.aiter_lines())",
      f"{OPENAI_WIRE}test_a_line_separator_in_a_text_piece_stays_in_its_event"),
    m("anthropic-stream-line-ends", "the anthropic stream read through httpx's aiter_lines, "
      "which ends a line at U+2028 and the like inside a text delta, and decodes by the "
      "charset the server names (\"é\" read as \"Ã©\")", ANTHROPIC,
      "lines = body_lines(response.http_response.aiter_bytes())",
      "lines = response.http_response.aiter_lines()",
      f"{WIRE}test_a_line_separator_in_the_text_stays_in_its_event",
      f"{WIRE}test_a_stream_is_read_as_utf8_whatever_charset_it_names"),
    m("anthropic-stream-end", "a stream whose body ends cleanly before message_stop (a proxy, "
      "a close-delimited body) passed on as a finished answer: finish reason \"stop\", a "
      "tool call with part of its input", ANTHROPIC,
      "                if not ended:  # a body that ended cleanly before the answer did",
      "                if False:",
      f"{WIRE}test_a_stream_whose_body_ends_before_message_stop_is_dropped"),
    m("stream-decoding-error", "a streamed body its content-encoding does not decode (a broken "
      "proxy's gzip) escaping the stream as a bare httpx DecodingError", "pepperpy/http_errors.py",
      "        error = getattr(module, \"RequestError\", None)",
      "        error = getattr(module, \"TransportError\", None)",
      f"{WIRE}test_a_stream_its_content_encoding_does_not_decode_is_dropped",
      f"{OPENAI_WIRE}test_a_stream_its_content_encoding_does_not_decode_is_dropped"),
    m("anthropic-event-name-echo", "an error about a stream event repeating the event name "
      "the server chose: the API key it was sent, or megabytes, in the message", ANTHROPIC,
      "    return f\"a {event!r} event\" if event in _EVENTS else",
      "    return f\"a {event!r} event\" if True else",
      f"{WIRE}test_an_event_name_the_server_chose_is_not_repeated_in_the_error"),
    m("error-secret-before-cut", "an API key the server repeats in its error type or text, "
      "shown in full in the type, or all but its end where the text is cut to length",
      "pepperpy/http_errors.py",
      "        text = text.replace(secret, \"***\")",
      "        pass",
      "tests/core/test_http_errors.py::"
      "test_the_servers_words_never_show_the_secret_where_they_are_cut",
      f"{WIRE}test_an_error_never_shows_the_api_key_the_server_repeats"),
    m("error-kind-bounded", "a server's error type of any length (megabytes) repeated whole "
      "in the error's message", "pepperpy/http_errors.py",
      "    kind, text = shown(kind, 100, secret), shown(message, 300, secret)",
      "    kind, text = shown(kind, 10**9, secret), shown(message, 300, secret)",
      "tests/core/test_http_errors.py::"
      "test_the_servers_words_never_show_the_secret_where_they_are_cut",
      f"{WIRE}test_an_error_never_shows_the_api_key_the_server_repeats"),
    *_server_text_rows(),
    m("openai-stream-text-type", "a streamed text piece that is a number reaching the caller "
      "as a chunk whose content is not text", OPENAI_CHAT,
      "                        if text.__class__ is not str:  # the SDK does not check it\n"
      "                            raise self._broken(\"streamed a text piece",
      "                        if False:\n"
      "                            raise self._broken(\"streamed a text piece",
      f"{HOSTILE}test_openai_a_streamed_text_piece_that_is_not_text_is_a_provider_error"),
    m("openai-usage-type", "usage counts that are not integers escaping as a TypeError",
      OPENAI_CHAT,
      "        if prompt.__class__ is not int or completion.__class__ is not int:",
      "        if False:",
      f"{HOSTILE}test_usage_counts_that_are_not_integers_are_a_provider_error"),
    m("openai-generate-content-type", "content that is not text escaping generate",
      OPENAI_CHAT,
      "        if not isinstance(content, str):", "        if False:",
      f"{HOSTILE}test_openai_generate_content_that_is_not_text_is_a_provider_error"),
    m("openai-generate-arguments-type", "tool arguments that are not text escaping generate "
      "as a TypeError", OPENAI_CHAT,
      "        except (json.JSONDecodeError, TypeError, RecursionError) as exc:",
      "        except (json.JSONDecodeError, RecursionError) as exc:",
      f"{HOSTILE}test_openai_generate_tool_arguments_that_are_not_text_are_a_provider_error"),
    m("openai-arguments-depth", "tool arguments nested past the recursion limit escaping "
      "generate as a RecursionError", OPENAI_CHAT,
      "        except (json.JSONDecodeError, TypeError, RecursionError) as exc:",
      "        except (json.JSONDecodeError, TypeError) as exc:",
      f"{OPENAI_WIRE}test_generate_a_body_of_the_wrong_shape_is_a_provider_error"
      "[arguments-nested-too-deep]"),
    *_openai_wire_rows(),
    m("openai-error-object-status", "an error object inside a stream (an overload, a rate "
      "limit) read as an unknown failure: never retried, whatever its code or type says",
      "pepperpy/openai_compatible/errors.py",
      "    if type(exc) is openai.APIError:  # an error object inside a stream",
      "    if False:",
      f"{OPENAI_WIRE}test_an_error_object_before_any_text_is_retried"),
    m("openai-stream-cut-short", "a stream whose body ends before [DONE] and any finish "
      "reason passed on as a finished answer", OPENAI_CHAT,
      "                    if finish is None:\n                        raise dropped(self.vendor)",
      "                    if False:\n                        raise dropped(self.vendor)",
      f"{OPENAI_WIRE}"
      "test_a_body_that_ends_before_done_or_a_finish_reason_is_a_dropped_connection"),
    m("install-override-one-target", "an override (--transfer-owner, --force, "
      "--allow-downgrade) meant for one bundle lifting the check for every target of a "
      "`plugin install A B`", "pepperpy/cli/manage.py",
      "    if len(args.targets) > 1 and overrides:", "    if False:",
      f"{INST}test_an_override_is_never_widened_to_several_targets"),
)


def check_table(root: Path) -> list[str]:
    """Problems with the table: a snippet missing or not unique, an id repeated."""
    problems = []
    ids = [mu.id for mu in MUTATIONS]
    problems += [f"id {i!r} appears twice" for i in sorted({i for i in ids if ids.count(i) > 1})]
    for mu in MUTATIONS:
        if not mu.tests:
            problems.append(f"{mu.id}: names no test")
        for edit in mu.edits:
            path = root / edit.path
            count = path.read_text(encoding="utf-8").count(edit.find) if path.is_file() else -1
            if count != 1:
                where = "file missing" if count < 0 else f"found {count} times"
                problems.append(f"{mu.id}: snippet in {edit.path} {where}: {edit.find[:60]!r}")
        for test in mu.tests:
            if not (root / test.split("::")[0]).is_file():
                problems.append(f"{mu.id}: no test file {test.split('::')[0]}")
    return problems


def _environ(copy: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PEPPERPY_", "PYTEST_"))}
    # the copy's three import packages: pepperpy, and pepperpy_testing / pepperpy_dev
    # from packages/ (else the editable installs would serve the unmutated originals)
    paths = [copy, *sorted(p for p in (copy / "packages").glob("*") if p.is_dir())]
    env.update(PYTHONPATH=os.pathsep.join(map(str, paths)), PYTHONDONTWRITEBYTECODE="1")
    return env


def _pytest(copy: Path, tests: tuple[str, ...], timeout: float,
            each: bool = False) -> tuple[str, float, str]:
    first = [] if each else ["-x"]
    cmd = [sys.executable, "-m", "pytest", *first, "-q", "-p", "no:cacheprovider", *tests]
    start = time.monotonic()
    try:
        done = subprocess.run(cmd, cwd=copy, env=_environ(copy), capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", time.monotonic() - start, ""
    lines = (done.stdout + done.stderr).strip().splitlines()
    status = {0: "passed", 1: "failed"}.get(done.returncode, f"error {done.returncode}")
    # The first failing test and its first error line: the reason the row was killed.
    failed = [ln.split(" - ")[0].removeprefix("FAILED ") for ln in lines
              if ln.startswith(("FAILED ", "ERROR "))]
    reason = next((ln[1:].strip() for ln in lines if ln.startswith("E ")), "")
    summary = lines[-1] if lines else ""
    if failed:
        summary = f"{failed[0].rsplit('::', 1)[-1]}: {reason}"[:150]
    if each and failed:
        quiet = [t for t in tests if not any(f.startswith(t) for f in failed)]
        summary = (f"{len(tests) - len(quiet)}/{len(tests)} named tests fail"
                   + (f"; still passing: {', '.join(quiet)}" if quiet else "")
                   + f" | {summary}")
    return status, time.monotonic() - start, summary


def _check_imports(copy: Path) -> None:
    """The copy (not the checkout or the editable install) is what pytest's children
    import, with ``-c`` and with ``-m pepperpy``."""
    env = _environ(copy)
    with tempfile.TemporaryDirectory() as elsewhere:
        out = subprocess.run([sys.executable, "-c", "import pepperpy; print(pepperpy.__file__)"],
                             env=env, cwd=elsewhere, capture_output=True, text=True, check=True)
        main = copy / "pepperpy" / "__main__.py"
        original = main.read_text()
        try:
            main.write_text("print('MUTATION-CANARY', __file__)\n")
            canary = subprocess.run([sys.executable, "-m", "pepperpy"], env=env, cwd=elsewhere,
                                    capture_output=True, text=True)
        finally:
            main.write_text(original)
    for text in (out.stdout, canary.stdout):
        if str(copy) not in text:
            sys.exit(f"the copy is not the package imported (got {text.strip()!r}); "
                     "is pepperpy installed non-editable in this interpreter?")


def run(rows: list[Mutation], *, timeout: float, baseline: bool, each: bool = False) -> int:
    with tempfile.TemporaryDirectory(prefix="pepperpy-mutation-") as tmp:
        copy = Path(tmp) / "repo"
        shutil.copytree(ROOT, copy, ignore=_IGNORE)
        _check_imports(copy)
        if baseline:
            tests = tuple(dict.fromkeys(t for mu in rows for t in mu.tests))
            status, took, last = _pytest(copy, tests, timeout * 4)
            print(f"baseline (no mutation, {len(tests)} test ids): {status} in {took:.0f}s: "
                  f"{last}", flush=True)
            if status != "passed":
                return 2
        survived = []
        total = time.monotonic()
        for mu in rows:
            saved = {e.path: (copy / e.path).read_text(encoding="utf-8") for e in mu.edits}
            try:
                for e in mu.edits:
                    target = copy / e.path
                    target.write_text(target.read_text(encoding="utf-8").replace(e.find, e.replace))
                status, took, last = _pytest(copy, mu.tests, timeout, each)
            finally:
                for path, text in saved.items():
                    (copy / path).write_text(text, encoding="utf-8")
            verdict = "SURVIVED" if status == "passed" else "killed"
            if verdict == "SURVIVED":
                survived.append(mu.id)
            print(f"{verdict:<9} {mu.id:<28} {took:5.0f}s  {status}: {last}", flush=True)
        print(f"{len(rows) - len(survived)}/{len(rows)} killed in "
              f"{time.monotonic() - total:.0f}s" + (f"; SURVIVED: {', '.join(survived)}"
                                                     if survived else ""))
        return 1 if survived else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("filters", nargs="*", help="run only rows whose id contains one of these")
    parser.add_argument("--list", action="store_true", help="print the table, check snippets")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per row")
    parser.add_argument("--each", action="store_true",
                        help="run every named test (no -x) and say which ones still pass")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip running the named tests once without any mutation")
    args = parser.parse_args(argv)
    problems = check_table(ROOT)
    rows = [mu for mu in MUTATIONS if not args.filters or any(f in mu.id for f in args.filters)]
    if args.list:
        for mu in rows:
            files = ", ".join(dict.fromkeys(e.path for e in mu.edits))
            print(f"{mu.id:<28} {files:<36} {mu.threat}")
            for test in mu.tests:
                print(f"{'':<30}{test}")
    for problem in problems:
        print(f"stale table: {problem}", file=sys.stderr)
    if problems:
        return 2
    if args.list:
        return 0
    if not rows:
        print(f"no row matches {args.filters}", file=sys.stderr)
        return 2
    return run(rows, timeout=args.timeout, baseline=not args.no_baseline, each=args.each)


if __name__ == "__main__":
    sys.exit(main())
