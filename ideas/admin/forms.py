"""Administrator forms. The people filter is a GET form: a bad value in it is ignored, not an error."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import Form, RadioField, SearchField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from ideas.accounts.models import ROLE_LABELS, Pool, Role
from ideas.admin.services import TERMS_MAX
from ideas.numbers import IntegerField  # bounded to what the database holds

try:
    from wtforms.fields.choices import SelectChoice
except ImportError:  # wtforms < 3.3 takes (value, label) pairs, and 3.3 warns about them
    def SelectChoice(value: str, label: str):  # noqa: N802
        return (value, label)


def choices(pairs) -> list:
    return [SelectChoice(value, label) for value, label in pairs]


def printable(text: str | None) -> str:
    """Without control characters: a search for them finds nothing, and PostgreSQL refuses NUL."""
    return "".join(c for c in (text or "") if c >= " " and c != "\x7f").strip()


POOL_LABELS = {Pool.EMPLOYEE.value: "Employee", Pool.EXTERNAL.value: "External"}
ROLE_PAIRS = [(role.value, ROLE_LABELS[role]) for role in Role]


class PeopleFilterForm(Form):
    """Read from the query string; no CSRF token, since it changes nothing."""

    q = SearchField("Name or e-mail", [Optional(), Length(max=100)])
    pool = SelectField("Pool", choices=choices([("", "Any pool"), *POOL_LABELS.items()]), default="")
    role = SelectField("Role", choices=choices([("", "Any role"), *ROLE_PAIRS]), default="")
    status = SelectField(
        "Status", choices=choices([("", "Any status"), ("active", "Active"), ("deactivated", "Deactivated")]), default=""
    )
    verified = SelectField(
        "E-mail confirmed", choices=choices([("", "Either"), ("yes", "Confirmed"), ("no", "Not confirmed")]), default=""
    )
    after = IntegerField(validators=[Optional(), NumberRange(min=0)])
    before = IntegerField(validators=[Optional(), NumberRange(min=0)])

    def cleaned(self) -> dict:
        """Every valid value; an invalid one is dropped (and shown as its default)."""
        self.validate()
        values = {}
        for field in self:
            if field.errors:
                field.data = field.default
                field.raw_data = []
                field.errors = []
            values[field.name] = field.data
        values["q"] = printable(values["q"])
        return values


class OutboxFilterForm(Form):
    to = SearchField("Recipient's e-mail", [Optional(), Length(max=254)])
    after = IntegerField(validators=[Optional(), NumberRange(min=0)])
    before = IntegerField(validators=[Optional(), NumberRange(min=0)])

    def cleaned(self) -> dict:
        self.validate()
        values = {}
        for field in self:
            if field.errors:
                field.data = None
                field.raw_data = []
                field.errors = []
            values[field.name] = field.data
        values["to"] = printable(values["to"])
        return values


class PoolForm(FlaskForm):
    pool = RadioField(
        "Pool",
        choices=choices([
            ("domain", "Follow the e-mail domain"),
            (Pool.EMPLOYEE.value, "Employee"),
            (Pool.EXTERNAL.value, "External"),
        ]),
        validators=[DataRequired("Choose a pool.")],
    )


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class RolesForm(FlaskForm):
    roles = MultiCheckboxField("Roles", choices=choices(ROLE_PAIRS))


class DomainForm(FlaskForm):
    domain = StringField(
        "Employee domain",
        [
            DataRequired("Enter a domain."),
            Length(max=253),
            Regexp(r"^\s*@?[\w.-]+\s*$", message="Enter a domain such as staff.example."),
        ],
        description="For example staff.example; its subdomains count too.",
    )


class TermsForm(FlaskForm):
    terms = TextAreaField(
        "Participation terms",
        [Length(max=TERMS_MAX)],
        description="Shown at registration and on the terms page. Leave it empty to use the built-in text.",
    )


class ImportForm(FlaskForm):
    csv_file = FileField(
        "CSV file",
        description="UTF-8, with the header name,email,pool,roles.",
        render_kw={"accept": ".csv,text/csv,text/plain"},
    )
    text = TextAreaField("Or paste the rows", [Length(max=500_000)])
