"""The console in a real browser: Debian's Chromium, headless, driven by Selenium through
Debian's chromedriver, against a real `imgedge serve` (started by tests/console.rs).

Walks what a user does: sign in; create a style in the editor and check that the preview's
dimensions are the style's output; the style answers at once on `<key>@!<name>`; protection and
Referer rules set in forms govern the next anonymous request; purge; markup typed into forms
renders as text; a read-only key sees no buttons; sign out. Saves screenshots of the main pages.
Prints "all checks passed" at the end; any failed check raises.
"""

import os
import re
import struct
import sys
import tempfile
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

PROXY = os.environ["IMGEDGE_ENDPOINT"]
CONSOLE = os.environ["IMGEDGE_CONSOLE"]
AK, SK = os.environ["IMGEDGE_AK"], os.environ["IMGEDGE_SK"]
RO_AK, RO_SK = os.environ["IMGEDGE_RO_AK"], os.environ["IMGEDGE_RO_SK"]
SHOTS = os.environ["IMGEDGE_SHOTS"]
METRICS = os.environ["IMGEDGE_METRICS"]


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("ok:", what)


def anonymous(path, headers=None):
    """An anonymous GET on the proxy: (status, headers, body)."""
    req = urllib.request.Request(PROXY + path, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def transforms():
    """How many transforms the proxy has run (its Prometheus counter)."""
    with urllib.request.urlopen(METRICS + "/metrics", timeout=30) as r:
        text = r.read().decode()
    return int(re.search(r"^imgedge_transforms_total (\d+)", text, re.M).group(1))


def jpeg_size(data):
    """(width, height) from a JPEG's SOF marker."""
    i = 2
    while i < len(data):
        marker, length = data[i + 1], struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            h, w = struct.unpack(">HH", data[i + 5:i + 9])
            return w, h
        i += 2 + length
    raise AssertionError("no SOF marker")


def browser():
    o = webdriver.ChromeOptions()
    o.binary_location = "/usr/bin/chromium"
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--window-size=1280,1100", "--user-data-dir=" + tempfile.mkdtemp(prefix="imgedge-chromium-")]:
        o.add_argument(flag)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)


def wait_for(d, cond, what, timeout=30):
    try:
        return WebDriverWait(d, timeout).until(lambda _: cond())
    except Exception as e:
        raise AssertionError(f"timed out waiting for {what}: {d.current_url}\n{d.page_source[:3000]}") from e


def sign_in(d, ak, sk):
    d.get(CONSOLE + "/")
    check(d.current_url.endswith("/login"), "no session: the console sends the browser to sign in")
    d.find_element(By.ID, "id").send_keys(ak)
    d.find_element(By.ID, "secret").send_keys(sk)
    d.find_element(By.ID, "sign-in").click()
    wait_for(d, lambda: d.find_elements(By.ID, "buckets"), "the bucket list")


def no_alert(d):
    try:
        d.switch_to.alert
    except NoAlertPresentException:
        return True
    return False


def set_text(el, text):
    el.clear()
    el.send_keys(text)


def main():
    os.makedirs(SHOTS, exist_ok=True)
    d = browser()
    try:
        run(d)
    finally:
        d.quit()
    print("all checks passed")


def run(d):
    d.get(CONSOLE + "/")
    d.save_screenshot(os.path.join(SHOTS, "sign-in.png"))
    sign_in(d, AK, SK)
    wait_for(d, lambda: d.find_elements(By.CSS_SELECTOR, "figure.chart svg"), "the charts")
    d.save_screenshot(os.path.join(SHOTS, "overview.png"))
    d.find_element(By.LINK_TEXT, "demo").click()
    wait_for(d, lambda: d.find_elements(By.ID, "settings-form"), "the bucket page")

    # A style built in the editor; its preview is what the style serves.
    d.find_element(By.ID, "new-style").click()
    wait_for(d, lambda: d.find_elements(By.CSS_SELECTOR, "#builder .step"), "the builder")
    set_text(d.find_element(By.ID, "style-name"), "card")
    key = d.find_element(By.ID, "preview-key")
    wait_for(d, lambda: key.get_attribute("value") != "", "an object picked for the preview")
    set_text(key, "example.jpg")
    key.send_keys(Keys.TAB)
    w = d.find_element(By.CSS_SELECTOR, "#builder .step[data-action=resize] [data-param=w]")
    set_text(w, "123")
    Select(d.find_element(By.ID, "add-action")).select_by_value("rotate")
    d.find_element(By.ID, "add-step").click()
    set_text(d.find_element(By.CSS_SELECTOR, "#builder .step[data-action=rotate] input"), "90")
    content = d.find_element(By.ID, "style-content")
    check(content.get_attribute("value") == "image/resize,w_123/rotate,90",
          "the builder writes the pipeline: " + content.get_attribute("value"))
    info = d.find_element(By.ID, "result-info")
    wait_for(d, lambda: re.match(r"\d+×\d+ · image/jpeg", info.text) and "×" in info.text and
             d.find_element(By.ID, "result-img").get_attribute("data-width") not in ("", None) and
             int(info.text.split("×")[1].split(" ")[0]) == 123, "the preview of the rotated result")
    shown = tuple(int(x) for x in info.text.split(" ")[0].split("×"))
    original = d.find_element(By.ID, "original-info")
    wait_for(d, lambda: "×" in original.text, "the original's dimensions")
    ow, oh = (int(x) for x in original.text.split(" ")[0].split("×"))
    check(shown == (round(oh * 123 / ow), 123), f"the preview is the original {ow}×{oh} resized and rotated: {shown}")
    urls = [e.text for e in d.find_elements(By.CSS_SELECTOR, "#style-urls code")]
    check(any(u.endswith("/example.jpg@!card") for u in urls) and any("x-oss-process=style/card" in u for u in urls),
          "the style URLs are shown ready to copy: " + ", ".join(urls))
    d.save_screenshot(os.path.join(SHOTS, "editor.png"))
    d.find_element(By.ID, "save-style").click()
    wait_for(d, lambda: "Style saved" in d.page_source, "the saved notice")

    status, _, body = anonymous("/example.jpg@!card")
    check(status == 200 and jpeg_size(body) == shown, f"the style answers at once on @!card with the preview's size ({status})")
    status, _, body = anonymous("/example.jpg?x-oss-process=style/card")
    check(status == 200 and jpeg_size(body) == shown, "and on ?x-oss-process=style/card")

    # Markup typed into forms is text, never script.
    d.get(CONSOLE + "/b/demo/style")
    set_text(d.find_element(By.ID, "style-name"), "<script>alert(1)</script>")
    d.find_element(By.ID, "save-style").click()
    wait_for(d, lambda: d.find_elements(By.CSS_SELECTOR, "p.error"), "the name's refusal")
    err = d.find_element(By.CSS_SELECTOR, "p.error").text
    check("<script>alert(1)</script>" in err and no_alert(d), "a style named <script> is refused, and its name shown as text: " + err)
    set_text(d.find_element(By.ID, "style-name"), "x")
    set_text(d.find_element(By.ID, "style-content"), "image/resize,w_100/<img src=x onerror=alert(1)>")
    d.find_element(By.ID, "save-style").click()
    wait_for(d, lambda: d.find_elements(By.CSS_SELECTOR, "p.error"), "the content's refusal")
    check(no_alert(d) and not d.find_elements(By.CSS_SELECTOR, "img[src=x]"), "a pipeline holding markup renders as text")

    # Source protection and Referer rules from the forms govern the next anonymous request.
    check(anonymous("/example.jpg")[0] == 200, "before protection the raw original is served")
    d.get(CONSOLE + "/b/demo")
    protect = d.find_element(By.ID, "protect")
    if not protect.is_selected():
        protect.click()
    set_text(d.find_element(By.ID, "suffixes"), "jpg")
    d.find_element(By.ID, "save-settings").click()
    wait_for(d, lambda: "settings saved" in d.page_source, "the settings notice")
    check(anonymous("/example.jpg")[0] == 403, "with protection on, the raw original is refused")
    check(anonymous("/example.jpg@!card")[0] == 200, "and the style still answers")

    allow_empty = d.find_element(By.ID, "allow-empty")
    if allow_empty.is_selected():
        allow_empty.click()
    hostile = 'http://x/"><img src=x id=pwned onerror="document.title=1">'
    set_text(d.find_element(By.ID, "whitelist"), "https://good.example/*\n" + hostile)
    d.find_element(By.ID, "save-referer").click()
    wait_for(d, lambda: "Referer rules saved" in d.page_source, "the Referer notice")
    check(not d.find_elements(By.ID, "pwned") and d.title != "1" and no_alert(d), "a Referer entry with markup did not become an element")
    entries = d.find_element(By.ID, "referer-entries").text
    check(hostile in entries, "the entry is shown as text")
    d.save_screenshot(os.path.join(SHOTS, "bucket.png"))
    check(anonymous("/example.jpg@!card")[0] == 403, "no Referer: refused once empty Referers are off")
    check(anonymous("/example.jpg@!card", {"Referer": "https://evil.example/"})[0] == 403, "a foreign Referer is refused")
    good = {"Referer": "https://good.example/page"}
    check(anonymous("/example.jpg@!card", good)[0] == 200, "the allowed Referer is served")

    # Purge: a cached variant costs no transform, until it is purged.
    before = transforms()
    check(anonymous("/example.jpg@!card", good)[0] == 200 and transforms() == before, "the variant is cached")
    set_text(d.find_element(By.ID, "purge-key"), "example.jpg")
    d.find_element(By.ID, "purge").click()
    wait_for(d, lambda: "purged" in d.page_source, "the purge notice")
    check(anonymous("/example.jpg@!card", good)[0] == 200 and transforms() == before + 1,
          "after the purge it is rendered again")

    # Sign out: the session is gone.
    d.find_element(By.ID, "sign-out").click()
    wait_for(d, lambda: d.current_url.endswith("/login"), "the sign-in page")
    d.get(CONSOLE + "/b/demo")
    check(d.current_url.endswith("/login"), "after signing out, pages need a new sign-in")

    # A read-only key sees the settings but no way to change them.
    sign_in(d, RO_AK, RO_SK)
    d.get(CONSOLE + "/b/demo")
    wait_for(d, lambda: d.find_elements(By.ID, "settings-form"), "the bucket page (read-only)")
    for button in ["save-settings", "save-referer", "purge", "new-style"]:
        check(not d.find_elements(By.ID, button), f"read-only: no #{button}")
    check(not d.find_element(By.ID, "protect").is_enabled(), "read-only: the inputs are disabled")
    d.get(CONSOLE + "/b/demo/style?name=card")
    wait_for(d, lambda: d.find_elements(By.ID, "style-content"), "the editor (read-only)")
    check(not d.find_elements(By.ID, "save-style"), "read-only: the editor cannot save")
    info = d.find_element(By.ID, "result-info")
    wait_for(d, lambda: "×" in info.text, "a read-only key still previews")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print("FAILED:", e, file=sys.stderr)
        sys.exit(1)
