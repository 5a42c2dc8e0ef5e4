"""Review forms.  They parse and carry CSRF; the rules (reasons required, ratings 1–5,
owners only) live in the services, so pages, API and tests refuse the same way."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import NumberRange, Optional

from ideas.numbers import IntegerField  # bounded to what the database holds
from ideas.review.timing import ACK_WORKING_DAYS


class ShortlistForm(FlaskForm):
    # The ideas come as repeated `idea_ids` checkboxes, read from the request.
    over_capacity_reason = TextAreaField(
        "Why the reviewers can take more (only when going beyond the capacity)",
        description="Logged with the shortlist; staff only.",
    )
    start_now = BooleanField("Send them to review now", default=True)
    auto_assign = BooleanField("Assign reviewers automatically (by expertise and load)", default=True)


class StartForm(FlaskForm):
    auto_assign = BooleanField("Assign reviewers automatically", default=True)


class AssignForm(FlaskForm):
    reviewers = StringField(
        "Reviewers by e-mail", description="Comma-separated. Leave empty to assign automatically.")
    count = IntegerField("How many reviewers (automatic)", [Optional(), NumberRange(1, 10)])


class DecisionForm(FlaskForm):
    decision = RadioField("Decision", choices=[SelectChoice("accepted", "Accept"), SelectChoice("declined", "Decline"),
                                               SelectChoice("parked", "Park for later")], validate_choice=False)
    reason = TextAreaField("Reason", description="The author reads this.")
    note = TextAreaField("Internal note (optional)", description="Staff only: never shown to the author.")


class HandoffForm(FlaskForm):
    owner = SelectField("R&D owner", choices=[], validate_choice=False)
    working_days = IntegerField("Working days to acknowledge", [Optional()], default=ACK_WORKING_DAYS)
    note = TextAreaField("Note to the owner (optional)", description="Staff only.")
    confirm = BooleanField("Hand it over even though the owner is at their work-in-progress limit")


class ReasonForm(FlaskForm):
    reason = TextAreaField("Reason")


class ProgressForm(FlaskForm):
    body = TextAreaField("Progress update", description="The author and the idea's followers read this.")


class CloseForm(FlaskForm):
    outcome = RadioField("Outcome", choices=[SelectChoice("delivered", "Delivered"), SelectChoice("dropped", "Dropped")],
                         validate_choice=False)
    reason = TextAreaField("What happened", description="The author and the idea's followers read this.")


class WipForm(FlaskForm):
    wip_limit = IntegerField("My work-in-progress limit", [Optional()])


RATING_CHOICES = [SelectChoice(str(n), str(n)) for n in range(1, 6)]


def scorecard_form_class(criteria):
    """A form with a 1–5 rating and a comment for each of the challenge's criteria."""

    class ScorecardForm(FlaskForm):
        pass

    for criterion in criteria:
        setattr(ScorecardForm, f"rating_{criterion.id}", RadioField(
            f"{criterion.name} (weight {criterion.weight})", choices=RATING_CHOICES, validate_choice=False,
            description=criterion.description or None))
        setattr(ScorecardForm, f"comment_{criterion.id}", TextAreaField(f"Why, for {criterion.name}"))
    return ScorecardForm
