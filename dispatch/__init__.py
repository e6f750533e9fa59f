"""dispatch: the 派单目录, jurisdiction (属地), dispatch decisions, 退单 review, coordination and 并单."""
