"""DC health from dcdiag (facts: WinRM on a DC, its collector snapshot, or a saved output with --dcdiag)."""
from __future__ import annotations

from ocscheck.collector import reads
from ocscheck.context import CheckContext
from ocscheck.model import Result
from ocscheck.registry import check


@check("ad.dc-health", title="dcdiag reports no failed test", phases=("preflight",), needs=("winrm.dc",))
@reads("dc", "dcdiag")
def dc_health(ctx: CheckContext) -> Result:
    """dcdiag on a domain controller reports no failed test (English or French output, full or /q).

    Why: forest and domain preparation write to AD and need healthy, replicating DCs; a failing
    dcdiag test (DNS, replication, SYSVOL, services) makes the preparation steps fail or not replicate.
    Fix: run the failed test verbosely on that DC (`dcdiag /s:DC /test:NAME /v`) and fix what it says.
    Source: dcdiag (TechNet cc731968). Facts: `dcdiag` run on the [winrm.dc] host, the dc snapshot of
    collect.ps1, or a file given with --dcdiag (saved from cmd or PowerShell: any encoding).
    """
    report, source = ctx.facts.host("dc").dcdiag()
    if report.error:
        evidence = [f"source: {source}"] + [f"unreadable verdict: {line}" for line in report.unreadable[:3]]
        return Result.error(f"dcdiag output unreadable: {report.error}", evidence)
    evidence = [f"source: {source}"]
    if not report.tests:
        # Only a saved file gets here (the probe's silence is an error): `dcdiag /q` prints nothing when every
        # test passes, but so does a capture that failed. Say both; never a plain green.
        return Result.warn("the saved dcdiag output is empty: `dcdiag /q` prints nothing when every test passes, "
                           "but a failed capture looks the same", evidence,
                           "Save the full output instead, on the DC: dcdiag > dcdiag.txt (then --dcdiag dcdiag.txt)")
    failed = report.failed
    if not failed:
        return Result.ok(f"all {len(report.tests)} dcdiag tests passed", evidence)
    for test in failed:
        detail = f" ({'; '.join(test.detail)[:200]})" if test.detail else ""
        evidence.append(f"{test.dc}: {test.test} failed{detail}")
    fixes = [f"dcdiag /s:{t.dc} /test:{t.test} /v" for t in failed]
    summary = ", ".join(f"{t.dc} {t.test}" for t in failed)
    return Result.fail(f"{len(failed)} dcdiag test(s) failed: {summary}", evidence,
                       "Run on a DC and fix what each reports: " + " ; ".join(dict.fromkeys(fixes)))
