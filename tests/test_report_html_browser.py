"""The HTML report in a real browser: Debian's chromium and chromedriver through selenium.

Filters, expand/collapse, anchors, "+N more", copy buttons, narrow windows; no request leaves the page
(a recording proxy every request of the browser goes through, loopback included, proves it, with a
control page showing the proxy does see requests); an injected payload does not run (escaping, and the
CSP without 'unsafe-inline' on its own). A browser that cannot start fails under CI=true (unavailable()).
"""
from __future__ import annotations

import dataclasses
import re
import shutil
import socket
import threading
import time
from datetime import datetime

import pytest

from ocscheck.model import Status
from ocscheck.reports import RunReport, html
from tests.lab import unavailable
from tests.helpers import make_outcome

PAYLOAD = ('<img src=x onerror="window.__pwned=1"> <script>window.__pwned=2</script> '
           '<svg onload="window.__pwned=3"></svg> "><b onmouseover="window.__pwned=4">bold</b>')
LONG_DN = "CN=" + ",".join(f"OU=organisational-unit-{i}" for i in range(12)) + ",DC=todorovic,DC=adds"


@pytest.fixture
def report():
    outcomes = (
        make_outcome("cert.subject", Status.FAIL, f"CN is {PAYLOAD}", [f"subject: {PAYLOAD}", LONG_DN],
                "certreq -new request.inf request.req"),
        make_outcome("cert.key", Status.WARN, "1024-bit RSA", ["key: RSA 1024"], "Use 2048 bits"),
        make_outcome("cert.eku", Status.PASS, "serverAuth present", ["EKU: serverAuth"]),
        make_outcome("dns.split", Status.PASS, "all good", ["no SIP record outside"]),
        make_outcome("dns.sip-cname", Status.PASS, "sip.todorovic.fr -> ocs.todorovic.adds"),
        make_outcome("ad.replication", Status.ERROR, "2 DC(s) unreadable",
                [f"[repadmin] ocsdc{i} <- ocsdc{i + 1}: last success never" for i in range(13)]),
        make_outcome("host.os", Status.SKIP, "not configured: no [winrm.server]"),
    )
    return RunReport(phase="post", started=datetime(2026, 11, 27, 7, 30, 5), duration_s=1.25, outcomes=outcomes,
                     tool_version="0.1.0", site="ocscheck.toml", hostname="ci-runner",
                     server_fqdn="ocs.todorovic.adds", sip_domains=("todorovic.fr", "todorovic.com"),
                     ad_domain="todorovic.adds")


_BROWSER_SERVICE = re.compile(r"^CONNECT [a-z0-9.-]+\.(googleapis|google|gvt1|gstatic)\.com:443 ")


class RecordingProxy:
    """A TCP listener on 127.0.0.1 that records every request line sent to it and answers 502."""

    def __init__(self):
        self.requests = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    data = conn.recv(4096)
                except OSError:
                    data = b""
                self.requests.append(data.split(b"\r\n", 1)[0].decode("latin-1"))
                try:
                    conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                except OSError:
                    pass

    def page_requests(self, since: int = 0):
        """What was asked for, less the browser's own service traffic (Google hosts, which the
        --disable-* flags do not silence entirely); it never gets further than this proxy."""
        return [r for r in self.requests[since:] if not _BROWSER_SERVICE.search(r)]

    def close(self):
        self.sock.close()


@pytest.fixture(scope="module")
def proxy():
    recorder = RecordingProxy()
    yield recorder
    recorder.close()


@pytest.fixture(scope="module")
def browser(proxy):
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as exc:
        unavailable(f"selenium is not installed: {exc}")
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver") or "/usr/lib/chromium/chromedriver"
    if not binary:
        unavailable("chromium is not installed (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", "--disable-default-apps", "--disable-extensions",
                     "--disable-features=OptimizationHints,OptimizationGuideModelDownloading,AutofillServerCommunication,"
                     "MediaRouter,Translate",
                     "--allow-file-access-from-files", "--window-size=1200,900",
                     # Every request, loopback included, goes through the recording proxy.
                     f"--proxy-server=http://127.0.0.1:{proxy.port}", "--proxy-bypass-list=<-loopback>"):
        options.add_argument(argument)
    try:
        driver = webdriver.Chrome(options=options, service=Service(driver_path))
    except Exception as exc:  # noqa: BLE001 - any failure to start is "the browser is unavailable"
        unavailable(f"chromium could not start through chromedriver: {exc}")
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture
def page(browser, report, tmp_path):
    def load(current=report, fragment="", verbose=False):
        path = tmp_path / "report.html"
        path.write_text(html.render(current, verbose=verbose), encoding="utf-8")
        browser.set_window_size(1200, 900)
        browser.get("about:blank")
        browser.get(path.as_uri() + fragment)
        return browser
    return load


def _visible(driver, selector):
    return [e for e in driver.find_elements("css selector", selector) if e.is_displayed()]


def _open_ids(driver):
    return {e.get_attribute("id") for e in driver.find_elements("css selector", "details.check")
            if e.get_attribute("open") is not None}


def test_header_has_the_identity_and_the_verdict(page):
    driver = page()
    assert driver.find_element("id", "verdict").text == "FAIL: 1 check(s) failed"
    identity = driver.find_element("css selector", "dl.identity").text
    assert "ocs.todorovic.adds" in identity and "todorovic.fr, todorovic.com" in identity
    assert "todorovic.adds" in identity and "AD domain" in identity


def test_failures_warnings_and_errors_open_and_expand_collapse_all(page):
    driver = page()
    assert _open_ids(driver) == {"cert.subject", "cert.key", "ad.replication"}
    driver.find_element("id", "expand-all").click()
    assert _open_ids(driver) == {"cert.subject", "cert.key", "cert.eku", "dns.split", "dns.sip-cname",
                                 "ad.replication", "host.os"}
    driver.find_element("id", "collapse-all").click()
    assert _open_ids(driver) == set()


def test_filters_hide_rows_and_areas_left_empty(page):
    driver = page()
    driver.find_element("css selector", "#filters input[value=pass]").click()
    shown = {e.get_attribute("id") for e in _visible(driver, "details.check")}
    assert shown == {"cert.subject", "cert.key", "ad.replication", "host.os"}
    assert not _visible(driver, "#area-dns")  # only passes there: the whole area goes
    assert _visible(driver, "#area-cert")
    for status in ("fail", "warn"):
        driver.find_element("css selector", f"#filters input[value={status}]").click()
    assert not _visible(driver, "#area-cert")
    driver.find_element("css selector", "#filters input[value=pass]").click()
    assert {e.get_attribute("id") for e in _visible(driver, "details.check")} == {
        "cert.eku", "dns.split", "dns.sip-cname", "ad.replication", "host.os"}
    assert _visible(driver, "#area-dns") and _visible(driver, "#area-cert")


def test_anchor_opens_and_shows_its_check(page):
    driver = page(fragment="#dns.split")
    details = driver.find_element("id", "dns.split")
    assert details.get_attribute("open") is not None
    assert driver.execute_script(
        "var r = arguments[0].getBoundingClientRect(); return r.top >= 0 && r.top < window.innerHeight;", details)
    link = details.find_element("css selector", "a.anchor")
    assert link.get_attribute("href").endswith("#dns.split")


def test_capped_evidence_says_how_many_more(page):
    driver = page()
    replication = driver.find_element("id", "ad.replication")
    assert "Evidence (13)" in replication.text
    visible = [li for li in replication.find_elements("css selector", "li") if li.is_displayed()]
    assert len(visible) == html.EVIDENCE_SHOWN
    more = replication.find_element("css selector", "details.more > summary")
    assert more.text == f"+{13 - html.EVIDENCE_SHOWN} more"
    more.click()
    assert len([li for li in replication.find_elements("css selector", "li") if li.is_displayed()]) == 13


def test_copy_button_copies_the_fix(page, browser):
    driver = page()
    browser.execute_cdp_cmd("Browser.grantPermissions", {
        "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
    button = driver.find_element("css selector", "#cert\\.subject .fix button.copy")
    button.click()
    # The clipboard write is asynchronous: the label changes when it has been done (wait, within reason).
    deadline = time.monotonic() + 5
    while driver.execute_script("return arguments[0].textContent", button) != "Copied" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert driver.execute_script("return arguments[0].textContent", button) == "Copied"
    copied = driver.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "navigator.clipboard.readText().then(done, function (e) { done('error: ' + e); });")
    assert copied == "certreq -new request.inf request.req"


def test_long_dns_wrap_on_a_narrow_window(page, browser):
    driver = page()
    browser.set_window_size(420, 900)
    driver.find_element("id", "expand-all").click()
    overflow = driver.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
    assert overflow <= 0
    dn_item = [li for li in driver.find_elements("css selector", "#cert\\.subject li") if "OU=" in li.text][0]
    assert dn_item.size["height"] > 3 * 14  # several lines, not one line running off the page


def test_injected_payload_does_not_run_and_is_shown_as_text(page):
    driver = page(verbose=True)
    for _ in range(3):  # give an onerror/onload a chance
        driver.execute_script("return 1")
    assert driver.execute_script("return window.__pwned === undefined")
    summary = driver.find_element("css selector", "#cert\\.subject .sum").text
    assert '<img src=x onerror="window.__pwned=1">' in summary and "<script>" in summary
    assert not driver.find_elements("css selector", "details.check img, details.check svg, details.check b")


def test_csp_blocks_inline_script_even_when_markup_gets_in(page):
    """Defence in depth: markup injected past the escaping (here by the test itself) still cannot run."""
    driver = page()
    driver.execute_script(
        "var d = document.createElement('div');"
        "d.innerHTML = '<img src=\"data:,x\" onerror=\"window.__pwned=5\"><img src=x onerror=\"window.__pwned=6\">';"
        "document.body.appendChild(d);"
        "var s = document.createElement('script'); s.textContent = 'window.__pwned = 7';"
        "document.body.appendChild(s);")
    driver.execute_script("return 1")
    assert driver.execute_script("return window.__pwned === undefined")
    # Our own script did run (the hash matches): the filters work, as tested above; and here:
    assert driver.execute_script("return document.querySelectorAll('details.check[open]').length") == 3


def test_no_request_leaves_the_page(page, proxy, browser, tmp_path, report):
    # A payload that would fetch, were it markup: an image, a stylesheet, a frame on loopback (proxied).
    target = "http://127.0.0.1:8123/leak"  # loopback (the proxy sees it first), a port Chromium allows
    bait = (f'<img src="{target}/img"><link rel=stylesheet href="{target}/css"><iframe src="{target}/frame">'
            f'</iframe><script src="{target}/js"></script>')
    hostile = dataclasses.replace(report, outcomes=report.outcomes + (
        make_outcome("sip.options", Status.FAIL, bait, [bait], bait),))
    before = len(proxy.requests)
    driver = page(hostile, verbose=True)
    driver.find_element("id", "expand-all").click()
    for status in ("fail", "warn", "pass"):
        driver.find_element("css selector", f"#filters input[value={status}]").click()
    driver.find_element("css selector", "#ad\\.replication details.more > summary").click()
    entries = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert entries == []
    assert proxy.page_requests(before) == []
    # Control: the same bait as real markup in a page without our CSP does go out through the proxy,
    # so an empty record above means nothing was requested, not that nothing could be seen.
    control = tmp_path / "control.html"
    control.write_text(f"<!DOCTYPE html><html><body>{bait}</body></html>", encoding="utf-8")
    driver.get(control.as_uri())
    driver.execute_script("return 1")
    import time
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not proxy.page_requests(before):
        time.sleep(0.1)
    assert any("127.0.0.1:8123/leak/" in r for r in proxy.page_requests(before)), proxy.requests[before:]
