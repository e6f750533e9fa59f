"""Tables of the dashboards: the handling facts the KPIs count, and the hot topics (热点诉求).

``dashboard_cases`` is a summary table: one row per (ticket, 主办 department), written by the
ticket's own events in the same transaction (:mod:`dashboards.facts`), so that a month's KPIs
over a million tickets are one GROUP BY over the month's rows instead of a walk through tens of
millions of timeline events. The timeline stays the one truth: ``hotline dashboards rebuild``
derives the table again from it with the same function.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db import Base, utcnow


class DashboardCase(Base):
    """One department's part as 主办 of one ticket (a 承办 case), as its KPIs see it.

    Open occasions carry their deadline (``respond_due``, ``sign_due``, ``reply_due``): a query
    counts an occasion still open after its deadline as late, one before it as not decided yet.
    """

    __tablename__ = "dashboard_cases"
    __table_args__ = (Index("ix_dashboard_cases_registered_dept", "registered_at", "department_id"),)

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), primary_key=True)
    # The ticket's registration (受理) time: the period a ticket counts in.
    registered_at: Mapped[datetime] = mapped_column()
    received_at: Mapped[datetime] = mapped_column()  # first hand-over to this department
    current: Mapped[bool] = mapped_column(Boolean)  # the ticket's 主办 now (at closing, once closed)
    merged: Mapped[bool] = mapped_column(Boolean)  # merged into another ticket: counted there
    # 响应: the first hand-over answered (签收 or 退单) within its 签收 limit.
    respond_due: Mapped[datetime | None] = mapped_column()
    responded_on_time: Mapped[bool | None] = mapped_column(Boolean)
    # 签收: every hand-over that needs one (派单, 驳回退单, 重办); the open one's deadline.
    sign_due: Mapped[datetime | None] = mapped_column()
    signs_on_time: Mapped[int] = mapped_column(Integer)
    signs_late: Mapped[int] = mapped_column(Integer)
    returns: Mapped[int] = mapped_column(Integer)  # 退单 by this department
    # 办结: the latest reply occasion: its open deadline, or whether the reply made it.
    reply_due: Mapped[datetime | None] = mapped_column()
    reply_on_time: Mapped[bool | None] = mapped_column(Boolean)
    replies: Mapped[int] = mapped_column(Integer)
    extensions: Mapped[int] = mapped_column(Integer)  # 延期 approved
    reopens: Mapped[int] = mapped_column(Integer)  # 重办
    callback_due: Mapped[bool] = mapped_column(Boolean)  # a reply was accepted: a 回访 is owed
    satisfaction: Mapped[str | None] = mapped_column(String(24))  # latest 回访: department handling
    service_satisfaction: Mapped[str | None] = mapped_column(String(24))  # latest 回访: the hotline's service
    callback_resolved: Mapped[bool | None] = mapped_column(Boolean)  # 已解决/未解决 as the citizen says
    closed_at: Mapped[datetime | None] = mapped_column()


class HotTopic(Base):
    """A cluster of appeals about one place and one matter, as the last refresh found it."""

    __tablename__ = "dashboard_hot_topics"
    __table_args__ = (Index("ix_dashboard_hot_topics_rank", "rank"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rank: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))  # the most representative member's title
    place: Mapped[str | None] = mapped_column(String(200))
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    category: Mapped[str | None] = mapped_column(String(64))
    heat: Mapped[float] = mapped_column(Float)
    heat_parts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    size: Mapped[int] = mapped_column(Integer)
    citizens: Mapped[int] = mapped_column(Integer)
    this_week: Mapped[int] = mapped_column(Integer)
    last_week: Mapped[int] = mapped_column(Integer)
    rising: Mapped[bool] = mapped_column(Boolean)
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    ticket_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # 主办 departments of the members: a department head sees the topics that touch their subtree.
    department_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    refreshed_at: Mapped[datetime] = mapped_column(default=utcnow)


class HotTopicRun(Base):
    """One refresh of the hot topics: when, over which window, how long it took."""

    __tablename__ = "dashboard_hot_topic_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    window_days: Mapped[int] = mapped_column(Integer)
    appeals: Mapped[int] = mapped_column(Integer)
    clusters: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[float] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text)
