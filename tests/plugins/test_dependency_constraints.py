"""The host survives its plugins: a plugin's dependencies never move a package the core
or another installed plugin runs on.

Real uv, real bundles, real throwaway venvs (``uvenv``): the venv's own site-packages
shadows the project's, so a wrong install would really break the core in that venv.
The in-process tests (no uv) cover the refusal with auto-install off and the record.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pepperpy.core import ConfigurationError, DependencyError
from pepperpy.plugins.constraints import (
    CORE,
    DependencyConflictError,
    conflicts_in_plan,
    direct_conflicts,
    parse_plan,
    protected_distributions,
)
from pepperpy.plugins.dependencies import DependencySpec, ensure_dependencies
from pepperpy.plugins.deprecord import (
    load_record,
    other_plugins_requirements,
    record_path,
    remember,
)
from pepperpy.plugins.install import install_bundle, remove_plugin
from pepperpy.plugins.state import InstallRecord, InstallState, save_state
from pepperpy.settings import Settings
from plugins.uvenv import child_environ, installed_in_venv, make_venv, run_python
from plugins.wheels import build_wheel

_POPENS: list[tuple] = []
sys.addaudithook(lambda e, a: _POPENS.append(a) if e == "subprocess.Popen" else None)

BROKEN = "raise ImportError('a plugin replaced the core dependency: the host is broken')\n"

LOAD = textwrap.dedent("""
    import json, sys
    popens = []
    sys.addaudithook(lambda e, a: popens.append(a) if e == "subprocess.Popen" else None)
    from pepperpy.core import PepperpyError
    from pepperpy.plugins.manager import PluginManager
    from pepperpy.registry import ProviderRegistry
    out = {}
    for provider in sys.argv[1:]:
        before = len(popens)
        registry = ProviderRegistry(resolver=PluginManager())
        try:
            registry.create("llm", provider, {"api_key": "k"})
            out[provider] = {"ok": True, "popens": len(popens) - before}
        except PepperpyError as exc:
            out[provider] = {"ok": False, "error": type(exc).__name__, "message": str(exc),
                             "popens": len(popens) - before}
    print(json.dumps(out))
""")

# What "the core still starts" means here: import it and run its dependency check,
# which needs packaging (the package the hostile plugins below try to replace).
CORE_RUNS = textwrap.dedent("""
    import pepperpy, packaging
    from pepperpy.plugins.dependencies import find_unsatisfied
    assert find_unsatisfied(["packaging>=20"]) == []
    print(packaging.__version__)
""")


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    return make_venv(tmp_path / "venv")


def _install(env, name: str, dependencies: list[str]) -> None:
    pub = env.publisher(name)
    data = env.bundle(pub, name=name, provider_name=name, dependencies=dependencies)
    install_bundle(env.write(env.tmp / "dl", f"{name}.pepperplugin", data), settings=env.settings)


def _load(env, venv: Path, *providers: str) -> dict:
    script = env.tmp / "load.py"
    script.write_text(LOAD)
    done = subprocess.run([str(venv / "bin" / "python"), str(script), *providers],
                          cwd=env.tmp, env=child_environ(env.settings, env.tmp),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def _assert_core_runs(env, venv: Path) -> None:
    done = run_python(venv, CORE_RUNS, environ=child_environ(env.settings, env.tmp),
                      cwd=env.tmp, check=False)
    assert done.returncode == 0, f"the core no longer starts: {done.stderr}"


# -- real uv ----------------------------------------------------------------------------

def test_plugin_needing_an_incompatible_core_dependency_is_refused_before_uv_runs(env, venv):
    wheels = env.tmp / "wheels"
    build_wheel(wheels, "pepperpy-testdep", "1.0")
    build_wheel(wheels, "packaging", "0.9", module_source=BROKEN)  # uv could install it
    _install(env, "echo", ["packaging<1", "pepperpy-testdep>=1"])
    result = _load(env, venv, "echo")["echo"]
    assert result["error"] == "DependencyConflictError", result
    assert result["popens"] == 0  # refused in-process: uv never started
    message = result["message"]
    assert "packaging<1" in message and CORE in message and "nothing was installed" in message
    assert installed_in_venv(venv) == {}  # nothing changed, not even the harmless part
    assert env.marker_lines() == []
    _assert_core_runs(env, venv)


def test_dependency_moving_a_core_package_transitively_is_refused_by_the_pinned_dry_run(
        env, venv):
    wheels = env.tmp / "wheels"
    build_wheel(wheels, "packaging", "0.9", module_source=BROKEN)
    build_wheel(wheels, "pepperpy-wrapper", "1.0", requires=("packaging<1",))
    _install(env, "echo", ["pepperpy-wrapper>=1"])
    result = _load(env, venv, "echo")["echo"]
    assert result["error"] == "DependencyConflictError", result
    assert result["popens"] == 2  # the pinned dry run, then the unpinned one that explains it
    assert "packaging==0.9 through its dependencies" in result["message"]
    assert CORE in result["message"]
    assert installed_in_venv(venv) == {}
    _assert_core_runs(env, venv)


def test_plugin_needing_a_lower_version_of_another_plugins_package_is_refused(env, venv):
    wheels = env.tmp / "wheels"
    for version in ("1.0", "2.0"):
        build_wheel(wheels, "pepperpy-testdep", version)
    build_wheel(wheels, "pepperpy-other", "1.0")
    _install(env, "alpha", ["pepperpy-testdep>=2"])
    _install(env, "beta", ["pepperpy-testdep<2"])
    _install(env, "gamma", ["pepperpy-testdep>=1.5", "pepperpy-other>=1"])
    out = _load(env, venv, "alpha", "beta", "gamma")
    assert out["alpha"]["ok"], out
    assert out["beta"]["error"] == "DependencyConflictError", out
    assert out["beta"]["popens"] == 0
    assert "plugin 'alpha' (pepperpy-testdep>=2)" in out["beta"]["message"]
    assert "pepperpy plugin remove alpha" in out["beta"]["message"]
    assert out["gamma"]["ok"], out  # compatible: it still installs what it lacks
    assert installed_in_venv(venv) == {"pepperpy-testdep": "2.0", "pepperpy-other": "1.0"}

    remove_plugin("alpha", settings=env.settings)  # gamma still needs testdep>=1.5
    again = _load(env, venv, "beta")["beta"]
    assert again["error"] == "DependencyConflictError"
    assert "plugin 'gamma'" in again["message"] and "'alpha'" not in again["message"]

    remove_plugin("gamma", settings=env.settings)  # nothing needs testdep 2.0 any more
    assert _load(env, venv, "beta")["beta"]["ok"]
    assert installed_in_venv(venv)["pepperpy-testdep"] == "1.0"


def test_dependency_moving_another_plugins_package_transitively_is_refused(env, venv):
    wheels = env.tmp / "wheels"
    for version in ("1.0", "2.0"):
        build_wheel(wheels, "pepperpy-testdep", version)
    build_wheel(wheels, "pepperpy-wrapper", "1.0", requires=("pepperpy-testdep<2",))
    _install(env, "alpha", ["pepperpy-testdep>=2"])
    _install(env, "beta", ["pepperpy-wrapper"])
    out = _load(env, venv, "alpha", "beta")
    assert out["alpha"]["ok"], out
    assert out["beta"]["error"] == "DependencyConflictError", out
    assert "pepperpy-testdep==1.0 through its dependencies" in out["beta"]["message"]
    assert "plugin 'alpha'" in out["beta"]["message"]
    assert installed_in_venv(venv) == {"pepperpy-testdep": "2.0"}


# -- in-process: no uv ------------------------------------------------------------------

def test_conflict_with_auto_install_off_names_the_core_and_starts_nothing(env):
    spec = DependencySpec("bad", ("packaging<1", "pepperpy-surely-absent>=1"))
    before = len(_POPENS)
    with pytest.raises(DependencyConflictError) as info:
        ensure_dependencies(spec, settings=env.settings, auto_install=False)
    assert len(_POPENS) == before
    assert isinstance(info.value, DependencyError) and info.value.plugin == "bad"
    [conflict] = info.value.conflicts
    assert conflict.package == "packaging" and conflict.wanted == "packaging<1"
    assert conflict.needed_by[0] == f"{CORE} (packaging>=23.2)"


def test_core_closure_is_protected_transitively():
    protected = protected_distributions({})
    assert {"pepperpy", "cryptography", "cffi", "jsonschema", "packaging"} <= set(protected)
    assert any(CORE in why for why in protected["cffi"].needed_by)
    assert "openai" not in protected  # installed here, but needed by neither side
    assert "pydantic" not in protected  # only the `structured` extra asks for it
    assert direct_conflicts(["cryptography>=1", 'jsonschema<2; python_version < "3"'],
                            protected) == []


def test_plan_conflicts_read_uv_dry_run_output():
    protected = protected_distributions({})
    version = protected["packaging"].version
    plan = parse_plan(["Would uninstall 1 package", f" - packaging=={version}",
                       " + packaging==0.9", " + pepperpy-new==1.0", " - unrelated==1.0"])
    [conflict] = conflicts_in_plan(plan, protected)
    assert conflict.package == "packaging" and "0.9" in conflict.wanted
    same = parse_plan([f" - packaging=={version}", f" + packaging=={version}"])
    assert conflicts_in_plan(same, protected) == []


def test_satisfied_dependencies_are_recorded_and_protect_only_installed_plugins(env):
    spec = DependencySpec("alpha", ("packaging>=20",))
    ensure_dependencies(spec, settings=env.settings, auto_install=False)  # fast path
    assert load_record(record_path(env.settings)) == {"alpha": ("packaging>=20",)}
    remember(env.settings, plugin="ghost", lines=("pepperpy-testdep>=1",))
    record = InstallRecord("alpha", "1.0.0", "0" * 64, "k", "llm", "alpha", "alpha.pepperplugin")
    save_state(env.settings.state_file, InstallState({"alpha": record}))
    # ghost is recorded but not installed: it protects nothing; alpha is excluded for itself
    assert other_plugins_requirements(env.settings, plugin="beta") == {
        "alpha": ("packaging>=20",)}
    assert other_plugins_requirements(env.settings, plugin="alpha") == {}


def test_unwritable_home_never_fails_a_satisfied_load(env):
    (env.tmp / "a-file").write_text("")  # a home below a file: unwritable, even for root
    settings = env.with_settings(home=env.tmp / "a-file" / "home").settings
    ensure_dependencies(DependencySpec("alpha", ("packaging>=20",)), settings=settings,
                        auto_install=False)
    assert not record_path(settings).exists()


def test_damaged_record_refuses_installs_with_the_fix(env):
    record_path(env.settings).parent.mkdir(parents=True)
    damaged = b'{"format": 1, "plugins": {"a": "packaging"}}'
    record_path(env.settings).write_bytes(damaged)
    with pytest.raises(ConfigurationError, match="pepperpy plugin deps"):
        ensure_dependencies(DependencySpec("x", ("packaging<1",)),
                            settings=env.settings, auto_install=False)
    # a satisfied load still works, and leaves the record for the operator to fix
    ensure_dependencies(DependencySpec("x", ("packaging>=20",)), settings=env.settings,
                        auto_install=False)
    assert record_path(env.settings).read_bytes() == damaged


def test_without_pepperpy_metadata_every_installed_distribution_is_kept(tmp_path):
    """A copy of the package on PYTHONPATH (no ``pepperpy`` metadata anywhere): the
    core's requirements are unknown, so nothing installed may move."""
    import shutil

    import uv

    import pepperpy

    source = tmp_path / "src"
    shutil.copytree(Path(pepperpy.__file__).parent, source / "pepperpy")

    venv = tmp_path / "bare"  # no .pth to the project: only what uv installs here
    subprocess.run([uv.find_uv_bin(), "venv", "-q", "--offline", "--no-config", str(venv),
                    "--python", sys.executable], check=True, timeout=120)
    build_wheel(tmp_path / "wheels", "pepperpy-testdep", "1.0")
    subprocess.run([uv.find_uv_bin(), "pip", "install", "-q", "--no-config", "--offline",
                    "--python", str(venv / "bin" / "python"), "--no-index",
                    "--find-links", str(tmp_path / "wheels"), "pepperpy-testdep"],
                   check=True, timeout=120, env=child_environ(Settings(home=tmp_path),
                                                              tmp_path))
    code = ("import json; from pepperpy.plugins.constraints import protected_distributions;"
            "print(json.dumps({k: v.needed_by for k, v in protected_distributions({}).items()}))")
    environ = {**child_environ(Settings(home=tmp_path), tmp_path), "PYTHONPATH": str(source)}
    done = run_python(venv, code, environ=environ, cwd=tmp_path)
    protected = json.loads(done.stdout)
    assert "pepperpy" not in protected
    assert "PepperPy's own package metadata was not found" in protected["pepperpy-testdep"][0]
