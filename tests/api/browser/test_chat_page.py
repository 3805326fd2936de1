"""The chat page in headless Chromium against the real running service."""

import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.api.browser.live_server import CHROMIUM, SCREENSHOTS, LiveService

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"{CHROMIUM} is absent: `apt-get install -y chromium chromium-driver` to run the browser tests",
)
ANSWER_SECONDS = 90
ABSTAIN = "The articles don't say."


def open_page(browser: Chrome, live_service: LiveService) -> None:
    browser.get(live_service.url + "/")
    WebDriverWait(browser, 30).until(lambda b: b.find_element(By.ID, "question").is_displayed())


def ask(browser: Chrome, question: str) -> WebElement:
    """Type the question, press Enter, and return the new assistant message once it has arrived."""
    before = len(browser.find_elements(By.CSS_SELECTOR, "#transcript .message.assistant"))
    box = browser.find_element(By.ID, "question")
    box.send_keys(question)
    box.send_keys(Keys.ENTER)
    return WebDriverWait(browser, ANSWER_SECONDS).until(
        lambda b: (found := b.find_elements(By.CSS_SELECTOR, "#transcript .message.assistant"))[before:] and found[-1]
    )


def text_of(element: WebElement) -> str:
    return element.get_property("textContent")


def test_answer_chip_opens_the_source_with_the_exact_span_marked(browser: Chrome, live_service: LiveService) -> None:
    question = "How much of Scale did Meta buy?"
    expected = live_service.chat(question)["answer"]
    open_page(browser, live_service)
    message = ask(browser, question)
    span = message.find_element(By.CSS_SELECTOR, ".answer strong")
    assert text_of(span) == expected["text"]  # what the span is worth is test_end_to_end's concern; the page shows it
    chip = message.find_element(By.CSS_SELECTOR, ".chip")
    assert text_of(chip) == expected["title"]
    chip.click()
    mark = WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#viewer-text mark"))[0]
    assert text_of(mark) == expected["text"]
    placed = browser.execute_script(
        "const text = document.getElementById('viewer-text').textContent;"
        "const box = arguments[0].getBoundingClientRect();"
        "return [text.slice(arguments[1], arguments[2]), box.top >= 0 && box.bottom <= window.innerHeight,"
        " document.activeElement === arguments[0]];",
        mark,
        expected["start"],
        expected["end"],
    )
    assert placed == [expected["text"], True, True]
    document = live_service.get(f"/documents/{expected['document_id']}")
    assert text_of(browser.find_element(By.ID, "viewer-text")) == document["text"]
    assert len(browser.find_elements(By.CSS_SELECTOR, "#viewer-text mark")) == 1
    browser.save_screenshot(str(SCREENSHOTS / "desktop_source.png"))
    browser.find_element(By.ID, "viewer-close").send_keys(Keys.ENTER)
    assert not browser.find_element(By.ID, "viewer").is_displayed()
    assert browser.switch_to.active_element == chip


def test_follow_up_shows_the_resolved_question(browser: Chrome, live_service: LiveService) -> None:
    open_page(browser, live_service)
    first = ask(browser, "Who founded Scale AI?")
    answer = first.find_elements(By.CSS_SELECTOR, ".answer strong")
    said = text_of(answer[0]) if answer else ABSTAIN
    follow_up = "Which unit did he join at Meta?"
    expected = live_service.chat("Who founded Scale AI?", said, follow_up)
    assert expected["resolved_question"] != follow_up
    second = ask(browser, follow_up)
    assert text_of(second.find_element(By.CSS_SELECTOR, ".resolved-question")) == expected["resolved_question"]
    assert expected["resolution"] in text_of(second.find_element(By.CSS_SELECTOR, ".resolved"))
    users = [text_of(m) for m in browser.find_elements(By.CSS_SELECTOR, "#transcript .message.user .text")]
    assert users == ["Who founded Scale AI?", follow_up]


def test_unanswerable_question_says_the_articles_do_not_say(browser: Chrome, live_service: LiveService) -> None:
    open_page(browser, live_service)
    message = ask(browser, "What is the capital of France?")
    assert text_of(message.find_element(By.CSS_SELECTOR, ".abstain")) == ABSTAIN
    assert not message.find_elements(By.CSS_SELECTOR, ".answer")
    if live_service.chat("What is the capital of France?")["passages"]:
        assert message.find_elements(By.CSS_SELECTOR, ".closest .chip")


def test_markup_in_a_question_is_shown_as_text(browser: Chrome, live_service: LiveService) -> None:
    question = "<img src=x onerror=alert(1)>"
    open_page(browser, live_service)
    ask(browser, question)
    shown = browser.find_element(By.CSS_SELECTOR, "#transcript .message.user .text")
    assert text_of(shown) == question
    assert browser.execute_script("return document.querySelectorAll('img').length") == 0
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 - reading the alert is how Selenium looks for one


def test_errors_show_inline_and_the_page_keeps_working(browser: Chrome, live_service: LiveService) -> None:
    open_page(browser, live_service)
    # The network fails once, then answers slowly enough to see the busy state.
    browser.execute_script(
        "window.realFetch = window.fetch;window.fetch = () => Promise.reject(new TypeError('Failed to fetch'));"
    )
    box = browser.find_element(By.ID, "question")
    box.send_keys("How much of Scale did Meta buy?", Keys.ENTER)
    error = WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.CSS_SELECTOR, ".message.error"))[0]
    assert "network error" in text_of(error)
    assert error.get_attribute("role") == "alert"
    browser.execute_script(
        "window.fetch = (...args) => new Promise(done => setTimeout(done, 1500)).then(() => window.realFetch(...args));"
    )
    error.find_element(By.TAG_NAME, "button").click()
    send = browser.find_element(By.ID, "send")
    assert (send.get_attribute("disabled"), text_of(send)) == ("true", "Asking…")
    assert browser.find_element(By.ID, "ask-form").get_attribute("aria-busy") == "true"
    WebDriverWait(browser, ANSWER_SECONDS).until(lambda b: b.find_elements(By.CSS_SELECTOR, ".message.assistant"))
    assert not browser.find_elements(By.CSS_SELECTOR, ".message.error")
    assert send.get_attribute("disabled") is None


def test_conversation_survives_a_reload_until_new_chat(browser: Chrome, live_service: LiveService) -> None:
    expected = live_service.chat("How much of Scale did Meta buy?")["answer"]
    open_page(browser, live_service)
    ask(browser, "How much of Scale did Meta buy?")
    browser.refresh()
    WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#transcript .message.assistant"))
    assert [text_of(m) for m in browser.find_elements(By.CSS_SELECTOR, ".message.user .text")] == [
        "How much of Scale did Meta buy?"
    ]
    assert text_of(browser.find_element(By.CSS_SELECTOR, ".answer strong")) == expected["text"]
    browser.find_element(By.ID, "new-chat").click()
    assert not browser.find_elements(By.CSS_SELECTOR, "#transcript .message")
    browser.refresh()
    WebDriverWait(browser, 30).until(lambda b: b.find_element(By.ID, "intro").is_displayed())
    assert not browser.find_elements(By.CSS_SELECTOR, "#transcript .message")


def test_phone_width_keeps_the_page_usable(browser: Chrome, live_service: LiveService) -> None:
    browser.set_window_size(390, 844)
    open_page(browser, live_service)
    message = ask(browser, "How much of Scale did Meta buy?")
    width = browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], "the page scrolls sideways at phone width"
    browser.save_screenshot(str(SCREENSHOTS / "phone_answer.png"))
    message.find_element(By.CSS_SELECTOR, ".chip").click()
    mark = WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#viewer-text mark"))[0]
    viewer = browser.find_element(By.ID, "viewer").rect
    assert viewer["width"] >= 380 and mark.is_displayed()


def test_offsets_count_code_points_as_the_api_does(browser: Chrome, live_service: LiveService) -> None:
    text = "🚀 Launch day 😀: Meta took a 49% stake in Scale."
    start = text.index("49%")  # Python counts code points: each emoji is one, two UTF-16 units in JavaScript
    open_page(browser, live_service)
    browser.execute_script(
        "window.fetch = async (url) => new Response(JSON.stringify({id: 'x', title: 'T', text: arguments[0]}),"
        " {status: 200, headers: {'Content-Type': 'application/json'}});",
        text,
    )
    browser.execute_script("openDocument('x', 'T', arguments[0], arguments[1], null, '49%');", start, start + 3)

    mark = WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#viewer-text mark"))[0]
    assert text_of(mark) == "49%"
    assert text_of(browser.find_element(By.ID, "viewer-text")) == text


def test_a_refused_question_is_given_back_to_edit_without_a_retry(browser: Chrome, live_service: LiveService) -> None:
    open_page(browser, live_service)
    browser.execute_script(
        "window.fetch = async () => new Response(JSON.stringify({detail: 'question: keep it to 20 characters'}),"
        " {status: 422, headers: {'Content-Type': 'application/json'}});"
    )
    box = browser.find_element(By.ID, "question")
    box.send_keys("Who founded Scale AI, and when, and why?", Keys.ENTER)

    error = WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.CSS_SELECTOR, ".message.error"))[0]
    assert "The question was not accepted: question: keep it to 20 characters" in text_of(error)
    assert not error.find_elements(By.TAG_NAME, "button")
    assert box.get_property("value") == "Who founded Scale AI, and when, and why?"


def test_new_chat_while_a_question_is_read_drops_its_answer(browser: Chrome, live_service: LiveService) -> None:
    open_page(browser, live_service)
    browser.execute_script(
        "window.realFetch = window.fetch; window.answered = 0;"
        "window.fetch = (...args) => new Promise(done => setTimeout(done, 1500))"
        ".then(() => window.realFetch(...args)).then(r => {"
        "  const read = r.json.bind(r);"  # counted once the page has the answer's body, so nothing is left to draw
        "  r.json = () => read().finally(() => setTimeout(() => window.answered++, 200));"
        "  return r; });"
    )
    browser.find_element(By.ID, "question").send_keys("How much of Scale did Meta buy?", Keys.ENTER)
    browser.find_element(By.ID, "new-chat").click()

    WebDriverWait(browser, ANSWER_SECONDS).until(lambda b: b.execute_script("return window.answered") == 1)
    assert not browser.find_elements(By.CSS_SELECTOR, "#transcript .message")
    assert browser.find_element(By.ID, "send").get_attribute("disabled") is None
    assert browser.execute_script("return localStorage.getItem('cited-qa.chat.v1')") == "[]"


def test_a_long_paste_is_sent_whole_and_the_services_limit_explained(
    browser: Chrome, live_service: LiveService
) -> None:
    open_page(browser, live_service)
    question = "Who founded Scale? " + "and why " * 200  # 1,619 characters, over the service's 1,000
    box = browser.find_element(By.ID, "question")
    browser.execute_script("arguments[0].value = arguments[1];", box, question)  # as a paste lands
    box.send_keys(Keys.END, Keys.ENTER)

    error = WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.CSS_SELECTOR, ".message.error"))[0]
    assert "keep it to 1000" in text_of(error)
    assert box.get_property("value") == question.strip(), "given back whole to shorten"


def test_the_source_viewer_says_plainly_when_the_service_is_unreachable(
    browser: Chrome, live_service: LiveService
) -> None:
    open_page(browser, live_service)
    message = ask(browser, "When was Scale AI founded?")
    browser.execute_script("window.fetch = () => Promise.reject(new TypeError('Failed to fetch'));")
    message.find_element(By.CSS_SELECTOR, ".chip").click()

    viewer = browser.find_element(By.ID, "viewer-text")
    WebDriverWait(browser, 30).until(lambda b: "network error" in text_of(viewer))
    assert text_of(viewer) == (
        "Could not load the document. Could not reach the service (network error). Check that it is running, then try"
        " again."
    )
