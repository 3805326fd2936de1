"""A real service in a subprocess and headless Chromium driven by Selenium; a screenshot after every test."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from eval.processes import free_port, stop_process
from tests.api.browser.live_server import (
    CHROMEDRIVER,
    CHROMIUM,
    ROOT,
    SCREENSHOTS,
    LiveService,
    wait_until_healthy,
)

CHROME_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,900",
]


@pytest.fixture(scope="session")
def live_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    """`qa serve` on a free port with a fresh index and the shipped reader."""
    folder = tmp_path_factory.mktemp("live-service")
    env = os.environ | {"QA_INDEX_DIR": str(folder / "index"), "TOKENIZERS_PARALLELISM": "false"}
    port = free_port()
    log = folder / "service.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process, log)
        yield LiveService(url)
    finally:
        stop_process(process, grace_seconds=15)


@pytest.fixture
def browser(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[webdriver.Chrome]:
    """Headless Chromium with a fresh profile, so localStorage starts empty; screenshots saved after the test."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in [*CHROME_FLAGS, f"--user-data-dir={tmp_path / 'chrome-profile'}"]:
        options.add_argument(flag)
    # An explicit driver path means Selenium Manager never runs, so nothing is downloaded.
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(SCREENSHOTS / f"{request.node.name}.png"))
        driver.quit()
