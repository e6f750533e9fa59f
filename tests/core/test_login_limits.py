"""Login limiting: a backoff per (client address, username) pair with 429 and ``Retry-After``, no
lockout of a named account for everyone, X-Forwarded-For believed only from configured proxies, and
one argon2 verification per attempt whoever the name belongs to (unknown and known names alike)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from hotline import auth
from hotline.app import create_app
from hotline.errors import RateLimited
from hotline.models import User
from tests.conftest import PASSWORD, Org

A, B = "198.51.100.1", "198.51.100.2"


def test_the_pair_is_slowed_by_doubling_waits_and_no_one_else(db: tuple[Session, Org]) -> None:
    session, org = db
    for _ in range(5):  # five free tries
        assert auth.authenticate(session, "agent", "wrong", A) is None
    with pytest.raises(RateLimited) as limited:
        auth.authenticate(session, "agent", PASSWORD, A)  # even the right password waits
    assert 1 <= limited.value.extras["retry_after"] <= 2
    assert limited.value.headers() == {"Retry-After": str(limited.value.extras["retry_after"])}
    # The same name from another address, and another name from this one, are not slowed.
    assert auth.authenticate(session, "agent", PASSWORD, B) is not None
    assert auth.login_wait(session, "dispatcher", A) == 0
    waits = []
    for _ in range(11):
        auth.record_login_failure(session, "agent", A)
        waits.append(auth.login_wait(session, "agent", A))
    for wait, doubled in zip(waits, [4, 8, 16, 32, 64, 128, 256, 512], strict=False):
        assert doubled - 1 <= wait <= doubled, waits
    assert 899 <= waits[-1] <= 900  # capped
    assert auth.login_wait(session, "AGENT", A) == waits[-1]  # names are counted case-blind


def test_a_success_forgets_the_pairs_failures(db: tuple[Session, Org], env: Any) -> None:
    session, _org = db
    env(login_backoff_seconds="0.001")
    for _ in range(6):
        auth.record_login_failure(session, "agent", A)
    time.sleep(0.05)  # the sixth failure's wait (2 ms) is over: a fast machine asked within it
    assert auth.authenticate(session, "agent", PASSWORD, A) is not None
    assert auth.login_wait(session, "agent", A) == 0
    for _ in range(4):
        assert auth.authenticate(session, "agent", "wrong", A) is None
    assert auth.login_wait(session, "agent", A) == 0  # four again, not ten


def test_one_address_trying_many_names_is_held(db: tuple[Session, Org], env: Any) -> None:
    session, _org = db
    env(login_client_max_failures="3")
    for name in ("agent", "dispatcher", "nobody"):
        assert auth.authenticate(session, name, "wrong", A) is None
    with pytest.raises(RateLimited) as limited:
        auth.authenticate(session, "supervisor", PASSWORD, A)
    assert 3500 <= limited.value.extras["retry_after"] <= 3600  # until the first leaves the hour
    assert auth.authenticate(session, "supervisor", PASSWORD, B) is not None


def _client(peer: str) -> TestClient:
    return TestClient(create_app(), client=(peer, 50000))


def _guess(client: TestClient, forwarded: str, password: str = "wrong") -> Any:
    return client.post(
        "/api/v1/auth/token",
        data={"username": "agent", "password": password},
        headers={"X-Forwarded-For": forwarded},
    )


def test_a_forwarded_address_from_anyone_but_a_proxy_is_ignored(pg: tuple[Session, Org], env: Any) -> None:
    env(login_backoff_seconds="600")
    with _client("127.0.0.1") as client:  # a loopback peer is no proxy unless configured
        for i in range(5):
            assert _guess(client, f"203.0.113.{i}").status_code == 401
        limited = _guess(client, "203.0.113.99", PASSWORD)
    assert limited.status_code == 429
    body = limited.json()
    assert body["code"] == "rate_limited" and body["errors"] == [] and "稍后" in body["detail"]
    assert 599 <= body["retry_after"] <= 600 and limited.headers["Retry-After"] == str(body["retry_after"])


def test_behind_a_configured_proxy_each_client_counts_for_itself(pg: tuple[Session, Org], env: Any) -> None:
    env(login_backoff_seconds="600", trusted_proxies="10.0.0.0/8")
    with _client("10.1.2.3") as client:
        for _ in range(5):
            assert _guess(client, "203.0.113.7").status_code == 401
        assert _guess(client, "203.0.113.7", PASSWORD).status_code == 429
        # Another client behind the same proxy signs in as that name at once; what a client writes
        # to the left of the hop the proxy appended changes nothing.
        assert _guess(client, "203.0.113.8", PASSWORD).status_code == 200
        assert _guess(client, "203.0.113.8, 203.0.113.7", PASSWORD).status_code == 429


def test_every_attempt_runs_one_password_hash(db: tuple[Session, Org], monkeypatch: pytest.MonkeyPatch) -> None:
    """Unknown names, the system user (no password), disabled users and wrong passwords all verify one
    argon2 hash: they answer in the same time as a known name (benchmarks/bench_login.py measures it)."""
    session, org = db
    checked: list[str] = []
    verify = auth.verify_password

    def counting(password_hash: str, password: str) -> bool:
        checked.append(password_hash)
        return verify(password_hash, password)

    monkeypatch.setattr(auth, "verify_password", counting)
    disabled = session.get(User, org.users["cgj"])
    assert disabled is not None
    disabled.active = False
    session.commit()
    try:
        for name, password in [
            ("nobody-here", "wrong"),
            ("system", "!"),
            ("cgj", PASSWORD),
            ("agent", "wrong"),
            ("dispatcher", PASSWORD),
        ]:
            checked.clear()
            result = auth.authenticate(session, name, password, f"192.0.2.{len(name)}")
            assert (result is not None) == (name == "dispatcher"), name
            assert len(checked) == 1 and checked[0].startswith("$argon2"), (name, checked)
    finally:
        disabled.active = True
        session.commit()
