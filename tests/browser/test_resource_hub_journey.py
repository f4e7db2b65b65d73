"""An anonymous visitor, browsing in Spanish on a 360-pixel phone with no JavaScript,
finds the UK's crisis line from the front page and sees its number."""

from __future__ import annotations

from grants.core import resources as directory
from grants.database import get_session


def test_a_spanish_visitor_on_a_phone_finds_the_uk_crisis_line(browser, live_server, app, request):
    with app.app_context():
        db = get_session()
        directory.load_seed(db)
        db.commit()
    context = browser.new_context(
        viewport={"width": 360, "height": 740},
        base_url=live_server,
        locale="es-ES",
        java_script_enabled=False,  # the hub works without it
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto("/")
        # Click 1: the footer's way to the hub, in Spanish.
        page.get_by_role("link", name="¿Necesitas apoyo ahora? Líneas de crisis y recursos").click()
        assert page.locator("html").get_attribute("lang") == "es"
        assert page.get_by_role("heading", level=1).inner_text() == "Apoyo ahora"
        # Spain (the browser's region) comes first, under its emergency number.
        first = page.locator("section.hub-country").first
        assert first.get_by_role("heading", level=2).inner_text() == "España"
        assert "112" in first.locator(".emergency").inner_text()
        # Click 2: choose the country and search.
        page.get_by_label("País", exact=True).select_option(label="Reino Unido")
        page.get_by_role("button", name="Buscar apoyo").click()
        uk = page.locator("section.hub-country")
        assert uk.count() == 1
        assert uk.get_by_role("heading", level=2).inner_text() == "Reino Unido"
        samaritans = page.locator("li.hub-entry", has_text="Samaritans")
        assert samaritans.get_by_role("link", name="116 123").get_attribute("href") == "tel:116123"
        assert "Abierto las 24 horas, todos los días" in samaritans.inner_text()
        # Nothing spills past the phone's screen.
        for part in ("form.hub-search", "li.hub-entry >> nth=0", "footer"):
            box = page.locator(part).bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 360, (part, box)
        page.screenshot(path=_artifact(request), full_page=True)
    finally:
        context.close()


def _artifact(request):
    from tests.browser.conftest import ARTIFACTS

    folder = ARTIFACTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "uk-crisis-line.png"
