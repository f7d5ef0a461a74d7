"""The vacation_rental tools: hosts decide differently, amounts are guarded, free text
does not decide the database hash."""

from __future__ import annotations

import json

import pytest

from evaluator.domains.folder import BUILT_IN_ROOT
from evaluator.domains.vacation_rental.tools import (
    Situation,
    VacationRentalDB,
    VacationRentalTools,
)

DATA = json.loads((BUILT_IN_ROOT / "vacation_rental" / "db.json").read_text())


@pytest.fixture
def tools() -> VacationRentalTools:
    return VacationRentalTools(VacationRentalDB.model_validate(DATA))


def host_of(tools: VacationRentalTools, reservation_id: str) -> str:
    listing = tools.db.reservations[reservation_id].listing_id
    return tools.db.listings[listing].host_id


@pytest.mark.parametrize(
    ("reservation", "situation", "decision"),
    [
        # the same guest (one stay on record) asks two hosts for an early check-in
        ("RES1018", "early_check_in", "approve"),  # reviews-first: anyone without incidents
        ("RES1017", "early_check_in", "deny"),  # revenue-first: 3 completed stays needed
        # the same repeat guest asks two hosts for a refund beyond the tier
        ("RES1012", "cancellation_exception", "approve"),  # 4 stays with this host
        ("RES1013", "cancellation_exception", "deny"),  # revenue-first: never
        # inconclusive evidence at two hosts
        ("RES1027", "issue_compensation", "approve"),
        ("RES1028", "issue_compensation", "deny"),
        ("RES1020", "late_check_out", "deny"),  # an incident on record
        ("RES1022", "early_check_in", "deny"),  # relationship-first: rated 4.0, needs 4.5
    ],
)
def test_hosts_decide_by_their_profiles(
    tools: VacationRentalTools, reservation: str, situation: Situation, decision: str
) -> None:
    host = host_of(tools, reservation)
    assert tools.request_host_decision(host, reservation, situation).decision == decision


def test_approved_amounts_follow_the_hosts_rules(tools: VacationRentalTools) -> None:
    exception = tools.request_host_decision(
        host_of(tools, "RES1014"), "RES1014", "cancellation_exception"
    )
    assert (exception.form, exception.amount) == ("cancellation_refund", 260 + 90)  # 50% + fee
    credit = tools.request_host_decision(host_of(tools, "RES1024"), "RES1024", "issue_compensation")
    assert (credit.form, credit.amount) == ("service_credit", 92)  # 10% of 920


def test_only_the_listings_host_can_decide(tools: VacationRentalTools) -> None:
    with pytest.raises(ValueError, match="is not the host of reservation RES1017"):
        tools.request_host_decision("maya_lindqvist_2001", "RES1017", "early_check_in")


def test_refunds_cannot_exceed_what_was_paid_nor_go_to_an_expired_card(
    tools: VacationRentalTools,
) -> None:
    with pytest.raises(ValueError, match="exceeds what is left to refund"):
        tools.cancel_reservation("RES1001", 600.01)
    with pytest.raises(ValueError, match="pm_elena_visa is expired"):
        tools.process_refund("RES1031", 80, "pm_elena_visa")
    with pytest.raises(ValueError, match="RES1023 is completed, not confirmed"):
        tools.cancel_reservation("RES1023", 0)
    tools.cancel_reservation("RES1001", 600)
    assert tools.db.reservations["RES1001"].status == "cancelled"


def test_free_text_is_kept_out_of_the_database_hash() -> None:
    one = VacationRentalTools(VacationRentalDB.model_validate(DATA))
    two = VacationRentalTools(VacationRentalDB.model_validate(DATA))
    one.add_reservation_note("RES1016", "early_check_in", "Approved by Maya for noon")
    two.add_reservation_note("RES1016", "early_check_in", "noon arrival OK")
    assert one.get_db_hash() == two.get_db_hash()
    two.add_reservation_note("RES1016", "other", "noon arrival OK")
    assert one.get_db_hash() != two.get_db_hash()


@pytest.mark.parametrize("expression", ["__import__('os')", "2 ** 10", "True + 1", "x"])
def test_calculate_takes_arithmetic_only(tools: VacationRentalTools, expression: str) -> None:
    with pytest.raises(ValueError, match=r"allowed|Invalid"):
        tools.calculate(expression)


def test_calculate_rounds_to_cents(tools: VacationRentalTools) -> None:
    assert tools.calculate("(180 * 3) * 0.5 + 60 / 7") == "278.57"
