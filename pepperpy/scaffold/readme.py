"""The README's reference section (options, environment variables, dependencies),
written from ``plugin.json`` so nobody keeps it by hand.

The section sits between two HTML comments; ``pepperpy plugin readme`` (and
``plugin lint --fix``) rewrites only what is between them, and ``plugin lint`` fails when
it differs from what the manifest says. Everything else in the README is the author's.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

__all__ = ["BEGIN", "END", "reference_section", "update_readme"]

BEGIN = "<!-- pepperpy:reference:begin (written by `pepperpy plugin readme`; do not edit) -->"
END = "<!-- pepperpy:reference:end -->"
_OLD_SECTIONS = re.compile(r"^## Options\n.*?(?=^## (?!Options|Dependencies)|\Z)",
                           re.MULTILINE | re.DOTALL)


def reference_section(manifest: Any) -> str:
    """The generated section for a parsed manifest, markers included."""
    properties = (manifest.config_schema or {}).get("properties") or {}
    lines = [BEGIN, "## Options", ""]
    if properties:
        lines += [f"Pass them as keyword arguments of `{_call(manifest)}`; an option with an "
                  "environment variable takes its value from there when it is not passed. "
                  "Secret options never appear in messages, logs or `repr`.", "",
                  "| option | type | default | environment variable | description |",
                  "| --- | --- | --- | --- | --- |"]
        lines += [_row(key, spec) for key, spec in properties.items()]
    else:
        lines.append("None.")
    if manifest.category == "llm":
        lines += ["", "Like every LLM provider it also takes `max_tokens`, `temperature`, "
                  "`top_p`, `stop` and `seed`: the defaults of each request (see the "
                  "PepperPy user guide, \"Generation options\")."]
    lines += ["", "## Dependencies", ""]
    if manifest.dependencies:
        lines += [f"- `{dep}`" for dep in manifest.dependencies]
        lines += ["", "PepperPy installs them with uv on first use (wheels only), or an "
                  f"operator pre-installs them: `pepperpy plugin deps {manifest.name}`."]
    else:
        lines.append("None besides PepperPy.")
    return "\n".join([*lines, END])


_WITH = frozenset({"llm", "embeddings", "rag", "storage", "tools"})


def _call(manifest: Any) -> str:
    """How an application configures the provider: ``with_llm(...)`` or ``pepper.use``."""
    name = manifest.provider_name
    if manifest.category in _WITH:
        return f"with_{manifest.category}(\"{name}\", option=value)"
    return f"pepper.use(\"{manifest.category}\", \"{name}\", option=value)"


def _row(key: str, spec: Any) -> str:
    spec = spec if isinstance(spec, dict) else {}
    kind = spec.get("type", "")
    kind = "/".join(kind) if isinstance(kind, list) else str(kind)
    if isinstance(spec.get("enum"), list):
        kind = "one of " + ", ".join(f"`{json.dumps(v)}`" for v in spec["enum"])
    default = f"`{json.dumps(spec['default'])}`" if "default" in spec else ""
    env = f"`{spec['env']}`" if spec.get("env") else ""
    secret = " (secret)" if spec.get("secret") else ""
    text = " ".join(str(spec.get("description", "")).split()).replace("|", "\\|")
    return f"| `{key}`{secret} | {kind} | {default} | {env} | {text} |"


def update_readme(src: Path) -> tuple[Path, bool]:
    """Write the reference section into ``src/README.md`` (creating the README if
    needed); returns the path and whether anything changed."""
    from pepperpy.trust.manifest import parse_manifest

    src = Path(src)
    manifest = parse_manifest((src / "plugin.json").read_bytes())
    path = src / "README.md"
    section = reference_section(manifest)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = f"# {manifest.name}\n\n{manifest.description}\n"
    new = with_section(text, section)
    if new == text:
        return path, False
    path.write_text(new, encoding="utf-8")
    return path, True


def with_section(text: str, section: str) -> str:
    """``text`` with its reference section replaced (or its hand-kept Options and
    Dependencies sections, or appended at the end)."""
    if BEGIN in text and END in text:
        head, _, rest = text.partition(BEGIN)
        _, _, tail = rest.partition(END)
        return head + section + tail
    if _OLD_SECTIONS.search(text):
        return _OLD_SECTIONS.sub(
            lambda m: section + ("\n\n" if m.end() < len(text) else "\n"), text, count=1)
    return text.rstrip("\n") + "\n\n" + section + "\n"


def section_problem(text: str, manifest: Any) -> str | None:
    """Why the README's reference section does not match the manifest, or None."""
    if BEGIN not in text or END not in text:
        return ("has no generated reference section (options, environment variables, "
                "dependencies); write it with `pepperpy plugin readme SRC_DIR` (or "
                "`pepperpy plugin lint --fix SRC_DIR`)")
    if with_section(text, reference_section(manifest)) != text:
        return ("the options/dependencies section is out of date with plugin.json; "
                "rewrite it with `pepperpy plugin readme SRC_DIR` (or `plugin lint --fix`)")
    outside = text.split(BEGIN)[0] + text.split(END)[-1]
    if manifest.dependencies and re.search(r"\bno (runtime |python )?dependenc", outside,
                                           re.IGNORECASE):
        return ("says the plugin has no dependencies, but plugin.json lists "
                f"{', '.join(manifest.dependencies)}; correct the text")
    return None
