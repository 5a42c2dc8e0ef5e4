"""Review pages (blueprint `review`): the manager's dashboard and decision page, the
reviewer's queue and scorecard, the owner's handoffs, and the review panel with the
idea's timeline on the idea page.

Routes parse, check who may act, call one service, then flash and redirect; a refusal
rolls back and shows the page again with the message next to its field.  Every page
works without JavaScript."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from wtforms import SelectChoice

from ideas import clock
from ideas.accounts.models import Role, User
from ideas.accounts.services import find_by_email
from ideas.challenges import permissions
from ideas.challenges import services as challenges
from ideas.extensions import db
from ideas.numbers import id_or_none
from ideas.review import services, timing, workflow
from ideas.review.forms import (
    AssignForm,
    CloseForm,
    DecisionForm,
    HandoffForm,
    ProgressForm,
    ReasonForm,
    ShortlistForm,
    StartForm,
    WipForm,
    scorecard_form_class,
)
from ideas.review.models import IdeaReview
from ideas.review.services import Rating, ReviewError, ScorecardError, WipLimitError
from ideas.review.workflow import ReviewState
from ideas.web import attach_error, roles_required

bp = Blueprint("review", __name__)

S = ReviewState


def _review(review_id: int) -> IdeaReview:
    """The review, or a 404 for someone who may not even know the challenge exists."""
    review = db.session.get(IdeaReview, review_id)
    if review is None:
        abort(404)
    if not services.can_know_of(current_user, review):
        abort(404)
    return review


def _refuse(form, error: ReviewError) -> int:
    db.session.rollback()
    if isinstance(error, ScorecardError):
        for name, message in error.errors.items():
            field = getattr(form, name, None)
            if field is not None:
                field.errors = [*field.errors, message]
        form.form_errors.append(error.message)
    else:
        attach_error(form, error)
    return error.status if error.status != 401 else 403


# --- the manager's dashboard ----------------------------------------------------------

@bp.route("/challenges/<int:challenge_id>/review")
@login_required
def dashboard(challenge_id: int):
    challenge = challenges.get_challenge(challenge_id, current_user)
    if not services.can_manage(current_user, challenge):
        abort(403)
    return _render_dashboard(challenge, ShortlistForm(formdata=None))


def _render_dashboard(challenge, form: ShortlistForm, status: int = 200, chosen: set[int] | None = None):
    board = services.dashboard(challenge, current_user)
    if chosen is None:
        chosen = {s.idea.id for s in board.suggestions}
    return render_template(
        "review/dashboard.html", challenge=challenge, board=board, form=form, chosen=chosen,
        describe=timing.describe, in_days=timing.in_days, author_label=workflow.author_label, now=clock.now(),
        shortlist_open=challenge.phase in services.SHORTLIST_PHASES,
    ), status


@bp.route("/challenges/<int:challenge_id>/review/shortlist", methods=["POST"])
@login_required
def shortlist(challenge_id: int):
    challenge = challenges.get_challenge(challenge_id, current_user)
    if not services.can_manage(current_user, challenge):
        abort(403)
    form = ShortlistForm()
    if not form.validate_on_submit():
        abort(400)
    ids = [int(v) for v in request.form.getlist("idea_ids") if v.isdigit() and len(v) <= 20]
    try:
        reviews, short_of = services.shortlist_for_review(challenge, current_user, ids, form.over_capacity_reason.data,
                                                          start=form.start_now.data, assign=form.auto_assign.data)
    except ReviewError as error:
        status = _refuse(form, error)
        return _render_dashboard(challenge, form, status, chosen=set(ids))
    count = len(reviews)
    message = f"{count} idea{'' if count == 1 else 's'} shortlisted; the authors are told."
    if form.start_now.data:
        message += " Review has started."
    flash(message, "success")
    if short_of:
        flash(f"Not enough reviewers without a conflict of interest: {short_of} place"
              f"{'' if short_of == 1 else 's'} still to fill by hand.", "warning")
    return redirect(url_for("review.dashboard", challenge_id=challenge_id))


# --- one review: the decision page (managers) and the handoff page (owners) --------------

@bp.route("/reviews/<int:review_id>")
@login_required
def detail(review_id: int):
    review = _review(review_id)
    if not services.can_open_review(current_user, review):
        abort(403)
    return _render_detail(review)


def _handoff_form(review: IdeaReview, formdata=True) -> tuple[HandoffForm, list]:
    form = HandoffForm() if formdata else HandoffForm(formdata=None)
    suggestions = services.suggested_owners(review, limit=50)
    form.owner.choices = [SelectChoice(str(s.owner.id), _owner_label(s)) for s in suggestions]
    return form, suggestions


def _owner_label(s) -> str:
    label = f"{s.owner.name} — {s.load} of {s.limit} in hand"
    if s.matches:
        label += f"; knows {', '.join(s.matches)}"
    if s.over_limit:
        label += " (at the limit)"
    return label


def _render_detail(review: IdeaReview, status: int = 200, **forms):
    manager = services.can_manage(current_user, review.challenge)
    owner = workflow.Role.OWNER in services.actor_roles(review, current_user)
    sheet = services.score_sheet(review)
    handoff_form, suggestions = _handoff_form(review, formdata=False)
    defaults = {
        "decision_form": DecisionForm(formdata=None),
        "assign_form": AssignForm(formdata=None),
        "start_form": StartForm(formdata=None),
        "handoff_form": handoff_form,
        "park_form": ReasonForm(formdata=None, prefix="park"),
        "decline_form": ReasonForm(formdata=None, prefix="decline"),
        "progress_form": ProgressForm(formdata=None),
        "close_form": CloseForm(formdata=None),
    }
    defaults.update(forms)
    return render_template(
        "review/detail.html", review=review, idea=review.idea, challenge=review.challenge,
        is_manager=manager, is_owner=owner, sheet=sheet if manager else None,
        review_score=sheet.scores.score, suggestions=suggestions,
        criteria=review.challenge.criteria, timeline=services.timeline(review, current_user),
        allowed=workflow.allowed_targets(review.state, services.actor_roles(review, current_user)),
        author_label=workflow.author_label, now=clock.now(), S=S,
        conflicts=services.conflicts(review.idea, [a.reviewer_id for a in review.assignments]) if manager else {},
        # A reviewer opens this page too: on a blind review they never learn the authors,
        # and the review score (the other reviewers' scores in one) stays the managers' and owners'.
        hide_authors=services.hides_authors(current_user, review),
        show_score=manager or services.handed_to(review, current_user),
        staff=services.can_see_internal(current_user, review),
        assignment=services.assignment_of(review, current_user),
        can_open_idea=permissions.can_see_idea(current_user, review.idea),
        **defaults,
    ), status


def _manager_review(review_id: int) -> IdeaReview:
    review = _review(review_id)
    if not services.can_manage(current_user, review.challenge):
        abort(403)
    return review


def _back(review: IdeaReview, anchor: str = ""):
    return redirect(url_for("review.detail", review_id=review.id) + (f"#{anchor}" if anchor else ""))


@bp.route("/reviews/<int:review_id>/start", methods=["POST"])
@login_required
def start(review_id: int):
    review = _manager_review(review_id)
    form = StartForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        added = services.send_to_review(review, current_user, assign=form.auto_assign.data)
    except ReviewError as error:
        status = _refuse(form, error)
        return _render_detail(review, status, start_form=form)
    flash(f"Review has started; {len(added)} reviewer{'' if len(added) == 1 else 's'} assigned.", "success")
    return _back(review, "reviewers")


@bp.route("/reviews/<int:review_id>/reviewers", methods=["POST"])
@login_required
def assign(review_id: int):
    review = _manager_review(review_id)
    form = AssignForm()
    if not form.validate_on_submit():
        return _render_detail(review, 422, assign_form=form)
    try:
        emails = [e.strip() for e in (form.reviewers.data or "").replace(";", ",").split(",") if e.strip()]
        if emails:
            people = []
            for email in emails:
                person = find_by_email(email)
                if person is None:
                    raise ReviewError(f"Nobody is registered as {email}.", field="reviewers")
                people.append(person.id)
            added = services.assign_reviewers(review, current_user, people)
        else:
            added = services.assign_reviewers(review, current_user, count=form.count.data)
    except ReviewError as error:
        status = _refuse(form, error)
        return _render_detail(review, status, assign_form=form)
    if added:
        flash(f"{len(added)} reviewer{'' if len(added) == 1 else 's'} assigned and told.", "success")
    else:
        flash("Nobody new was assigned: the idea has its reviewers, or nobody else is free of a conflict.", "info")
    return _back(review, "reviewers")


@bp.route("/reviews/<int:review_id>/decide", methods=["POST"])
@login_required
def decide(review_id: int):
    review = _manager_review(review_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        return _render_detail(review, 422, decision_form=form)
    try:
        services.decide(review, current_user, form.decision.data or "", form.reason.data or "",
                        form.note.data or "")
    except ReviewError as error:
        status = _refuse(form, error)
        return _render_detail(review, status, decision_form=form)
    flash(f"Decided: {workflow.author_label(review.state).lower()}. The author is told, with your reason.",
          "success")
    return _back(review)


@bp.route("/reviews/<int:review_id>/revisit", methods=["POST"])
@login_required
def revisit(review_id: int):
    review = _manager_review(review_id)
    form = StartForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.revisit(review, current_user)
    except ReviewError as error:
        status = _refuse(form, error)
        return _render_detail(review, status, start_form=form)
    flash("The idea is back in review.", "success")
    return _back(review)


@bp.route("/reviews/<int:review_id>/handoff", methods=["POST"])
@login_required
def handoff(review_id: int):
    review = _manager_review(review_id)
    form, _ = _handoff_form(review)
    if not form.validate_on_submit():
        return _render_detail(review, 422, handoff_form=form)
    owner_id = id_or_none(form.owner.data)
    owner = db.session.get(User, owner_id) if owner_id is not None else None
    try:
        services.hand_off(review, current_user, owner, confirm=bool(form.confirm.data), note=form.note.data or "",
                          working_days=form.working_days.data if form.working_days.data is not None
                          else timing.ACK_WORKING_DAYS)
    except ReviewError as error:
        status = _refuse(form, error)
        return _render_detail(review, status, handoff_form=form, wip_refused=isinstance(error, WipLimitError))
    flash(f"Handed to {owner.name}, who must acknowledge by {review.ack_due_at:%A %d %b %Y}.", "success")
    return _back(review, "handoff")


@bp.route("/reviews/<int:review_id>/park", methods=["POST"])
@login_required
def park(review_id: int):
    """After an owner declined: nobody else can take it, so it is parked with a reason."""
    review = _manager_review(review_id)
    form = ReasonForm(prefix="park")
    if not form.validate_on_submit():
        return _render_detail(review, 422, park_form=form)
    try:
        services.decide(review, current_user, "parked", form.reason.data or "")
    except ReviewError as error:
        status = _refuse(form, error)
        return _render_detail(review, status, park_form=form)
    flash("The idea is parked; the author is told, with your reason.", "success")
    return _back(review)


# --- the owner's actions ---------------------------------------------------------------

def _owner_review(review_id: int) -> IdeaReview:
    review = _review(review_id)
    if not services.can_act_as_owner(current_user, review):
        abort(403)
    return review


@bp.route("/reviews/<int:review_id>/acknowledge", methods=["POST"])
@login_required
def acknowledge(review_id: int):
    review = _owner_review(review_id)
    form = StartForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.acknowledge(review, current_user)
    except ReviewError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _render_detail(review, error.status)
    flash("Acknowledged: the idea is yours, and its author knows who has it.", "success")
    return _back(review)


@bp.route("/reviews/<int:review_id>/decline-handoff", methods=["POST"])
@login_required
def decline_handoff(review_id: int):
    review = _owner_review(review_id)
    form = ReasonForm(prefix="decline")
    if not form.validate_on_submit():
        return _render_detail(review, 422, decline_form=form)
    try:
        services.decline_handoff(review, current_user, form.reason.data or "")
    except ReviewError as error:
        status = _refuse(form, error)
        return _render_detail(review, status, decline_form=form)
    flash("Declined. The managers are told why, and will find another owner.", "info")
    return redirect(url_for("review.handoffs"))


@bp.route("/reviews/<int:review_id>/progress", methods=["POST"])
@login_required
def progress(review_id: int):
    review = _owner_review(review_id)
    form = ProgressForm()
    if not form.validate_on_submit():
        return _render_detail(review, 422, progress_form=form)
    try:
        services.post_progress(review, current_user, form.body.data or "")
    except ReviewError as error:
        status = _refuse(form, error)
        return _render_detail(review, status, progress_form=form)
    flash("Posted. The author and the idea's followers are told.", "success")
    return _back(review, "timeline")


@bp.route("/reviews/<int:review_id>/close", methods=["POST"])
@login_required
def close(review_id: int):
    review = _owner_review(review_id)
    form = CloseForm()
    if not form.validate_on_submit():
        return _render_detail(review, 422, close_form=form)
    try:
        services.close(review, current_user, form.outcome.data or "", form.reason.data or "")
    except ReviewError as error:
        status = _refuse(form, error)
        return _render_detail(review, status, close_form=form)
    flash(f"Closed as {review.state}. The author and followers are told.", "success")
    return _back(review)


# --- the reviewer's queue and scorecard ---------------------------------------------------

@bp.route("/review/queue")
@roles_required(Role.REVIEWER)
def queue():
    return render_template("review/queue.html", queue=services.reviewer_queue(current_user), now=clock.now())


def _reviewer_review(review_id: int):
    review = _review(review_id)
    assignment = services.assignment_of(review, current_user)
    if assignment is None:
        abort(403)
    return review, assignment


@bp.route("/reviews/<int:review_id>/scorecard", methods=["GET", "POST"])
@login_required
def scorecard(review_id: int):
    review, assignment = _reviewer_review(review_id)
    criteria = review.challenge.criteria
    form_class = scorecard_form_class(criteria)
    status = 200
    if request.method == "POST":
        form = form_class()
        if form.validate_on_submit():
            ratings = {}
            for c in criteria:
                raw = getattr(form, f"rating_{c.id}").data
                ratings[c.id] = Rating(id_or_none(raw),
                                       getattr(form, f"comment_{c.id}").data or "")
            try:
                services.submit_scorecard(review, current_user, ratings)
            except ReviewError as error:
                status = _refuse(form, error)
            else:
                flash("Your scorecard is sent. You may change it until the managers decide.", "success")
                return redirect(url_for("review.queue"))
        else:
            status = 422
    else:
        form = form_class(formdata=None)
        for entry in assignment.entries:
            getattr(form, f"rating_{entry.criterion_id}").data = str(entry.rating)
            getattr(form, f"comment_{entry.criterion_id}").data = entry.comment
    blocked = services.conflicts(review.idea, [current_user.id]).get(current_user.id, [])
    return render_template(
        "review/scorecard.html", review=review, idea=review.idea, challenge=review.challenge,
        assignment=assignment, form=form, criteria=criteria, conflict_form=ReasonForm(formdata=None),
        hide_authors=services.hides_authors(current_user, review), blocked=blocked, now=clock.now(),
        can_open_idea=permissions.can_see_idea(current_user, review.idea),
    ), status


@bp.route("/reviews/<int:review_id>/conflict", methods=["POST"])
@login_required
def conflict(review_id: int):
    review, _ = _reviewer_review(review_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.declare_conflict(review, current_user, form.reason.data or "")
    except ReviewError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("review.scorecard", review_id=review_id) + "#conflict")
    flash("Thank you: you are off this idea, and the managers will ask someone else.", "info")
    return redirect(url_for("review.queue"))


# --- the owner's queue ----------------------------------------------------------------------

@bp.route("/review/handoffs")
@roles_required(Role.OWNER)
def handoffs():
    limit = services.wip_limit_of(current_user.id)
    form = WipForm(formdata=None)
    form.wip_limit.data = limit
    return _render_handoffs(form)


def _render_handoffs(form: WipForm, status: int = 200):
    return render_template(
        "review/handoffs.html", queue=services.owner_queue(current_user), wip=services.wip_of(current_user.id),
        limit=services.wip_limit_of(current_user.id), form=form, decline_form=ReasonForm(formdata=None,
                                                                                          prefix="decline"),
        now=clock.now(),
    ), status


@bp.route("/review/handoffs/wip", methods=["POST"])
@roles_required(Role.OWNER)
def set_wip():
    form = WipForm()
    if not form.validate_on_submit():
        return _render_handoffs(form, 422)
    try:
        services.set_wip_limit(current_user, current_user, form.wip_limit.data)
    except ReviewError as error:
        status = _refuse(form, error)
        return _render_handoffs(form, status)
    flash(f"Your limit is {form.wip_limit.data} ideas in hand. Managers are asked to confirm beyond it.",
          "success")
    return redirect(url_for("review.handoffs"))


# --- on other pages: the idea page, the challenge page, "My ideas", the header ---------------

def idea_panel(idea, viewer) -> dict | None:
    """The review panel on the idea page: the stage and the timeline of every step."""
    review = services.review_of(idea)
    if review is None:
        return None
    context = {
        "template": "review/_panel.html",
        "review": review,
        "review_timeline": services.timeline(review, viewer),
        "review_label": workflow.author_label(review.state),
        "review_staff": services.can_see_internal(viewer, review),
        "review_manage": services.can_open_review(viewer, review),
        "review_assignment": services.assignment_of(review, viewer),
    }
    if services.hides_authors(viewer, review):
        context["hide_authors"] = True
    return context


def _challenge_links(challenge, viewer):
    if challenge.published_at is None or not services.can_manage(viewer, challenge):
        return []
    if challenge.phase not in services.SHORTLIST_PHASES and not services.shortlisted_count(challenge):
        return []
    return [{"label": "Review dashboard", "url": url_for("review.dashboard", challenge_id=challenge.id)}]


def _nav():
    if not current_user.is_authenticated:
        return []
    items = []
    if current_user.has_role(Role.REVIEWER):
        items.append({"label": "Review queue", "endpoint": "review.queue"})
    if current_user.has_role(Role.OWNER):
        items.append({"label": "My handoffs", "endpoint": "review.handoffs"})
    return items


@bp.record_once
def _register(state):
    extensions = state.app.extensions
    extensions.setdefault("ideas.idea_panels", []).append(idea_panel)
    extensions.setdefault("ideas.challenge_actions", []).append(_challenge_links)
    extensions.setdefault("ideas.idea_stage", []).append(services.stage_of)
    extensions.setdefault("ideas.nav", []).append(_nav)

