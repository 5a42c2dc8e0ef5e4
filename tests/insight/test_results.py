"""Results of a closed challenge, track records on profiles, authors told by e-mail,
How it works."""
from __future__ import annotations

from ideas.challenges import services as challenges
from ideas.extensions import db
from ideas.review import services as review
from tests.challenges.factories import idea_in, open_challenge
from tests.conftest import csrf_token
from tests.insight.conftest import NOW, at


def _close(built):
    at(NOW)
    challenges.change_phase(built["challenge"], built["manager"], "closed", "Done")
    db.session.commit()


def test_results_show_rankings_decisions_with_public_reasons_only(built, client, login, make_user):
    _close(built)
    challenge = built["challenge"]
    challenge.prize = "A trip to the **pilot** site."
    # The owner turns nothing down here; add an internal reason to make sure it never shows.
    db.session.commit()
    outsider = make_user(pool="external", name="Curious Outsider")
    login(outsider)
    page = client.get(f"/challenges/{challenge.id}/results")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert all(f'data-ranking="{pool}"' in html for pool in ("blended", "employee", "external"))
    assert "Too costly for now" in html and "Saves the most time" in html  # reasons given to the authors
    assert "internal: budget talk" not in html  # the internal note never
    assert "Live in Terminal 2" in html and "Olga Owner" in html  # delivered, by whom
    assert "<strong>pilot</strong>" in html  # the prize
    assert "Hidden" not in html
    # A blended score above both pool scores is explained where it shows.
    assert "A blended score can therefore be higher than both pool scores" in html


def test_results_wait_for_the_close_and_respect_the_audience(built, client):
    at(NOW)
    running = open_challenge(built["manager"], phase="voting", title="Still running")
    page = client.get(f"/challenges/{running.id}/results")
    assert page.status_code == 200 and "published when the challenge closes" in page.get_data(as_text=True)
    assert "Rankings" not in page.get_data(as_text=True)
    draft = open_challenge(built["manager"], publish=False)
    assert client.get(f"/challenges/{draft.id}/results").status_code == 404
    staff_only = open_challenge(built["manager"], phase="closed", pool_mode="employees_only")
    assert client.get(f"/challenges/{staff_only.id}/results").status_code == 404  # outsiders are not its audience


def test_track_records_on_profiles(built, client):
    _close(built)
    emp_a = built["ideas"]["E1"].author
    html = client.get(f"/people/{emp_a.id}").get_data(as_text=True)
    assert "Track record" in html
    assert "Of 2 ideas:" in html and "<strong>2</strong> shortlisted, <strong>1</strong> accepted, " \
        "<strong>1</strong> delivered" in html
    assert "Delivered" in html and "In review" in html
    olga = built["olga"]
    html = client.get(f"/people/{olga.id}").get_data(as_text=True)
    assert "As an R&amp;D owner" in html
    assert "Took on <strong>1</strong> idea, delivered <strong>1</strong>, 0 in hand." in html
    assert "24 hours on average" in html


def test_track_record_counts_leave_out_what_the_viewer_cannot_see(built, client, login, make_user):
    """An owner's and an author's counts cover only the ideas the viewer may see: a
    staff-only challenge's handoff is not counted for an external viewer."""
    _close(built)
    manager, olga = built["manager"], built["olga"]
    staff_only = open_challenge(manager, phase="submission", pool_mode="employees_only", title="Staff canteen",
                                review_capacity=5, reviewers_per_idea=1)
    author = built["ideas"]["E1"].author
    secret = idea_in(staff_only, author, title="Secret menu")
    challenges.change_phase(staff_only, manager, "voting", "Enough ideas")
    challenges.change_phase(staff_only, manager, "review", "Voting is over")
    [taken] = review.shortlist_ideas(staff_only, manager, [secret.id])
    review.start_review(taken, manager)
    review.decide(taken, manager, "accepted", "Worth trying")
    review.hand_off(taken, manager, olga)
    review.acknowledge(taken, olga)
    db.session.commit()

    def profile(person):
        return client.get(f"/people/{person.id}").get_data(as_text=True)

    employee = make_user(name="Curious Colleague")
    login(employee)
    assert "Took on <strong>2</strong> ideas, delivered <strong>1</strong>, 1 in hand." in profile(olga)
    assert "Secret menu" in profile(olga)
    assert "Of 3 ideas:" in profile(author) and "<strong>3</strong> shortlisted" in profile(author)

    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(make_user(pool="external", name="Curious Outsider"))
    html = profile(olga)
    assert "Took on <strong>1</strong> idea, delivered <strong>1</strong>, 0 in hand." in html
    assert "Secret menu" not in html and "Staff canteen" not in html
    html = profile(author)
    assert "Of 2 ideas:" in html and "<strong>2</strong> shortlisted, <strong>1</strong> accepted" in html
    assert "Secret menu" not in html


def test_authors_hear_by_email_about_their_own_ideas(built, outbox):
    author = built["ideas"]["X1"].author
    mails = [m for m in outbox(author.email)]
    subjects = [m.subject for m in mails]
    assert "Your idea “X1”: Shortlisted for review" in subjects
    assert "Your idea “X1”: Accepted" in subjects
    assert "Your idea “X1”: Handed to an R&D owner" in subjects
    assert not any("In review" in s for s in subjects)  # starting the review is site-only
    accepted = next(m for m in mails if m.subject.endswith("Accepted"))
    assert "Customers asked for it" in accepted.body
    emp_b = built["ideas"]["E3"].author
    declined = next(m for m in outbox(emp_b.email) if m.subject.endswith("Declined"))
    assert "Too costly for now" in declined.body and "budget talk" not in declined.body


def test_progress_reaches_the_author_by_email_and_not_twice_in_the_digest(built, outbox, make_user):
    from ideas.notifications import services as notifications

    at(NOW)
    author = built["ideas"]["E1"].author
    x1 = built["reviews"]["X1"]
    review.acknowledge(x1, built["olga"])
    review.post_progress(x1, built["olga"], "A first prototype is at gate 4.")
    db.session.commit()
    x_author = built["ideas"]["X1"].author
    assert any(m.subject == "Progress on your idea “X1”" and "gate 4" in m.body for m in outbox(x_author.email))
    x_author.digest = "daily"
    db.session.commit()
    before = len(outbox(x_author.email))
    notifications.send_digests(NOW)
    db.session.commit()
    assert len(outbox(x_author.email)) == before  # everything was mailed already
    assert author.idea_mail


def test_an_author_can_turn_the_mails_off(make_user, login, post_form, client, outbox, app):
    person = make_user()
    login(person)
    response = post_form("/notifications", {"digest": "weekly"}, action="/notifications/digest")
    assert response.status_code == 302
    db.session.refresh(person)
    assert person.digest == "weekly" and person.idea_mail is False
    post_form("/notifications", {"digest": "weekly", "idea_mail": "y"}, action="/notifications/digest")
    db.session.refresh(person)
    assert person.idea_mail is True


def test_how_it_works_is_linked_from_home(client):
    home = client.get("/").get_data(as_text=True)
    assert 'href="/how-it-works"' in home
    # and from every page's header, for a visitor who arrives on a challenge or an idea
    header = client.get("/challenges").get_data(as_text=True).split('<nav class="nav"')[1].split("</nav>")[0]
    assert '<a href="/how-it-works"' in header and "How it works" in header
    page = client.get("/how-it-works").get_data(as_text=True)
    for words in ("employee</strong> pool", "How a vote's weight is decided", "How to make your vote count more",
                  "What happens to a shortlisted idea"):
        assert words in page


def test_a_track_record_says_not_shortlisted_only_once_the_shortlist_is_final():
    from types import SimpleNamespace

    from ideas.challenges.models import IdeaStatus
    from ideas.insight.services import _where_it_went

    def idea(phase):
        return SimpleNamespace(status=IdeaStatus.PUBLISHED, challenge=SimpleNamespace(phase=phase))

    assert _where_it_went(idea("voting"), None) == "Open for votes"
    assert _where_it_went(idea("review"), None) == "Not shortlisted yet"  # managers may still shortlist it
    assert _where_it_went(idea("closed"), None) == "Not shortlisted"
