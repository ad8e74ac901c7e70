"""The run's facts: one object per source of truth, all sharing one memoising FactStore.

Checks read facts only through here (``ctx.facts.dns.lookup(...)``), never do I/O themselves.
"""
from __future__ import annotations

import datetime
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Dict, Optional, TypeVar, cast

from ocscheck.config import Site
from ocscheck.facts.store import FactStore, FactUnavailable, Reason
from ocscheck.secrets import SecretMissing, Secrets

if TYPE_CHECKING:  # the fetchers load their network clients: imported when a source is first used
    from ocscheck.facts.dial import Dials
    from ocscheck.facts.dns import DnsFacts
    from ocscheck.facts.http import HttpFacts
    from ocscheck.facts.ldap import LdapFacts
    from ocscheck.facts.sip import SipFacts
    from ocscheck.facts.tls import TlsFacts
    from ocscheck.facts.winrm import HostFacts

__all__ = ["Facts", "Inputs", "FactUnavailable", "Reason"]
T = TypeVar("T")


@dataclass(frozen=True)
class Inputs:
    """Offline inputs given on the command line."""

    certificate: Optional[Path] = None
    dcdiag: Optional[Path] = None
    repadmin: Optional[Path] = None
    host_snapshots: Dict[str, Path] = field(default_factory=dict)


class Facts:
    def __init__(self, site: Site, store: FactStore, secrets: Secrets, inputs: Inputs = Inputs()):
        self.site = site
        self.store = store
        self.secrets = secrets
        self.inputs = inputs
        self._sources: Dict[str, object] = {}
        self._lock = threading.RLock()  # a source may read another while it is built (tls: the dials)

    def _source(self, name: str, factory: Callable[["Facts"], T]) -> T:
        with self._lock:
            if name not in self._sources:
                self._sources[name] = factory(self)
            return cast(T, self._sources[name])

    def close(self) -> None:
        """End the run's sessions (LDAP connections, WinRM shells) once every check is done, and close the
        connections preconnected for nothing."""
        with self._lock:
            sources = list(self._sources.values())
        for source in sources:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    @property
    def dials(self) -> "Dials":
        """The run's TCP connects, shared by every source: a dead address:port costs one timeout per run."""
        from ocscheck.facts.dial import Dials

        return self._source("dials", lambda facts: Dials())

    @property
    def timeout(self) -> float:
        return self.site.run.timeout

    def now(self) -> datetime.datetime:
        """The run's reference time (UTC), recorded like any fact.

        Ages and expiries are judged against it, so replaying a recording judges them as they were
        when it was made, not as they would be today.
        """
        stamp = self.store.get("clock:now", lambda: datetime.datetime.now(datetime.timezone.utc).isoformat())
        return datetime.datetime.fromisoformat(stamp)

    def secret(self, env_name: str, purpose: str) -> str:
        """A secret for a fetch; a missing one makes the fact unavailable (skip: not configured)."""
        try:
            return self.secrets.get(env_name, purpose)
        except SecretMissing as exc:
            # The site configures the source (it names the variable): an error, never a quiet skip.
            raise FactUnavailable(Reason.SECRET_MISSING, str(exc)) from None

    # Each source module is imported on first use so that `ocscheck --help` stays fast.
    @property
    def dns(self) -> "DnsFacts":
        from ocscheck.facts.dns import DnsFacts

        return self._source("dns", DnsFacts)

    @property
    def tls(self) -> "TlsFacts":
        from ocscheck.facts.tls import TlsFacts

        return self._source("tls", TlsFacts)

    @property
    def http(self) -> "HttpFacts":
        from ocscheck.facts.http import HttpFacts

        return self._source("http", HttpFacts)

    @property
    def sip(self) -> "SipFacts":
        from ocscheck.facts.sip import SipFacts

        return self._source("sip", SipFacts)

    @property
    def ldap(self) -> "LdapFacts":
        from ocscheck.facts.ldap import LdapFacts

        return self._source("ldap", LdapFacts)

    def host(self, role: str) -> "HostFacts":
        """The Windows host ``role`` ("server" or "dc"): WinRM, or the collector snapshot given for it."""
        from ocscheck.facts.winrm import HostFacts

        return self._source(f"host:{role}", lambda facts: HostFacts(facts, role))
