"""Webhook forms: they parse and carry CSRF; the URL rules and the events allowed live in
`webhooks.py`, so the page and the service refuse the same way."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectMultipleField, StringField
from wtforms.validators import Length
from wtforms.widgets import CheckboxInput, ListWidget

from ideas.integrations.models import EVENT_KINDS
from ideas.integrations.urls import MAX_URL
from ideas.integrations.webhooks import EVENT_LABELS, MAX_DESCRIPTION


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form) -> None:
        # An unknown value is the service's to refuse, with its own message.
        pass


class EndpointForm(FlaskForm):
    url = StringField(
        "URL", [Length(max=MAX_URL)],
        description="http:// or https://, on a public address. Each request is a signed JSON POST.",
        render_kw={"inputmode": "url", "spellcheck": "false", "autocomplete": "off"},
    )
    description = StringField("Description", [Length(max=MAX_DESCRIPTION)],
                              description="For you: what listens there, who to call when it fails.")
    events = CheckboxesField("Events to send",
                             choices=[SelectChoice(kind, EVENT_LABELS[kind]) for kind in EVENT_KINDS])
    active = BooleanField("Active (send events)", default=True)
