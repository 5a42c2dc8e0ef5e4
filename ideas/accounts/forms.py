"""Account forms. Validation messages sit next to their field; passwords are never echoed."""
from __future__ import annotations

import secrets

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from ideas.accounts.rules import PASSWORD_MAX
from ideas.web import valid_tags

EMAIL = [DataRequired("Enter your e-mail address."), Length(max=254), Email("Enter a valid e-mail address.")]


class RegisterForm(FlaskForm):
    name = StringField("Name", [DataRequired("Enter your name."), Length(max=120)])
    email = EmailField("E-mail", EMAIL)
    password = PasswordField(
        "Password", [DataRequired("Choose a password."), Length(max=PASSWORD_MAX)],
        description="At least 10 characters; a few unrelated words make a strong one.",
    )
    confirm = PasswordField(
        "Repeat the password", [DataRequired("Repeat the password."), EqualTo("password", "The passwords differ.")]
    )
    accept_terms = BooleanField("I accept the participation terms")


class LoginForm(FlaskForm):
    email = EmailField("E-mail", [DataRequired("Enter your e-mail address."), Length(max=254)])
    password = PasswordField("Password", [DataRequired("Enter your password."), Length(max=PASSWORD_MAX)])
    remember = BooleanField("Keep me signed in on this device")


class ResetRequestForm(FlaskForm):
    email = EmailField("E-mail", EMAIL)


class ResetPasswordForm(FlaskForm):
    password = PasswordField("New password", [DataRequired("Choose a password."), Length(max=PASSWORD_MAX)])
    confirm = PasswordField(
        "Repeat the new password", [DataRequired("Repeat the password."), EqualTo("password", "The passwords differ.")]
    )


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", [DataRequired("Enter your current password.")])
    password = PasswordField("New password", [DataRequired("Choose a password."), Length(max=PASSWORD_MAX)])
    confirm = PasswordField(
        "Repeat the new password", [DataRequired("Repeat the password."), EqualTo("password", "The passwords differ.")]
    )


class ChangeEmailForm(FlaskForm):
    email = EmailField("New e-mail", EMAIL)
    password = PasswordField("Your password", [DataRequired("Enter your password.")], id="email_password")


class ProfileForm(FlaskForm):
    name = StringField("Display name", [DataRequired("Enter your name."), Length(max=120)])
    bio = TextAreaField("Short bio", [Length(max=500)])
    expertise = StringField(
        "Expertise", [Length(max=600), valid_tags],
        description="Comma-separated tags, e.g. logistics, payments, UX. Used to route ideas to reviewers and owners.",
    )


class TokenForm(FlaskForm):
    name = StringField("Token name", [DataRequired("Name the token."), Length(max=80)], id="token-name")
    # One per form shown: the same form sent again (reloading the page that shows the new
    # token) finds the token it made instead of making a second one.
    request_id = HiddenField(default=lambda: secrets.token_urlsafe(16), validators=[Length(max=64)])


class AcceptTermsForm(FlaskForm):
    accept = BooleanField("I accept the participation terms", [DataRequired("Accept the terms to go on.")])


class EmptyForm(FlaskForm):
    """A form with only its CSRF token: for buttons that change something."""
