"""dispatch: the 派单目录, jurisdiction (属地), dispatch decisions, 退单 review, coordination and 并单.

Plain functions taking a session; the caller commits. One module per concern: ``config``,
``departments``, ``catalogue``, ``places`` (``gazetteer`` parses), ``proposals``, ``routing``,
``returns``, ``return_rates``, ``repeats``, ``queue``; ``api`` and ``pages`` are thin.
"""
