"""Forms of the discussion and moderation pages.

The rules (length, edit window, who may act) live in the services, so that pages and the
API refuse the same things with the same words; these forms only carry the values."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectField, TextAreaField
from wtforms.validators import Optional

MODERATION_ACTIONS = [
    ("hide", "Hide"),
    ("restore", "Restore"),
    ("warn", "Warn the author"),
    ("suspend", "Suspend the author from this challenge"),
    ("unsuspend", "Lift the suspension"),
]


class CommentForm(FlaskForm):
    body = TextAreaField("Your comment")


class FlagForm(FlaskForm):
    target_type = HiddenField()
    target_id = IntegerField(validators=[Optional()])
    reason = TextAreaField("What is wrong with it?")


class ModerationForm(FlaskForm):
    action = SelectField("Action", choices=MODERATION_ACTIONS, validate_choice=False)
    target_type = HiddenField()
    target_id = IntegerField(validators=[Optional()])
    reason = TextAreaField("Reason (the author is told)")
