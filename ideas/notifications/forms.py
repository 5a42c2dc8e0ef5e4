"""Forms of the notification pages. The services check the values; these carry them."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectChoice, SelectField

DIGEST_CHOICES = [
    SelectChoice("none", "Never: I read my notifications on the site"),
    SelectChoice("daily", "Once a day"),
    SelectChoice("weekly", "Once a week"),
]


class FollowForm(FlaskForm):
    target_type = HiddenField()
    target_key = HiddenField()
    next = HiddenField()


class DigestForm(FlaskForm):
    digest = SelectField("E-mail digest of unread notifications", choices=DIGEST_CHOICES,
                         validate_choice=False)  # the service names the wrong value
    idea_mail = BooleanField("E-mail me at once about my own ideas: shortlisted, decided, handed off, progress")
