from pathlib import Path

import pytest

from generator.spec import ArtworkSpec


@pytest.fixture(scope="session", autouse=True)
def render_cache(tmp_path_factory):
    """Every command the tests run, in-process or not, keeps its renders in one cache of the
    session's own, never in the user's."""
    folder = tmp_path_factory.mktemp("render-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ATTNART_CACHE", str(folder))
        yield folder


def make_spec(**overrides) -> ArtworkSpec:
    """Small, fast artworks: the factory every test builds its specs with."""
    return ArtworkSpec(**({"seed": 1679700, "resolution": 24, "init": "shared"} | overrides))


@pytest.fixture
def spec_factory():
    return make_spec


CHROMIUM = Path("/usr/bin/chromium")
# Debian's chromium as root, headless, and quiet on a machine with no network but loopback.
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


@pytest.fixture(scope="session")
def browser():
    """One chromium, driven by Playwright, for every browser test (Playwright cannot download
    its own browsers here; `make test` installs Debian's)."""
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is missing (`make test` installs Debian's chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
