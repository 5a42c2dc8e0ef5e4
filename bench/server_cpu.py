"""The PostgreSQL backend's CPU time, for the benches that say how much of a run was
the server's: read from /proc when the server runs on this machine."""
from __future__ import annotations

import os
from pathlib import Path

from ideas.extensions import db


def server_pid() -> int | None:
    """The PostgreSQL backend serving this session, when it runs on this machine (its CPU
    time is then readable in /proc); None on SQLite, where the database works in this process."""
    if db.engine.dialect.name != "postgresql":
        return None
    pid = db.session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
    return pid if Path(f"/proc/{pid}/stat").exists() else None


def server_cpu(pid: int | None) -> float:
    """That backend's CPU seconds so far (user + system); 0 without one."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
