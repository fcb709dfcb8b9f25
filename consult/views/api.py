"""API operations about the signed-in person."""

from django.http import HttpRequest
from ninja import Router, Schema

from consult.models import User

router = Router(tags=["people"])


class AuthorityOut(Schema):
    code: str
    country: str
    name: str
    kind: str


class MeOut(Schema):
    id: str
    email: str
    display_name: str
    role: str
    authority: AuthorityOut | None
    devices: list[str]


@router.get("/me", response=MeOut, summary="The signed-in user, authority, role and devices")
def me(request: HttpRequest) -> MeOut:
    user = request.user
    assert isinstance(user, User)
    authority = user.authority
    return MeOut(
        id=str(user.pk),
        email=user.email,
        display_name=user.display_name,
        role=user.role,
        authority=AuthorityOut(code=authority.code, country=authority.country, name=authority.name, kind=authority.kind)
        if authority
        else None,
        devices=[],
    )
