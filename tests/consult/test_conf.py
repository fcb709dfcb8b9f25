"""Comity's settings: defaults, overrides, and the values kept between changes (consult.conf)."""

from django.test import override_settings

from consult.conf import DEFAULTS, comity_settings


def test_comity_settings__follow_every_override_and_its_end() -> None:
    assert comity_settings.COMITY_PAGE_ENTRIES == DEFAULTS["COMITY_PAGE_ENTRIES"]  # looked up, then kept
    with override_settings(COMITY_PAGE_ENTRIES=7):
        assert comity_settings.COMITY_PAGE_ENTRIES == 7
        with override_settings(COMITY_PAGE_ENTRIES=3):
            assert comity_settings.COMITY_PAGE_ENTRIES == 3
        assert comity_settings.COMITY_PAGE_ENTRIES == 7
    assert comity_settings.COMITY_PAGE_ENTRIES == DEFAULTS["COMITY_PAGE_ENTRIES"]
