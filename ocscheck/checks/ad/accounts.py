"""The OCS service accounts: enabled, not locked out, passwords that will not stop the services."""
from __future__ import annotations

import datetime
from typing import List, Tuple

from ocscheck.context import CheckContext
from ocscheck.model import Result
from ocscheck.powershell import ps_quote
from ocscheck.registry import check
from ocscheck.values.ad import Account, DomainPolicy
from ocscheck.values.adtime import filetime

UF_ACCOUNTDISABLE = 0x2
UF_LOCKOUT = 0x10
UF_DONT_EXPIRE_PASSWD = 0x10000
UF_PASSWORD_EXPIRED = 0x800000

def account_problems(account: Account, policy: DomainPolicy, now: datetime.datetime, threshold_days: int
                     ) -> Tuple[List[str], List[str], List[str], List[str]]:
    """(problems, warnings, notes, fixes) for one account.

    A problem fails the check; a warning is a password that will expire, however far away (an expired
    RTC service password stops the services at their next start: SCM 7000/7038, OCS 12295).
    """
    dn = account.dn
    uac = account.user_account_control or 0
    computed = account.account_control_computed or 0
    problems: List[str] = []
    warnings: List[str] = []
    notes: List[str] = []
    fixes: List[str] = []
    if uac & UF_ACCOUNTDISABLE:
        problems.append("disabled")
        fixes.append(f'dsmod user "{dn}" -disabled no')
    lockout = filetime(account.lockout_time)
    duration = policy.lockout_duration
    locked = bool(computed & UF_LOCKOUT)
    if lockout and not locked and duration is not None:
        # Without the computed flag (2003 DCs): locked while lockoutTime + duration is ahead; a duration of
        # 0x8000000000000000 (or 0) means until an administrator unlocks.
        forever = duration == 0 or abs(duration) >= 0x7FFFFFFFFFFFFFFF
        locked = forever or lockout + datetime.timedelta(microseconds=abs(duration) // 10) > now
    if locked:
        problems.append(f"locked out since {lockout:%Y-%m-%d %H:%M} UTC" if lockout else "locked out")
        fixes.append(f'$u = [ADSI]{ps_quote("LDAP://" + dn)}; $u.Put("lockoutTime", 0); $u.SetInfo()')
    expires = filetime(account.account_expires)
    if expires and expires <= now + datetime.timedelta(days=threshold_days):
        problems.append(f"account expires {expires:%Y-%m-%d}")
        fixes.append(f'dsmod user "{dn}" -acctexpires never')
    if uac & UF_DONT_EXPIRE_PASSWD:
        notes.append("password never expires")
        return problems, warnings, notes, fixes
    pwd_last_set = account.pwd_last_set
    if pwd_last_set == 0 or computed & UF_PASSWORD_EXPIRED:
        problems.append("password expired or must be changed at next logon")
    else:
        raw = account.password_expiry_computed
        max_age = policy.max_pwd_age
        if raw is not None:  # 2008+ DCs compute it, fine-grained password policies included
            expiry = filetime(raw)  # None: "never" (0x7FFFFFFFFFFFFFFF)
        else:  # 2003 DCs: pwdLastSet + the domain's maxPwdAge (negative; 0 = no maximum)
            expiry = filetime(pwd_last_set + abs(max_age)) if max_age and pwd_last_set else None
        if expiry is None:
            notes.append("password does not expire (no maximum password age applies)")
        else:
            left = expiry - now
            when = f"password expires {expiry:%Y-%m-%d %H:%M} UTC ({left.days} days)"
            if left <= datetime.timedelta(days=threshold_days):
                problems.append(when + f", within the {threshold_days}-day threshold")
            else:
                warnings.append(when + ": the OCS services stop when it does (\"password never expires\" "
                                "is not set)")
    if any("password" in p for p in problems + warnings):
        fixes.append(f'dsmod user "{dn}" -pwdneverexpires yes   (after setting a new password if expired: '
                     f'dsmod user "{dn}" -pwd *)')
    return problems, warnings, notes, fixes


@check("ad.service-accounts", title="RTCService and RTCComponentService accounts are usable",
       phases=("preflight", "post"), needs=("ldap",))
def service_accounts(ctx: CheckContext) -> Result:
    """The OCS service accounts (RTCService, RTCComponentService by default; [ldap] service_accounts)
    must be enabled, not locked out, and have a password that cannot expire.

    Rule: the check passes only when the password cannot expire ("password never expires" set, or no
    maximum password age applies: msDS-UserPasswordExpiryTimeComputed "never", or maxPwdAge 0 on 2003
    DCs). A password that can expire warns, naming the date (msDS-UserPasswordExpiryTimeComputed, or
    pwdLastSet + the domain's maxPwdAge on 2003 DCs), however far away it is; within
    thresholds.password_expiry_days (or already expired) it fails. Why: setup does not set "password
    never expires"; when the password expires the services keep running, then fail to start at the next
    restart (SCM 7000/7038, OCS log 12295) — a known outage.
    Preflight: a missing account passes (setup's wizard can create it). Post: it fails.
    Fix: `dsmod user "<DN>" -pwdneverexpires yes`, `dsmod user "<DN>" -disabled no` (PowerShell 2.0 has
    no AD cmdlets before the 2008 R2 module; ADSI unlocks: `$u=[ADSI]"LDAP://<DN>"; $u.Put("lockoutTime",0);
    $u.SetInfo()`). Times are judged against the run clock (recorded: a replay judges as the run did).
    Source: TechNet ee817585 ("Setting a Non-Expiring Password for Office Communications Server Service
    Accounts"); findings-2026-12 §8 (schertz.name, insideocs: 7000/1021, 12295); tutorial ("mot de passe
    qui expire ?"); event 7038 samples.
    """
    ldap = ctx.facts.ldap
    now = ctx.facts.now()
    policy = ldap.domain_policy()
    threshold = ctx.site.thresholds.password_expiry_days
    evidence, failures, warnings, fixes = [], [], [], []
    names = ctx.site.ldap.service_accounts
    for name, account in zip(names, ldap.together(ldap.account, names)):
        if account is None:
            if ctx.phase.value == "post":
                failures.append(f"{name} does not exist")
                fixes.append(f"Create {name} (OCS setup's service account page) or set [ldap] service_accounts "
                             "to the accounts this deployment uses.")
            evidence.append(f"{name}: not found" + (" (setup can create it)" if ctx.phase.value == "preflight" else ""))
            continue
        problems, expiring, notes, account_fixes = account_problems(account, policy, now, threshold)
        evidence.append(f"{name} ({account.dn}): " + "; ".join(problems + expiring + notes or ["enabled"]))
        failures += [f"{name}: {p}" for p in problems]
        warnings += [f"{name}: {w}" for w in expiring]
        fixes += account_fixes
    if failures:
        return Result.fail("; ".join(failures + warnings), evidence, "\n".join(fixes))
    if warnings:
        return Result.warn("; ".join(warnings), evidence, "\n".join(fixes))
    return Result.ok("service accounts usable; their passwords cannot expire", evidence)
