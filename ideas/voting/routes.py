"""Voting pages (blueprint `voting`): the vote on an idea, the voting list, pairs,
rankings, the manager's breakdown and policy changes."""
from __future__ import annotations

import random

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from ideas import clock
from ideas.challenges import forms as challenge_forms
from ideas.challenges import services as challenges
from ideas.challenges.models import Idea, IdeaStatus
from ideas.errors import ChallengeError, NotYetError
from ideas.extensions import db
from ideas.numbers import db_int
from ideas.voting import moves, permissions, services, weighting
from ideas.voting.forms import PairForm, PolicyForm, vote_form_class
from ideas.voting.services import Ballot
from ideas.web import attach_error

bp = Blueprint("voting", __name__)
LIST_SIZE = 30


def _ratings_from(form, challenge) -> dict[int, int]:
    ratings = {}
    for criterion in challenge.criteria:
        value = getattr(form, f"rating_{criterion.id}").data
        if value is not None:
            ratings[criterion.id] = value
    return ratings


def idea_panel(idea: Idea, viewer) -> dict:
    """The voting panel of the idea page; opening the page is the server-side view."""
    if idea.status == IdeaStatus.PUBLISHED:
        services.record_view(idea, viewer)
    challenge = idea.challenge
    vote = services.my_vote(idea, viewer)  # read once: the form, the explanation and the counts need it
    may_vote = services.can_vote(viewer, idea)
    form = g.pop("refused_vote_form", None)  # a refused vote, as it was sent
    if form is None and (vote is not None or may_vote):
        form = vote_form_class(challenge.criteria)(formdata=None)
        if vote is not None:
            form.reason.data = vote.reason
            for rating in vote.ratings:
                field = getattr(form, f"rating_{rating.criterion_id}", None)
                if field is not None:
                    field.data = rating.rating
    return {
        "template": "voting/_panel.html",
        "vote": vote,
        "vote_form": form,
        "may_vote": may_vote,
        "explanation": services.explain(vote) if vote is not None else None,
        "scores": services.scores_of(idea) if services.counts_visible(idea, viewer, vote) else None,
        "can_see_weights": permissions.can_see_weights(viewer, challenge),
    }


@bp.route("/ideas/<int:idea_id>/vote", methods=["POST"])
@login_required
def vote(idea_id: int):
    idea = challenges.get_idea(idea_id, current_user)
    form = vote_form_class(idea.challenge.criteria)()
    if not form.validate_on_submit():
        return _refused_vote(idea, form)
    try:
        value = int(form.value.data or 1)
    except ValueError:
        value = 0
    try:
        cast = services.cast_vote(idea, current_user, Ballot(value=value, reason=form.reason.data or "",
                                                             ratings=_ratings_from(form, idea.challenge)),
                                  network=services.network_of_request(request.remote_addr, request.headers))
    except ChallengeError as error:
        db.session.rollback()
        attach_error(form, error)
        return _refused_vote(idea, form, error.status if error.status != 401 else 403)
    services.observe_vote_address(request.remote_addr, current_user.id)
    if cast.weight >= 0.995:
        flash("Your vote is counted in full.", "success")
    else:
        flash(f"Your vote is counted with weight {weighting.weight_words(cast.weight)}: below is why, "
              "and what would raise it.", "success")
    return redirect(url_for("challenges.idea", idea_id=idea_id) + "#vote")


def _refused_vote(idea: Idea, form, status: int = 422):
    """The idea page again, the vote form as it was sent with each message next to its
    field: nothing typed is lost (a redirect would drop the reason and the ratings)."""
    earlier = services.my_vote(idea, current_user)
    outcome = ("Your vote was not changed: your earlier vote still counts as it was" if earlier is not None
               else "Your vote was not counted")
    if services.can_vote(current_user, idea):
        flash(f"{outcome}. See the message in the vote form.", "error")
    else:  # the form is not on the page: the refusal is all there is to say
        flash(" ".join(form.form_errors) or f"{outcome}.", "error")
    g.refused_vote_form = form
    page = current_app.view_functions["challenges.idea"](idea_id=idea.id)
    return page, status


@bp.route("/ideas/<int:idea_id>/vote/withdraw", methods=["POST"])
@login_required
def withdraw(idea_id: int):
    idea = challenges.get_idea(idea_id, current_user)
    from ideas.accounts.forms import EmptyForm

    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        removed = services.withdraw_vote(idea, current_user)
    except ChallengeError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        flash("Your vote is withdrawn." if removed else "You had not voted on this idea.", "info")
    return redirect(url_for("challenges.idea", idea_id=idea_id) + "#vote")


@bp.route("/challenges/<int:challenge_id>/vote")
def ballot(challenge_id: int):
    """The voting list: ideas in an order of their own for each person, so early
    popularity does not decide what gets read (and so voted)."""
    challenge = challenges.get_challenge(challenge_id, current_user)
    ids = list(db.session.scalars(
        challenges.visible_ideas_query(current_user, challenge).where(Idea.status == IdeaStatus.PUBLISHED)
        .with_only_columns(Idea.id).order_by(Idea.id).limit(5000)))
    if challenge.randomise_order:
        seed = f"{getattr(current_user, 'id', 0)}:{challenge.id}:{clock.now().date()}"
        random.Random(seed).shuffle(ids)
    page = max(1, request.args.get("page", 1, type=db_int))
    chunk = ids[(page - 1) * LIST_SIZE: page * LIST_SIZE]
    found = {i.id: i for i in db.session.scalars(select(Idea).where(Idea.id.in_(chunk)))}
    voted = set()
    if current_user.is_authenticated and chunk:
        from ideas.voting.models import Vote

        voted = set(db.session.scalars(select(Vote.idea_id).where(Vote.voter_id == current_user.id,
                                                                   Vote.idea_id.in_(chunk))))
    return render_template("voting/ballot.html", challenge=challenge, ideas=[found[i] for i in chunk if i in found],
                           voted=voted, page=page, more=len(ids) > page * LIST_SIZE,
                           policy=services.active_policy(challenge))


@bp.route("/challenges/<int:challenge_id>/pairs", methods=["GET", "POST"])
@login_required
def pairs(challenge_id: int):
    challenge = challenges.get_challenge(challenge_id, current_user)
    form = PairForm()
    if form.validate_on_submit():
        try:
            services.answer_pair(challenge, current_user, db_int(form.pair.data), form.answer.data)
        except (ChallengeError, ValueError) as error:
            db.session.rollback()
            flash(getattr(error, "message", "This pair was not shown to you."), "error")
        else:
            flash("Thank you. Here is the next pair.", "success")
        return redirect(url_for("voting.pairs", challenge_id=challenge_id))
    try:
        pair = services.next_pair(challenge, current_user)
    except ChallengeError as error:
        db.session.rollback()
        return render_template("voting/pairs.html", challenge=challenge, pair=None, message=error.message,
                               form=form), error.status
    left, right = db.session.get(Idea, pair.left_id), db.session.get(Idea, pair.right_id)
    form.pair.data = str(pair.id)
    return render_template("voting/pairs.html", challenge=challenge, pair=pair, left=left, right=right, form=form,
                           message=None)


def _pools_and_choice(challenge) -> tuple[list[str], str]:
    """The rankings shown to this person and the one asked for (the first when unknown)."""
    pools = services.ranking_pools(challenge, current_user)
    pool = request.args.get("pool", pools[0])
    return pools, pool if pool in pools else pools[0]


def _ranking_opens(challenge) -> str:
    """When a hidden ranking will be shown: the day voting ends, when it is still ahead."""
    ends = challenge.review_at
    when = (f"when voting ends, on {ends.strftime('%d %b %Y, %H:%M UTC')}" if ends and ends > clock.now()
            else "when voting ends")
    now = {"voting": "This challenge is voting now", "submission": "This challenge is taking ideas now",
           "draft": "This challenge has not opened yet"}.get(challenge.phase)
    lead = f"{now}. " if now else ""
    return f"{lead}The ranking is shown {when}, so that early votes do not steer later ones."


@bp.route("/challenges/<int:challenge_id>/ranking")
def ranking(challenge_id: int):
    challenge = challenges.get_challenge(challenge_id, current_user)
    if not permissions.can_see_ranking(current_user, challenge):
        raise NotYetError(_ranking_opens(challenge))
    pools, pool = _pools_and_choice(challenge)
    page = max(1, min(request.args.get("page", 1, type=db_int), 1000))
    lines = services.ranking_page(challenge, current_user, pool, limit=50, offset=(page - 1) * 50)
    return render_template("voting/ranking.html", challenge=challenge, lines=lines, pool=pool, pools=pools,
                           page=page, weights=services.pool_weights(challenge),
                           policy=services.active_policy(challenge),
                           can_see_weights=permissions.can_see_weights(current_user, challenge))


@bp.route("/challenges/<int:challenge_id>/ranking/compare")
@login_required
def compare(challenge_id: int):
    """For managers: raw counts against weighted ranks, who rose, who fell, and why."""
    challenge = challenges.get_challenge(challenge_id, current_user)
    if not permissions.can_see_weights(current_user, challenge):
        abort(403)
    pools, pool = _pools_and_choice(challenge)
    return render_template("voting/compare.html", challenge=challenge, pool=pool, pools=pools,
                           comparison=services.raw_vs_weighted(challenge, current_user, pool),
                           policy=services.active_policy(challenge), network_off=services.network_rule_off())


@bp.route("/ideas/<int:idea_id>/votes")
@login_required
def breakdown(idea_id: int):
    idea = challenges.get_idea(idea_id, current_user)
    if not permissions.can_see_weights(current_user, idea.challenge):
        abort(403)
    return render_template("voting/breakdown.html", idea=idea, breakdown=services.breakdown(idea),
                           scores=services.scores_of(idea), policy=services.active_policy(idea.challenge),
                           kinds=KIND_WORDS, network_off=services.network_rule_off())


KIND_WORDS = {"support": "support only", "reason": "with a reason", "ratings": "with criteria ratings",
              "pairwise": "pairwise answer"}


@bp.route("/challenges/<int:challenge_id>/voting-policy", methods=["GET", "POST"])
@login_required
def change_policy(challenge_id: int):
    challenge = challenges.get_challenge(challenge_id, current_user)
    if not permissions.can_change_voting_policy(current_user, challenge):
        abort(403)
    form = PolicyForm()
    form.voting_policy.choices = [choice for choice in challenge_forms.POLICIES
                                  if choice.value in weighting.POLICIES and choice.value != challenge.voting_policy]
    status = 200
    if form.validate_on_submit():
        try:
            services.change_policy(challenge, current_user, form.voting_policy.data, form.reason.data)
        except ChallengeError as error:
            db.session.rollback()
            form.reason.errors = [*form.reason.errors, error.message]
            status = error.status
        else:
            flash("The policy is changed, every weight recomputed, and the voters told.", "success")
            return redirect(url_for("challenges.detail", challenge_id=challenge_id))
    elif form.errors:
        status = 422
    from ideas.voting.models import PolicyChange

    log = db.session.scalars(select(PolicyChange).where(PolicyChange.challenge_id == challenge.id)
                             .order_by(PolicyChange.id)).all()
    return render_template("voting/policy.html", challenge=challenge, form=form, log=log,
                           locked=services.policy_locked(challenge)), status


@bp.route("/my/vote-moves", methods=["GET", "POST"])
@login_required
def vote_moves():
    """The supporter's answers to merges: move each vote to the surviving idea, or keep it."""
    if request.method == "POST":
        form = challenge_forms.AnswerInviteForm()
        if not form.validate_on_submit() or form.answer.data not in ("move", "keep"):
            abort(400)
        try:
            moves.answer_move(request.form.get("request", type=db_int) or 0, current_user, form.answer.data == "move")
        except ChallengeError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            flash("Your vote moved." if form.answer.data == "move"
                  else "Your vote stays on the merged idea, where it no longer counts.", "success")
        return redirect(url_for("voting.vote_moves"))
    pending = moves.pending_moves(current_user)
    ideas_by_id = {i.id: i for i in db.session.scalars(
        select(Idea).where(Idea.id.in_({m.from_idea_id for m in pending} | {m.to_idea_id for m in pending})))}
    return render_template("voting/vote_moves.html", moves=pending, ideas=ideas_by_id,
                           form=challenge_forms.AnswerInviteForm(formdata=None))


def _challenge_links(challenge, viewer):
    if challenge.published_at is None:
        return []
    links = []
    if challenge.voting_policy == "pairwise":
        if challenge.phase == "voting" and getattr(viewer, "is_authenticated", False):
            links.append({"label": "Compare ideas", "url": url_for("voting.pairs", challenge_id=challenge.id)})
    elif challenge.phase == "voting":
        links.append({"label": "Vote", "url": url_for("voting.ballot", challenge_id=challenge.id)})
    if permissions.can_see_ranking(viewer, challenge):
        links.append({"label": "Ranking", "url": url_for("voting.ranking", challenge_id=challenge.id)})
    if permissions.can_change_voting_policy(viewer, challenge):
        links.append({"label": "Voting policy", "url": url_for("voting.change_policy", challenge_id=challenge.id)})
    return links


@bp.app_template_filter("weight")
def _weight(value: float) -> str:
    return weighting.weight_words(value)


@bp.record_once
def _register(state):
    extensions = state.app.extensions
    extensions.setdefault("ideas.idea_panels", []).append(idea_panel)
    extensions.setdefault("ideas.challenge_actions", []).append(_challenge_links)
