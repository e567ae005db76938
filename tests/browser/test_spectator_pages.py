"""The spectator pages in headless Chromium: live scores, corrections, standings, a dropped
stream, a restart (`reset`), every state a spectator meets, a phone's width, keyboard use and
axe-core's checks. One browser for the module; screenshots go to ARTIFACTS (printed)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from server.metrics import SSE_RESETS
from tests.browser.harness import ARTIFACTS, Client, ServedApp, browser_available, chromium
from tests.support import settings_for, sqlite_copy

pytestmark = [
    pytest.mark.xdist_group("browser"),
    pytest.mark.skipif(not browser_available(), reason="chromium and chromedriver not installed"),
]

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
DASH = " \u2013 "  # between the two scores on the page
TEAMS = ("Lions", "Tigers", "Bears", "Wolves")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    from tests.support import sqlite_template

    directory = tmp_path_factory.mktemp("browser-app")
    url = sqlite_copy(sqlite_template(tmp_path_factory.mktemp("template")), directory)
    # A quick `retry:` so that a dropped stream comes back within the test's patience.
    served = ServedApp(settings_for(url, directory, SSE_RETRY_MS="300", RATE_LIMIT_ENABLED="false"))
    served.start()
    yield served
    served.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    print(f"\nbrowser screenshots: {ARTIFACTS}")
    driver = chromium(tmp_path_factory.mktemp("chromium-profile"))
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def owner(served: ServedApp) -> Client:
    client = Client(served.control_url)
    client.sign_in("owner@example.com")
    return client


@pytest.fixture
def page(browser: webdriver.Chrome, request: pytest.FixtureRequest) -> Iterator[webdriver.Chrome]:
    yield browser
    browser.save_screenshot(str(ARTIFACTS / f"{request.node.name}.png"))
    browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def league(owner: Client, name: str, games: list[tuple[int, int]], **event: Any) -> dict:
    """An event with the four teams and games between them (by index into TEAMS)."""
    created = owner.ok("POST", "/api/v1/events", {"name": name, **event}, 201)
    teams = [
        owner.ok("POST", f"/api/v1/events/{created['id']}/teams", {"name": team}, 201)["id"]
        for team in TEAMS
    ]
    ids = [
        owner.ok(
            "POST",
            f"/api/v1/events/{created['id']}/games",
            {"home_team_id": teams[h], "away_team_id": teams[a], "round": 1},
            201,
        )["id"]
        for h, a in games
    ]
    return {"id": created["id"], "teams": teams, "games": ids}


def score(owner: Client, game_id: int, home: int, away: int, status: str = "live") -> None:
    body = {"home_score": home, "away_score": away, "status": status}
    owner.ok("PUT", f"/api/v1/games/{game_id}/score", body)


def wait(driver: webdriver.Chrome, check: Callable[[], Any], timeout: float, what: str) -> Any:
    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(
        lambda _d: check(), message=what
    )


def text(driver: webdriver.Chrome, css: str) -> str:
    """The rendered text of the first match, read in one step (the page re-renders often,
    so an element found in one call may be gone by the next)."""
    script = "const n = document.querySelector(arguments[0]); return n ? n.innerText : '';"
    return str(driver.execute_script(script, css)).strip()


def game_css(game_id: int) -> str:
    return f'li.game[data-game-id="{game_id}"]'


def classes(driver: webdriver.Chrome, css: str) -> list[str]:
    script = "const n = document.querySelector(arguments[0]); return n ? n.className : '';"
    return str(driver.execute_script(script, css)).split()


def open_event(driver: webdriver.Chrome, served: ServedApp, event_id: int) -> None:
    driver.get(f"{served.url}/events/{event_id}")
    wait(driver, lambda: text(driver, "#live") == "Live", 10, "the stream to open")
    driver.execute_script("window.notReloaded = true;")


def not_reloaded(driver: webdriver.Chrome) -> bool:
    return driver.execute_script("return window.notReloaded === true;") is True


def first_team(driver: webdriver.Chrome) -> str:
    return text(driver, "table.standings tbody tr th")


def test_events_list_links_to_an_event(
    page: webdriver.Chrome, served: ServedApp, owner: Client
) -> None:
    event = league(owner, "Listed Cup", [(0, 1)])
    page.get(served.url + "/")
    link = wait(
        page,
        lambda: page.find_elements(By.LINK_TEXT, "Listed Cup"),
        10,
        "the event in the list",
    )[0]
    assert link.get_attribute("href").endswith(f"/events/{event['id']}")
    assert not page.find_element(By.ID, "status").is_displayed()  # no "Loading…" left


def test_live_score_correction_and_standings(
    page: webdriver.Chrome, served: ServedApp, owner: Client
) -> None:
    event = league(owner, "Live Cup", [(0, 1), (2, 3)])
    first, second = event["games"]
    open_event(page, served, event["id"])
    assert "Lions" in text(page, game_css(first))  # names, not ids
    caption = text(page, "table.standings caption")
    assert caption == "Live Cup standings"

    started = time.monotonic()
    score(owner, first, 1, 0)
    wait(page, lambda: f"1{DASH}0" in text(page, game_css(first)), 1.0, "the score within 1 s")
    print(f"\nscore on the page {time.monotonic() - started:.3f} s after the PUT")
    assert "flash" in classes(page, game_css(first))
    wait(
        page,
        lambda: "Lions 1, Tigers 0" in text(page, "#announcer"),
        1.0,
        "the polite announcement",
    )
    assert page.find_element(By.ID, "announcer").get_attribute("aria-live") == "polite"

    # Bears win by more: the `standings` event puts them first, without a reload.
    score(owner, second, 3, 0, "final")
    wait(page, lambda: first_team(page) == "Bears", 5, "Bears on top")
    score(owner, first, 1, 0, "final")

    admin = Client(served.control_url)
    admin.sign_in("admin-live@example.com")
    served.make_admin("admin-live@example.com")
    admin.sign_in("admin-live@example.com", register=False)
    correction = {"home_score": 0, "away_score": 2, "reason": "own goal credited wrongly"}
    admin.ok("POST", f"/api/v1/admin/games/{first}/corrections", correction)
    wait(page, lambda: f"0{DASH}2" in text(page, game_css(first)), 2, "the corrected score")
    assert "corrected" in classes(page, game_css(first))
    item = text(page, game_css(first))
    assert "Corrected" in item and "own goal credited wrongly" in item
    wait(page, lambda: "Corrected:" in text(page, "#announcer"), 1, "the correction announced")
    assert text(page, "#phase") == "Finished: these are the final standings"
    assert not_reloaded(page)


def test_rank_explains_why_on_hover_and_on_press(
    page: webdriver.Chrome, served: ServedApp, owner: Client
) -> None:
    # Lions beat Tigers 1-0; Bears and Wolves draw: Lions above Bears on points, Bears and
    # Wolves share a rank, above Tigers on points.
    event = league(owner, "Why Cup", [(0, 1), (2, 3)], tiebreakers=[])
    score(owner, event["games"][0], 1, 0, "final")
    score(owner, event["games"][1], 0, 0, "final")
    open_event(page, served, event["id"])
    wait(page, lambda: first_team(page) == "Lions", 5, "Lions on top")
    button = page.find_element(By.CSS_SELECTOR, "table.standings tbody tr button.why")
    assert button.get_attribute("title") == "Above Bears, Wolves on points: points 3\u20131"
    assert button.get_attribute("aria-expanded") == "false"
    line = page.find_element(By.CSS_SELECTOR, ".why-line")
    assert not line.is_displayed()

    button.click()  # a tap, or Enter on the focused rank
    assert line.is_displayed()
    assert line.text == "Above Bears, Wolves on points: points 3\u20131"
    assert button.get_attribute("aria-expanded") == "true"
    tied = page.find_elements(By.CSS_SELECTOR, "table.standings tbody tr button.why")[1]
    assert tied.get_attribute("title") == "Shares rank 2 with Wolves: level on points 1"
    tied.send_keys(Keys.ENTER)
    assert line.text == "Shares rank 2 with Wolves: level on points 1"
    assert button.get_attribute("aria-expanded") == "false"
    tied.send_keys(Keys.ENTER)  # pressed again: closed
    assert not line.is_displayed()
    # The last row has nothing below it to explain.
    last = page.find_elements(By.CSS_SELECTOR, "table.standings tbody tr")[-1]
    assert last.find_elements(By.CSS_SELECTOR, "button.why") == []

    # Lions' explanation stays open while the live stream brings a new table.
    page.find_element(By.CSS_SELECTOR, "table.standings tbody tr button.why").click()
    teams = event["teams"]
    body = {"home_team_id": teams[2], "away_team_id": teams[1], "round": 2}
    game = owner.ok("POST", f"/api/v1/events/{event['id']}/games", body, 201)
    score(owner, game["id"], 2, 0, "final")  # Bears go top with 4 points
    wait(page, lambda: first_team(page) == "Bears", 5, "Bears on top")
    assert text(page, ".why-line") == "Above Wolves on points: points 3\u20131"
    assert not_reloaded(page)


def test_periods_show_under_the_score_as_they_come(
    page: webdriver.Chrome, served: ServedApp, owner: Client
) -> None:
    event = league(owner, "Period Cup", [(0, 1)], sport="basketball")
    (game,) = event["games"]
    open_event(page, served, event["id"])
    assert not page.find_elements(By.CSS_SELECTOR, f"{game_css(game)} ol.periods")  # none yet
    path = f"/api/v1/games/{game}/score"
    half = {"home_score": 45, "away_score": 40, "status": "live"}
    owner.ok("PUT", path, {**half, "periods": [{"home": 25, "away": 20}, {"home": 20, "away": 20}]})
    css = f"{game_css(game)} ol.periods"

    def shown() -> list[str]:
        return [item.text for item in page.find_elements(By.CSS_SELECTOR, f"{css} li")]

    wait(page, lambda: shown() == ["Q1 25\u201320", "Q2 20\u201320"], 2, "the quarters")
    label = page.find_element(By.CSS_SELECTOR, css).get_attribute("aria-label")
    assert label == "Score by period"
    assert f"45{DASH}40" in text(page, game_css(game))
    assert not_reloaded(page)


def test_dropped_stream_reconnects_and_catches_up(
    page: webdriver.Chrome, served: ServedApp, owner: Client
) -> None:
    event = league(owner, "Drop Cup", [(0, 1)])
    (game,) = event["games"]
    open_event(page, served, event["id"])
    served.drop()
    try:
        wait(page, lambda: "Reconnecting" in text(page, "#live"), 5, "reconnecting shown")
        assert "last update" in text(page, "#live")  # the time of the last update
        score(owner, game, 2, 2)  # while the browser cannot reach the server
    finally:
        served.restore()
    wait(page, lambda: f"2{DASH}2" in text(page, game_css(game)), 5, "the missed score")
    wait(page, lambda: text(page, "#live") == "Live", 5, "live again")
    assert not_reloaded(page)


def test_restart_sends_reset_and_the_page_refetches(
    page: webdriver.Chrome, served: ServedApp, owner: Client
) -> None:
    event = league(owner, "Reset Cup", [(0, 1)])
    (game,) = event["games"]
    open_event(page, served, event["id"])
    resets = SSE_RESETS._value.get()
    served.replace_app()  # the in-process stream begins anew: old ids mean nothing to it
    try:
        score(owner, game, 4, 1)
    finally:
        served.restore()
    wait(page, lambda: f"4{DASH}1" in text(page, game_css(game)), 8, "the refetched score")
    wait(page, lambda: text(page, "#live") == "Live", 5, "live again")
    assert SSE_RESETS._value.get() > resets  # it came by a `reset`, not only by polling
    assert not_reloaded(page)


def test_question_box_answers(page: webdriver.Chrome, served: ServedApp, owner: Client) -> None:
    event = league(owner, "Ask Cup", [(0, 1)])
    score(owner, event["games"][0], 3, 1, "final")
    open_event(page, served, event["id"])
    box = page.find_element(By.ID, "question")
    box.send_keys("Who has scored the most goals?", Keys.ENTER)
    wait(
        page,
        lambda: text(page, "#answer") not in ("", "Thinking…"),
        10,
        "an answer",
    )
    assert "Lions" in text(page, "#answer"), text(page, "#answer")
    # The plan said back beside the answer, as the API states it: what was actually answered.
    asked = {"question": "Who has scored the most goals?", "event_id": event["id"]}
    said = owner.ok("POST", "/api/v1/analytics/query", asked, 200)
    assert said["understood_as"], said
    assert text(page, "#understood") == f"Answered: {said['understood_as']}"


def test_event_without_games(page: webdriver.Chrome, served: ServedApp, owner: Client) -> None:
    event = league(owner, "Empty Cup", [])
    open_event(page, served, event["id"])
    assert text(page, "#games") == "No games scheduled yet."
    assert text(page, "#phase") == "No games scheduled yet"
    assert not page.find_element(By.ID, "status").is_displayed()


@pytest.mark.parametrize("which", ["unknown", "private"])
def test_unknown_or_private_event_is_a_404_page(
    page: webdriver.Chrome, served: ServedApp, owner: Client, which: str
) -> None:
    event_id = 999_999
    if which == "private":
        event_id = owner.ok(
            "POST", "/api/v1/events", {"name": "Secret", "visibility": "private"}, 201
        )["id"]
    page.get(f"{served.url}/events/{event_id}")
    assert page.find_element(By.TAG_NAME, "h1").text == "No such event"
    assert "Secret" not in page.page_source


def test_api_unreachable_says_so_and_recovers(
    page: webdriver.Chrome, served: ServedApp, owner: Client
) -> None:
    event = league(owner, "Offline Cup", [(0, 1)])
    page.execute_cdp_cmd("Network.enable", {})
    page.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*/api/v1/*"]})
    page.get(f"{served.url}/events/{event['id']}")
    wait(
        page,
        lambda: "cannot be reached" in text(page, "#status"),
        5,
        "the failure said, not a spinner",
    )
    assert "Trying again" in text(page, "#status")
    page.save_screenshot(str(ARTIFACTS / "api-unreachable.png"))
    page.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
    wait(page, lambda: text(page, "#live") == "Live", 10, "recovered by itself")
    assert text(page, "#event-name") == "Offline Cup"

    page.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*/api/v1/*"]})
    page.get(served.url + "/")
    wait(page, lambda: "cannot be reached" in text(page, "#status"), 5, "the list's failure")


def test_phone_width_keyboard_and_axe(
    page: webdriver.Chrome, served: ServedApp, owner: Client
) -> None:
    event = league(owner, "A Rather Long Championship Name For Phones", [(0, 1), (2, 3)])
    score(owner, event["games"][0], 2, 1, "final")
    page.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 360, "height": 740, "deviceScaleFactor": 2, "mobile": True},
    )
    open_event(page, served, event["id"])
    widths = page.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];"
    )
    assert widths[0] <= widths[1] == 360, widths  # no horizontal scroll at 360 px
    table = page.execute_script(
        "const w = document.querySelector('.table-wrap'); return [w.scrollWidth, w.clientWidth];"
    )
    assert table[0] <= table[1], table  # the whole table, points included, without scrolling
    page.save_screenshot(str(ARTIFACTS / "phone-360.png"))

    # Keyboard: Tab from the top reaches the question box and its button. The keys go to the
    # page as a keyboard's would, to whatever has focus: sending them to the focused element
    # itself fails when focus sits on something WebDriver calls not interactable.
    page.find_element(By.TAG_NAME, "body").click()
    reached = set()
    for _ in range(30):
        ActionChains(page).send_keys(Keys.TAB).perform()
        reached.add(page.switch_to.active_element.get_attribute("id") or "")
    assert {"question"} <= reached, reached

    for scheme in ("light", "dark"):  # the stylesheet has both palettes
        page.execute_cdp_cmd(
            "Emulation.setEmulatedMedia",
            {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
        )
        report = run_axe(page)
        print(
            f"\naxe-core ({scheme}): {report['passes']} rules passed, "
            f"{len(report['violations'])} violated"
        )
        assert report["passes"] > 10  # it ran; colour contrast is among its rules
        assert report["violations"] == [], (scheme, report["violations"])
    page.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})


def run_axe(page: webdriver.Chrome) -> dict:
    """axe-core's WCAG 2 A/AA and best-practice rules on the page as it is now."""
    page.execute_script(AXE.read_text())  # injected, so the page's CSP stays as it is
    results = page.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'best-practice']})"
        ".then(r => done(JSON.stringify({passes: r.passes.length,"
        " violations: r.violations.map(v => ({id: v.id, impact: v.impact,"
        " nodes: v.nodes.map(n => n.target.join(' '))}))})));"
    )
    report: dict = json.loads(results)
    return report


def test_page_weight(page: webdriver.Chrome, served: ServedApp, owner: Client) -> None:
    event = league(owner, "Weight Cup", [(0, 1)])
    open_event(page, served, event["id"])
    entries = page.execute_script(
        "return performance.getEntriesByType('navigation').concat("
        "performance.getEntriesByType('resource')).map(e => ({name: e.name,"
        " type: e.initiatorType, bytes: e.encodedBodySize}));"
    )
    static = [e for e in entries if "/api/" not in e["name"]]
    scripts = [e for e in static if e["type"] == "script"]
    sheets = [e for e in static if e["type"] == "link" and ".css" in e["name"]]
    assert len(scripts) == 1 and len(sheets) == 1, static
    total = sum(e["bytes"] for e in static)
    data = sum(e["bytes"] for e in entries if "/api/" in e["name"])
    print(
        f"\npage weight /events/{{id}}: {total} bytes of page, script, style and icon "
        f"({len(static)} files), {data} bytes of API data"
    )
    assert total < 100_000
