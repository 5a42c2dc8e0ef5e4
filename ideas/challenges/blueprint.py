"""The challenges blueprint, shared by its page modules (routes, discussion_routes,
moderation_routes, and search's pages in ideas/search/pages.py) so that none of them
imports another to reach it."""
from flask import Blueprint

bp = Blueprint("challenges", __name__)

# The finder of ideas like the one being written, `find(user, challenge, title, summary,
# exclude_id=None)`, kept in app.extensions by the search package: the idea form shows
# its results without challenges importing search (no finder, no suggestions).
SIMILAR_IDEAS = "ideas.similar_ideas"
