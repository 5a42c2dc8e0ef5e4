"""The voting use cases other packages call, one import away, each from its room:

- `settings`: the challenge's weighting policy and pool weights, `VoteError`;
- `signals`: views, voters' networks, identity, contributions, a vote's signals;
- `casting`: casting, changing and withdrawing votes, the idea's votes weighed again;
- `scores`: stored aggregates and scores, the pools' common scale, the blend;
- `rankings`: ranking pages, suggested shortlists, raw counts against weighted ranks;
- `explanations`: a vote's weight explained, counts shown or hidden, the breakdown;
- `policy_changes`: a policy change and the recompute after it;
- `pairs`: pairwise voting.

The pure policy lives apart: `weighting`, `collusion`, `ranking`, `pairwise`, and
`batch`/`replay` run it in bulk.
"""
from __future__ import annotations

from ideas.voting.casting import (  # noqa: F401
    ONE_ADDRESS_VOTERS,
    REASON_LIMIT,
    Ballot,
    StoredVotes,
    can_vote,
    cast_vote,
    check_can_vote,
    observe_vote_address,
    record_vote,
    reweigh_voter,
    withdraw_vote,
)
from ideas.voting.explanations import (  # noqa: F401
    Explanation,
    breakdown,
    counts_visible,
    explain,
    my_vote,
)
from ideas.voting.pairs import (  # noqa: F401
    answer_pair,
    answer_signals,
    next_pair,
    refit_pairwise,
    reweigh_answers,
)
from ideas.voting.policy_changes import (  # noqa: F401
    change_policy,
    policy_locked,
    recompute_challenge,
)
from ideas.voting.rankings import (  # noqa: F401
    COMPARE_DEPTH,
    RANKING_POOLS,
    RANKING_WORDS,
    Movement,
    RankingLine,
    ranking_page,
    ranking_pools,
    raw_vs_weighted,
    suggested_lines,
)
from ideas.voting.scores import (  # noqa: F401
    ensure_score,
    ranking_column,
    rebuild_scores,
    refresh_disagreement,
    refresh_flags,
    rescore_blend,
    scores_of,
)
from ideas.voting.settings import (  # noqa: F401
    VoteError,
    active_policy,
    pool_weights,
)
from ideas.voting.signals import (  # noqa: F401
    CONTEXT_LIMIT,
    CONTRIBUTION_WINDOW,
    NETWORK_RETENTION,
    NETWORK_RULE_KEY,
    OWN_REASONS_LIMIT,
    SUBSTANTIVE_COMMENT_WORDS,
    contribution_times,
    contributions,
    idea_text,
    identity_of,
    measure,
    network_hash,
    network_of_request,
    network_rule_off,
    purge_networks,
    record_view,
    voter_network,
)
