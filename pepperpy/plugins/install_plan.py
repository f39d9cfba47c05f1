"""Several installs checked before the first one starts (``plugin install A B``).

Each bundle is verified once (limits, signature, trusted and unrevoked key, unrevoked
digest), accepted (an index's signed hash and listing) and judged by the install policy
(compatibility, ownership, no rollback, no same version with other bytes) against the
installed plugins as the earlier targets of the same command will leave them. A refusal
of any target installs none. Then each is installed from what was verified: the bytes in
memory or the received unnamed file that only this process holds, never read, verified or
hashed again.

What may have changed between the check and the install is checked again at the install:

- the trust store, read again: when it changed (another process, or an earlier target
  pinning an ``--only`` key to its slot), the signer and digest are checked against it
  (``authentic.check_key``: a key removed or revoked, a bundle revoked);
- the installed plugins: the policy runs again under the install lock, as every
  install's does (another process may have installed in between).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pepperpy._record import record
from pepperpy.bundle.trust import read_trust
from pepperpy.plugins.install import (
    Accept,
    InstallResult,
    _install,
    _judge,
    _writer,
    verify_bytes,
    verify_incoming,
)
from pepperpy.plugins.state import InstallState, Pending, committed, load_state
from pepperpy.settings import Settings
from pepperpy.trust.gate import Trust, Verified, authenticate
from pepperpy.trust.types import VerifiedBundle

if TYPE_CHECKING:
    from pepperpy.plugins.incoming import Incoming

__all__ = ["Checked", "Plan", "install_checked"]


@record
class Checked:
    """A bundle verified and judged, not installed yet: what verifying it established,
    how to write its verified bytes, and the trust store it was verified under."""

    verified: VerifiedBundle | Verified
    origin: str
    put: Callable[[Path], None]
    trust: Trust
    action: str


class Plan:
    """The targets of one command, each checked against the plugins installed now plus
    the targets checked before it (``a-2.0 a-1.0`` is a rollback in one command too)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.state = load_state(settings.state_file)

    def check_file(self, path: Path, *, accept: Accept | None = None) -> Checked:
        trust = read_trust(self.settings)
        verified = authenticate(Path(path), trust)
        return self._judged(verified, trust, str(path), _writer(verified.data, self.settings),
                            accept)

    def check_bytes(self, data: bytes, *, origin: str, accept: Accept) -> Checked:
        trust = read_trust(self.settings)
        verified = verify_bytes(data, origin, trust)
        return self._judged(verified, trust, origin, _writer(data, self.settings), accept)

    def check_incoming(self, incoming: Incoming, *, origin: str, accept: Accept) -> Checked:
        trust = read_trust(self.settings)
        verified = verify_incoming(incoming, origin, trust)
        return self._judged(verified, trust, origin, incoming.name, accept)

    def _judged(self, verified: VerifiedBundle | Verified, trust: Trust, origin: str,
                put: Callable[[Path], None], accept: Accept | None) -> Checked:
        if accept is not None:
            accept(verified)
        action, pending = _judge(verified, trust, origin, self.state, allow_downgrade=False,
                                 force=False, transfer_owner=False)
        self.state = _after(self.state, pending)
        return Checked(verified, origin, put, trust, action)


def _after(state: InstallState, pending: Pending) -> InstallState:
    """The installed plugins once ``pending`` is installed (nothing is written)."""
    name = pending.record.name
    done = committed(InstallState(state.plugins, {**state.pending, name: pending}), name)
    return InstallState(done.plugins, state.pending)


def install_checked(checked: Checked, *, settings: Settings) -> InstallResult:
    """Install a bundle a :class:`Plan` checked, re-checking only what may have changed
    since (see the module docstring)."""
    from pepperpy.core import PepperpyError
    from pepperpy.trust.authentic import check_key

    trust = read_trust(settings)
    if trust.fingerprint == checked.trust.fingerprint:
        trust = checked.trust  # the same store; its cache holds what the check verified
    if trust is not checked.trust:
        try:
            check_key(trust.snapshot, checked.verified.key_id, checked.verified.digest)
        except PepperpyError as exc:
            if exc.args:
                exc.args = (f"{checked.origin}: {exc.args[0]} (the trust store changed "
                            "after it was checked)", *exc.args[1:])
            raise
    return _install(checked.verified, trust, checked.origin, checked.put, settings=settings,
                    allow_downgrade=False, force=False, transfer_owner=False, accept=None)
