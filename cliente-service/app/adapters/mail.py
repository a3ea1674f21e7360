"""Sending e-mail: the queue in the database, and its delivery to an SMTP relay.

A message is written to ``outgoing_mail`` in the transaction that decided it (a password
reset and its mail commit together), and a background sender delivers it: each round it
claims due rows with a short lease (no lock or connection held while SMTP answers), sends
them, deletes each one sent, and puts a failed one off with a doubling delay. A message
past its ``not_after`` is dropped unsent, or, if it is ``dead_letter`` (a receipt), kept
as a dead letter: never tried again, logged as an alert, purged after 30 days. Delivery is
at least once: an instance that stops between the relay's answer and the delete sends that
one again.

Python's own smtplib speaks SMTP, STARTTLS (RFC 3207) and implicit TLS (RFC 8314).
"""

from __future__ import annotations

import io
import logging
import smtplib
import ssl
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Literal

import segno
import sqlalchemy as sa
from sqlalchemy import Engine

from app.adapters.orm import outgoing_mail
from mercado_shared import metrics
from mercado_shared.clock import Clock

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=60)
BATCH = 20


class SmtpMailer:
    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        security: Literal["none", "starttls", "tls"] = "none",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.security, self.username, self.password, self.timeout = security, username, password, timeout

    def send(self, recipient: str, subject: str, body: str, html: str | None = None, qr: str | None = None) -> None:
        """``html``: an alternative to the plain text; ``qr``: text drawn as the QR image the
        HTML shows inline (``cid:qr``)."""
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = recipient
        message["Subject"] = subject
        message["Message-ID"] = make_msgid(domain="mercadoveiculo")
        message.set_content(body)
        if html is not None:
            message.add_alternative(html, subtype="html")
            if qr is not None:
                image = io.BytesIO()
                segno.make_qr(qr, error="m").save(image, kind="png", scale=6, border=4)
                page = message.get_body(preferencelist=("html",))
                assert isinstance(page, EmailMessage), "the HTML part just added"
                page.add_related(image.getvalue(), maintype="image", subtype="png", cid="<qr>", filename="pix.png")
        context = ssl.create_default_context()
        if self.security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with smtp:
            if self.security == "starttls":
                smtp.starttls(context=context)
            if self.username and self.password:
                smtp.login(self.username, self.password)
            smtp.send_message(message)


class MailSender:
    """One round of delivery; a Periodic runs it every second."""

    def __init__(self, engine: Engine, mailer: SmtpMailer, clock: Clock) -> None:
        self._engine, self._mailer, self._clock = engine, mailer, clock

    def __call__(self) -> int:
        """Sends what is due; returns how many were sent."""
        now = self._clock()
        table = outgoing_mail
        with self._engine.begin() as connection:
            due = (
                sa.select(table.c.id)
                .where(
                    table.c.next_attempt_at <= now,
                    table.c.dead_at.is_(None),
                    sa.or_(table.c.claimed_until.is_(None), table.c.claimed_until < now),
                )
                .order_by(table.c.next_attempt_at)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            )
            claimed = connection.execute(
                sa.update(table)
                .where(table.c.id.in_(due.scalar_subquery()))
                .values(claimed_until=now + LEASE, attempts=table.c.attempts + 1)
                .returning(
                    table.c.id,
                    table.c.recipient,
                    table.c.subject,
                    table.c.body,
                    table.c.html,
                    table.c.qr,
                    table.c.not_after,
                    table.c.attempts,
                    table.c.dead_letter,
                    table.c.next_attempt_at,
                )
            ).all()
        # In the order they fell due (RETURNING keeps none): a code's mail before its reminder.
        claimed = sorted(claimed, key=lambda row: (row.next_attempt_at, row.id))
        sent = 0
        for row in claimed:
            if row.not_after <= now:
                if row.dead_letter:
                    self._bury(row.id, now)
                    metrics.MAIL_DEAD_LETTERED.inc()
                    log.error(
                        "mail %s undelivered after %d attempts: kept as a dead letter",
                        row.id,
                        row.attempts - 1,
                        extra={"alert": "mail_dead_lettered"},
                    )
                else:
                    self._delete(row.id)
                    log.warning("mail %s dropped unsent: past its deadline after %d attempts", row.id, row.attempts - 1)
                continue
            try:
                self._mailer.send(row.recipient, row.subject, row.body, row.html, row.qr)
            except (OSError, smtplib.SMTPException) as exc:
                self._put_off(row.id, row.attempts, now)
                log.warning("mail %s not sent (attempt %d): %s", row.id, row.attempts, type(exc).__name__)
                continue
            self._delete(row.id)
            sent += 1
        return sent

    def _delete(self, mail_id: str) -> None:
        with self._engine.begin() as connection:
            connection.execute(sa.delete(outgoing_mail).where(outgoing_mail.c.id == mail_id))

    def _bury(self, mail_id: str, now: datetime) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                sa.update(outgoing_mail).where(outgoing_mail.c.id == mail_id).values(dead_at=now, claimed_until=None)
            )

    def _put_off(self, mail_id: str, attempts: int, now: datetime) -> None:
        delay = timedelta(seconds=min(300, 2**attempts))
        with self._engine.begin() as connection:
            connection.execute(
                sa.update(outgoing_mail)
                .where(outgoing_mail.c.id == mail_id)
                .values(claimed_until=None, next_attempt_at=now + delay)
            )
