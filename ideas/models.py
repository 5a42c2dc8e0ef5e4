"""Every domain's models, imported in one place so the metadata (and alembic) sees them all."""
from ideas.accounts.models import *  # noqa: F401,F403
from ideas.mail.models import *  # noqa: F401,F403
from ideas.challenges.models import *  # noqa: F401,F403
from ideas.notifications.models import *  # noqa: F401,F403
from ideas.voting.models import *  # noqa: F401,F403
from ideas.review.models import *  # noqa: F401,F403
from ideas.integrations.models import *  # noqa: F401,F403
from ideas.search.models import IdeaSearchDocument, IndexJob  # noqa: F401
from ideas.insight.models import *  # noqa: F401,F403
from ideas.insight import tallies  # noqa: F401,E402  (its triggers follow create_all too)
