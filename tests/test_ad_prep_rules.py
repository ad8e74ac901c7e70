"""ad.prep-replicated's comparison rule on values (no server): what a DC lacks or holds beyond the site's DC."""
from __future__ import annotations

from ocscheck.values.ad import PrepContent


def content(schema=1008, partitions=("configuration",), domains=("todorovic.fr",), pools=("ocs.todorovic.adds",)):
    return PrepContent(schema, frozenset(partitions), frozenset(domains), frozenset(pools))


def test_same_content_has_no_difference():
    assert content().differences(content()) == []


def test_unprepared_schema_and_missing_rtc_service_are_named_with_their_naming_context():
    dc = content(schema=None, partitions=(), domains=(), pools=())
    assert dc.differences(content()) == [
        ("schema version none (not prepared), the site's DC 1008", "schema"),
        ("lacks the RTC Service in the configuration partition (forest prep)", "configuration"),
        ("lacks SIP domain(s) todorovic.fr", "configuration"),
        ("lacks pool(s) ocs.todorovic.adds", "configuration")]


def test_content_the_site_dc_lacks_is_a_difference_too():
    dc = content(domains=("todorovic.fr", "todorovic.com"))
    assert dc.differences(content()) == [("holds SIP domain(s) todorovic.com that the site's DC lacks",
                                          "configuration")]


def test_system_partition_content_lives_in_the_root_domain_and_can_be_left_uncompared():
    reference = content(partitions=("system",))
    other_domain_dc = content(partitions=(), domains=(), pools=())
    assert other_domain_dc.differences(reference, compare_rtc=False) == []
    assert ("lacks SIP domain(s) todorovic.fr", "system") in other_domain_dc.differences(reference)
