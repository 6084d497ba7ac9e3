"""Who may do what in the panel: one table of role → permissions, checked on every request."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.models import Ticket
from storage.users import User


class Permission(StrEnum):
    """One thing a panel user may do."""

    VIEW_ALL = "view_all"  # every ticket
    VIEW_DEPARTMENT = "view_department"  # only the user's department's tickets
    VIEW_TRIAGE = "view_triage"
    RECLASSIFY = "reclassify"
    REASSIGN = "reassign"
    MERGE = "merge"
    CHANGE_STATUS = "change_status"
    NOTE = "note"
    EDIT_CANNED = "edit_canned"
    MANAGE_USERS = "manage_users"
    RETRAIN_MODEL = "retrain_model"  # see the classifier's scores and retrain it on corrections
    ASSIGN = "assign"  # give a ticket to any active person of its department, or to nobody
    CLAIM = "claim"  # take a ticket of one's own department, and give it back
    REPLY = "reply"  # write to the citizen without changing the status
    INTAKE = "intake"  # record a phone call's or a walk-in's request (/panel/intake)


P = Permission
ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "operator": frozenset(
        {
            P.VIEW_ALL,
            P.VIEW_TRIAGE,
            P.RECLASSIFY,
            P.REASSIGN,
            P.MERGE,
            P.CHANGE_STATUS,
            P.NOTE,
            P.EDIT_CANNED,
            P.ASSIGN,
            P.CLAIM,
            P.REPLY,
            P.INTAKE,
        }
    ),
    "staff": frozenset({P.VIEW_DEPARTMENT, P.CHANGE_STATUS, P.NOTE, P.CLAIM, P.REPLY}),
    # Managers read, retrain the model, and share out the work (assignment changes no ticket's state).
    "manager": frozenset({P.VIEW_ALL, P.VIEW_TRIAGE, P.RETRAIN_MODEL, P.ASSIGN, P.INTAKE}),
    "admin": frozenset({P.MANAGE_USERS, P.EDIT_CANNED, P.RETRAIN_MODEL, P.INTAKE}),
}
# Actions on one ticket: allowed only to users who may also see that ticket.
TICKET_ACTIONS = frozenset(
    {P.RECLASSIFY, P.REASSIGN, P.MERGE, P.CHANGE_STATUS, P.NOTE, P.ASSIGN, P.CLAIM, P.REPLY}
)


@dataclass(frozen=True, slots=True)
class Principal:
    """The logged-in user of one request and their session's CSRF token."""

    user: User
    csrf_token: str

    @property
    def actor(self) -> str:
        """How this user appears in ticket history."""
        return f"user:{self.user.username}"

    def may(self, permission: Permission) -> bool:
        """Whether the user's role grants `permission`."""
        return permission in ROLE_PERMISSIONS.get(self.user.role, frozenset())

    @property
    def sees_tickets(self) -> bool:
        """Whether the user may see any ticket at all."""
        return self.may(P.VIEW_ALL) or self.may(P.VIEW_DEPARTMENT)

    @property
    def scope(self) -> str | None:
        """The one department this user is limited to, or None for all."""
        if self.may(P.VIEW_ALL):
            return None
        return self.user.department or ""

    def can_see(self, ticket: Ticket) -> bool:
        """Whether the user may open this ticket."""
        if self.may(P.VIEW_ALL):
            return True
        return self.may(P.VIEW_DEPARTMENT) and ticket.department == self.user.department

    def can(self, permission: Permission, ticket: Ticket) -> bool:
        """Whether the user may apply `permission` to this ticket."""
        return self.can_see(ticket) and self.may(permission)

    def can_claim(self, ticket: Ticket) -> bool:
        """Whether the user may take this ticket themselves: only in their own department."""
        return (
            self.can(P.CLAIM, ticket)
            and bool(self.user.department)
            and (self.user.department == ticket.department)
        )
