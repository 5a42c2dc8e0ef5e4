"""The mail server down: what the person did is kept, and the mail goes out once the
server is back (from `ideas tick`, which the scheduler runs), retried on a schedule
that spaces attempts out over two days."""
from __future__ import annotations

import socket
import threading
from datetime import timedelta

from sqlalchemy import select

from ideas import clock, mail
from ideas.accounts.models import User
from ideas.mail.models import MailMessage
from ideas.extensions import db
from tests.accounts.test_registration import register
from tests.conftest import free_port

SMTP_PORT = free_port()


class TinySmtp:
    """Just enough SMTP to accept messages on 127.0.0.1:SMTP_PORT; records each one."""

    def __init__(self, port: int = SMTP_PORT):
        self.messages: list[str] = []
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.port = self.listener.getsockname()[1]  # the one given, or a free one for 0
        self.listener.listen(4)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn, conn.makefile("rb") as lines:
                conn.sendall(b"220 tiny ESMTP\r\n")
                data = None
                for raw in lines:
                    line = raw.decode("utf-8", "replace").rstrip("\r\n")
                    if data is not None:
                        if line == ".":
                            self.messages.append("\n".join(data))
                            data = None
                            conn.sendall(b"250 queued\r\n")
                        else:
                            data.append(line)
                    elif line.upper().startswith("DATA"):
                        data = []
                        conn.sendall(b"354 go on\r\n")
                    elif line.upper().startswith("QUIT"):
                        conn.sendall(b"221 bye\r\n")
                        break
                    else:
                        conn.sendall(b"250 ok\r\n")

    def close(self):
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()


def test_registering_while_the_mail_server_is_down_keeps_everything_and_mails_later(app, client):
    app.config.update(IDEAS_SMTP_HOST="127.0.0.1", IDEAS_SMTP_PORT=SMTP_PORT, IDEAS_SMTP_STARTTLS=False)
    response = register(client)  # nothing listens on the port: the server is down
    assert response.status_code == 302
    person = db.session.scalars(select(User).where(User.email == "grace@outside.example")).one()
    assert person.name == "Grace Hopper"
    message = db.session.scalars(select(MailMessage)).one()
    assert message.status == "pending" and message.attempts == 1 and message.error

    tick = app.test_cli_runner().invoke
    assert tick(args=["ideas", "tick"]).exit_code == 0  # at once again: not yet, the server is spared
    db.session.refresh(message)
    assert message.attempts == 1

    clock.set_now(clock.now() + timedelta(minutes=2))
    result = tick(args=["ideas", "tick"])  # still down: tried again, kept
    assert result.exit_code == 0, result.output
    db.session.refresh(message)
    assert message.status == "pending" and message.attempts == 2

    # Down for a day: still pending, each attempt spaced further out, none lost.
    for hours in (1, 3, 6, 12, 24):
        clock.set_now(clock.now() + timedelta(hours=hours))
        assert tick(args=["ideas", "tick"]).exit_code == 0
    db.session.refresh(message)
    assert message.status == "pending" and 2 < message.attempts < mail.MAX_ATTEMPTS

    clock.set_now(clock.now() + timedelta(days=1))
    server = TinySmtp()
    try:
        result = app.test_cli_runner().invoke(args=["ideas", "tick"])
        assert result.exit_code == 0, result.output
    finally:
        server.close()
    db.session.refresh(message)
    assert message.status == "sent" and message.error is None
    assert len(server.messages) == 1 and "grace@outside.example" in server.messages[0]
