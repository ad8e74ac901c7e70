"""Inbound replication of the DCs: LDAP repsFrom merged with repadmin from a DC."""
from __future__ import annotations

import datetime
from typing import List, Optional, Tuple

from ocscheck.collector import reads
from ocscheck.context import CheckContext
from ocscheck.facts import FactUnavailable, Reason
from ocscheck.model import Result
from ocscheck.registry import check
from ocscheck.values.adtime import parse_iso
from ocscheck.values.replication import ReplicationLink

def _repadmin_links(ctx: CheckContext) -> Tuple[List[ReplicationLink], Optional[FactUnavailable]]:
    """Links from the DC's repadmin (WinRM or --repadmin file), or ([], why they could not be had)."""
    try:
        return list(ctx.facts.host("dc").replication_links()), None
    except FactUnavailable as exc:
        return [], exc


@check("ad.replication", title="AD replication is healthy on every inbound link",
       phases=("preflight", "post"), needs=("ldap|winrm.dc",))
@reads("dc", "repadmin")
def replication(ctx: CheckContext) -> Result:
    """Every inbound replication link of the DCs read must have 0 consecutive failures and a last
    success younger than thresholds.replication_max_age_hours.

    Two sources are merged: repsFrom on each naming-context head of the site's DC and of
    [ldap] replication_dcs (LDAP), and `repadmin /showrepl * /csv` from a DC (WinRM or --repadmin).
    Every link is listed with its origin. A configured DC whose repsFrom cannot be read fails; a
    configured repadmin source that cannot be read (WinRM timeout, refused login) makes the check an
    error unless a failing link already decides it: a source that could not look never passes.
    Fix: `repadmin /showrepl <dc>` and `dcdiag /test:replications` on the failing destination,
    then `repadmin /syncall /AdeP` once the cause (DNS, a DC down, time skew) is fixed.
    Source: MS-DRSR REPS_FROM; repadmin documentation.
    """
    links: List[ReplicationLink] = []
    absent: List[str] = []
    unreadable: List[str] = []
    dsa_count = 0
    ldap_error: Optional[FactUnavailable] = None
    try:
        state = ctx.facts.ldap.replication_state()
        links += state.links
        unreadable = [why for _url, why in state.unreadable]  # the reason names the URL
        dsa_count = state.dsa_count
    except FactUnavailable as exc:
        if exc.reason.skips:
            absent.append(f"ldap: {exc}")
        else:
            ldap_error = exc
    repadmin, repadmin_error = _repadmin_links(ctx)
    links += repadmin
    source_errors: List[str] = []
    if repadmin_error is not None:
        (absent if repadmin_error.reason.skips else source_errors).append(f"repadmin: {repadmin_error}")
    if ldap_error is not None:
        if not repadmin:
            raise ldap_error  # the site's DC cannot be read and nothing else tells: error, like every AD check
        unreadable.append(str(ldap_error))
    now = ctx.facts.now()
    if not links and not unreadable and not source_errors:
        if len(absent) == 2:
            raise FactUnavailable(Reason.NOT_CONFIGURED, "; ".join(absent))
        if dsa_count <= 1:
            return Result.ok("a single domain controller: no inbound replication link to judge",
                             [f"{dsa_count} DC(s) in the forest"] + absent)
        return Result.warn(f"{dsa_count} DCs in the forest but no inbound link could be read", absent,
                           "Give a DC to read repadmin from ([winrm.dc] or --repadmin FILE), or list the DCs in "
                           "[ldap] replication_dcs.")
    max_age = datetime.timedelta(hours=ctx.site.thresholds.replication_max_age_hours)
    evidence, bad = [], []
    for link in sorted(links, key=lambda x: (x.destination_dc, x.naming_context, x.source_dc, x.origin)):
        age = now - parse_iso(link.last_success) if link.last_success else None
        problems = []
        if link.consecutive_failures > 0:
            problems.append(f"{link.consecutive_failures} consecutive failure(s), last result {link.last_result}")
        if age is None:
            problems.append("never replicated")
        elif age > max_age:
            problems.append(f"last success {age.total_seconds() / 3600:.1f} h ago")
        line = (f"[{link.origin}] {link.destination_dc} <- {link.source_dc} {link.naming_context}: "
                f"last success {link.last_success or 'never'}")
        evidence.append(line + (" — " + "; ".join(problems) if problems else ""))
        if problems:
            bad.append(f"{link.destination_dc} <- {link.source_dc} ({link.naming_context})")
    evidence += [f"unreadable: {u}" for u in unreadable] + source_errors + absent
    if bad or unreadable:
        what = [f"{len(bad)} failing link(s): " + ", ".join(bad[:5])] if bad else []
        what += [f"{len(unreadable)} DC(s) unreadable"] if unreadable else []
        destinations = sorted({b.split(" <- ")[0] for b in bad})
        fix = "\n".join([f"repadmin /showrepl {d}\ndcdiag /s:{d} /test:replications" for d in destinations]
                        + ["repadmin /syncall /AdeP   (once the cause is fixed)"])
        return Result.fail("; ".join(what), evidence, fix)
    if source_errors:
        return Result.error(f"{len(links)} inbound link(s) healthy, but {'; '.join(source_errors)}", evidence)
    return Result.ok(f"{len(links)} inbound link(s) healthy", evidence)
