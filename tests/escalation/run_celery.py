"""Start a Celery worker or beat of the product on the tests' own queue (argv: celery arguments)."""

from __future__ import annotations

import os
import sys

from hotline.celery_app import celery_app

celery_app.conf.task_default_queue = os.environ["ESCALATION_TEST_QUEUE"]
celery_app.start(sys.argv[1:])
