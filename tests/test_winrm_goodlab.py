"""start_good_lab: the WinRM side of the bundled example's "everything right" lab."""
from __future__ import annotations

import pytest

from ocscheck.api import RunSetup
from tests.helpers import judge, make_site
from tests.winrm_endpoint import env, start_good_lab

pytestmark = pytest.mark.lab  # starts its own WS-Management endpoint


def test_good_lab_passes_every_host_check(tmp_path):
    overrides, stop = start_good_lab(tmp_path, thumbprint="ab" * 20)
    try:
        site = make_site(overrides)
        pre = judge(site, ["host.*", "ad.dc-health"], "preflight", env=env())
        post = judge(site, ["host.*"], "post", env=env())
        assert {str(o.status) for o in [*pre.values(), *post.values()]} == {"pass"}
        assert len(pre) == 8 and len(post) == 7  # post: host.sql-backend too
        facts = RunSetup(site, "post", environ=env()).facts
        assert facts.host("server").https_binding().sslcert_hash == "AB" * 20
        links = facts.host("dc").replication_links()
        assert {(l.destination_dc, l.source_dc) for l in links} == {("OCSDC1", "OCSDC2"), ("OCSDC2", "OCSDC1")}
        assert all(l.consecutive_failures == 0 and l.last_success for l in links)
    finally:
        stop()
