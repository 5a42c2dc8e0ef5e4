"""Challenge and idea forms."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    DecimalField,
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from ideas.challenges.services import MAX_BODY, MAX_SUMMARY, VOTING_POLICY_WORDS
from ideas.numbers import IntegerField  # bounded to what the database holds
from ideas.web import valid_tags

POOL_MODES = [
    SelectChoice("blended", "Blended: employees and externals in one ranking, with published pool weights"),
    SelectChoice("separate", "Separate: each pool has its own ranking"),
    SelectChoice("employees_only", "Employees only"),
    SelectChoice("externals_only", "External participants only"),
]
POLICIES = [SelectChoice(name, words[0].upper() + words[1:]) for name, words in VOTING_POLICY_WORDS.items()]
DATE_HINT = "Date and time in UTC."


def _date(label: str) -> DateTimeLocalField:
    return DateTimeLocalField(label, [Optional()], format="%Y-%m-%dT%H:%M", description=DATE_HINT)


class ChallengeForm(FlaskForm):
    title = StringField("Title", [DataRequired("Give the challenge a title."), Length(max=160)],
                        description="A question people can answer, e.g. “How could we halve check-in time?”")
    brief = TextAreaField("Brief", [Length(max=MAX_BODY)], description="Markdown. What the challenge is about.")
    goal = TextAreaField("Goal", [Length(max=MAX_BODY)], description="What success looks like.")
    scope_in = TextAreaField("In scope", [Length(max=MAX_BODY)])
    scope_out = TextAreaField("Out of scope", [Length(max=MAX_BODY)])
    rules = TextAreaField("Rules of conduct", [Length(max=MAX_BODY)])
    prize = TextAreaField("Prize or reward", [Length(max=MAX_BODY)])
    terms = TextAreaField("Challenge terms", [Length(max=MAX_BODY)],
                          description="External participants accept these before their first idea (e.g. ownership of ideas).")
    tags = StringField("Tags", [Length(max=600), valid_tags], description="Comma-separated.")
    cover = FileField("Cover image", description="PNG, JPEG, GIF or WebP, up to 5 MB.")
    criteria = TextAreaField(
        "Evaluation criteria", [Length(max=5000)],
        description="One per line: name | weight 1–10 | description. E.g. “impact | 2 | Effect on customers”.",
    )
    pool_mode = SelectField("Who takes part", choices=POOL_MODES, default="blended")
    cross_visibility = BooleanField("In separate mode, each pool may see the other pool's ideas")
    pool_weight_employee = DecimalField("Employee pool weight", [InputRequired(), NumberRange(0, 1)], default=0.5,
                                        places=2)
    pool_weight_external = DecimalField("External pool weight", [InputRequired(), NumberRange(0, 1)], default=0.5,
                                        places=2, description="The two weights add up to 1; they are published.")
    voting_policy = SelectField("Voting policy", choices=POLICIES, default="weighted")
    budget_k = IntegerField("Supports per voter (budget policy)", [InputRequired(), NumberRange(1, 100)], default=5)
    hide_counts_until_voted = BooleanField("Hide vote counts until the person has voted", default=True)
    randomise_order = BooleanField("Show ideas in random order on the voting page", default=True)
    allow_opposition = BooleanField("Allow votes against an idea")
    review_capacity = IntegerField("Review capacity", [InputRequired(), NumberRange(0, 10000)], default=10,
                                   description="How many ideas the reviewers can take.")
    reviewers_per_idea = IntegerField("Reviewers per idea", [InputRequired(), NumberRange(1, 20)], default=3)
    blind_review = BooleanField("Blind review: hide authors from reviewers")
    flag_threshold = IntegerField("Flags that hide content pending review", [InputRequired(), NumberRange(1, 100)],
                                  default=3)
    opens_at = _date("Submission opens")
    submission_ends_at = _date("Submission ends (optional)")
    voting_at = _date("Voting opens")
    review_at = _date("Review starts (voting ends)")
    closes_at = _date("Challenge closes")
    allow_overlap = BooleanField("Let submission go on while voting is open")
    managers = StringField("Managers", [Length(max=2000)], description="E-mail addresses, comma-separated.")
    moderators = StringField("Moderators", [Length(max=2000)], description="E-mail addresses, comma-separated.")
    escalation_contact = StringField("Escalation contact", [Optional(), Length(max=254)],
                                     description="E-mail of who is told when an R&D owner misses a deadline.")

    def validate_pool_weight_external(self, field) -> None:
        # Here as well as in the service, so the sum is reported with every other field's
        # message at once rather than after they are mended.
        e, x = self.pool_weight_employee.data, field.data
        if e is not None and x is not None and abs(float(e) + float(x) - 1) > 1e-6:
            raise ValidationError(f"The two pool weights must add up to 1; these add up to {float(e + x):g} "
                                  f"({float(e):g} for employees, {float(x):g} for externals).")


class PhaseForm(FlaskForm):
    phase = SelectField("Move to", choices=[])
    reason = TextAreaField("Reason", [DataRequired("Say why: participants are told."), Length(max=2000)])


class IdeaForm(FlaskForm):
    title = StringField("Title", [DataRequired("Give your idea a title."), Length(max=160)])
    summary = TextAreaField("Summary", [Length(max=MAX_SUMMARY)], description="One paragraph.")
    body = TextAreaField("Description", [Length(max=MAX_BODY)], description="Markdown.")
    tags = StringField("Tags", [Length(max=600), valid_tags], description="Comma-separated.")
    note = StringField("What changed (optional)", [Length(max=300)])
    attachment = FileField("Attachment", description="An image or a PDF, up to 5 MB.")
    accept_terms = BooleanField("I accept this challenge's terms")


class CoAuthorForm(FlaskForm):
    email = StringField("Co-author's e-mail", [DataRequired("Enter an e-mail address."), Length(max=254)])


class WithdrawForm(FlaskForm):
    reason = TextAreaField("Why (optional)", [Length(max=1000)])


class AnswerInviteForm(FlaskForm):
    answer = HiddenField()


class MergeForm(FlaskForm):
    survivor = IntegerField("Merge into idea number", [InputRequired("Give the idea's number.")])
    reason = StringField("Why (optional; shown in both ideas' public history)", [Length(max=200)], id="merge-reason")
