"""The vacation_rental domain's database model and the agent's tools.

The agent is a platform support agent. It acts for the hosts, under the platform policy
(``policy.md``) and each host's written profile. Hosts differ in how they decide on
guests' requests; ``request_host_decision`` applies a host's decision rules (stored in
the host profile) to the guest's history, the reservation and any evidence, so the same
request can get opposite answers from two hosts.

Free-text arguments (reasons, justifications, note text, a guest's statement) are kept
but left out of the database hash (``exclude=True``): tau2 compares final databases,
and two agents who phrase a reason differently have done the same thing.

Deliberately no ``from __future__ import annotations``: tau2 builds each tool's
parameter schema from the live annotations of the signature.
"""

import ast
import operator
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from tau2.environment.db import DB
from tau2.environment.toolkit import ToolKitBase, ToolType, is_tool

# The platform clock is fixed, so that refund tiers are reproducible.
NOW = datetime(2025, 6, 2, 10, 0)

Tier = Literal["flexible", "moderate", "firm", "strict"]
Situation = Literal[
    "early_check_in", "late_check_out", "cancellation_exception", "issue_compensation"
]
EvidenceStatus = Literal["validated", "invalidated", "inconclusive", "pending"]
IssueType = Literal[
    "cleanliness",
    "amenity_broken",
    "safety",
    "noise",
    "access",
    "major_event",
    "host_cancellation",
    "other",
]
Severity = Literal["low", "medium", "high"]
NoteCategory = Literal["early_check_in", "late_check_out", "host_decision", "other"]

F = TypeVar("F", bound=Callable[..., Any])


def tool(kind: Any) -> Callable[[F], F]:
    """tau2's ``is_tool``, typed for mypy."""
    decorator: Callable[[F], F] = is_tool(kind)
    return decorator


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PaymentMethod(Record):
    payment_method_id: str
    kind: Literal["credit_card", "paypal", "bank_account"]
    label: str
    status: Literal["active", "expired"]


class User(Record):
    user_id: str
    name: str
    email: str
    role: Literal["guest", "host"]
    payment_methods: dict[str, PaymentMethod] = Field(default_factory=dict)
    service_credit: float = 0.0


class StayChangeRule(Record):
    """Early check-in and late check-out."""

    min_completed_stays: int
    min_host_rating: float | None = None
    allow_incidents: bool


class ExceptionRule(Record):
    """A refund beyond the cancellation tier; refund_pct of the lodging (0: never)."""

    refund_pct: int
    min_stays_with_host: int = 0
    allow_incidents: bool = False


class Compensation(Record):
    form: Literal["goodwill_refund", "service_credit", "none"]
    pct: int = 0  # of the amount the guest paid


class DecisionRules(Record):
    stay_change: StayChangeRule
    cancellation_exception: ExceptionRule
    compensation: dict[EvidenceStatus, Compensation]


class HostProfile(Record):
    host_id: str
    name: str
    archetype: Literal["reviews_first", "revenue_first", "relationship_first"]
    profile: str
    risk_tolerance: Literal["low", "medium", "high"]
    decision_rules: DecisionRules


class Listing(Record):
    listing_id: str
    host_id: str
    title: str
    city: str
    nightly_rate: float
    cleaning_fee: float
    cancellation_tier: Tier
    max_guests: int
    check_in_time: str = "15:00"
    check_out_time: str = "11:00"
    house_rules: list[str] = Field(default_factory=list)


class PastStay(Record):
    reservation_id: str
    listing_id: str
    host_id: str
    check_out: str
    host_rating: float


class Incident(Record):
    date: str
    kind: str
    summary: str


class GuestHistory(Record):
    guest_id: str
    completed_stays: list[PastStay] = Field(default_factory=list)
    incidents: list[Incident] = Field(default_factory=list)


class Charge(Record):
    charge_id: str
    kind: Literal["lodging", "cleaning_fee"]
    amount: float
    payment_method_id: str


class Refund(Record):
    kind: Literal["cancellation", "refund", "goodwill"]
    amount: float
    payment_method_id: str
    reason: str = Field(default="", exclude=True)


class Note(Record):
    category: NoteCategory
    text: str = Field(default="", exclude=True)


class Cancellation(Record):
    cancelled_by: Literal["guest", "host"]
    refund_amount: float
    reason: str = Field(default="", exclude=True)


class Reservation(Record):
    reservation_id: str
    guest_id: str
    listing_id: str
    check_in: str
    check_out: str
    nights: int
    guests: int
    booked_at: str
    status: Literal["confirmed", "in_progress", "completed", "cancelled"]
    payment_method_id: str
    charges: list[Charge]
    refunds: list[Refund] = Field(default_factory=list)
    notes: list[Note] = Field(default_factory=list)
    cancellation: Cancellation | None = None

    @property
    def total_paid(self) -> float:
        return round(sum(c.amount for c in self.charges), 2)

    @property
    def refunded(self) -> float:
        return round(sum(r.amount for r in self.refunds), 2)


class Evidence(Record):
    kind: Literal["photo", "video", "receipt", "message", "document"]
    description: str


class Issue(Record):
    issue_id: str
    reservation_id: str
    reported_by: Literal["guest", "host"]
    issue_type: IssueType
    severity: Severity
    summary: str
    reported_at: str
    evidence: list[Evidence] = Field(default_factory=list)
    evidence_status: EvidenceStatus
    evidence_finding: str = ""
    guest_statement: str = Field(default="", exclude=True)


class HostDecision(Record):
    host_id: str
    reservation_id: str
    situation: Situation
    decision: Literal["approve", "deny"]
    form: Literal["note", "cancellation_refund", "goodwill_refund", "service_credit", "none"]
    amount: float = 0.0
    reason: str


class VacationRentalDB(DB):  # type: ignore[misc]
    """Users (guests and hosts), hosts' profiles, listings, guests' histories,
    reservations and reported issues."""

    users: dict[str, User]
    host_profiles: dict[str, HostProfile]
    listings: dict[str, Listing]
    guest_histories: dict[str, GuestHistory]
    reservations: dict[str, Reservation]
    issues: dict[str, Issue]


# The names a domain folder's tools module exports (see evaluator.domains.folder).
Database = VacationRentalDB


class VacationRentalTools(ToolKitBase):  # type: ignore[misc]
    """Tools of a support agent for a vacation rental platform."""

    db: VacationRentalDB

    def __init__(self, db: VacationRentalDB) -> None:
        super().__init__(db)

    # -- lookups ------------------------------------------------------------------

    def _user(self, user_id: str) -> User:
        if user_id not in self.db.users:
            raise ValueError(f"User {user_id} not found")
        return self.db.users[user_id]

    def _reservation(self, reservation_id: str) -> Reservation:
        if reservation_id not in self.db.reservations:
            raise ValueError(f"Reservation {reservation_id} not found")
        return self.db.reservations[reservation_id]

    def _listing(self, listing_id: str) -> Listing:
        if listing_id not in self.db.listings:
            raise ValueError(f"Listing {listing_id} not found")
        return self.db.listings[listing_id]

    def _host(self, host_id: str) -> HostProfile:
        if host_id not in self.db.host_profiles:
            raise ValueError(f"Host {host_id} not found")
        return self.db.host_profiles[host_id]

    def _history(self, guest_id: str) -> GuestHistory:
        return self.db.guest_histories.get(guest_id) or GuestHistory(guest_id=guest_id)

    @tool(ToolType.READ)
    def get_user_details(self, user_id: str) -> User:
        """
        Get a user's details: name, role (guest or host), payment methods and service credit.

        Args:
            user_id: The user's id, such as 'ana_souza_1042'.

        Returns:
            The user.

        Raises:
            ValueError: If the user is not found.
        """
        return self._user(user_id)

    @tool(ToolType.READ)
    def get_reservation_details(self, reservation_id: str) -> dict[str, Any]:
        """
        Get a reservation: guest, listing, dates, status, payment method, charges, refunds
        and notes, with the total paid and the total refunded so far.

        Args:
            reservation_id: The reservation id, such as 'RES1001'.

        Returns:
            The reservation.

        Raises:
            ValueError: If the reservation is not found.
        """
        return _details(self._reservation(reservation_id))

    @tool(ToolType.READ)
    def get_listing_details(self, listing_id: str) -> Listing:
        """
        Get a listing: its host, nightly rate, cleaning fee, cancellation tier, check-in and
        check-out times and house rules.

        Args:
            listing_id: The listing id, such as 'LST01'.

        Returns:
            The listing.

        Raises:
            ValueError: If the listing is not found.
        """
        return self._listing(listing_id)

    @tool(ToolType.READ)
    def get_host_profile(self, host_id: str) -> HostProfile:
        """
        Get a host's written profile: how the host runs their listings and decides on
        guests' requests.

        Args:
            host_id: The host's user id.

        Returns:
            The host profile.

        Raises:
            ValueError: If the host is not found.
        """
        return self._host(host_id)

    @tool(ToolType.READ)
    def get_guest_history(self, guest_id: str) -> dict[str, Any]:
        """
        Get a guest's history on the platform: completed stays (with the rating each host
        gave the guest) and incidents.

        Args:
            guest_id: The guest's user id.

        Returns:
            The guest's stays and incidents, with counts and the average host rating.

        Raises:
            ValueError: If the user is not found.
        """
        self._user(guest_id)
        history = self._history(guest_id)
        ratings = [s.host_rating for s in history.completed_stays]
        details = history.model_dump()
        details["completed_stay_count"] = len(history.completed_stays)
        details["incident_count"] = len(history.incidents)
        details["average_host_rating"] = round(sum(ratings) / len(ratings), 2) if ratings else None
        return details

    @tool(ToolType.READ)
    def get_issue_details(self, issue_id: str) -> Issue:
        """
        Get a reported issue with its evidence and the platform's finding on the evidence
        (evidence_status: validated, invalidated, inconclusive or pending).

        Args:
            issue_id: The issue id, such as 'ISS001'.

        Returns:
            The issue.

        Raises:
            ValueError: If the issue is not found.
        """
        if issue_id not in self.db.issues:
            raise ValueError(f"Issue {issue_id} not found")
        return self.db.issues[issue_id]

    @tool(ToolType.READ)
    def request_host_decision(
        self, host_id: str, reservation_id: str, situation: Situation
    ) -> HostDecision:
        """
        Ask a host for their decision on a guest's request about a reservation. The host
        decides from their profile, the guest's history and, for compensation, the evidence
        of the reservation's latest issue. The decision is binding within platform policy.

        Args:
            host_id: The host's user id (the host of the reservation's listing).
            reservation_id: The reservation the request is about.
            situation: One of early_check_in, late_check_out, cancellation_exception
                (a refund beyond the cancellation tier) or issue_compensation.

        Returns:
            The decision: approve or deny, the form it takes (note, cancellation_refund,
            goodwill_refund, service_credit) and the amount where money is involved.

        Raises:
            ValueError: If the host, the reservation or an issue to compensate is not
                found, or the host is not the reservation's host.
        """
        host = self._host(host_id)
        reservation = self._reservation(reservation_id)
        listing = self._listing(reservation.listing_id)
        if listing.host_id != host_id:
            raise ValueError(f"Host {host_id} is not the host of reservation {reservation_id}")
        history = self._history(reservation.guest_id)
        rules = host.decision_rules

        def decide(approve: bool, form: str, amount: float, why: str) -> HostDecision:
            return HostDecision(
                host_id=host_id,
                reservation_id=reservation_id,
                situation=situation,
                decision="approve" if approve else "deny",
                form=form if approve else "none",  # type: ignore[arg-type]
                amount=round(amount, 2) if approve else 0.0,
                reason=why,
            )

        incidents = len(history.incidents)
        if situation in ("early_check_in", "late_check_out"):
            rule = rules.stay_change
            ratings = [s.host_rating for s in history.completed_stays]
            rating = sum(ratings) / len(ratings) if ratings else None
            if incidents and not rule.allow_incidents:
                return decide(False, "none", 0, "The guest has incidents on record.")
            if len(history.completed_stays) < rule.min_completed_stays:
                return decide(
                    False,
                    "none",
                    0,
                    f"The host requires at least {rule.min_completed_stays} completed stays.",
                )
            if rule.min_host_rating is not None and (
                rating is None or rating < rule.min_host_rating
            ):
                return decide(
                    False, "none", 0, f"The host requires a rating of {rule.min_host_rating}."
                )
            return decide(True, "note", 0, "Approved: record it on the reservation.")
        if situation == "cancellation_exception":
            exception = rules.cancellation_exception
            with_host = sum(1 for s in history.completed_stays if s.host_id == host_id)
            if exception.refund_pct <= 0:
                return decide(False, "none", 0, "The host makes no exceptions to the tier.")
            if incidents and not exception.allow_incidents:
                return decide(False, "none", 0, "The guest has incidents on record.")
            if with_host < exception.min_stays_with_host:
                return decide(
                    False,
                    "none",
                    0,
                    f"Exceptions are for guests with {exception.min_stays_with_host} or more "
                    "stays with this host.",
                )
            lodging = sum(c.amount for c in reservation.charges if c.kind == "lodging")
            cleaning = sum(c.amount for c in reservation.charges if c.kind == "cleaning_fee")
            refund = lodging * exception.refund_pct / 100 + cleaning
            return decide(
                True,
                "cancellation_refund",
                refund,
                f"Refund {exception.refund_pct}% of the lodging plus the cleaning fee.",
            )
        issues = [i for i in self.db.issues.values() if i.reservation_id == reservation_id]
        if not issues:
            raise ValueError(f"Reservation {reservation_id} has no reported issue")
        issue = max(issues, key=lambda i: i.reported_at)
        compensation = rules.compensation.get(issue.evidence_status)
        if compensation is None or compensation.form == "none":
            return decide(
                False, "none", 0, f"No compensation when the evidence is {issue.evidence_status}."
            )
        return decide(
            True,
            compensation.form,
            reservation.total_paid * compensation.pct / 100,
            f"{compensation.pct}% of the amount paid, as {compensation.form}.",
        )

    # -- changes ------------------------------------------------------------------

    def _refundable(self, reservation: Reservation, amount: float) -> float:
        amount = round(float(amount), 2)
        if amount < 0:
            raise ValueError("Amount must not be negative")
        left = round(reservation.total_paid - reservation.refunded, 2)
        if amount > left:
            raise ValueError(
                f"Amount {amount} exceeds what is left to refund on "
                f"{reservation.reservation_id} ({left:.2f})"
            )
        return amount

    def _active_method(self, user_id: str, payment_method_id: str) -> PaymentMethod:
        method = self._user(user_id).payment_methods.get(payment_method_id)
        if method is None:
            raise ValueError(f"Payment method {payment_method_id} does not belong to {user_id}")
        if method.status != "active":
            raise ValueError(f"Payment method {payment_method_id} is {method.status}")
        return method

    @tool(ToolType.WRITE)
    def cancel_reservation(
        self,
        reservation_id: str,
        refund_amount: float,
        cancelled_by: Literal["guest", "host"] = "guest",
        reason: str = "",
    ) -> dict[str, Any]:
        """
        Cancel a confirmed reservation and refund the given amount to the original payment
        method. The refund is what the policy (or the host's decision) allows: compute it
        first.

        Args:
            reservation_id: The reservation to cancel.
            refund_amount: The total to refund, in dollars (0 for none).
            cancelled_by: 'guest' or 'host': who cancels the stay.
            reason: Why the reservation is cancelled.

        Returns:
            The cancelled reservation.

        Raises:
            ValueError: If the reservation is not confirmed, the amount is more than was
                paid, or the original payment method cannot take a refund.
        """
        reservation = self._reservation(reservation_id)
        if reservation.status != "confirmed":
            raise ValueError(f"Reservation {reservation_id} is {reservation.status}, not confirmed")
        amount = self._refundable(reservation, refund_amount)
        if amount > 0:
            self._active_method(reservation.guest_id, reservation.payment_method_id)
            reservation.refunds.append(
                Refund(
                    kind="cancellation",
                    amount=amount,
                    payment_method_id=reservation.payment_method_id,
                    reason=reason,
                )
            )
        reservation.status = "cancelled"
        reservation.cancellation = Cancellation(
            cancelled_by=cancelled_by, refund_amount=amount, reason=reason
        )
        return _details(self._reservation(reservation_id))

    @tool(ToolType.WRITE)
    def process_refund(
        self, reservation_id: str, amount: float, payment_method_id: str, reason: str = ""
    ) -> dict[str, Any]:
        """
        Refund money paid for a reservation (a billing error such as a duplicate charge) to
        one of the guest's active payment methods.

        Args:
            reservation_id: The reservation the money was paid for.
            amount: The amount to refund, in dollars.
            payment_method_id: The guest's payment method to refund to.
            reason: Why the money is refunded.

        Returns:
            The reservation with the refund.

        Raises:
            ValueError: If the payment method is not the guest's or not active, or the
                amount is more than is left to refund.
        """
        reservation = self._reservation(reservation_id)
        self._active_method(reservation.guest_id, payment_method_id)
        reservation.refunds.append(
            Refund(
                kind="refund",
                amount=self._refundable(reservation, amount),
                payment_method_id=payment_method_id,
                reason=reason,
            )
        )
        return _details(self._reservation(reservation_id))

    @tool(ToolType.WRITE)
    def submit_issue_report(
        self, reservation_id: str, issue_type: IssueType, severity: Severity, description: str
    ) -> Issue:
        """
        Report a problem with a stay. The new issue's evidence is pending review.

        Args:
            reservation_id: The reservation the problem is about.
            issue_type: cleanliness, amenity_broken, safety, noise, access, major_event,
                host_cancellation or other.
            severity: low, medium or high, as the policy assigns them.
            description: The guest's description of the problem.

        Returns:
            The new issue, with its id.

        Raises:
            ValueError: If the reservation is not found.
        """
        self._reservation(reservation_id)
        issue_id = f"ISS{len(self.db.issues) + 1:03d}"
        issue = Issue(
            issue_id=issue_id,
            reservation_id=reservation_id,
            reported_by="guest",
            issue_type=issue_type,
            severity=severity,
            summary=f"{issue_type} reported by the guest",
            reported_at=NOW.isoformat(timespec="minutes"),
            evidence_status="pending",
            guest_statement=description,
        )
        self.db.issues[issue_id] = issue
        return issue

    @tool(ToolType.WRITE)
    def process_goodwill_refund(
        self, reservation_id: str, amount: float, justification: str = ""
    ) -> dict[str, Any]:
        """
        Refund a goodwill amount the host approved to the reservation's original payment
        method.

        Args:
            reservation_id: The reservation.
            amount: The approved amount, in dollars.
            justification: Why the goodwill refund is given.

        Returns:
            The reservation with the refund.

        Raises:
            ValueError: If the amount is more than is left to refund or the original payment
                method cannot take a refund.
        """
        reservation = self._reservation(reservation_id)
        self._active_method(reservation.guest_id, reservation.payment_method_id)
        reservation.refunds.append(
            Refund(
                kind="goodwill",
                amount=self._refundable(reservation, amount),
                payment_method_id=reservation.payment_method_id,
                reason=justification,
            )
        )
        return _details(self._reservation(reservation_id))

    @tool(ToolType.WRITE)
    def apply_service_credit(self, user_id: str, amount: float, reason: str = "") -> User:
        """
        Add platform service credit to a user's account (usable on future bookings).

        Args:
            user_id: The user to credit.
            amount: The credit, in dollars.
            reason: Why the credit is given.

        Returns:
            The user with the new balance.

        Raises:
            ValueError: If the user is not found or the amount is not positive.
        """
        user = self._user(user_id)
        amount = round(float(amount), 2)
        if amount <= 0:
            raise ValueError("Amount must be positive")
        user.service_credit = round(user.service_credit + amount, 2)
        return user

    @tool(ToolType.WRITE)
    def add_reservation_note(
        self, reservation_id: str, category: NoteCategory, note: str
    ) -> dict[str, Any]:
        """
        Add a note to a reservation, for instance an approved early check-in or late
        check-out.

        Args:
            reservation_id: The reservation.
            category: early_check_in, late_check_out, host_decision or other.
            note: The note's text.

        Returns:
            The reservation with the note.

        Raises:
            ValueError: If the reservation is not found.
        """
        self._reservation(reservation_id).notes.append(Note(category=category, text=note))
        return _details(self._reservation(reservation_id))

    # -- generic --------------------------------------------------------------------

    @tool(ToolType.GENERIC)
    def calculate(self, expression: str) -> str:
        """
        Calculate an arithmetic expression, such as '(180 * 3) * 0.5 + 60'.

        Args:
            expression: Numbers, + - * /, parentheses and spaces.

        Returns:
            The result, rounded to 2 decimals.

        Raises:
            ValueError: If the expression is not plain arithmetic.
        """
        try:
            tree = ast.parse(expression, mode="eval")
        except SyntaxError as exc:
            raise ValueError(f"Invalid expression: {expression!r}") from exc
        return str(round(_evaluate(tree.body), 2))

    @tool(ToolType.GENERIC)
    def transfer_to_human_agents(self, summary: str) -> str:
        """
        Transfer the user to a human agent, with a summary of the case. Only when the policy
        says so (safety emergencies, legal threats, an explicit request for a human) or when
        the policy and the tools cannot resolve the request.

        Args:
            summary: A summary of the user's case.

        Returns:
            A confirmation of the transfer.
        """
        return "Transfer successful"


def _details(reservation: Reservation) -> dict[str, Any]:
    details = reservation.model_dump()
    details["total_paid"] = reservation.total_paid
    details["total_refunded"] = reservation.refunded
    return details


_OPERATORS: dict[type[ast.AST], Any] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}


def _evaluate(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        if isinstance(node.value, bool):
            raise ValueError("Only numbers, + - * / and parentheses are allowed")
        return float(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        result: float = _OPERATORS[type(node.op)](_evaluate(node.left), _evaluate(node.right))
        return result
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPERATORS:
        value: float = _OPERATORS[type(node.op)](_evaluate(node.operand))
        return value
    raise ValueError("Only numbers, + - * / and parentheses are allowed")


Tools = VacationRentalTools
