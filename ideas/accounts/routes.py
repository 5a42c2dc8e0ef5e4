"""Sign-up, sign-in, links sent by e-mail, the account page and public profiles."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from ideas.accounts import permissions, services
from ideas.accounts.forms import (
    AcceptTermsForm,
    ChangeEmailForm,
    ChangePasswordForm,
    EmptyForm,
    LoginForm,
    ProfileForm,
    RegisterForm,
    ResetPasswordForm,
    ResetRequestForm,
    TokenForm,
)
from ideas.accounts.models import ApiToken, User
from ideas.accounts.services import AccountError
from ideas.extensions import db, limiter
from ideas.web import attach_error, redirect_next, safe_next

bp = Blueprint("accounts", __name__)

AUTH_LIMIT = "10 per minute; 50 per hour"
NEUTRAL_RESET = (
    "If an account uses this address, a link to choose a new password is on its way. "
    "It works once and expires within a few hours."
)


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(AUTH_LIMIT, methods=["POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("site.home"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = services.register(
                name=form.name.data, email=form.email.data, password=form.password.data,
                accepted_terms=form.accept_terms.data,
            )
        except AccountError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            login_user(user)
            flash("Welcome! We sent you a link to confirm your e-mail address.", "success")
            return redirect(url_for("site.home"))
    return render_template(
        "accounts/register.html", form=form, terms=services.participation_terms()
    ), 200 if not form.errors and not form.form_errors else 422


@bp.route("/verify/<token>")
def verify(token: str):
    try:
        user = services.verify_email(token)
    except AccountError as error:
        db.session.rollback()
        return render_template("accounts/link_problem.html", message=error.message), 400
    flash(f"Thank you, {user.name}: your e-mail address is confirmed.", "success")
    return redirect(url_for("site.home"))


@bp.route("/verify", methods=["POST"])
@login_required
@limiter.limit("5 per hour")
def resend_verification():
    if EmptyForm().validate_on_submit() and not current_user.is_verified:
        services.send_verification(current_user)
        flash("A new confirmation link is on its way.", "info")
    return redirect_next()


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(AUTH_LIMIT, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect_next()
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            form.form_errors.append("That e-mail and password do not match an active account.")
            status = 422
        else:
            login_user(user, remember=form.remember.data)
            return redirect_next()
    elif form.errors:
        status = 422
    return render_template("accounts/login.html", form=form, next=safe_next(request.args.get("next"))), status


@bp.route("/logout", methods=["POST"])
def logout():
    if EmptyForm().validate_on_submit():
        logout_user()
        flash("You are signed out.", "info")
    return redirect(url_for("site.home"))


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit("5 per minute; 20 per hour", methods=["POST"])
def request_reset():
    form = ResetRequestForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        flash(NEUTRAL_RESET, "info")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_request.html", form=form), 422 if form.errors else 200


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit(AUTH_LIMIT, methods=["POST"])
def reset_password(token: str):
    try:
        services.check_reset_token(token)
    except AccountError as error:
        return render_template("accounts/link_problem.html", message=error.message), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.password.data)
        except AccountError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            logout_user()
            flash("Your password is changed. Sign in with the new one.", "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_password.html", form=form), 422 if form.errors or form.form_errors else 200


@bp.route("/terms", methods=["GET", "POST"])
def terms():
    form = AcceptTermsForm()
    if current_user.is_authenticated and form.validate_on_submit():
        services.accept_terms(current_user)
        flash("Thank you. You can take part now.", "success")
        return redirect_next()
    return render_template("accounts/terms.html", form=form, terms=services.participation_terms())


@bp.route("/account", methods=["GET"])
@login_required
def account():
    return _account_page()


def _account_page(status: int = 200, **forms):
    tokens = db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == current_user.id).order_by(ApiToken.id.desc())
    ).all()
    defaults = {
        "profile_form": ProfileForm(
            formdata=None, name=current_user.name, bio=current_user.bio,
            expertise=", ".join(current_user.expertise),
        ),
        "password_form": ChangePasswordForm(formdata=None),
        "email_form": ChangeEmailForm(formdata=None),
        "token_form": TokenForm(formdata=None),
    }
    defaults.update(forms)
    return render_template(
        "accounts/account.html", tokens=tokens, revoke_form=EmptyForm(), **defaults
    ), status


@bp.route("/account/profile", methods=["POST"])
@login_required
def update_profile():
    form = ProfileForm()
    if not form.validate_on_submit():
        return _account_page(422, profile_form=form)
    services.update_profile(current_user, name=form.name.data, bio=form.bio.data or "", expertise=form.expertise.data or "")
    flash("Your profile is saved.", "success")
    return redirect(url_for("accounts.account"))


@bp.route("/account/password", methods=["POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(current_user, form.current_password.data, form.password.data)
        except AccountError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            login_user(current_user._get_current_object())  # keep this session, end the others
            flash("Your password is changed. Other devices are signed out.", "success")
            return redirect(url_for("accounts.account"))
    return _account_page(422, password_form=form)


@bp.route("/account/email", methods=["POST"])
@login_required
@limiter.limit("5 per hour")
def change_email():
    form = ChangeEmailForm()
    if form.validate_on_submit():
        try:
            services.request_email_change(current_user, form.email.data, form.password.data)
        except AccountError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            flash("Open the link we sent to the new address to confirm the change.", "info")
            return redirect(url_for("accounts.account"))
    return _account_page(422, email_form=form)


@bp.route("/account/email/<token>")
def confirm_email_change(token: str):
    try:
        services.confirm_email_change(token)
    except AccountError as error:
        db.session.rollback()
        return render_template("accounts/link_problem.html", message=error.message), 400
    flash("Your new e-mail address is confirmed.", "success")
    return redirect(url_for("accounts.account") if current_user.is_authenticated else url_for("accounts.login"))


@bp.route("/account/tokens", methods=["POST"])
@login_required
def create_token():
    form = TokenForm()
    if not form.validate_on_submit():
        return _account_page(422, token_form=form)
    made = session.get("tokens_made", {})
    key = form.request_id.data or ""
    earlier = db.session.get(services.ApiToken, made[key]) if key in made else None
    if earlier is not None and earlier.user_id == current_user.id:
        # The same form again (the page reloaded): its token exists, and its secret was shown once.
        return render_template("accounts/token_created.html", token=earlier, secret=None)
    row, secret = services.create_api_token(current_user, form.name.data)
    if key:
        session["tokens_made"] = {**dict(list(made.items())[-9:]), key: row.id}
    # Shown once, on this response only: it is never stored in clear.
    return render_template(
        "accounts/token_created.html", token=row, secret=secret
    ), 201


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):
    if EmptyForm().validate_on_submit() and services.revoke_api_token(current_user, token_id):
        flash("The token is revoked.", "info")
    else:
        abort(404)
    return redirect(url_for("accounts.account"))


@bp.route("/people/<int:user_id>")
def profile(user_id: int):
    person = db.get_or_404(User, user_id)
    if not permissions.can_see_profile(current_user, person):
        abort(404)
    # Other domains add their sections (the track record of what a person's ideas became).
    sections = [provider(person, current_user) for provider in current_app.extensions.get("ideas.profile", [])]
    return render_template("accounts/profile.html", person=person, sections=sections)
