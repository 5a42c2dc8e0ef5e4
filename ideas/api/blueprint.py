"""The API's blueprint, shared by its resource modules (and by follows and search, which
attach their endpoints from their own packages) so that none of them imports the
package that lists them to reach it."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
