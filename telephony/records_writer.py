"""Asterisk's own records for the replaying AMI server: what cdr_pgsql and the realtime queue log
would write into our database while the recorded calls play, whoever is connected to the AMI.

* ``cdr`` rows come from the recorded ``Cdr`` events (cdr_manager sends the same record that
  cdr_pgsql writes, at the same moment): the recorded values, with the times moved from the lab's
  clock to the replay's and the ``linkedid``/``sequence`` filled in (the AMI event has neither;
  the linkedid is the channel's, from the recording's Newchannel). Constructed in that part.
* ``queue_log`` rows are constructed from the queue events of the recording (the lab did not
  record its queue log): ENTERQUEUE from QueueCallerJoin, RINGNOANSWER from AgentRingNoAnswer,
  CONNECT from AgentConnect, COMPLETEAGENT/COMPLETECALLER/TRANSFER from AgentComplete, ABANDON
  from QueueCallerAbandon, with app_queue's data fields (see telephony.reconcile).
"""

from __future__ import annotations

import itertools
import logging
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Engine, insert

from telephony.models import AsteriskCdr, QueueLog

log = logging.getLogger("telephony.records")

CDR_FIELDS = {
    "AccountCode": "accountcode",
    "Source": "src",
    "Destination": "dst",
    "DestinationContext": "dcontext",
    "CallerID": "clid",
    "Channel": "channel",
    "DestinationChannel": "dstchannel",
    "LastApplication": "lastapp",
    "LastData": "lastdata",
    "Duration": "duration",
    "BillableSeconds": "billsec",
    "Disposition": "disposition",
    "AMAFlags": "amaflags",
    "UserField": "userfield",
    "UniqueID": "uniqueid",
}
CDR_TIMES = {"StartTime": "start", "AnswerTime": "answer", "EndTime": "end"}
COMPLETE = {"agent": "COMPLETEAGENT", "caller": "COMPLETECALLER", "transfer": "TRANSFER"}


class PlayInfo(Protocol):
    recorded_at: float
    vstart: float
    linkedid_of: dict[str, str]


def _naive(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None)


class RecordWriter:
    """Writes the rows on a thread of its own, in event order, into ``engine``'s database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="asterisk-records")
        self._sequence = itertools.count(1)
        self._last: Future[None] | None = None

    def on_event(self, h: dict[str, str], vtime: float, play: PlayInfo) -> None:
        event = h.get("Event")
        if event == "Cdr":
            self._write(AsteriskCdr, self._cdr_row(h, play))
            return
        row = self._queue_row(h, vtime)
        if row is not None:
            self._write(QueueLog, row)

    def _cdr_row(self, h: dict[str, str], play: PlayInfo) -> dict[str, Any]:
        shift = play.vstart - play.recorded_at  # lab clock → replay clock
        row: dict[str, Any] = {col: h.get(key, "") for key, col in CDR_FIELDS.items()}
        for key in ("duration", "billsec"):
            row[key] = int(row[key] or 0)
        for key, col in CDR_TIMES.items():
            text = h.get(key, "")
            # cdr_pgsql writes an unset time (no answer) as the zero time, 1970-01-01 00:00:00.
            lab = datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp() if text else None
            row[col] = _naive(lab + shift) if lab is not None else _naive(0)
        row["linkedid"] = play.linkedid_of.get(row["uniqueid"], row["uniqueid"])
        row["peeraccount"] = ""
        row["sequence"] = next(self._sequence)
        return row

    @staticmethod
    def _queue_row(h: dict[str, str], vtime: float) -> dict[str, Any] | None:
        event = h.get("Event")
        data: list[str]
        agent = h.get("MemberName") or h.get("Interface") or "NONE"
        if event == "QueueCallerJoin":
            kind, agent, data = "ENTERQUEUE", "NONE", ["", h.get("CallerIDNum", ""), h.get("Position", "")]
        elif event == "AgentRingNoAnswer":
            kind, data = "RINGNOANSWER", [h.get("RingTime", "")]
        elif event == "AgentConnect":
            kind, data = "CONNECT", [h.get("HoldTime", ""), h.get("DestUniqueid", ""), h.get("RingTime", "")]
        elif event == "AgentComplete":
            kind = COMPLETE.get(h.get("Reason", ""), "COMPLETECALLER")
            if kind == "TRANSFER":
                data = [
                    h.get("TransferExten", ""),
                    h.get("TransferContext", ""),
                    h.get("HoldTime", ""),
                    h.get("TalkTime", ""),
                    "1",
                ]
            else:
                data = [h.get("HoldTime", ""), h.get("TalkTime", ""), "1"]
        elif event == "QueueCallerAbandon":
            kind, agent = "ABANDON", "NONE"
            data = [h.get("Position", ""), h.get("OriginalPosition", ""), h.get("HoldTime", "")]
        else:
            return None
        row: dict[str, Any] = {
            "time": _naive(vtime),
            "callid": h.get("Uniqueid", ""),
            "queuename": h.get("Queue", ""),
            "agent": agent,
            "event": kind,
        }
        for i in range(5):
            row[f"data{i + 1}"] = data[i] if i < len(data) else ""
        return row

    def _write(self, table: type[AsteriskCdr] | type[QueueLog], row: dict[str, Any]) -> None:
        def run() -> None:
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(table), [row])
            except Exception:
                log.exception("could not write a %s row", table.__tablename__)

        self._last = self._pool.submit(run)

    def flush(self) -> None:
        """Wait until every row handed over so far is written."""
        if self._last is not None:
            self._last.result(30)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
