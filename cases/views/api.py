"""Case API: list, detail, create and update (DESIGN §7)."""

import datetime as dt
import uuid

from django.db import transaction
from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import ConfigDict

from cases.actions.cases import check_create_case, check_update_case
from cases.lib.access import access_case, visible_cases
from cases.lib.search import filter_cases
from cases.models import Case
from consult.models import User

router = Router(tags=["cases"])


class StrictSchema(Schema):
    """Unknown fields are an error, not silently dropped (DESIGN §9)."""

    model_config = ConfigDict(extra="forbid")


class DeadlineIn(StrictSchema):
    label: str
    due: dt.date


class DeadlineOut(Schema):
    label: str
    due: dt.date
    computed: bool = False  # from the treaty profile (see /cases/{id}/deadlines)
    met_on: dt.date | None = None


class CaseIn(StrictSchema):
    requesting_authority: str
    requested_authority: str
    requesting_reference: str
    requested_reference: str = ""
    kind: Case.Kind
    legal_basis: Case.LegalBasis
    legal_basis_name: str = ""
    status: Case.Status = Case.Status.OPEN
    interpol_notice: str = ""
    outcome: Case.Outcome | None = None
    outcome_on: dt.date | None = None
    deadlines: list[DeadlineIn] = []


class CasePatch(StrictSchema):
    requesting_reference: str | None = None
    requested_reference: str | None = None
    kind: Case.Kind | None = None
    legal_basis: Case.LegalBasis | None = None
    legal_basis_name: str | None = None
    status: Case.Status | None = None
    interpol_notice: str | None = None
    outcome: Case.Outcome | None = None
    outcome_on: dt.date | None = None
    deadlines: list[DeadlineIn] | None = None


class CaseOut(Schema):
    id: uuid.UUID
    requesting_authority: str
    requested_authority: str
    requesting_reference: str
    requested_reference: str
    kind: str
    legal_basis: str
    legal_basis_name: str
    status: str
    interpol_notice: str
    outcome: str
    outcome_on: dt.date | None
    treaty_profile: str | None
    opened_at: dt.datetime
    updated_at: dt.datetime
    deadlines: list[DeadlineOut]

    @staticmethod
    def of(case: Case) -> "CaseOut":
        return CaseOut(
            id=case.pk,
            requesting_authority=case.requesting_authority.code,
            requested_authority=case.requested_authority.code,
            treaty_profile=case.treaty_profile.code if case.treaty_profile else None,
            deadlines=[
                DeadlineOut(label=d.label, due=d.due, computed=d.limit_id is not None, met_on=d.met_on)
                for d in case.deadlines.all()
            ],
            **{
                f: getattr(case, f)
                for f in (
                    "requesting_reference",
                    "requested_reference",
                    "kind",
                    "legal_basis",
                    "legal_basis_name",
                    "status",
                    "interpol_notice",
                    "outcome",
                    "outcome_on",
                    "opened_at",
                    "updated_at",
                )
            },
        )


class CaseFilters(Schema):
    q: str | None = None
    status: Case.Status | None = None
    kind: Case.Kind | None = None
    counterpart: str | None = None
    overdue: bool = False


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@router.get("/cases", response=list[CaseOut], summary="Cases I may see, filtered")
def list_cases(request: HttpRequest, filters: Query[CaseFilters]) -> list[CaseOut]:
    cases = filter_cases(visible_cases(_user(request)), filters.model_dump()).prefetch_related("deadlines")
    return [CaseOut.of(c) for c in cases[:500]]


@router.post("/cases", response={201: CaseOut}, summary="Open a case")
def create_case(request: HttpRequest, payload: CaseIn) -> tuple[int, CaseOut]:
    with transaction.atomic():
        case = check_create_case(_user(request), payload.model_dump())
    return 201, CaseOut.of(case)


@router.get("/cases/{case_id}", response=CaseOut, summary="One case")
def get_case(request: HttpRequest, case_id: str) -> CaseOut:
    return CaseOut.of(access_case(_user(request), case_id))


@router.patch("/cases/{case_id}", response=CaseOut, summary="Change a case's metadata")
def update_case(request: HttpRequest, case_id: str, payload: CasePatch) -> CaseOut:
    with transaction.atomic():
        case = access_case(_user(request), case_id)
        check_update_case(_user(request), case, payload.model_dump(exclude_unset=True))
    return CaseOut.of(case)
