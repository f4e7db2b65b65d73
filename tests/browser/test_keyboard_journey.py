"""The gift journey with the keyboard alone: log in, reach the gift form, make a mistake,
hear about it, fix it and send, by Tab, typing and Enter only. Every element that takes
focus on the way shows a visible focus ring."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.conftest import PASSWORD

FOCUS_RING = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;  // focus is on the page itself, no stop
  const style = getComputedStyle(el);
  return style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
}"""


def tab_to(page, target, *, limit: int = 40) -> None:
    """Press Tab until `target` has focus, checking the focus ring at every stop."""
    for _step in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate("() => document.activeElement.outerHTML.slice(0, 120)")
        ring = page.evaluate(FOCUS_RING)
        for _retry in range(10):  # on a loaded machine the style can lag the key press
            if ring is not False:
                break
            page.wait_for_timeout(100)
            ring = page.evaluate(FOCUS_RING)
        assert ring is not False, f"no visible focus on {focused}"
        if target.evaluate("el => el === document.activeElement"):
            return
    raise AssertionError(f"Tab never reached {target}")


def type_into(page, target, text: str) -> None:
    tab_to(page, target)
    page.keyboard.press("Control+A")
    page.keyboard.type(text)


def test_gift_with_the_keyboard_alone(page, snap, app, make_user, make_cohort):
    from tests.test_funding import enrol_user
    from tests.test_gifts import grant_credits

    staff = make_user("staff")
    maya = make_user("ambassador", name="Maya Okafor")
    cohort_id = make_cohort(funded=50, session_allowance=10, approval_threshold=10)
    enrol_user(app, maya, cohort_id)
    grant_credits(app, maya, cohort_id, 6, staff)

    page.goto("/auth/login")
    type_into(page, page.get_by_label("Email"), maya.email)
    type_into(page, page.get_by_label("Password"), PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("My sessions")

    tab_to(page, page.get_by_role("link", name="Gift sessions to a bandmate or crew"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Gift")
    type_into(page, page.get_by_label("Their name"), "Sam Rivera")
    type_into(page, page.get_by_label("Their email"), "sam@example.org")
    tab_to(page, page.get_by_label("How you know them"))
    page.keyboard.type("crew")  # a focused list picks the option typed
    type_into(page, page.get_by_label("Sessions to gift"), "60")  # more than Maya holds
    tab_to(page, page.get_by_role("button", name="Send the gift"))
    page.keyboard.press("Enter")

    # The problem is announced, listed at the top and tied to its field.
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("There is a problem")
    field = page.get_by_label("Sessions to gift")
    expect(field).to_have_attribute("aria-invalid", "true")
    described = field.get_attribute("aria-describedby").split()
    messages = [page.locator(f"#{ident}").inner_text() for ident in described]
    assert any("6" in message for message in messages), messages
    snap("gift-refused")

    # The summary's link takes focus to the field; fix it and send.
    tab_to(page, summary.get_by_role("link"))
    page.keyboard.press("Enter")
    expect(field).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type("2")
    tab_to(page, page.get_by_role("button", name="Send the gift"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("on its way to Sam Rivera")
    expect(page.get_by_role("region", name="RADAR US 2027").locator("dd.big")).to_have_text("4")
    snap("gift-sent")
