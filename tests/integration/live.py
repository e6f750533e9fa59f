"""A ticket worked to its close over HTTP on a running product (``hotline up``): the integration
tests' one copy of the walk."""

from __future__ import annotations

from typing import Any

import httpx


def work_to_close(
    base: str,
    ticket: dict[str, Any],
    *,
    dispatcher: dict[str, str],
    handler: dict[str, str],
    callback_agent: dict[str, str],
    department_id: int,
    handling: str,
) -> None:
    """派单 to ``department_id``, 签收 and 回复 by its ``handler``, 审核 accepted, 回访 满意: closed."""
    t = ticket
    steps: list[tuple[dict[str, str], str, dict[str, Any]]] = [
        (dispatcher, "dispatch", {"primary_department_id": department_id}),
        (handler, "sign", {}),
        (handler, "reply", {"handling": handling, "resolved": True, "public_answer": "电梯已修复"}),
        (dispatcher, "review", {"accept": True}),
    ]
    for who, action, body in steps:
        response = httpx.post(
            f"{base}/api/v1/tickets/{t['id']}/{action}", headers=who, json={"version": t["version"], **body}
        )
        assert response.status_code == 200, (action, response.text)
        t = response.json()
    # 回访: the callback agent answers the caller's callback; 满意 closes the ticket.
    (callback,) = httpx.get(f"{base}/api/v1/escalation/tickets/{t['id']}/callbacks", headers=callback_agent).json()
    answer = {"satisfaction": "satisfied", "resolved": True}
    answered = httpx.post(
        f"{base}/api/v1/escalation/callbacks/{callback['id']}/answer", headers=callback_agent, json=answer
    )
    assert answered.status_code == 200 and answered.json()["ticket_status"] == "closed", answered.text
