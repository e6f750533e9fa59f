"""The other packages' tables the dashboards read, read-only (dashboards may import only hotline/).

Each handle names just the columns read here, with their types, so that a change to one of those
tables shows up as a failing dashboards test rather than as a silent wrong figure:

* ``telephony_calls`` (telephony): one row per inbound call, written by the AMI bridge; only
  inbound calls are recorded, and a call that ends unanswered is ``abandoned``.
* ``telephony_callback_tasks`` (telephony): one 漏接回拨 task per abandoned call, by Linkedid.
* ``telephony_agents`` (telephony): every queue member's state now.
* ``dispatch_places`` (dispatch): the gazetteer, place names by the territorial unit they lie in.
* ``escalation_records`` (escalation): one row per reminder/督办/settlement, ``kind`` =
  ``escalation`` for a raise; level 5 is 通报.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Integer, String, column, table

from hotline.db import UTCDateTime

calls = table(
    "telephony_calls",
    column("id", Integer()),
    column("linkedid", String()),
    column("status", String()),
    column("queue", String()),
    column("started_at", UTCDateTime()),
    column("enter_queue_at", UTCDateTime()),
    column("answered_at", UTCDateTime()),
    column("ended_at", UTCDateTime()),
    column("answered", Boolean()),
    column("abandoned", Boolean()),
    column("wait_seconds", Integer()),
    column("talk_seconds", Integer()),
)

callback_tasks = table(
    "telephony_callback_tasks",
    column("linkedid", String()),
    column("called_at", UTCDateTime()),  # when the abandoned call came in
    column("status", String()),
)

agents = table(
    "telephony_agents",
    column("interface", String()),
    column("state", String()),
    column("paused", Boolean()),
    column("wrapup_until", UTCDateTime()),
)

escalation_records = table(
    "escalation_records",
    column("id", Integer()),
    column("ticket_id", Integer()),
    column("kind", String()),
    column("level", Integer()),
    column("cause", String()),
    column("trigger", String()),
    column("department_id", Integer()),
    column("level_after", Integer()),
    column("note", String()),
    column("created_at", UTCDateTime()),
)

places = table(
    "dispatch_places",
    column("name", String()),
    column("kind", String()),
    column("department_code", String()),
)
