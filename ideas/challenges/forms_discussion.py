"""Forms of the discussion and moderation pages.

The rules (length, edit window, who may act) live in the services, so that pages and the
API refuse the same things with the same words; these forms only carry the values."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import Optional

from ideas.numbers import IntegerField  # bounded to what the database holds


class CommentForm(FlaskForm):
    body = TextAreaField("Your comment")


class FlagForm(FlaskForm):
    target_type = HiddenField()
    target_id = IntegerField(validators=[Optional()])
    reason = TextAreaField("What is wrong with it?")


class ModerationForm(FlaskForm):
    action = StringField("Action")  # the queue offers the actions that fit each item
    target_type = HiddenField()
    target_id = IntegerField(validators=[Optional()])
    reason = TextAreaField("Reason (the author is told)")
