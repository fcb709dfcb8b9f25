"""The operators' admin: what it lets an operator change about an account."""

import pytest

from consult.models import User
from tests.helpers import make_user, verified_client
from tests.realtime import make_world, open_thread

pytestmark = pytest.mark.django_db


def test_account__keeps_its_authority_so_a_move_cannot_carry_memberships_across() -> None:
    """An officer 'moved' to a third authority would keep the threads of a case that authority is not party to."""
    world = make_world()
    thread_id, _ = open_thread(world.fr, world.case)
    operator_account = make_user(None, User.Role.ADMIN)
    User.objects.filter(pk=operator_account.pk).update(is_superuser=True)  # as `createsuperuser` makes one
    operator = verified_client(operator_account)
    officer = world.fr.user
    party = officer.authority_id
    page = f"/admin/consult/user/{officer.pk}/change/"
    assert operator.get(page).status_code == 200
    answer = operator.post(
        page,
        {
            "email": officer.email, "display_name": "Moved", "authority": world.outsider.user.authority_id,
            "role": officer.role, "is_active": "on",
        },
    )  # fmt: skip
    assert answer.status_code == 302  # saved: the rest of the form still applies
    officer.refresh_from_db()
    assert officer.display_name == "Moved" and officer.authority_id == party
    assert verified_client(officer).get(f"/api/v1/threads/{thread_id}/entries").status_code == 200


@pytest.mark.parametrize("model", ["otp_totp/totpdevice", "otp_static/staticdevice"])
def test_second_factors__are_not_in_the_admin(model: str) -> None:
    """An operator must not read (or plant) anyone's TOTP secret or backup codes; enrolment links reset them."""
    world = make_world()
    verified_client(world.fr.user)  # gives the officer a TOTP device
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    StaticDevice.objects.create(user=world.fr.user, name="backup", confirmed=True).token_set.create(token="k3y5ecret")
    device = (TOTPDevice if model.startswith("otp_totp") else StaticDevice).objects.get(user=world.fr.user)
    secret = device.key if isinstance(device, TOTPDevice) else "k3y5ecret"
    operator_account = make_user(None, User.Role.ADMIN)
    User.objects.filter(pk=operator_account.pk).update(is_superuser=True)
    operator = verified_client(operator_account)
    assert operator.get("/admin/").status_code == 200
    for page in (f"/admin/{model}/", f"/admin/{model}/{device.pk}/change/", f"/admin/{model}/add/"):
        answer = operator.get(page)
        assert answer.status_code == 404, page
        assert secret.encode() not in answer.content
