"""escalation: deadlines sweep, reminders, 五级督办, notifications and 回访 (callbacks)."""
