"""Outgoing mail. Every message lands in the outbox in the sender's transaction;
it is handed to SMTP only after that transaction commits, so a rolled-back change
never mails anyone. Without SMTP the message is logged and stays readable by
administrators, which keeps the demo working offline."""
from __future__ import annotations

import logging
import smtplib
from datetime import timedelta
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from ideas import clock, scheduler
from ideas.extensions import db
from ideas.mail.models import MailMessage

log = logging.getLogger("ideas.mail")
# Minutes after a message was written when each attempt is due: at once, then spaced
# out, so that a mail server down for two days loses nothing (and one down for a
# minute is not hammered by every `ideas tick`).
RETRY_SCHEDULE = (0, 1, 5, 15, 60, 180, 360, 720, 1440, 2880)
MAX_ATTEMPTS = len(RETRY_SCHEDULE)


def send_mail(to: str, subject: str, body: str) -> MailMessage:
    smtp = bool(current_app.config.get("IDEAS_SMTP_HOST"))
    message = MailMessage(
        to_address=to, subject=subject[:200], body=body, status="pending" if smtp else "logged"
    )
    db.session.add(message)
    db.session.flush()
    if smtp:
        db.session.info.setdefault("mail_pending", []).append(message.id)
    else:
        log.info("mail to %s: %s\n%s", to, subject, body)
    return message


def deliver_pending(limit: int = 100) -> int:
    """Send what is waiting (after a commit, or from the scheduler after an SMTP outage).

    Several workers may run it at once: each message is claimed while it is handed to
    SMTP and its outcome written, so no two send it."""
    config = current_app.config
    if not config.get("IDEAS_SMTP_HOST"):
        return 0
    with scheduler.queue("mail") as mine:
        return _deliver_due(config, limit) if mine else 0


def _deliver_due(config, limit: int) -> int:
    now = clock.now()
    waiting = db.session.execute(
        select(MailMessage.id, MailMessage.attempts, MailMessage.created_at)
        .where(MailMessage.status == "pending", MailMessage.attempts < MAX_ATTEMPTS)
        .order_by(MailMessage.attempts, MailMessage.id)
        .limit(limit * 5)
    ).all()
    due = [(row_id, attempts) for row_id, attempts, created_at in waiting if _due(created_at, attempts, now)][:limit]
    sent = 0
    for row_id, attempts in due:
        still_waiting = [MailMessage.status == "pending", MailMessage.attempts == attempts]
        with scheduler.claimed(MailMessage, row_id, still_waiting) as row:
            if row is None:
                continue
            row.attempts += 1
            try:
                _smtp_send(config, row)
            except (OSError, smtplib.SMTPException) as exc:
                row.error = str(exc)[:500]
                if row.attempts >= MAX_ATTEMPTS:
                    row.status = "failed"
                log.warning("mail %s to %s not sent: %s", row.id, row.to_address, exc)
            else:
                row.status, row.sent_at, row.error = "sent", clock.now(), None
                sent += 1
    return sent


def _due(created_at, attempts: int, now) -> bool:
    return clock.as_utc(created_at) + timedelta(minutes=RETRY_SCHEDULE[attempts]) <= now


def _smtp_send(config, row: MailMessage) -> None:
    msg = EmailMessage()
    msg["From"] = config["IDEAS_MAIL_FROM"]
    msg["To"] = row.to_address
    msg["Subject"] = row.subject
    msg.set_content(row.body)
    with smtplib.SMTP(config["IDEAS_SMTP_HOST"], config["IDEAS_SMTP_PORT"], timeout=10) as smtp:
        if config["IDEAS_SMTP_STARTTLS"]:
            smtp.starttls()
        if config["IDEAS_SMTP_USER"]:
            smtp.login(config["IDEAS_SMTP_USER"], config["IDEAS_SMTP_PASSWORD"])
        smtp.send_message(msg)


@event.listens_for(Session, "after_commit")
def _remember_committed_mail(session: Session) -> None:
    if session.info.pop("mail_pending", None):
        session.info["mail_flush"] = True


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back_mail(session: Session) -> None:
    session.info.pop("mail_pending", None)


def register_jobs(app) -> None:
    # Shared: each message is claimed before it is sent, so every worker may take some.
    scheduler.register_job(app, "mail", lambda now: deliver_pending(), shared=True)


def init_app(app) -> None:
    @app.teardown_request
    def _deliver(_exc):
        # With a worker, the mail waits for it: a page never waits for the mail server.
        if db.session.info.pop("mail_flush", False) and not app.config.get("IDEAS_WORKER"):
            try:
                deliver_pending()
            except Exception:  # noqa: BLE001 - mail must never break a page
                log.exception("mail delivery failed; `ideas tick` will retry")
                db.session.rollback()
