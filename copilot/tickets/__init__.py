"""Work orders (工单): storage, status flow, dispatch and the duplicate check (统一信息判重)."""

from copilot.tickets.duplicates import DuplicateCandidate, find_duplicates
from copilot.tickets.models import STATUSES, Ticket, TicketEvent, create_tables
from copilot.tickets.service import (
    TicketConflict,
    TicketDraft,
    TicketError,
    TicketInvalid,
    TicketNotFound,
    create_ticket,
    dispatch,
    get_ticket,
    link_duplicate,
    list_tickets,
    transition,
    unlink_duplicate,
)

__all__ = [
    "STATUSES", "DuplicateCandidate", "Ticket", "TicketConflict", "TicketDraft", "TicketError",
    "TicketEvent", "TicketInvalid", "TicketNotFound", "create_tables", "create_ticket",
    "dispatch", "find_duplicates", "get_ticket", "link_duplicate", "list_tickets", "transition",
    "unlink_duplicate",
]
