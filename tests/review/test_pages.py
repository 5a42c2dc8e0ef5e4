"""The review pages through the browser's eyes (test client): what each person sees,
what they may do, and what they never see."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from ideas import clock
from ideas.notifications.models import Notification
from ideas.extensions import db
from ideas.review import services
from ideas.review.models import IdeaReview
from tests.review.conftest import full_scorecard, moderator_reviewing, walk

INTERNAL = "internal: budget talk"


def page(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code, response.get_data(as_text=True)[:400])
    return response.get_data(as_text=True)


# --- the manager ------------------------------------------------------------------------

def test_dashboard_shows_ranking_suggestions_capacity_and_is_reached_from_the_challenge(world, client, login):
    login(world.manager)
    challenge_page = page(client, f"/challenges/{world.challenge.id}")
    assert f'/challenges/{world.challenge.id}/review"' in challenge_page
    html = page(client, f"/challenges/{world.challenge.id}/review")
    assert "0 of 2 review places used" in html
    for idea in world.ideas:
        assert idea.title in html
    assert 'name="idea_ids"' in html and "over_capacity_reason" in html
    assert "Rita Reviewer" in html and "Olga Owner" in html  # loads
    assert "How long ideas wait in each stage" in html


def test_shortlisting_from_the_dashboard_within_capacity_then_beyond_with_a_reason(world, client, login, post_form):
    login(world.manager)
    url = f"/challenges/{world.challenge.id}/review"
    response = post_form(url, {"idea_ids": [world.ideas[0].id, world.ideas[1].id], "start_now": "y",
                               "auto_assign": "y"}, action=f"{url}/shortlist")
    assert response.status_code == 302
    reviews = db.session.scalars(select(IdeaReview).order_by(IdeaReview.id)).all()
    assert [r.state for r in reviews] == ["in_review", "in_review"]
    assert all(len(r.assignments) == 2 for r in reviews)
    # The third is beyond the capacity of 2: refused without a reason, the page says why.
    response = post_form(url, {"idea_ids": [world.ideas[2].id]}, action=f"{url}/shortlist")
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "say why the reviewers can take more" in html
    assert 'aria-invalid="true"' in html  # next to the reason field
    response = post_form(url, {"idea_ids": [world.ideas[2].id], "over_capacity_reason": "Two extra reviewers"},
                         action=f"{url}/shortlist")
    assert response.status_code == 302
    assert db.session.scalar(select(IdeaReview).where(IdeaReview.idea_id == world.ideas[2].id)).state == "shortlisted"


def test_other_managers_and_participants_get_no_dashboard(world, client, login, make_user):
    login(make_user(roles=("manager",)))
    page(client, f"/challenges/{world.challenge.id}/review", 403)
    html = page(client, f"/challenges/{world.challenge.id}")
    assert "Review dashboard" not in html


def test_decision_page_shows_scores_normalised_scores_and_disagreement(world, client, login):
    review = walk(world, world.idea, "in_review")
    services.assign_reviewers(review, world.manager, [world.reviewers[0].id, world.reviewers[2].id])
    services.submit_scorecard(review, world.reviewers[0], full_scorecard(world.challenge, 5, 5))
    services.submit_scorecard(review, world.reviewers[2], full_scorecard(world.challenge, 1, 2))
    db.session.commit()
    login(world.manager)
    html = page(client, f"/reviews/{review.id}")
    assert "Review score" in html and "Normalised" in html and "Disagreement" in html
    assert "reviewers disagree" in html
    assert "Rita Reviewer" in html and "Ray Reviewer" in html
    assert "impact: seen it work elsewhere" in html  # the reviewers' comments


def test_deciding_without_a_reason_is_refused_on_the_page(world, client, login, post_form):
    review = walk(world, world.idea, "in_review")
    login(world.manager)
    url = f"/reviews/{review.id}"
    response = post_form(url, {"decision": "declined", "reason": " "}, action=f"{url}/decide")
    assert response.status_code == 422
    assert "needs a reason" in response.get_data(as_text=True)
    assert db.session.get(IdeaReview, review.id, populate_existing=True).state == "in_review"
    response = post_form(url, {"decision": "declined", "reason": "Out of scope", "note": "Legal said no"},
                         action=f"{url}/decide")
    assert response.status_code == 302
    review = db.session.get(IdeaReview, review.id, populate_existing=True)
    assert (review.state, review.decision_reason, review.internal_note) == ("declined", "Out of scope", "Legal said no")


def test_handoff_to_someone_who_is_not_an_owner_is_refused_on_the_page(world, client, login, post_form):
    review = walk(world, world.idea, "accepted")
    login(world.manager)
    url = f"/reviews/{review.id}"
    html = page(client, url)
    assert "Olga Owner" in html and "knows kiosks" in html
    response = post_form(url, {"owner": str(world.reviewers[0].id)}, action=f"{url}/handoff")
    assert response.status_code == 422
    assert "is not an R&amp;D owner" in response.get_data(as_text=True)
    assert db.session.get(IdeaReview, review.id, populate_existing=True).state == "accepted"


def test_handoff_past_the_wip_limit_asks_for_confirmation_on_the_page(world, client, login, post_form):
    owner = world.owner
    services.set_wip_limit(owner, owner, 1)
    walk(world, world.ideas[1], "handed_off")
    review = walk(world, world.idea, "accepted")
    login(world.manager)
    url = f"/reviews/{review.id}"
    response = post_form(url, {"owner": str(owner.id)}, action=f"{url}/handoff")
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "their limit is 1" in html and 'name="confirm"' in html
    response = post_form(url, {"owner": str(owner.id), "confirm": "y"}, action=f"{url}/handoff")
    assert response.status_code == 302
    review = db.session.get(IdeaReview, review.id, populate_existing=True)
    assert review.state == "handed_off" and review.handoffs[-1].over_wip_confirmed


# --- the reviewer -------------------------------------------------------------------------

def test_reviewer_queue_lists_due_and_overdue_and_the_scorecard_validates(world, client, login, post_form):
    from datetime import timedelta

    from ideas import clock

    review = walk(world, world.idea, "in_review")
    services.assign_reviewers(review, world.manager, [world.reviewers[0].id])
    db.session.commit()
    reviewer = world.reviewers[0]
    login(reviewer)
    html = page(client, "/review/queue")
    assert world.idea.title in html and "overdue" not in html
    clock.set_now(clock.now() + timedelta(days=30))
    assert "overdue" in page(client, "/review/queue")

    url = f"/reviews/{review.id}/scorecard"
    impact, feasibility = world.challenge.criteria
    response = post_form(url, {f"rating_{impact.id}": "6", f"comment_{impact.id}": "Big",
                               f"rating_{feasibility.id}": "", f"comment_{feasibility.id}": ""})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Rate every criterion from 1 to 5" in html
    assert "Rate “feasibility” from 1 to 5." in html and "Say why you rate “feasibility” so." in html
    assert not db.session.get(IdeaReview, review.id).assignments[0].entries
    response = post_form(url, {f"rating_{impact.id}": "4", f"comment_{impact.id}": "Big",
                               f"rating_{feasibility.id}": "2", f"comment_{feasibility.id}": "Hard"})
    assert response.status_code == 302
    assignment = db.session.get(IdeaReview, review.id, populate_existing=True).assignments[0]
    assert {e.rating for e in assignment.entries} == {4, 2} and assignment.submitted_at is not None


def test_blind_review_hides_the_authors_from_reviewers_in_every_page(world, client, login):
    world.challenge.blind_review = True
    db.session.commit()
    review = walk(world, world.idea, "in_review")
    services.assign_reviewers(review, world.manager, [world.reviewers[0].id])
    db.session.commit()
    name = world.author.name
    login(world.reviewers[0])
    for url in ("/review/queue", f"/reviews/{review.id}/scorecard", f"/ideas/{world.idea.id}"):
        html = page(client, url)
        assert world.idea.title in html, url
        assert name not in html, url
    assert "blind review" in page(client, f"/reviews/{review.id}/scorecard")


def test_blind_review_hides_the_authors_from_reviewers_in_a_kept_discussion(world, cached, login, make_user):
    """The idea page's conversations are kept for each kind of reader: a participant's copy,
    with the author's name on the author's comments, never reaches a blind reviewer."""
    from ideas.challenges import comments

    world.challenge.blind_review = True
    db.session.commit()
    review = walk(world, world.idea, "in_review")
    services.assign_reviewers(review, world.manager, [world.reviewers[0].id])
    comments.post_comment(world.idea, world.idea.author, "The author answers a question.")
    db.session.commit()
    name, path = world.idea.author.name, f"/ideas/{world.idea.id}"
    participant, reviewer = cached.test_client(), cached.test_client()
    login(make_user(), target=participant)
    login(world.reviewers[0], target=reviewer)  # signing in writes the person: before the pages are kept
    assert name in page(participant, path) and "The author answers a question." in page(participant, path)
    html = page(reviewer, path)
    assert "The author answers a question." in html and "<strong>The idea's author</strong>" in html
    assert name not in html


def test_without_blind_review_the_reviewer_sees_the_authors(world, client, login):
    review = walk(world, world.idea, "in_review")
    services.assign_reviewers(review, world.manager, [world.reviewers[0].id])
    db.session.commit()
    login(world.reviewers[0])
    assert world.author.name in page(client, f"/reviews/{review.id}/scorecard")


def test_blind_review_still_shows_the_authors_to_the_managers(world, client, login):
    world.challenge.blind_review = True
    db.session.commit()
    review = walk(world, world.idea, "in_review")
    login(world.manager)
    assert world.author.name in page(client, f"/reviews/{review.id}")
    assert world.author.name in page(client, f"/ideas/{world.idea.id}")


def test_blind_review_shows_the_authors_to_a_moderator_assigned_as_a_reviewer_on_every_page(world, client, login):
    """Staff learn the authors under blind review: assigned to review the idea too, they
    see them on the scorecard as on the review and idea pages."""
    review, moderator = moderator_reviewing(world)
    login(moderator)
    for url in (f"/reviews/{review.id}/scorecard", f"/reviews/{review.id}", f"/ideas/{world.idea.id}"):
        html = page(client, url)
        assert world.author.name in html and "blind review: the authors are not shown" not in html, url


def test_an_assigned_reviewer_reads_the_review_page_but_not_the_scores(world, client, login):
    review = walk(world, world.idea, "in_review")
    services.assign_reviewers(review, world.manager, [world.reviewers[0].id, world.reviewers[2].id])
    services.submit_scorecard(review, world.reviewers[2], full_scorecard(world.challenge, 5, 5))
    db.session.commit()
    login(world.reviewers[0])  # assigned, no scorecard sent yet
    html = page(client, f"/reviews/{review.id}")
    assert world.idea.title in html and world.author.name in html
    assert f"/reviews/{review.id}/scorecard" in html
    assert "Review score" not in html and "Record the decision" not in html
    assert f"/reviews/{review.id}" in page(client, f"/ideas/{world.idea.id}")
    login(world.reviewers[1])  # not on the idea
    page(client, f"/reviews/{review.id}", 403)


def test_a_reviewer_who_declared_a_conflict_no_longer_reads_the_review_page(world, client, login):
    review = walk(world, world.idea, "in_review")
    services.assign_reviewers(review, world.manager, [world.reviewers[0].id])
    services.declare_conflict(review, world.reviewers[0], "My brother wrote it")
    db.session.commit()
    login(world.reviewers[0])
    page(client, f"/reviews/{review.id}", 403)


def test_blind_review_hides_the_authors_on_the_review_page_from_its_reviewers(world, client, login):
    world.challenge.blind_review = True
    db.session.commit()
    review = walk(world, world.idea, "in_review")
    services.assign_reviewers(review, world.manager, [world.reviewers[0].id])
    db.session.commit()
    login(world.reviewers[0])
    html = page(client, f"/reviews/{review.id}")
    assert world.idea.title in html
    assert world.author.name not in html and "blind review" in html


def test_the_review_log_reads_as_sentences(world, client, login):
    review = walk(world, world.idea, "in_progress")
    login(world.manager)
    log = page(client, f"/reviews/{review.id}")
    log = re.sub(r"\s+", " ", log[log.index('id="timeline"'):])
    for sentence in ("Mona Manager started the review", "Mona Manager accepted the idea",
                     "Mona Manager handed it off to Olga Owner", "Olga Owner acknowledged the handoff",
                     "Olga Owner started work"):
        assert sentence in log, sentence
    assert ">start review<" not in log and ">hand off<" not in log


def test_deciding_with_missing_scorecards_says_so_and_they_are_then_no_longer_needed(world, client, login,
                                                                                     post_form):
    review = walk(world, world.idea, "in_review")
    services.assign_reviewers(review, world.manager, [r.id for r in world.reviewers])
    services.submit_scorecard(review, world.reviewers[0], full_scorecard(world.challenge, 4, 4))
    db.session.commit()
    clock.set_now(clock.now() + timedelta(days=30))  # long past due: the two unsent are overdue
    login(world.manager)
    url = f"/reviews/{review.id}"
    html = re.sub(r"\s+", " ", page(client, url))
    assert "2 of 3 scorecards are not in yet" in html and "overdue" in html
    # One scorecard has no spread: no "0.00 points" of disagreement.
    assert "one scorecard so far" in html and "0.00 points" not in html
    board = re.sub(r"\s+", " ", page(client, f"/challenges/{world.challenge.id}/review"))
    assert "<td>1 of 3</td>" in board  # reviewing: one of three scorecards in
    response = post_form(url, {"decision": "accepted", "reason": "Clearly worth it"}, action=f"{url}/decide")
    assert response.status_code == 302
    html = re.sub(r"\s+", " ", page(client, url))
    reviewers = html[html.index('id="reviewers-list"'):html.index('id="scores"')]
    assert "overdue" not in reviewers and reviewers.count("no longer needed") == 2
    assert "Waiting for" not in html and "not in yet" not in html
    dashboard = page(client, f"/challenges/{world.challenge.id}/review")  # agrees: nobody is overdue
    loads = dashboard[dashboard.index('id="reviewer-loads-caption"'):dashboard.index('id="owner-loads-caption"')]
    assert "<strong>" not in loads
    # Decided: the other two are no longer awaited, so the board no longer counts them as due.
    assert "<td>1 sent</td>" in re.sub(r"\s+", " ", dashboard) and "<td>1 of 3</td>" not in re.sub(r"\s+", " ", dashboard)


def test_reviewers_not_on_the_idea_get_no_scorecard(world, client, login):
    review = walk(world, world.idea, "in_review")
    login(world.reviewers[1])
    page(client, f"/reviews/{review.id}/scorecard", 403)


def test_declaring_a_conflict_on_the_page(world, client, login, post_form):
    review = walk(world, world.idea, "in_review")
    services.assign_reviewers(review, world.manager, [world.reviewers[0].id])
    db.session.commit()
    login(world.reviewers[0])
    url = f"/reviews/{review.id}/scorecard"
    response = post_form(url, {"reason": "My brother wrote it"}, action=f"/reviews/{review.id}/conflict")
    assert response.status_code == 302
    assignment = db.session.get(IdeaReview, review.id, populate_existing=True).assignments[0]
    assert assignment.conflict_reason == "My brother wrote it"
    assert world.idea.title not in page(client, "/review/queue")


# --- the owner ------------------------------------------------------------------------------

def test_the_owners_counts_agree_ideas_to_acknowledge_and_taken_on_add_up_to_in_hand(world, client, login):
    walk(world, world.ideas[0], "handed_off")
    walk(world, world.ideas[1], "acknowledged")
    walk(world, world.ideas[2], "in_progress")
    assert services.wip_of(world.owner.id) == 3  # what the limit counts
    login(world.owner)
    html = re.sub(r"\s+", " ", page(client, "/review/handoffs"))
    assert "3 ideas in hand (1 to acknowledge, 2 taken on)" in html
    assert "To acknowledge (1)" in html and "Taken on (2)" in html
    assert "In hand (2)" not in html


def test_owner_queue_acknowledges_reports_progress_and_closes(world, client, login, post_form):
    review = walk(world, world.idea, "handed_off")
    login(world.owner)
    html = page(client, "/review/handoffs")
    assert world.idea.title in html and "Acknowledge" in html
    response = post_form("/review/handoffs", action=f"/reviews/{review.id}/acknowledge")
    assert response.status_code == 302
    url = f"/reviews/{review.id}"
    assert post_form(url, {"body": "Prototype at gate 4"}, action=f"{url}/progress").status_code == 302
    response = post_form(url, {"outcome": "delivered"}, action=f"{url}/close")
    assert response.status_code == 422  # no reason
    assert post_form(url, {"outcome": "delivered", "reason": "Live in T2"}, action=f"{url}/close").status_code == 302
    review = db.session.get(IdeaReview, review.id, populate_existing=True)
    assert review.state == "delivered" and review.close_reason == "Live in T2"
    assert world.idea.title in page(client, "/review/handoffs")  # recently closed


def test_owner_declines_with_a_reason_and_the_managers_are_told(world, client, login, post_form):
    review = walk(world, world.idea, "handed_off")
    login(world.owner)
    url = f"/reviews/{review.id}"
    response = post_form(url, {"decline-reason": ""}, action=f"{url}/decline-handoff")
    assert response.status_code == 422
    response = post_form(url, {"decline-reason": "No team this year"}, action=f"{url}/decline-handoff")
    assert response.status_code == 302
    assert db.session.get(IdeaReview, review.id, populate_existing=True).state == "handoff_declined"
    told = db.session.scalars(select(Notification).where(Notification.user_id == world.manager.id,
                                                         Notification.kind == "handoff_declined")).all()
    assert len(told) == 1 and "No team this year" in told[0].text


def test_an_owner_sets_their_wip_limit(world, client, login, post_form):
    login(world.owner)
    assert post_form("/review/handoffs", {"wip_limit": "0"}, action="/review/handoffs/wip").status_code == 422
    assert post_form("/review/handoffs", {"wip_limit": "3"}, action="/review/handoffs/wip").status_code == 302
    assert services.wip_limit_of(world.owner.id) == 3


def test_another_owner_cannot_act_on_the_handoff(world, client, login, post_form):
    review = walk(world, world.idea, "handed_off")
    login(world.owners[1])
    page(client, f"/reviews/{review.id}", 403)
    response = post_form("/review/handoffs", action=f"/reviews/{review.id}/acknowledge")
    assert response.status_code == 403


# --- the header ---------------------------------------------------------------------------

@pytest.mark.parametrize(("role", "label", "present"), [
    ("reviewer", "Review queue", True), ("owner", "My handoffs", True),
    ("manager", "Review queue", False), ("manager", "My handoffs", False),
])
def test_nav_items_by_role(role, label, present, client, login, make_user):
    login(make_user(roles=(role,)))
    assert (label in page(client, "/")) is present


# --- the author and everyone else: the timeline on the idea page -----------------------------

def _full_path(world):
    """Shortlisted to delivered, with a declined handoff on the way, scores and notes."""
    review = walk(world, world.idea, "in_review")
    services.assign_reviewers(review, world.manager, [world.reviewers[0].id, world.reviewers[2].id])
    services.submit_scorecard(review, world.reviewers[0], full_scorecard(world.challenge, 5, 4))
    services.submit_scorecard(review, world.reviewers[2], full_scorecard(world.challenge, 2, 3))
    services.decide(review, world.manager, "accepted", "Cuts queues by half", note=INTERNAL)
    services.hand_off(review, world.manager, world.owners[1], note="Otto, this is yours if you want it")
    services.decline_handoff(review, world.owners[1], "Robots team is full")
    services.hand_off(review, world.manager, world.owner)
    services.acknowledge(review, world.owner)
    services.post_progress(review, world.owner, "Prototype at gate 4")
    services.close(review, world.owner, "delivered", "Live in terminal 2")
    db.session.commit()
    return review


SECRETS = [INTERNAL, "Robots team is full", "Otto, this is yours", "impact: seen it work elsewhere",
           "feasibility: seen it work elsewhere", "Rita Reviewer", "Ray Reviewer", "4.50", "2.25"]


def test_the_author_sees_every_step_with_dates_and_public_reasons_never_internal_ones(world, client, login):
    review = _full_path(world)
    login(world.author)  # an external author
    html = page(client, f"/ideas/{world.idea.id}")
    timeline = html[html.index('id="review"'):]
    for label in ("Shortlisted for review", "In review", "Accepted", "Handed to an R&amp;D owner",
                  "Accepted, finding an R&amp;D owner", "Taken on by an R&amp;D owner", "In progress", "Delivered",
                  "Progress update"):
        assert label in timeline, label
    for reason in ("Cuts queues by half", "Prototype at gate 4", "Live in terminal 2", "Olga Owner"):
        assert reason in timeline, reason
    assert len(re.findall(r"<time datetime=", timeline)) == len(review.transitions) + len(review.updates)
    for secret in SECRETS:
        assert secret not in html, secret
    assert "Delivered" in page(client, "/my/ideas")  # the stage on "My ideas"


@pytest.mark.parametrize("who", ["external", "employee", "anonymous"])
def test_other_people_see_the_steps_but_no_reasons_notes_or_scores(who, world, client, login, make_user):
    _full_path(world)
    if who != "anonymous":
        login(make_user(pool=who))
    html = page(client, f"/ideas/{world.idea.id}")
    assert "Delivered" in html and "Prototype at gate 4" in html
    for secret in [*SECRETS, "Cuts queues by half"]:
        assert secret not in html, secret


def test_staff_see_internal_notes_on_the_timeline(world, client, login):
    _full_path(world)
    login(world.manager)
    html = page(client, f"/ideas/{world.idea.id}")
    assert INTERNAL in html and "Robots team is full" in html


def test_the_author_is_notified_of_every_step(world):
    review = _full_path(world)
    texts = db.session.scalars(select(Notification.text).where(Notification.user_id == world.author.id)
                               .order_by(Notification.id)).all()
    labels = ["Shortlisted for review", "In review", "Accepted", "Handed to an R&D owner",
              "Accepted, finding an R&D owner", "Handed to an R&D owner", "Taken on by an R&D owner", "In progress",
              "Progress on", "Delivered"]
    assert len(texts) == len(labels), texts
    for text, label in zip(texts, labels, strict=True):
        assert label in text
    assert not any(secret in text for secret in SECRETS for text in texts)
    assert review.state == "delivered"


def test_followers_read_progress_updates_and_the_end(world, make_user):
    from ideas.notifications.services import follow

    follower = make_user(pool="external")
    follow(follower, "idea", world.idea.id)
    db.session.commit()
    _full_path(world)
    texts = db.session.scalars(select(Notification.text).where(Notification.user_id == follower.id)).all()
    assert any("Prototype at gate 4" in t for t in texts)
    assert any("Delivered" in t for t in texts)
    assert not any("Accepted" in t for t in texts)


def test_dashboard_ranks_each_idea_in_each_pool(world, client, login, make_user):
    from datetime import timedelta

    from ideas import clock
    from ideas.challenges import services as challenges
    from ideas.voting.services import Ballot, cast_vote

    clock.set_now(clock.now() + timedelta(minutes=1))
    challenges.change_phase(world.challenge, world.manager, "voting", "A few more votes")
    old = clock.now() - timedelta(days=90)
    cast_vote(world.ideas[0], make_user(created_at=old), Ballot(reason="Queues are the worst part"))
    cast_vote(world.ideas[0], make_user(pool="external", created_at=old), Ballot(reason="I'd use it"))
    clock.set_now(clock.now() + timedelta(minutes=1))
    challenges.change_phase(world.challenge, world.manager, "review", "Done")
    db.session.commit()
    login(world.manager)
    html = page(client, f"/challenges/{world.challenge.id}/review")
    row = re.search(rf'<tr>\s*<td><input[^>]*value="{world.ideas[0].id}".*?</tr>', html, re.DOTALL).group(0)
    assert "<td>1 / 1</td>" in row and "suggested" in row


def test_dashboard_says_no_votes_only_of_ideas_nobody_voted_on(world, client, login, make_user, monkeypatch):
    from ideas.challenges import services as challenges
    from ideas.review import queues
    from ideas.voting.services import Ballot, cast_vote

    monkeypatch.setattr(queues, "RANKING_SHOWN", 1)  # the ranking shows its top idea only
    clock.set_now(clock.now() + timedelta(minutes=1))
    challenges.change_phase(world.challenge, world.manager, "voting", "A few more votes")
    old = clock.now() - timedelta(days=90)
    for idea, voters in ((world.ideas[0], 2), (world.ideas[1], 1)):
        for _ in range(voters):
            cast_vote(idea, make_user(created_at=old), Ballot(reason="It would shorten the queue at peak"))
    clock.set_now(clock.now() + timedelta(minutes=1))
    challenges.change_phase(world.challenge, world.manager, "review", "Done")
    db.session.commit()
    login(world.manager)
    html = page(client, f"/challenges/{world.challenge.id}/review")

    def row(idea):
        found = re.search(rf'<tr>\s*<td><input[^>]*value="{idea.id}".*?</tr>', html, re.DOTALL)
        return found.group(0) if found else None

    assert "no votes" not in row(world.ideas[0])  # the top of the ranking
    assert row(world.ideas[1]) is None  # voted on, below the ranking shown: not called unvoted
    assert "no votes" in row(world.ideas[2])  # nobody voted on it


def test_ideas_nobody_voted_on_are_neither_ranked_nor_suggested(world, client, login):
    login(world.manager)
    html = page(client, f"/challenges/{world.challenge.id}/review")  # the world's ideas have no votes
    for idea in world.ideas:
        row = re.search(rf'<tr>\s*<td><input[^>]*value="{idea.id}".*?</tr>', html, re.DOTALL).group(0)
        assert "no votes" in row and "suggested" not in row and " checked" not in row
    assert services.suggested_shortlist(world.challenge, world.manager) == []


def test_a_one_pool_challenges_dashboard_shows_its_pools_score_and_no_pool_columns(make_user, client, login):
    from ideas.challenges import services as challenges
    from ideas.voting.models import IdeaScore
    from ideas.voting.services import Ballot, cast_vote
    from tests.challenges.factories import idea_in, open_challenge

    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, pool_mode="employees_only")
    idea = idea_in(challenge, make_user(), title="Shared drive clean-up")
    challenges.change_phase(challenge, manager, "voting", "Enough ideas")
    cast_vote(idea, make_user(created_at=clock.now() - timedelta(days=200)),
              Ballot(reason="A clean shared drive would save every team an hour a week of searching"))
    challenges.change_phase(challenge, manager, "review", "Voting is over")
    db.session.commit()
    login(manager)
    html = page(client, f"/challenges/{challenge.id}/review")
    score = db.session.get(IdeaScore, idea.id)
    assert f"<td>{score.score_employee:.3f}</td>" in html  # the number its ranking page shows
    assert "Rank among employees / externals" not in html and "employees and externals disagree" not in html
    assert "Support (employees)" in html
