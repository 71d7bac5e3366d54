"""attnart review: the contact sheet, its context, and the page in Debian's chromium."""

from __future__ import annotations

import base64
import io
import os
import re

import pytest
from catalog_v1 import V1_SCORES, write_v1
from PIL import Image
from test_catalog import record

from generator.catalog import open_catalog
from generator.cli import main
from generator.curate import Criteria, select
from generator.review import COLUMNS, review_context
from generator.spec import load_seeds

TINY = ["--resolution", "40", "--iterations", "30", "--init", "shared", "--preview", "64",
        "--workers", "1", "--quiet"]


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """A small real catalog (16 shared seeds previewed at 64²) and its review page."""
    folder = tmp_path_factory.mktemp("review")
    catalog, page = folder / "c.sqlite", folder / "review.html"
    assert main(["sweep", "--seeds", "1-16", "--catalog", str(catalog), *TINY]) == 0
    assert main(["review", "--catalog", str(catalog), "-o", str(page)]) == 0
    with open_catalog(catalog, readonly=True) as cat:
        records = cat.records()
    return folder, catalog, page, records


def test_sheet_shows_selects_order_with_every_score(swept):
    _, catalog, page, records = swept
    context = review_context(records, catalog="c.sqlite", preview=64, top=200)
    picks = select(records, Criteria(top=200)).picks
    assert [c["id"] for c in context["cards"]] == [r.spec.id for r in picks]
    assert len(picks) >= 4, "too few candidates to test the sheet with"
    html = page.read_text()
    assert html.count('class="card"') == len(picks)
    for card, pick in zip(context["cards"], picks):
        assert card["image"].startswith("data:image/png;base64,")
        image = Image.open(io.BytesIO(base64.b64decode(card["image"].split(",", 1)[1])))
        assert image.size == (32, 32)  # the stored preview image, at the display size
        assert [n[0] for n in card["numbers"]] == [key for key, _, _ in COLUMNS]
        assert f"seed = {pick.spec.seed}" in card["toml"]
        where = f'{pick.scores["regime"]}, {pick.scores["resolution"]}² px'
        assert card["measured"] == where and f'title="{where}"' in html  # D's own note
    # every request the page could make is to itself: no src/href but data: URIs
    assert not re.findall(r'(?:src|href)="(?!data:)', html)


def test_version_1_catalogs_show_their_thumbnails(tmp_path, capsys):
    path, page = tmp_path / "old.sqlite", tmp_path / "review.html"
    write_v1(path, 64, [record(s, scores=V1_SCORES | {"white_fraction": 0.3 + s / 100})
                        for s in range(1, 5)])
    before = path.read_bytes()
    assert main(["review", "--catalog", str(path), "-o", str(page), "--top", "3"]) == 0
    assert "3 candidates of 4" in capsys.readouterr().out
    assert path.read_bytes() == before  # read, never upgraded
    cards = re.findall(r'<img src="data:image/png;base64,([^"]+)"', page.read_text())
    assert [Image.open(io.BytesIO(base64.b64decode(c))).size for c in cards] == [(32, 32)] * 3
    assert "–" in page.read_text()  # the scores version 1 lacks


def test_review_refuses_bad_output_in_one_line(swept, tmp_path, capsys):
    _, catalog, page, _ = swept
    before = page.read_bytes()
    mine = tmp_path.parent / f"{tmp_path.name}-mine.html"  # a page of the user's own
    mine.write_text("<p>my page</p>")
    for args, message in [(["-o", str(mine)], "--force"), (["-o", str(catalog)], "catalog"),
                          (["-o", str(tmp_path / "no" / "r.html")], "does not exist"),
                          (["-o", str(tmp_path / "r.html"), "--top", "0"], "positive")]:
        assert main(["review", "--catalog", str(catalog), *args]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
    assert page.read_bytes() == before and os.listdir(tmp_path) == []
    assert mine.read_text() == "<p>my page</p>"
    assert main(["review", "--catalog", str(catalog), "-o", str(page)]) == 0  # its own: again


# ---- in the browser ------------------------------------------------------------------------


sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect




def _seeds(page) -> list[str]:
    return page.eval_on_selector_all(".card", "cards => cards.map(c => c.id)")


def test_sort_tick_export_and_build_in_chromium(swept, browser, tmp_path, capsys):
    folder, _, page_path, records = swept
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    requests, errors = [], []
    context.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(page_path.as_uri(), wait_until="load")
    by_id = {r.spec.id: r for r in records}
    cards = [c.removeprefix("seed-") for c in _seeds(page)]
    assert cards == [r.spec.id for r in select(records, Criteria(top=200)).picks]
    assert page.eval_on_selector_all(".card img", "imgs => imgs.every(i => i.naturalWidth)")

    for key, _, _ in COLUMNS:  # every score sorts, highest first, then lowest first
        page.select_option("#sort", key)
        shown = [by_id[c.removeprefix("seed-")].scores[key] for c in _seeds(page)]
        assert shown == sorted(shown, reverse=True), key
        page.click("#direction")
        shown = [by_id[c.removeprefix("seed-")].scores[key] for c in _seeds(page)]
        assert shown == sorted(shown), key
    page.select_option("#sort", "rank")
    assert [c.removeprefix("seed-") for c in _seeds(page)] == cards

    assert page.is_disabled("#download")
    ticked = [cards[2], cards[0]]
    for aid in ticked:
        page.click(f"#seed-{aid} .tick")
    assert page.text_content("#count") == "2 liked, 0 disliked"
    disliked = [cards[1], cards[3], cards[0]]
    for aid in disliked:
        page.click(f"#seed-{aid} .dislike")
    page.click(f"#seed-{cards[0]} .tick")  # liked again: no longer disliked
    assert page.text_content("#count") == "2 liked, 2 disliked"
    with page.expect_download() as info:
        page.click("#download-ratings")
    rated = tmp_path / "ratings.toml"
    info.value.save_as(rated)
    assert rated.read_text() == page.input_value("#ratings")
    import tomllib

    assert tomllib.loads(rated.read_text()) == {"liked": [cards[0], cards[2]],
                                                 "disliked": [cards[1], cards[3]]}
    with page.expect_download() as info:
        page.click("#download")
    exported = tmp_path / "favourites.toml"
    info.value.save_as(exported)
    assert exported.read_text() == page.input_value("#toml")
    specs = load_seeds(exported)
    assert [s.id for s in specs] == [cards[0], cards[2]]  # select's order
    assert specs == [by_id[cards[0]].spec, by_id[cards[2]].spec]
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.click("#copy")
    expect(page.locator("#message")).to_have_text("copied")
    assert page.evaluate("() => navigator.clipboard.readText()") == exported.read_text()
    context.close()
    assert all(u.startswith(folder.as_uri()) or u.startswith(("data:", "blob:"))
               for u in requests), requests
    assert not errors, errors

    site = tmp_path / "site"
    assert main(["build", "--seeds", str(exported), "--out", str(site), "--quiet"]) == 0
    assert len(list((site / "artworks").glob("*.html"))) == 2
    picks = tmp_path / "like.toml"
    assert main(["select", "--catalog", str(swept[1]), "--like", str(exported), "--top", "3",
                 "--min-white", "0", "--max-white", "1", "-o", str(picks), "--quiet"]) == 0
    assert "like the 2 of favourites.toml" in picks.read_text()
    liked = {s.id for s in load_seeds(picks)}
    assert liked and not liked & set(ticked)  # favourites are never picked
    assert main(["select", "--catalog", str(swept[1]), "--learn", str(rated), "--top", "3",
                 "--min-white", "0", "--max-white", "1", "-o", str(picks), "--force",
                 "--quiet"]) == 0
    learned = {s.id for s in load_seeds(picks)}
    assert learned and not learned & {*ticked, cards[1], cards[3]}  # the rated never are


def test_previews_at_256_open_large_and_a_theme_of_ones_own(swept, browser, tmp_path, capsys):
    folder, catalog, _, _ = swept
    page_file = tmp_path / "r.html"
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "review.html").write_text("<!doctype html><title>mine</title>{{ cards|length }}")
    assert main(["review", "--catalog", str(catalog), "-o", str(page_file),
                 "--templates", str(mine)]) == 0
    assert page_file.read_text().startswith("<!doctype html><title>mine</title>")
    assert main(["review", "--catalog", str(catalog), "-o", str(page_file), "--force",
                 "--size", "256"]) == 0
    with pytest.raises(SystemExit, match="2"):  # argparse's own refusal: one line, exit 2
        main(["review", "--catalog", str(catalog), "-o", str(page_file), "--size", "99"])
    assert "invalid choice" in capsys.readouterr().err
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        page.goto(page_file.as_uri())
        first = page.locator(".card").first
        assert first.locator("img").bounding_box()["width"] >= 256
        first.locator(".enlarge").click()
        large = page.locator("#large img")
        expect(large).to_be_visible()
        assert large.bounding_box()["width"] >= 0.85 * 800  # large: 90 % of the screen's height
        assert not first.locator(".tick").is_checked()  # looking is not liking
        page.keyboard.press("Escape")
        expect(large).to_be_hidden()
    finally:
        page.close()
