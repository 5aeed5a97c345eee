"""What the queue page reads from its address (view, filters, search, sort) and writes back into its links."""

from __future__ import annotations

import dataclasses
from urllib.parse import urlencode

from fastapi import Request

from flows.process import Status
from store.queue import FLAGS, SORTS, QueueFilter

__all__ = ["ENQUIRIES_VIEW", "SORT_CHOICES", "VIEWS", "due_words", "queue_filters", "queue_query", "sort_links"]

# The queue's views: what needs doing next unless staff choose otherwise.
# "enquiries" is not a referral status: the queue sends it to the enquiries' own list (ENQUIRIES_VIEW).
VIEWS = (("", "Needs action"), ("open", "Open (needs a decision)"), ("all", "All"),
         ("enquiries", "Enquiries from young people and families"))
ENQUIRIES_VIEW = "enquiries"
SORT_CHOICES = (("", "What needs action first"), ("received", "Received, oldest first"),
                ("received-desc", "Received, newest first"), ("urgency", "Most urgent first"),
                ("due", "Due soonest first"), ("reference", "Reference"), ("status", "Status"),
                ("reviewer", "Reviewer"))


def queue_filters(request: Request) -> QueueFilter:
    """The queue's view, filters, search and sort as the address gives them; anything unknown is left out."""
    params = request.query_params
    status = params.get("status") or None
    if status not in (None, "all", "open", *Status):
        status = None
    flag = params.get("flag") if params.get("flag") in FLAGS else None
    # A column's link says sort=received&dir=desc; the "Sort by" list (for phones, where the table has no
    # header row to press) says sort=received-desc.
    sort, descending = params.get("sort", ""), params.get("dir") == "desc"
    if sort.endswith("-desc"):
        sort, descending = sort.removesuffix("-desc"), True
    chosen = sort if sort in SORTS else None
    return QueueFilter(status=status, borough=params.get("borough") or None, flag=flag,
                       include_tests=params.get("tests") == "1", reference=params.get("q", "").strip()[:16] or None,
                       sort=chosen, descending=chosen is not None and descending)


def queue_query(filters: QueueFilter) -> dict[str, str]:
    """The filters as query parameters, for the page links and the export."""
    pairs = (("status", filters.status), ("borough", filters.borough), ("flag", filters.flag),
             ("tests", "1" if filters.include_tests else None), ("q", filters.reference), ("sort", filters.sort),
             ("dir", "desc" if filters.descending else None))
    return {k: v for k, v in pairs if v}


def sort_links(filters: QueueFilter) -> dict[str, tuple[str, str]]:
    """Per sortable column: its link (sorting by it, or the other way if it is the sort now) and its aria-sort."""
    unsorted = queue_query(dataclasses.replace(filters, sort=None, descending=False))
    links = {}
    for column in SORTS:
        current = filters.sort == column
        descending = current and not filters.descending
        query = urlencode({**unsorted, "sort": column, **({"dir": "desc"} if descending else {})})
        state = ("descending" if filters.descending else "ascending") if current else "none"
        links[column] = (f"/staff/queue?{query}", state)
    return links


def due_words(days: int | None) -> str:
    """The 7-day decision clock in words: "due in 3 days", "due today", "overdue by 1 day"."""
    if days is None:
        return "decided"
    if days == 0:
        return "due today"
    count = f"{abs(days)} day{'' if abs(days) == 1 else 's'}"
    return f"due in {count}" if days > 0 else f"overdue by {count}"
