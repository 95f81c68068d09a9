"""The explorer in a real headless Chromium (Debian's package, driven by playwright): pick a class,
generate, click a pixel, and the attention overlays of that pixel appear, with nothing fetched from
outside the machine. `.ci/run` installs the browser and playwright; without them this is skipped.
"""

import importlib.util
import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
from PIL import Image

# find_spec, not importorskip: importing gradio takes seconds, paid only by the tests that run it
if importlib.util.find_spec("gradio") is None:
    pytest.skip("the explorer needs the app extra: pip install 'sagan-hf[app]'", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api",
                               reason="playwright is not installed: pip install 'sagan-hf[browser]' (see .ci/run)")

from explorer_app import served, small_pipeline  # noqa: E402
from sagan_hf.app import Explorer  # noqa: E402

# Debian's packages (chromium-headless-shell, chromium); SAGAN_HF_CHROMIUM names another binary.
BROWSER_CANDIDATES = ("/usr/lib/chromium/chromium-headless-shell", "/usr/lib/chromium/chromium",
                      "chromium-headless-shell", "chromium", "chromium-browser", "google-chrome")


def _browser_executable() -> str | None:
    for candidate in (os.environ.get("SAGAN_HF_CHROMIUM"), *BROWSER_CANDIDATES):
        if candidate and (Path(candidate).is_file() or shutil.which(candidate)):
            return candidate if Path(candidate).is_file() else shutil.which(candidate)
    return None


@pytest.fixture(scope="module")
def browser():
    executable = _browser_executable()
    if executable is None:
        pytest.skip("no Chromium found: `apt-get install --no-install-recommends chromium-headless-shell` "
                    "(.ci/run does it) or set SAGAN_HF_CHROMIUM to a Chromium binary")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield chromium
        chromium.close()


def test_pick_a_class_generate_click_a_pixel_and_see_where_it_attends(browser, tmp_path):
    explorer = Explorer(small_pipeline())
    with served(explorer) as url:
        tab = browser.new_page(viewport={"width": 1280, "height": 1100})
        hosts = set()
        tab.on("request", lambda request: hosts.add(urlsplit(request.url).hostname))
        tab.goto(url)

        tab.get_by_role("combobox", name="class").click()
        tab.get_by_role("option", name="triangle").click()
        tab.click("#generate")
        sync_api.expect(tab.locator("#samples img")).to_have_count(4, timeout=60_000)
        sync_api.expect(tab.locator("#samples")).to_contain_text("triangle, seed 3")
        query_image = tab.locator("#query-image img")
        sync_api.expect(query_image).to_be_visible(timeout=60_000)
        assert tab.locator("#attention img").count() == 0

        box = query_image.bounding_box()
        query_image.click(position={"x": box["width"] * 0.2, "y": box["height"] * 0.8})
        sync_api.expect(tab.locator("#attention img")).to_have_count(2, timeout=60_000)
        x, y = int(tab.input_value("#query-x input")), int(tab.input_value("#query-y input"))
        assert abs(x - 0.2 * 32) <= 1 and abs(y - 0.8 * 32) <= 1, (x, y)  # the clicked pixel of the 32 px image
        sync_api.expect(tab.locator("#attention")).to_contain_text(f"triangle, seed 0: query pixel ({x}, {y})")
        sync_api.expect(tab.locator("#attention")).to_contain_text("16x16 layer")

        # The overlay the page shows is the one computed for that pixel alone.
        overlay_src = tab.locator("#attention img").nth(1).get_attribute("src")
        shown = tmp_path / "shown.png"
        shown.write_bytes(tab.request.get(overlay_src).body())
        expected = explorer.attention("triangle", 0, 0, 0, x, y)[1][0]
        np.testing.assert_array_equal(np.asarray(Image.open(shown).convert("RGB")), np.asarray(expected))
        tab.screenshot(path=str(tmp_path / "explorer.png"), full_page=True)
    assert hosts == {"127.0.0.1"}, f"the page fetched from elsewhere: {hosts}"
