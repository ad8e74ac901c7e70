"""Issue 9's AD corrections against the real Samba DC (tests/lab/samba.py): service-account passwords
that can expire, and a SIP domain equal to a public AD domain."""
from __future__ import annotations

from typing import Dict

from ocscheck.model import Status
from tests.helpers import judge, make_site
from tests.lab.samba import BASE_DN, SERVICE_UAC, Lab

# Registered as a plugin, not imported: an imported session fixture is instantiated once per module.


def run(lab: Lab, ids, phase: str = "post", **site) -> Dict:
    overrides = lab.site()
    for section, values in site.items():
        overrides.setdefault(section, {}).update(values)
    return judge(make_site(overrides), ids, phase, env=dict(lab.env))


def test_password_expiring_under_the_domain_policy_warns_with_its_date(samba_good: Lab, undo):
    """Samba's default policy (maxPwdAge 42 days) on an account without "password never expires": the
    expiry is weeks away, beyond the 30-day threshold, and still warns (the old rule passed it)."""
    dn = f"CN=RTCService,CN=Users,{BASE_DN}"
    samba_good.forest.set_attributes(dn, {"userAccountControl": ["512"]})

    @undo
    def restore():
        samba_good.forest.set_attributes(dn, {"userAccountControl": [str(SERVICE_UAC)]})

    for phase in ("preflight", "post"):
        outcome = run(samba_good, ("ad.service-accounts",), phase)["ad.service-accounts"]
        assert outcome.status == Status.WARN, outcome.summary
        assert outcome.summary.startswith("RTCService: password expires 20"), outcome.summary
        assert "the OCS services stop when it does" in outcome.summary
        assert "RTCComponentService" not in outcome.summary
        assert any(e.startswith("RTCComponentService (") and e.endswith("password never expires")
                   for e in outcome.evidence)
        assert outcome.remediation.startswith(f'dsmod user "{dn}" -pwdneverexpires yes')


def test_passwords_that_never_expire_pass(samba_good: Lab):
    outcome = run(samba_good, ("ad.service-accounts",))["ad.service-accounts"]
    assert outcome.status == Status.PASS, outcome.summary
    assert outcome.summary == "service accounts usable; their passwords cannot expire"


def test_sip_domain_equal_to_a_public_ad_domain_passes(samba_good: Lab):
    """A forest whose AD domain is the public todorovic.fr, SIP domain todorovic.fr (the tutorial's
    default with a public AD domain): no warning, where the old rule warned "private AD names"."""
    outcome = run(samba_good, ("ad.sip-domain",), "preflight",
                  deployment={"ad_domain": "todorovic.fr", "server_fqdn": "ocs.todorovic.fr"})["ad.sip-domain"]
    assert outcome.status == Status.PASS, outcome.summary
