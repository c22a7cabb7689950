"""The supervisors' BI tool in a real browser (#15): Superset provisioned from bi/ on the built tiny
warehouse, driven by Playwright through Debian's Chromium (never a downloaded browser).

One Superset for the module. Logs in as two bureaus and HQ, opens every dashboard and asserts: every chart
fetched its data without an error (HTTP 200, no error panel on the page), HQ sees data in every chart,
each bureau's overview lists exactly its own institutions and none of the other bureau's. Screenshots go
to the test's tmp dir (and, when SUPERVISION_BI_SHOTS is set, are copied there); the time to the first
painted chart of each dashboard is recorded next to them (timings.json) and printed.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ASSETS = Path(__file__).resolve().parent.parent / "bi" / "assets"
DASHBOARDS = {d["slug"]: d for d in (yaml.safe_load(f.read_text(encoding="utf-8"))
                                     for f in sorted((ASSETS / "dashboards").glob("*.yaml")))}
# a chart has painted: an ECharts canvas, a table or a big number with a size on the page
PAINTED = ('[data-test=chart-container] canvas, [data-test=chart-container] table, '
           '[data-test=chart-container] .header-line')


NO_RESULTS = "No results were returned for this query"
LOADED_MACHINE_MS = 120_000  # a wait for Superset on 2 cores beside another pytest process and sqlfluff
# charts on the page showing something: a painted canvas/table/number, or Superset's "no results" state
PAINTED_CHARTS = f"""[...document.querySelectorAll('[data-test=chart-grid-component]')].filter(c =>
    [...c.querySelectorAll('{PAINTED}')].some(e => e.offsetHeight > 0) || c.innerText.includes('{NO_RESULTS}')
).length"""
CHARTS = {c["uuid"]: c for c in (yaml.safe_load(f.read_text(encoding="utf-8"))
                                 for f in (ASSETS / "charts").glob("*.yaml"))}
DATASETS = {d["uuid"]: d for d in (yaml.safe_load(f.read_text(encoding="utf-8"))
                                   for f in (ASSETS / "datasets").rglob("*.yaml"))}


def _charts_in(dashboard: dict) -> list[dict]:
    return [CHARTS[v["meta"]["uuid"]] for v in dashboard["position"].values()
            if isinstance(v, dict) and v.get("type") == "CHART"]


def _source_rows(built_warehouse, chart: dict) -> int:
    """Rows in the chart's dataset as the administrator sees them (a mart the tiny world leaves empty)."""
    ds = DATASETS[chart["dataset_uuid"]]
    source = f"({ds['sql']}) as v" if ds["sql"] else f"{ds['schema']}.{ds['table_name']}"
    with built_warehouse.connect() as conn:
        return conn.execute(f"select count(*) from {source}").fetchone()[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def superset(built_warehouse):
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} missing in CI: .ci/run installs Debian's chromium")
        pytest.skip("skipped: no chromium")
    from include.bi import cli

    state = built_warehouse.state
    base = cli.up(state, _free_port())
    try:
        yield base, cli.logins(state)
    finally:
        cli.down(state)


@pytest.fixture(scope="module")
def browser(superset):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def two_bureaus(built_warehouse):
    """The two bureaus with the most suspicious-flow alerts and institutions (so most charts have rows)."""
    with built_warehouse.connect() as conn:
        rows = conn.execute("""
            select i.bureau_code from marts_portraits.institution_portrait as i
            left join marts_flows.flow_alerts as f on f.bureau_code = i.bureau_code
            where i.bureau_code <> 'HQ' group by 1
            order by count(distinct f.alert_id) desc, count(distinct i.institution_code) desc, 1 limit 2""").fetchall()
    return [r[0] for r in rows]


def _institutions(built_warehouse, bureau: str) -> set[str]:
    with built_warehouse.connect() as conn:
        return {r[0] for r in conn.execute("select institution_code from marts_portraits.institution_portrait "
                                           "where bureau_code = %s", (bureau,))}


def _login(page, base: str, username: str, password: str) -> None:
    """Log in through Superset's login form. The form is a React page: filled before its script has run,
    the typed values are lost and the login returns to /login/. So: wait for the page to settle, check
    the values are in the fields, submit; a login that comes back to /login/ is tried once more, and a
    second failure says what the page showed."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(2):
        page.goto(f"{base}/login/")
        page.wait_for_load_state("networkidle")
        page.fill("#username", username)
        page.fill("#password", password)
        assert page.input_value("#username") == username
        page.keyboard.press("Enter")
        try:
            page.wait_for_url("**/superset/welcome/**", timeout=LOADED_MACHINE_MS)
            return
        except PlaywrightTimeout:
            seen = {"url": page.url, "page": " ".join(page.inner_text("body").split())[:300]}
            if attempt:
                raise AssertionError(f"{username}: login did not reach the welcome page twice: {seen}") from None
            print(f"\n{username}: login did not reach the welcome page, trying once more: {seen}")


def _what_page_shows(page, log: Path) -> dict:
    """For a failure message: where the page is, its first words, and the end of Superset's log."""
    return {"url": page.url, "page": " ".join(page.inner_text("body").split())[:300],
            "superset_log": log.read_text(errors="replace").splitlines()[-15:] if log.exists() else None}


def _wait_first_paint(page, where: str, responses: list, log: Path) -> int:
    """Wait for the dashboard's first painted chart. A page that paints nothing in LOADED_MACHINE_MS is
    reloaded once (counted, printed with the timings); if it still paints nothing, the failure says what the
    page showed, which chart requests came back, and the end of Superset's log. A page sent back to the login
    form fails at once: the user was signed out (a session cookie race once did that right after a login,
    see test_the_login_pages_late_beacon_does_not_sign_the_user_out)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    painted = (f"[...document.querySelectorAll('{PAINTED}')].some(e => e.offsetHeight > 0)"
               f" || document.body.innerText.includes('{NO_RESULTS}') || location.pathname.startsWith('/login')")
    for attempt in range(2):
        try:
            page.wait_for_function(painted, timeout=LOADED_MACHINE_MS)
        except PlaywrightTimeout:
            seen = {"chart_data": [r.status for r in responses], **_what_page_shows(page, log)}
            if attempt:
                wait_s = LOADED_MACHINE_MS // 1000
                raise AssertionError(f"{where}: no chart painted in {wait_s} s twice: {seen}") from None
            print(f"\n{where}: no chart painted in {LOADED_MACHINE_MS // 1000} s, reloading once: {seen}")
            responses.clear()
            page.reload()
            continue
        if "/login" in urlparse(page.url).path:
            raise AssertionError(f"{where}: signed out, sent back to the login form: {_what_page_shows(page, log)}")
        return attempt
    return 1


def _new_page(browser):
    page = browser.new_page(viewport={"width": 1600, "height": 1200})
    page.set_default_timeout(LOADED_MACHINE_MS)  # goto/fill/click: Superset's first pages are slow on a busy machine
    return page


def _open_all(page, base: str, username: str, password: str, out: Path, log: Path) -> dict:
    """Log in on ``page``, open every dashboard; per slug: chart data responses, error panels, first-paint
    seconds. The page stays signed in (the caller closes it)."""
    responses: list = []
    page.on("response", lambda r: responses.append(r) if "/api/v1/chart/data" in r.url else None)
    _login(page, base, username, password)
    seen: dict = {}
    for slug, dash in DASHBOARDS.items():
        responses.clear()
        start = time.monotonic()
        page.goto(f"{base}/superset/dashboard/{slug}/")
        reloads = _wait_first_paint(page, f"{username} {slug}", responses, log)
        first_paint = time.monotonic() - start
        expected = len(_charts_in(dash))
        deadline = time.monotonic() + 60
        while len(responses) < expected and time.monotonic() < deadline:
            page.wait_for_timeout(200)
        page.wait_for_load_state("networkidle")
        page.wait_for_function("document.querySelectorAll('[data-test=\"loading-indicator\"]').length === 0",
                               timeout=LOADED_MACHINE_MS)
        results = []
        for r in list(responses):
            body = r.json() if r.status == 200 else {}
            results.append({"status": r.status,
                            "rows": sum(res.get("rowcount") or 0 for res in body.get("result", [])),
                            "errors": [res["error"] for res in body.get("result", []) if res.get("error")]})
        # the whole dashboard in the viewport, so that every chart is laid out and painted
        height = page.evaluate("document.documentElement.scrollHeight")
        page.set_viewport_size({"width": 1600, "height": min(max(height, 1200), 6000)})
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:  # every chart painted (or saying "no results"); a slow one gets up to 20 s
            page.wait_for_function(f"({PAINTED_CHARTS}) >= {expected}", timeout=20_000)
        except PlaywrightTimeout:
            pass  # counted below, and the assertion names the dashboard
        painted = page.evaluate(PAINTED_CHARTS)
        shot = out / f"{username}-{slug}.png"
        page.screenshot(path=str(shot))
        page.set_viewport_size({"width": 1600, "height": 1200})
        seen[slug] = {"expected": expected, "results": results, "painted": painted,
                      "first_paint_s": round(first_paint, 2), "reloads": reloads,
                      "error_panels": page.locator(".ant-alert-error").count(),
                      "grid_charts": page.locator('[data-test="chart-grid-component"]').count(),
                      "text": page.inner_text("body"), "shot": shot}
    return seen


def _check_rendered(seen: dict, username: str, nonempty: dict, sees_all: bool) -> None:
    """No chart failed. HQ (sees every row): exactly the charts whose dataset is non-empty have rows. A
    bureau (may have no rows in some chart): some chart of each dashboard with data has rows."""
    for slug, s in seen.items():
        where = f"{username} {slug}"
        assert s["grid_charts"] == s["expected"], (where, s["grid_charts"], s["expected"])
        assert s["painted"] == s["expected"], (where, "charts painted", s["painted"], s["expected"])
        assert len(s["results"]) == s["expected"], (where, s["results"])
        assert all(r["status"] == 200 and not r["errors"] for r in s["results"]), (where, s["results"])
        assert s["error_panels"] == 0, (where, "error panel on the page")
        assert "Unexpected error" not in s["text"] and "Data error" not in s["text"], where
        with_rows = sum(r["rows"] > 0 for r in s["results"])
        if sees_all:
            assert with_rows == nonempty[slug], (where, s["results"], nonempty[slug])
        else:
            assert (with_rows >= 1) == (nonempty[slug] >= 1), (where, s["results"], nonempty[slug])


def _session_cookie(response) -> str | None:
    return response.cookies.get("session")


def test_the_login_pages_late_beacon_does_not_sign_the_user_out(superset):
    """The race that sent a user back to the login form right after a login, played in order. The login page
    sends its `spa_navigation` event as a beacon (POST /superset/log/) a second after loading, with the
    logged-out cookie; a login submitted within that second races it. Superset refuses the beacon, and when
    that refusal reached the browser after the login's answer, its logged-out session cookie replaced the
    signed-in one: the next page went to /login/. Now a background request (Sec-Fetch-Mode not "navigate")
    of a logged-out page leaves the cookie alone; the beacon is still refused, navigations still write."""
    import re

    import requests

    base, logins = superset
    user, password = "sup_hq", logins["postgres"]["sup_hq"]
    navigate = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}
    page = requests.get(f"{base}/login/", allow_redirects=False, timeout=60)  # no Sec-Fetch-*: not a browser
    logged_out = _session_cookie(page)
    assert page.status_code == 200 and logged_out, "the login page sets the session (its CSRF token)"
    csrf = re.search(r'id="csrf_token"[^>]*value="([^"]+)"', page.text)
    login = requests.post(f"{base}/login/", data={"username": user, "password": password, "csrf_token": csrf[1]},
                          cookies={"session": logged_out}, headers=navigate, allow_redirects=False, timeout=60)
    signed_in = _session_cookie(login)
    assert login.status_code == 302 and signed_in, (login.status_code, login.headers)
    # the beacon, sent before the login with the logged-out cookie, answered after it
    beacon = requests.post(f"{base}/superset/log/?explode=events", data={"events": "[]"},
                           cookies={"session": logged_out}, allow_redirects=False, timeout=60,
                           headers={"Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "empty"})
    assert beacon.status_code == 302 and "/login/" in beacon.headers["Location"], "still refused"
    assert _session_cookie(beacon) is None, "a logged-out page's beacon rewrote the session cookie"
    dashboard = requests.get(f"{base}/superset/dashboard/data-quality/", cookies={"session": signed_in},
                             headers=navigate, allow_redirects=False, timeout=60)
    assert dashboard.status_code == 200, (dashboard.status_code, dashboard.headers.get("Location"))
    # a logged-out navigation still gets its cookie written (and is sent to the login form)
    anonymous = requests.get(f"{base}/superset/dashboard/data-quality/", cookies={"session": logged_out},
                             headers=navigate, allow_redirects=False, timeout=60)
    assert anonymous.status_code == 302 and "/login/" in anonymous.headers["Location"]
    assert _session_cookie(anonymous), "a navigation's session changes are kept"


def test_dashboards_render_for_two_bureaus_and_hq_and_stay_inside_the_bureau(
        superset, browser, built_warehouse, two_bureaus, tmp_path):
    base, logins = superset
    out = tmp_path / "screenshots"
    out.mkdir()
    timings = {}
    seen_by = {}
    log = built_warehouse.state.home / "bi" / "superset.log"
    nonempty = {slug: sum(_source_rows(built_warehouse, c) > 0 for c in _charts_in(d))
                for slug, d in DASHBOARDS.items()}
    a, b = two_bureaus
    for code in [a, b, "HQ"]:
        user = f"sup_{code.lower()}"
        page = _new_page(browser)
        seen_by[code] = _open_all(page, base, user, logins["postgres"][user], out, log)
        if code == a:
            page_a = page  # still signed in as bureau A: reused for the DQ pages below
        else:
            page.close()
        timings[user] = {slug: s["first_paint_s"] if not s["reloads"] else f"{s['first_paint_s']} (reloaded once)"
                         for slug, s in seen_by[code].items()}
        _check_rendered(seen_by[code], user, nonempty, sees_all=(code == "HQ"))

    own_a, own_b = _institutions(built_warehouse, a), _institutions(built_warehouse, b)
    assert own_a and own_b and not own_a & own_b
    overview_a = seen_by[a]["overview"]["text"]
    assert all(code in overview_a for code in own_a), (a, own_a)
    assert not [code for code in own_b if code in overview_a], (a, "sees", b)
    overview_hq = seen_by["HQ"]["overview"]["text"]
    assert all(code in overview_hq for code in own_a | own_b)

    # the offline DQ pages, linked from the 数据质量 dashboard: bureau A reads its own, not bureau B's
    page = page_a
    page.goto(f"{base}/superset/dashboard/data-quality/")
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    link = page.locator("text=Data-quality page of every submission")
    try:
        link.wait_for(timeout=LOADED_MACHINE_MS)
    except PlaywrightTimeout:
        raise AssertionError(f"data-quality dashboard without its DQ link: {_what_page_shows(page, log)}") from None
    link.click()
    page.wait_for_url(f"**/supervision/dq/{a}/index.html", timeout=30_000)
    index_text = page.inner_text("body")
    assert all(code in page.content() for code in own_a) or own_a <= set(index_text.split())
    page.click("table a >> nth=0")
    page.wait_for_load_state()
    assert "版本 version" in page.inner_text("body") and "Files" in page.inner_text("body")
    page.screenshot(path=str(out / f"sup_{a.lower()}-dq-page.png"), full_page=True)
    assert page.goto(f"{base}/supervision/dq/{b}/index.html").status == 403
    page.close()

    (out / "timings.json").write_text(json.dumps(timings, indent=2))
    print("\nfirst chart painted (s):", json.dumps(timings))
    if os.environ.get("SUPERVISION_BI_SHOTS"):
        dest = Path(os.environ["SUPERVISION_BI_SHOTS"])
        dest.mkdir(parents=True, exist_ok=True)
        for f in out.iterdir():
            shutil.copy2(f, dest / f.name)


def test_dq_page_escapes_what_institutions_sent():
    from include.bi.dq_pages import render_submission

    sub = {"submission_id": "S<1>", "institution_code": "B0001", "institution_name": "<script>alert(1)</script>",
           "period": "2025-12-31", "version": 2, "submitted_at": "2026-01-05"}
    failure = {"rule_name": "capital_report.total_rwa.not_null", "severity": "critical", "unexpected_count": 1,
               "element_count": 9, "examples": [{"line": 3, "column": "total_rwa", "value": '"><img src=x onerror=1>'}]}
    page = render_submission(sub, [], [failure])
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&quot;&gt;&lt;img src=x onerror=1&gt;" in page
    assert "1 条规则未通过" in page and "capital_report.total_rwa.not_null" in page
    assert "http" not in page  # nothing fetched from anywhere: works offline
