"""Outgoing e-mail: `mailer.Mailer` renders a message from templates and sends it by the
backend that EMAIL_BACKEND names, now or by a job (`tasks.send_email`); docs/email.md."""
