"""The challenges blueprint, shared by its four page modules (routes, discussion_routes,
moderation_routes, search_routes) so that none of them imports another to reach it."""
from flask import Blueprint

bp = Blueprint("challenges", __name__)
