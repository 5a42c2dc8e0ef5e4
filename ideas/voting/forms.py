"""Voting forms."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ideas.numbers import IntegerField  # bounded to what the database holds
from ideas.voting.services import REASON_LIMIT


def vote_form_class(criteria):
    """A vote form with one optional 1–5 rating per criterion of the challenge."""

    class VoteForm(FlaskForm):
        value = HiddenField(default="1")
        reason = TextAreaField(
            "Why do you support it? (optional)", [Length(max=REASON_LIMIT)],
            description="A sentence or two in your own words on what this idea would change makes your vote count "
                        "more; generic praise counts little.",
        )

    for criterion in criteria:
        setattr(VoteForm, f"rating_{criterion.id}", IntegerField(
            f"{criterion.name} (1–5)", [Optional(), NumberRange(1, 5, "Rate from 1 to 5.")],
            description=criterion.description or None,
        ))
    return VoteForm


class PairForm(FlaskForm):
    pair = HiddenField(validators=[DataRequired()])
    answer = RadioField("Which idea is better?", choices=[
        SelectChoice("left", "Left"), SelectChoice("right", "Right"), SelectChoice("none", "Can't decide")])


class PolicyForm(FlaskForm):
    voting_policy = SelectField("New voting policy", choices=[])
    reason = TextAreaField("Reason", [DataRequired("Say why: participants are told."), Length(max=2000)])
