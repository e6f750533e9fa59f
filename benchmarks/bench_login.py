"""Login answers in the same time whoever the name belongs to: hotline.auth.authenticate timed for a
known name with a wrong password, an unknown name, a disabled user, the system user (no password)
and a right password, on a fresh PostgreSQL database. Prints one JSON object (milliseconds).

    .venv/bin/python benchmarks/bench_login.py [--rounds 30]

Each attempt comes from its own address, so the login limiting never answers instead of the hash.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import quantile  # noqa: E402
from benchmarks.pgdb import drop_database, fresh_database  # noqa: E402

PASSWORD = "Bench-login-2026"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    name = "hotline_bench_login"
    url = fresh_database(name)
    os.environ.update(HOTLINE_DATABASE_URL=url, HOTLINE_DATA_DIR=tempfile.mkdtemp(prefix="bench-login-"))
    os.environ.setdefault("HOTLINE_SECRET_KEY", "bench-secret-key-not-for-production-0123456789")
    try:
        from hotline import auth
        from hotline.db import get_sessionmaker
        from hotline.enums import Role
        from hotline.migrate import upgrade
        from hotline.orgs import create_user, get_system_user

        upgrade(url)
        session = get_sessionmaker()()
        create_user(session, username="known", display_name="甲", password=PASSWORD, role=Role.agent)
        disabled = create_user(session, username="disabled", display_name="乙", password=PASSWORD, role=Role.agent)
        disabled.active = False
        get_system_user(session)
        session.commit()
        cases = {
            "known_wrong_password": ("known", "Wrong-password-1"),
            "unknown_name": ("nobody-by-this-name", "Wrong-password-1"),
            "disabled_user": ("disabled", PASSWORD),
            "system_user": ("system", "!"),
            "right_password": ("known", PASSWORD),
        }
        timings: dict[str, list[float]] = {case: [] for case in cases}
        attempt = 0
        for _ in range(args.rounds):
            for case, (username, password) in cases.items():  # interleaved: load hits every case alike
                attempt += 1
                client = f"10.{attempt // 65536 % 256}.{attempt // 256 % 256}.{attempt % 256}"
                started = time.perf_counter()
                auth.authenticate(session, username, password, client)
                timings[case].append((time.perf_counter() - started) * 1000)
        session.close()
        result: dict[str, Any] = {
            case: {"median_ms": round(statistics.median(v), 1), "p90_ms": round(quantile(v, 0.9), 1)}
            for case, v in timings.items()
        }
        medians = [result[c]["median_ms"] for c in cases if c != "right_password"]
        result["refusals_max_over_min"] = round(max(medians) / min(medians), 2)
        result["rounds"] = args.rounds
        result["load_average"] = [round(x, 1) for x in os.getloadavg()]
        print(json.dumps(result))
    finally:
        drop_database(name)


if __name__ == "__main__":
    main()
