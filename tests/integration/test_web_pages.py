"""The services' web pages in a real browser: headless Chromium (Debian's chromium and chromium-driver,
installed here when missing) loads CSSM's Product Instances page and CSLU's page, and the rendered tables
are checked; screenshots are kept as test artefacts (tests/artifacts/)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from emulator.testing.estate import DAY

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--ignore-certificate-errors",
                  "--window-size=1400,900"]


def ensure_chromium() -> tuple[str, str]:
    browser = shutil.which("chromium")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
        subprocess.run(["apt-get", "update"], env=env, check=True, capture_output=True, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "chromium", "chromium-driver"],
                       env=env, check=True, capture_output=True, timeout=900)
        browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert browser and driver, "chromium / chromedriver could not be installed"
    return browser, driver


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver = ensure_chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in CHROMIUM_FLAGS + [f"--user-data-dir={tmp_path / 'chromium-profile'}"]:
        options.add_argument(flag)
    service = Service(executable_path=driver, log_output=str(tmp_path / "chromedriver.log"))
    drv = webdriver.Chrome(service=service, options=options)
    drv.set_page_load_timeout(60)
    try:
        yield drv
    finally:
        drv.quit()


def rows(drv, table_id: str) -> list[dict[str, str]]:
    from selenium.webdriver.common.by import By

    table = drv.find_element(By.ID, table_id)
    heads = [th.text for th in table.find_elements(By.CSS_SELECTOR, "thead th")]
    return [dict(zip(heads, [td.text for td in tr.find_elements(By.TAG_NAME, "td")]))
            for tr in table.find_elements(By.CSS_SELECTOR, "tbody tr")]


def test_cssm_and_cslu_pages_in_chromium(estate, browser):
    cssm = estate.cssm()
    cslu = estate.cslu(cssm=cssm)
    dev = estate.device()
    dev.configure(f"license smart url cslu {cslu.pi_url}", "hostname edge-7")
    dev.use("dna-advantage", 3)
    dev.advance(10 * 60)
    stale = estate.device()                              # reported once, then silent for 100 days
    stale.configure(f"license smart url cslu {cslu.pi_url}")
    stale.use("network-advantage", 1)
    stale.advance(10 * 60)
    cssm.advance(100 * DAY)
    dev.advance(31 * DAY)                                # the live one reports again (30-day interval)

    ARTIFACTS.mkdir(exist_ok=True)
    browser.get(cssm.url + "/")
    instances = {r["SN"]: r for r in rows(browser, "product-instances")}
    browser.save_screenshot(str(ARTIFACTS / "cssm-product-instances.png"))
    live = instances[dev.serial]
    assert live["PID"] == "C8000V" and live["Hostname"] == "edge-7" and live["Virtual Account"] == "Eg-VA"
    assert "(3)" in live["Licenses in use"] and live["Last ACK"] != "-"
    assert instances[stale.serial]["Alerts"] == "Usage reporting overdue" and live["Alerts"] == "-"
    from selenium.webdriver.common.by import By
    reports = browser.find_elements(By.CSS_SELECTOR, f'table.reports[data-udi="PID:C8000V,SN:{dev.serial}"] tbody tr')
    assert reports and all(r.find_element(By.CLASS_NAME, "status").text == "ACKED" for r in reports)

    browser.get(cslu.url + "/")
    products = {r["UDI"]: r for r in rows(browser, "product-instances")}
    browser.save_screenshot(str(ARTIFACTS / "cslu-product-instances.png"))
    assert products[f"PID:C8000V,SN:{dev.serial}"]["Pending ACKs"] == "0"
    assert products[f"PID:C8000V,SN:{dev.serial}"]["Connect method"] == "push"
    assert "Connected to CSSM" in browser.find_element(By.ID, "mode").text
