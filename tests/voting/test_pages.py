"""What the voting pages say to the people reading them: when a hidden ranking opens,
the policy in plain words, and no promise to someone who cannot vote."""
from __future__ import annotations

from ideas.challenges import services as challenges
from ideas.extensions import db
from tests.challenges.factories import idea_in, open_challenge


def test_a_hidden_ranking_says_when_it_opens_and_sends_nobody_to_ask_for_a_role(client, make_user, login):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, phase="submission", pool_mode="blended", hide_counts_until_voted=True)
    idea_in(challenge, make_user())
    challenges.change_phase(challenge, manager, "voting", "Enough ideas")
    db.session.commit()
    login(make_user(pool="external"))
    response = client.get(f"/challenges/{challenge.id}/ranking")
    page = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "This challenge is voting now" in page
    assert f"when voting ends, on {challenge.review_at.strftime('%d %b %Y')}" in page
    assert "role" not in page.split("<main", 1)[-1].split("</main>")[0]


def test_a_refusal_by_role_still_says_whom_to_ask(client, make_user, login):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, phase="voting")
    login(make_user())
    page = client.get(f"/challenges/{challenge.id}/ranking/compare").get_data(as_text=True)
    assert "or an administrator to give you the role" in page


def voted_on(make_user, login, post_form, **settings):
    """A challenge in voting with one idea, its manager, and a signed-in voter's vote on it."""
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, phase="submission", hide_counts_until_voted=False, **settings)
    idea = idea_in(challenge, make_user())
    challenges.change_phase(challenge, manager, "voting", "Enough ideas")
    db.session.commit()
    login(make_user())
    post_form(f"/ideas/{idea.id}", {"reason": "Kiosks would cut the queue.", "value": "1"},
              action=f"/ideas/{idea.id}/vote")
    return challenge, idea, manager


def test_the_voting_policy_is_named_in_plain_words_on_every_page(client, make_user, login, post_form):
    challenge, idea, manager = voted_on(make_user, login, post_form)
    pages = {"panel": client.get(f"/ideas/{idea.id}").get_data(as_text=True),
             "ranking": client.get(f"/challenges/{challenge.id}/ranking").get_data(as_text=True)}
    login(manager)
    for name, path in (("compare", "/ranking/compare"), ("policy", "/voting-policy")):
        pages[name] = client.get(f"/challenges/{challenge.id}{path}").get_data(as_text=True)
    pages["breakdown"] = client.get(f"/ideas/{idea.id}/votes").get_data(as_text=True)
    pages["form"] = client.get(f"/challenges/{challenge.id}/edit").get_data(as_text=True)
    for name, page in pages.items():
        assert "weighted/" not in page and "policy weighted" not in page.lower(), name
        assert "eighted by effort and standing" in page, name
    assert ">Every vote counts one</option>" in pages["policy"]


def test_an_employees_only_challenge_shows_no_figures_for_externals(client, make_user, login, post_form):
    challenge, idea, manager = voted_on(make_user, login, post_form, pool_mode="employees_only")
    panel = client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    assert "Support so far: employees" in panel and "externals" not in panel
    login(manager)
    for path in (f"/ideas/{idea.id}/votes", f"/challenges/{challenge.id}/ranking",
                 f"/challenges/{challenge.id}/ranking/compare"):
        page = client.get(path).get_data(as_text=True)
        assert "externals" not in page.lower() and "Externals" not in page, path


def test_who_cannot_vote_is_not_promised_the_counts_after_voting(client, make_user, login):
    manager = make_user(roles=("manager",))
    challenge = open_challenge(manager, phase="submission", hide_counts_until_voted=True)
    author = make_user()
    idea = idea_in(challenge, author)
    challenges.change_phase(challenge, manager, "voting", "Enough ideas")
    db.session.commit()
    draft = idea_in(challenge, author, title="A draft", draft=True)
    login(author)
    for own in (idea, draft):
        page = client.get(f"/ideas/{own.id}").get_data(as_text=True)
        assert "You cannot vote on your own idea" in page
        assert "Counts are shown once you have voted" not in page
    login(make_user())
    assert "Counts are shown once you have voted" in client.get(f"/ideas/{idea.id}").get_data(as_text=True)
