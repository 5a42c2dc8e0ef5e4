"""Administrator pages: people and their access, employee domains, the outbox, site settings,
and onboarding from CSV. Every page is for administrators only (the guard below)."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ideas.accounts import services as accounts
from ideas.accounts.forms import EmptyForm
from ideas.accounts.models import Role
from ideas.accounts.onboarding import MAX_ROWS_PAGE, OnboardingError, import_csv
from ideas.accounts.services import AccountError
from ideas.admin import services
from ideas.admin.forms import (
    POOL_LABELS,
    DomainForm,
    ImportForm,
    OutboxFilterForm,
    PeopleFilterForm,
    PoolForm,
    RolesForm,
    TermsForm,
)
from ideas.extensions import db
from ideas.web import attach_error, roles_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@roles_required(Role.ADMIN)
def guard():
    return None


@bp.context_processor
def admin_context():
    return {"pool_labels": POOL_LABELS}


@bp.route("/")
def index():
    return redirect(url_for("admin.users"))


# --- people ----------------------------------------------------------------------

@bp.route("/users")
def users():
    form = PeopleFilterForm(request.args)
    values = form.cleaned()
    people_filter = services.PeopleFilter(
        q=values["q"], pool=values["pool"], role=values["role"],
        status=values["status"], verified=values["verified"],
    )
    page = services.list_people(people_filter, after=values["after"], before=values["before"])
    return render_template(
        "admin/users.html", form=form, page=page, filter_args=people_filter.as_args(),
        paged=values["after"] is not None or values["before"] is not None,
    )


def _person_or_404(user_id: int):
    person = services.get_person(user_id)
    if person is None:
        abort(404)
    return person


def _person_page(person, status: int = 200, **forms):
    defaults = {
        "pool_form": PoolForm(
            formdata=None, pool="domain" if person.pool_source == "domain" else person.pool
        ),
        "roles_form": RolesForm(formdata=None, roles=sorted(r.value for r in person.roles)),
        "active_form": EmptyForm(formdata=None),
    }
    defaults.update(forms)
    return render_template(
        "admin/user.html", person=person, is_self=person.id == current_user.id, **defaults
    ), status


@bp.route("/users/<int:user_id>")
def user(user_id: int):
    return _person_page(_person_or_404(user_id))


@bp.route("/users/<int:user_id>/pool", methods=["POST"])
def change_pool(user_id: int):
    person = _person_or_404(user_id)
    form = PoolForm()
    if form.validate_on_submit():
        try:
            services.change_pool(current_user, person, form.pool.data)
        except AccountError as error:
            attach_error(form, error)
        else:
            flash(f"{person.name} is now in the {person.pool} pool"
                  f"{' (following the e-mail domain)' if form.pool.data == 'domain' else ''}.", "success")
            return redirect(url_for("admin.user", user_id=person.id))
    return _person_page(person, 422, pool_form=form)


@bp.route("/users/<int:user_id>/roles", methods=["POST"])
def change_roles(user_id: int):
    person = _person_or_404(user_id)
    form = RolesForm()
    if form.validate_on_submit():
        try:
            services.change_roles(current_user, person, form.roles.data or [])
        except AccountError as error:
            attach_error(form, error)
        else:
            flash(f"The roles of {person.name} are saved.", "success")
            return redirect(url_for("admin.user", user_id=person.id))
    return _person_page(person, 422, roles_form=form)


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
def deactivate(user_id: int):
    person = _person_or_404(user_id)
    form = EmptyForm()
    if form.validate_on_submit():
        try:
            services.deactivate(current_user, person)
        except AccountError as error:
            attach_error(form, error)
        else:
            flash(f"{person.name} is deactivated: signed out everywhere, API tokens revoked. "
                  "What they wrote stays.", "success")
            return redirect(url_for("admin.user", user_id=person.id))
    return _person_page(person, 422, active_form=form)


@bp.route("/users/<int:user_id>/reactivate", methods=["POST"])
def reactivate(user_id: int):
    person = _person_or_404(user_id)
    form = EmptyForm()
    if form.validate_on_submit():
        services.reactivate(current_user, person)
        flash(f"{person.name} can sign in again.", "success")
        return redirect(url_for("admin.user", user_id=person.id))
    return _person_page(person, 422, active_form=form)


@bp.route("/users/import", methods=["GET", "POST"])
def import_users():
    form = ImportForm()
    status = 200
    if form.validate_on_submit():
        upload = form.csv_file.data
        field = form.csv_file if upload and upload.filename else form.text
        data = upload.read() if field is form.csv_file else (form.text.data or "")
        if not data.strip():
            field.errors = list(field.errors) + ["Choose a CSV file or paste its rows."]
        else:
            try:
                result = import_csv(data, acting=current_user, max_rows=MAX_ROWS_PAGE)
            except OnboardingError as error:
                db.session.rollback()
                field.errors = list(field.errors) + [str(error)]
            else:
                flash(f"Import done: {result.created} people created (each was mailed a link to "
                      f"choose a password), {result.updated} updated.", "success")
                return redirect(url_for("admin.users"))
        status = 422
    elif form.errors:
        status = 422
    return render_template("admin/import.html", form=form, max_rows=MAX_ROWS_PAGE), status


# --- employee domains ------------------------------------------------------------

@bp.route("/domains", methods=["GET", "POST"])
def domains():
    form = DomainForm()
    if form.validate_on_submit():
        try:
            row = accounts.add_employee_domain(form.domain.data)
        except AccountError as error:
            attach_error(form, error)
        else:
            flash(f"{row.domain} is an employee domain. People with a confirmed address there "
                  "are now employees.", "success")
            return redirect(url_for("admin.domains"))
    status = 422 if form.errors or form.form_errors else 200
    return render_template(
        "admin/domains.html", form=form, domains=services.list_domains(), remove_form=EmptyForm()
    ), status


@bp.route("/domains/<int:domain_id>/remove", methods=["POST"])
def remove_domain(domain_id: int):
    if not EmptyForm().validate_on_submit():
        abort(400)
    if not services.remove_domain(domain_id):
        abort(404)
    flash("The domain is removed. People whose pool follows their e-mail domain were moved.", "success")
    return redirect(url_for("admin.domains"))


# --- outbox ----------------------------------------------------------------------

@bp.route("/outbox")
def outbox():
    form = OutboxFilterForm(request.args)
    values = form.cleaned()
    page = services.list_mail(to=values["to"], after=values["after"], before=values["before"])
    return render_template(
        "admin/outbox.html", form=form, page=page,
        filter_args={"to": values["to"]} if values["to"] else {},
        paged=values["after"] is not None or values["before"] is not None,
    )


@bp.route("/outbox/<int:message_id>")
def mail_message(message_id: int):
    message = services.get_mail(message_id)
    if message is None:
        abort(404)
    return render_template(
        "admin/mail.html", message=message, segments=services.body_segments(message.body, _site_hosts())
    )


def _site_hosts() -> set[str]:
    hosts = {request.host}
    base = current_app.config.get("IDEAS_BASE_URL")
    if base:
        hosts.add(urlsplit(base).netloc)
    if current_app.config.get("SERVER_NAME"):
        hosts.add(current_app.config["SERVER_NAME"])
    return hosts


# --- site settings ---------------------------------------------------------------

@bp.route("/settings", methods=["GET", "POST"])
def settings():
    form = TermsForm()
    if request.method == "GET":
        form.terms.data = services.stored_terms() or accounts.DEFAULT_TERMS
    if form.validate_on_submit():
        try:
            services.set_participation_terms(current_user, form.terms.data or "")
        except AccountError as error:
            attach_error(form, error)
        else:
            flash("The participation terms are saved.", "success")
            return redirect(url_for("admin.settings"))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("admin/settings.html", form=form), status
