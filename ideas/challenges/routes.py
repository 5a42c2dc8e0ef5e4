"""Challenge and idea pages (blueprint `challenges`).

Discussion and moderation pages live in their own modules and attach to
this same blueprint (imported at the end)."""
from __future__ import annotations

from datetime import UTC
from decimal import Decimal

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from markupsafe import Markup
from flask_login import current_user, login_required
from sqlalchemy import bindparam, select
from wtforms import SelectChoice

from ideas import caching, clock
from ideas.caching import public_page
from ideas.accounts.models import User
from ideas.accounts.services import find_by_email
from ideas.challenges import attachments, permissions, services
# The blueprint's other page modules: importing them adds their views to `bp`.
from ideas.challenges import discussion_routes, moderation_routes  # noqa: F401
from ideas.challenges.blueprint import SIMILAR_IDEAS, bp
from ideas.challenges.forms import (
    AnswerInviteForm,
    ChallengeForm,
    CoAuthorForm,
    IdeaForm,
    PhaseForm,
    WithdrawForm,
)
from ideas.challenges.models import Attachment, Challenge, Idea, IdeaStatus, Phase
from ideas.challenges.services import CriterionInput
from ideas.errors import ChallengeError
from ideas.extensions import db
from ideas.numbers import db_int
from ideas.web import attach_error

PAGE_SIZE = 30


def _refuse(form, error: ChallengeError) -> int:
    """Roll back anything flushed, put the message next to its field, and pick the status."""
    db.session.rollback()
    attach_error(form, error)
    return error.status if error.status != 401 else 403


# --- challenges ----------------------------------------------------------------

@bp.route("/challenges")
def index():
    return render_template("challenges/index.html", challenges=services.visible_challenges(current_user),
                           can_create=services.can_create_challenge(current_user), now=clock.now())


@bp.route("/challenges/new", methods=["GET", "POST"])
@login_required
def create():
    if not services.can_create_challenge(current_user):
        abort(403)
    form = ChallengeForm()
    if request.method == "GET":
        form.managers.data = current_user.email
    status = 200
    if form.validate_on_submit():
        try:
            challenge = services.create_challenge(current_user, **_challenge_values(form))
            _save_cover(form, challenge)
        except ChallengeError as error:
            status = _refuse(form, error)
        else:
            flash("The challenge is saved as a draft. Only its managers see it until it is published.", "success")
            return redirect(url_for("challenges.detail", challenge_id=challenge.id))
    elif form.errors:
        status = 422
    return render_template("challenges/form.html", form=form, challenge=None), status


@bp.route("/challenges/<int:challenge_id>")
@public_page(lambda challenge_id: f"c:{challenge_id}")
def detail(challenge_id: int):
    challenge = services.get_challenge(challenge_id, current_user)
    status = request.args.get("status") or "published"
    filters = services.idea_filters(tag=request.args.get("tag"), pool=request.args.get("pool"), status=status)
    is_manager = permissions.is_manager(current_user, challenge)
    shown = _shown_ideas(challenge, filters, request.args.get("before", type=db_int))
    return render_template(
        "challenges/detail.html", challenge=challenge, shown=shown,
        filters={"tag": filters.tag, "pool": filters.pool, "status": status},
        actions=permissions.allowed_actions(challenge, clock.now()),
        is_manager=is_manager, is_staff=permissions.is_staff(current_user, challenge),
        log=services.phase_log(challenge) if is_manager else [],  # only the managers' panel shows it
        phase_form=_phase_form(challenge), now=clock.now(),
        needs_terms=current_user.is_authenticated and not services.has_accepted_terms(current_user, challenge),
    )


def _shown_ideas(challenge: Challenge, filters, before: int | None) -> dict:
    """What the challenge page shows that is the same for everyone who sees the same ideas:
    the page of idea cards (rendered), the cursor of the next page, the idea count, the
    cover, the criteria and the tags.

    Kept per challenge generation (ideas/caching.py), which every committed change to the
    challenge, its ideas, votes, comments, attachments or phase moves (and `site` any
    change to people), so the next request after a vote, an edit or a merge builds it
    again. Who sees which ideas depends only on the pools they see and on being staff
    (services.visible_ideas_query), so those are part of the key."""
    audience = (tuple(permissions.visible_pools(current_user, challenge)), permissions.is_staff(current_user, challenge))

    def build() -> dict:
        query = services.filter_ideas(services.visible_ideas_query(current_user, challenge), filters)
        if before:
            query = query.where(Idea.id < before)
        ideas = list(db.session.scalars(query.options(*services.idea_card_loads())
                                        .order_by(Idea.id.desc()).limit(PAGE_SIZE + 1)))
        more = len(ideas) > PAGE_SIZE
        ideas = ideas[:PAGE_SIZE]
        cards = current_app.jinja_env.get_template("challenges/_idea_cards.html").render(ideas=ideas) if ideas else ""
        return {"cards": cards, "next_before": ideas[-1].id if more else None,
                "idea_count": services.count_ideas(challenge, current_user),
                "cover": attachments.cover_of(challenge) is not None,
                "criteria": [(c.name, c.weight, c.description) for c in challenge.criteria],
                "tags": list(challenge.tags)}

    shown = dict(caching.remember(("challenge page", challenge.id, filters, before, audience),
                                  f"c:{challenge.id}", build))
    shown["cards"] = Markup(shown["cards"])  # rendered by our own template, escaped there
    return shown


def _phase_form(challenge: Challenge) -> PhaseForm:
    form = PhaseForm(formdata=None)
    form.phase.choices = [SelectChoice(str(p), str(p).capitalize()) for p in permissions.manual_targets(challenge.phase)]
    return form


@bp.route("/challenges/<int:challenge_id>/edit", methods=["GET", "POST"])
@login_required
def edit(challenge_id: int):
    challenge = services.get_challenge(challenge_id, current_user)
    if not permissions.can_manage_challenge(current_user, challenge):
        abort(403)
    form = ChallengeForm(obj=challenge) if request.method == "GET" else ChallengeForm()
    if request.method == "GET":
        _fill_challenge_form(form, challenge)
    status = 200
    if form.validate_on_submit():
        try:
            services.update_challenge(challenge, current_user, **_challenge_values(form))
            _save_cover(form, challenge)
        except ChallengeError as error:
            status = _refuse(form, error)
        else:
            flash("The challenge is saved.", "success")
            return redirect(url_for("challenges.detail", challenge_id=challenge.id))
    elif form.errors:
        status = 422
    return render_template("challenges/form.html", form=form, challenge=challenge), status


@bp.route("/challenges/<int:challenge_id>/publish", methods=["POST"])
@login_required
def publish(challenge_id: int):
    challenge = services.get_challenge(challenge_id, current_user)
    if not permissions.can_manage_challenge(current_user, challenge):
        abort(403)
    from ideas.accounts.forms import EmptyForm

    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        services.publish(challenge, current_user)
    except ChallengeError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        flash(f"The challenge is published. It is in its {challenge.phase} phase.", "success")
    return redirect(url_for("challenges.detail", challenge_id=challenge_id))


@bp.route("/challenges/<int:challenge_id>/phase", methods=["POST"])
@login_required
def change_phase(challenge_id: int):
    challenge = services.get_challenge(challenge_id, current_user)
    if not permissions.can_manage_challenge(current_user, challenge):
        abort(403)
    form = PhaseForm()
    form.phase.choices = [SelectChoice(str(p), str(p)) for p in permissions.manual_targets(challenge.phase)]
    if form.validate_on_submit():
        try:
            services.change_phase(challenge, current_user, form.phase.data, form.reason.data)
        except ChallengeError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            flash(f"The challenge is now in its {challenge.phase} phase.", "success")
            return redirect(url_for("challenges.detail", challenge_id=challenge_id))
    else:
        for messages in form.errors.values():
            for message in messages:
                flash(message if isinstance(message, str) else "Check the form.", "error")
    return redirect(url_for("challenges.detail", challenge_id=challenge_id) + "#manage")


@bp.route("/challenges/<int:challenge_id>/terms", methods=["GET", "POST"])
@login_required
def accept_terms(challenge_id: int):
    challenge = services.get_challenge(challenge_id, current_user)
    from ideas.accounts.forms import AcceptTermsForm

    form = AcceptTermsForm()
    if form.validate_on_submit():
        services.accept_challenge_terms(current_user, challenge)
        flash("Thank you: you can submit ideas to this challenge.", "success")
        return redirect(url_for("challenges.new_idea", challenge_id=challenge_id))
    return render_template("challenges/terms.html", challenge=challenge, form=form), 422 if form.errors else 200


@bp.route("/challenges/<int:challenge_id>/cover")
def cover(challenge_id: int):
    challenge = services.get_challenge(challenge_id, current_user)
    row = attachments.cover_of(challenge)
    if row is None:
        abort(404)
    return _send_attachment(row)


def _challenge_values(form: ChallengeForm) -> dict:
    values = {name: getattr(form, name).data or "" for name in services.CHARTER_FIELDS}
    for name in ("pool_mode", "voting_policy"):
        values[name] = getattr(form, name).data
    for name in ("cross_visibility", "hide_counts_until_voted", "randomise_order", "allow_opposition",
                 "blind_review", "allow_overlap"):
        values[name] = bool(getattr(form, name).data)
    for name in ("budget_k", "review_capacity", "reviewers_per_idea", "flag_threshold"):
        values[name] = int(getattr(form, name).data)
    for name in ("pool_weight_employee", "pool_weight_external"):
        values[name] = float(getattr(form, name).data)
    for name in services.DATE_FIELDS:
        value = getattr(form, name).data
        values[name] = value.replace(tzinfo=UTC) if value else None
    values["tags"] = form.tags.data or ""
    values["criteria"] = _parse_criteria(form.criteria.data or "")
    values["managers"] = _people(form.managers.data, "managers")
    values["moderators"] = _people(form.moderators.data, "moderators", allow_empty=True)
    contact = (form.escalation_contact.data or "").strip()
    values["escalation_contact_id"] = _people(contact, "escalation_contact")[0] if contact else None
    return values


def _parse_criteria(raw: str) -> list[CriterionInput]:
    items = []
    for number, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        name = parts[0]
        try:
            weight = int(parts[1]) if len(parts) > 1 and parts[1] else 1
        except ValueError:
            raise ChallengeError(f"Line {number}: the weight must be a whole number from 1 to 10.",
                                 field="criteria") from None
        if len(name) > 60:
            raise ChallengeError(f"Line {number}: keep the name under 60 characters.", field="criteria")
        items.append(CriterionInput(name=name, weight=weight, description=" | ".join(parts[2:])))
    return items


def _people(raw: str | None, field: str, allow_empty: bool = False) -> list[int]:
    ids = []
    for email in [e.strip() for e in (raw or "").replace(";", ",").split(",") if e.strip()]:
        person = find_by_email(email)
        if person is None or not person.active:
            raise ChallengeError(f"Nobody active is registered as {email}.", field=field)
        ids.append(person.id)
    if not ids and not allow_empty:
        raise ChallengeError("Name at least one person.", field=field)
    return ids


def _fill_challenge_form(form: ChallengeForm, challenge: Challenge) -> None:
    form.tags.data = ", ".join(challenge.tags)
    form.criteria.data = "\n".join(
        f"{c.name} | {c.weight}" + (f" | {c.description}" if c.description else "") for c in challenge.criteria
    )
    form.managers.data = ", ".join(s.user.email for s in challenge.staff if s.role == "manager")
    form.moderators.data = ", ".join(s.user.email for s in challenge.staff if s.role == "moderator")
    if challenge.escalation_contact_id:
        contact = db.session.get(User, challenge.escalation_contact_id)
        form.escalation_contact.data = contact.email if contact else ""
    form.pool_weight_employee.data = Decimal(str(challenge.pool_weight_employee))
    form.pool_weight_external.data = Decimal(str(challenge.pool_weight_external))
    for name in services.DATE_FIELDS:
        value = getattr(challenge, name)
        getattr(form, name).data = clock.as_utc(value).replace(tzinfo=None) if value else None


def _save_cover(form, challenge: Challenge) -> None:
    upload = form.cover.data
    if upload and getattr(upload, "filename", ""):
        attachments.set_cover(challenge, current_user, upload.filename, upload.read(attachments.MAX_SIZE + 1))


# --- ideas ---------------------------------------------------------------------

@bp.route("/challenges/<int:challenge_id>/ideas/new", methods=["GET", "POST"])
@login_required
def new_idea(challenge_id: int):
    challenge = services.get_challenge(challenge_id, current_user)
    form = IdeaForm()
    similar: list[Idea] = []
    status = 200
    action = request.form.get("action", "publish")
    warned = False  # similar ideas exist: shown first, "Publish anyway" publishes
    if request.method == "POST" and action == "check":
        form.validate()
        similar = _similar(challenge, form)
    elif form.validate_on_submit():
        # Similar ideas are shown before publishing, unless the writer has seen them (the
        # check button, the script's panel or this warning): "Publish anyway" then publishes.
        warned = action == "publish" and not request.form.get("seen_similar") and bool(
            similar := _similar(challenge, form))
        if not warned:
            try:
                if form.accept_terms.data:
                    services.accept_challenge_terms(current_user, challenge)
                idea = services.submit_idea(
                    challenge, current_user, title=form.title.data, summary=form.summary.data or "",
                    body=form.body.data or "", tags=form.tags.data or "", draft=action == "draft",
                )
                _save_attachment(form, idea)
            except ChallengeError as error:
                status = _refuse(form, error)
                similar = _similar(challenge, form)
            else:
                flash("Your draft is saved; only you see it." if action == "draft" else "Your idea is published.",
                      "success")
                return redirect(url_for("challenges.idea", idea_id=idea.id))
    elif form.errors:
        status = 422
    return render_template(
        "challenges/idea_form.html", form=form, challenge=challenge, idea=None, similar=similar, warned=warned,
        needs_terms=not services.has_accepted_terms(current_user, challenge),
        can_publish=permissions.phase_allows(challenge, permissions.Action.SUBMIT, clock.now()),
    ), status


def _similar(challenge: Challenge, form: IdeaForm, exclude_id: int | None = None) -> list[Idea]:
    """Ideas like the one being written, from the finder search registers (SIMILAR_IDEAS)."""
    title, summary = (form.title.data or "").strip(), (form.summary.data or "").strip()
    find = current_app.extensions.get(SIMILAR_IDEAS)
    if find is None or not title or not summary:
        return []
    return find(current_user, challenge, title, summary, exclude_id=exclude_id)


def _save_attachment(form: IdeaForm, idea: Idea) -> None:
    upload = form.attachment.data
    if upload and getattr(upload, "filename", ""):
        attachments.add_to_idea(idea, current_user, upload.filename, upload.read(attachments.MAX_SIZE + 1))


# Every anonymous read of an idea page runs it before the cache: built once (building a
# statement costs more than running it on SQLite).
_CHALLENGE_OF_IDEA = select(Idea.challenge_id).where(Idea.id == bindparam("idea_id"))


def _idea_scope(idea_id: int) -> str | None:
    found = db.session.scalar(_CHALLENGE_OF_IDEA, {"idea_id": idea_id})
    return f"c:{found}" if found is not None else None


@bp.route("/ideas/<int:idea_id>")
@public_page(_idea_scope)
def idea(idea_id: int):
    viewer = current_user._get_current_object()  # asked dozens of times: once through the proxy
    item = services.get_idea(idea_id, viewer)
    challenge = item.challenge
    context = {"hide_authors": False}
    panels = []
    for provider in _idea_panels():  # voting and review add their own panels
        extra = provider(item, viewer)
        if extra:
            panels.append(extra.pop("template"))
            context.update(extra)
    # Its tags and attachments are the same for whoever may read it: kept per challenge generation.
    context.update(caching.remember(("idea listings", item.id), f"c:{item.challenge_id}",
                                    lambda: {"tags": item.tags, "attachments": attachments.of_idea(item)}))
    # After the panels: the review's may hide the authors' names from the discussion.
    context.update(discussion_routes.discussion_context(
        item, viewer, context["hide_authors"], before=request.args.get("comments_before", type=db_int)))
    return render_template(
        "challenges/idea.html", idea=item, challenge=challenge, idea_panels=panels,
        actions=permissions.allowed_actions(challenge, clock.now()),
        can_edit=permissions.can_edit_idea(viewer, item), is_staff=permissions.is_staff(viewer, challenge),
        coauthor_form=CoAuthorForm(formdata=None),
        withdraw_form=WithdrawForm(formdata=None), answer_form=AnswerInviteForm(formdata=None),
        invited=_pending_invite(item, viewer), merge_form=_merge_form(item, viewer), **context,
    )


def _idea_panels():
    from flask import current_app

    return current_app.extensions.get("ideas.idea_panels", [])


def _merge_form(item: Idea, viewer):
    from ideas.challenges.forms import MergeForm

    if item.status == IdeaStatus.PUBLISHED and permissions.can_merge_ideas(viewer, item.challenge):
        return MergeForm(formdata=None)
    return None


def _pending_invite(item: Idea, viewer):
    if not viewer.is_authenticated:
        return None
    return next((c for c in item.coauthors if not c.accepted_at
                 and (c.user_id == viewer.id or c.email == viewer.email)), None)


def _own_idea(idea_id: int) -> Idea:
    item = services.get_idea(idea_id, current_user)
    if not permissions.can_edit_idea(current_user, item):
        abort(403)
    return item


@bp.route("/ideas/<int:idea_id>/edit", methods=["GET", "POST"])
@login_required
def edit_idea(idea_id: int):
    item = _own_idea(idea_id)
    form = IdeaForm(obj=item) if request.method == "GET" else IdeaForm()
    if request.method == "GET":
        form.tags.data = ", ".join(item.tags)
    status = 200
    similar: list[Idea] = []
    action = request.form.get("action", "save")
    if request.method == "POST" and action == "check":
        form.validate()
        similar = _similar(item.challenge, form, exclude_id=item.id)
    elif form.validate_on_submit():
        try:
            changed = services.edit_idea(item, current_user, title=form.title.data, summary=form.summary.data or "",
                                         body=form.body.data or "", tags=form.tags.data or "",
                                         note=form.note.data or "")
            _save_attachment(form, item)
            if action == "publish" and item.status == IdeaStatus.DRAFT:
                if form.accept_terms.data:
                    services.accept_challenge_terms(current_user, item.challenge)
                services.publish_draft(item, current_user)
        except ChallengeError as error:
            status = _refuse(form, error)
        else:
            flash("Your idea is published." if action == "publish" else
                  ("Your changes are saved." if changed else "Nothing changed."), "success")
            return redirect(url_for("challenges.idea", idea_id=item.id))
    elif form.errors:
        status = 422
    return render_template(
        "challenges/idea_form.html", form=form, challenge=item.challenge, idea=item, similar=similar,
        needs_terms=not services.has_accepted_terms(current_user, item.challenge),
        can_publish=permissions.phase_allows(item.challenge, permissions.Action.SUBMIT, clock.now()),
    ), status


@bp.route("/ideas/<int:idea_id>/withdraw", methods=["POST"])
@login_required
def withdraw(idea_id: int):
    item = _own_idea(idea_id)
    form = WithdrawForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.withdraw_idea(item, current_user, form.reason.data or "")
    except ChallengeError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        flash("Your idea is withdrawn. It stays readable but takes no more votes.", "info")
    return redirect(url_for("challenges.idea", idea_id=idea_id))


@bp.route("/ideas/<int:idea_id>/delete", methods=["POST"])
@login_required
def delete_draft(idea_id: int):
    item = _own_idea(idea_id)
    from ideas.accounts.forms import EmptyForm

    if not EmptyForm().validate_on_submit():
        abort(400)
    challenge_id = item.challenge_id
    services.delete_draft(item, current_user)
    flash("The draft is deleted.", "info")
    return redirect(url_for("challenges.detail", challenge_id=challenge_id))


@bp.route("/ideas/<int:idea_id>/history")
def history(idea_id: int):
    item = services.get_idea(idea_id, current_user)
    versions = services.revisions(item)
    by_number = {v.number: v for v in versions}
    newest = versions[-1].number if versions else 1
    to_n = request.args.get("to", type=db_int) or newest
    from_n = request.args.get("from", type=db_int) or max(1, to_n - 1)
    older, newer = by_number.get(from_n), by_number.get(to_n)
    diff = services.revision_diff(older, newer) if older and newer and older is not newer else []
    return render_template("challenges/history.html", idea=item, versions=versions, diff=diff,
                           from_n=from_n, to_n=to_n)


@bp.route("/ideas/<int:idea_id>/coauthors", methods=["POST"])
@login_required
def invite_coauthor(idea_id: int):
    item = _own_idea(idea_id)
    form = CoAuthorForm()
    if form.validate_on_submit():
        try:
            services.invite_coauthor(item, current_user, form.email.data)
        except ChallengeError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            flash("The invitation is sent. They become a co-author once they accept.", "success")
    else:
        flash("Enter the co-author's e-mail address.", "error")
    return redirect(url_for("challenges.idea", idea_id=idea_id) + "#coauthors")


@bp.route("/ideas/<int:idea_id>/coauthors/answer", methods=["POST"])
@login_required
def answer_invite(idea_id: int):
    item = services.get_idea(idea_id, current_user)
    form = AnswerInviteForm()
    if not form.validate_on_submit() or form.answer.data not in ("accept", "decline"):
        abort(400)
    services.answer_coauthor_invite(item, current_user, form.answer.data == "accept")
    flash("You are now a co-author." if form.answer.data == "accept" else "The invitation is declined.", "info")
    return redirect(url_for("challenges.idea", idea_id=idea_id))


@bp.route("/attachments/<int:attachment_id>")
def attachment(attachment_id: int):
    row = db.get_or_404(Attachment, attachment_id)
    if row.idea_id is not None:
        services.get_idea(row.idea_id, current_user)
    else:
        services.get_challenge(row.challenge_id, current_user)
    return _send_attachment(row)


def _send_attachment(row: Attachment):
    path = attachments.path_of(row)
    if not path.exists():
        abort(404)
    is_pdf = row.content_type == "application/pdf"
    response = send_file(path, mimetype=row.content_type, as_attachment=is_pdf, download_name=row.filename,
                         max_age=3600)
    # Nothing in an upload may run: no sniffing, no scripts, sandboxed if opened directly.
    response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@bp.route("/ideas/<int:idea_id>/merge", methods=["POST"])
@login_required
def merge(idea_id: int):
    from ideas.challenges import merge as merging
    from ideas.challenges.forms import MergeForm

    item = services.get_idea(idea_id, current_user)
    if not permissions.can_merge_ideas(current_user, item.challenge):
        abort(403)
    form = MergeForm()
    if not form.validate_on_submit():
        flash("Give the number of the idea to merge into.", "error")
        return redirect(url_for("challenges.idea", idea_id=idea_id) + "#merge")
    survivor = db.session.get(Idea, form.survivor.data)
    if survivor is None or not permissions.can_see_idea(current_user, survivor):
        flash(f"There is no idea #{form.survivor.data} in this challenge.", "error")
        return redirect(url_for("challenges.idea", idea_id=idea_id) + "#merge")
    try:
        asked = merging.merge_ideas(item, survivor, current_user, form.reason.data or "")
    except ChallengeError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("challenges.idea", idea_id=idea_id) + "#merge")
    flash(f"Merged. {asked} supporter{'' if asked == 1 else 's'} will be asked whether their vote moves.", "success")
    return redirect(url_for("challenges.idea", idea_id=survivor.id))


@bp.route("/my/ideas")
@login_required
def my_ideas():
    return render_template("challenges/my_ideas.html", ideas=services.my_ideas(current_user),
                           invites=services.pending_invites(current_user))


@bp.app_template_filter("markdown")
def markdown_filter(source):
    from ideas.text import render

    return render(source)


@bp.app_template_filter("excerpt")
def excerpt_filter(source, limit: int = 200):
    from ideas.text import plain

    return plain(source, limit)


POOL_MODE_LABELS = {
    "blended": "Employees and externals, one ranking",
    "separate": "Employees and externals, separate rankings",
    "employees_only": "Employees only",
    "externals_only": "External participants only",
}


@bp.app_template_filter("pool_mode_label")
def pool_mode_label(mode):
    return POOL_MODE_LABELS.get(mode, mode)


@bp.app_template_filter("policy_words")
def policy_words(policy):
    return services.voting_policy_words(policy)


@bp.app_context_processor
def challenge_helpers():
    from flask import current_app

    def challenge_actions(challenge):
        links = []
        for provider in current_app.extensions.get("ideas.challenge_actions", []):
            links.extend(provider(challenge, current_user))
        return links

    def idea_stage(item):
        for provider in current_app.extensions.get("ideas.idea_stage", []):
            label = provider(item)
            if label:
                return label
        return {"draft": "Draft", "published": "Published", "withdrawn": "Withdrawn",
                "merged": "Merged"}.get(item.status, item.status)

    return {"challenge_actions": challenge_actions, "idea_stage": idea_stage, "pools_of": permissions.pools_of}


def _nav():
    items = [{"label": "Challenges", "endpoint": "challenges.index"}]
    if current_user.is_authenticated:
        items.append({"label": "My ideas", "endpoint": "challenges.my_ideas"})
    return items


# The home page leads with what a person can take part in now, then what is coming,
# then what is being reviewed or is over (newest first within each).
HOME_ORDER = {Phase.SUBMISSION: 0, Phase.VOTING: 1, Phase.DRAFT: 2, Phase.REVIEW: 3, Phase.CLOSED: 4}


def _home():
    found = services.visible_challenges(current_user, limit=30)
    shown = sorted(found, key=lambda c: HOME_ORDER.get(Phase(c.phase), 5))[:10]  # stable: newest first kept
    drafts = ([i for i in services.my_ideas(current_user, limit=50) if i.status == IdeaStatus.DRAFT]
              if current_user.is_authenticated else [])
    return {"template": "challenges/_home.html", "open_challenges": shown, "drafts": drafts}


def _activity(person):
    """The person's published ideas that the viewer may see."""
    rows = db.session.scalars(
        select(Idea).where(Idea.author_id == person.id, Idea.status != IdeaStatus.DRAFT)
        .order_by(Idea.id.desc()).limit(50)
    )
    return [{"title": i.title, "url": url_for("challenges.idea", idea_id=i.id), "kind": "idea",
             "at": i.published_at or i.created_at} for i in rows if permissions.can_see_idea(current_user, i)]


@bp.record_once
def _register(state):
    extensions = state.app.extensions
    extensions.setdefault("ideas.nav", []).insert(0, _nav)
    extensions.setdefault("ideas.home", []).insert(0, _home)
    extensions.setdefault("ideas.activity", []).append(_activity)

