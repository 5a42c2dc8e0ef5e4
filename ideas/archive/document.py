"""Reading an archive document: every rule checked before anything is written.

`read()` turns the JSON document into plain, checked records, or raises
ArchiveError naming the first bad entry by its JSON path (`votes[17].voter: no
user with key "u99"`). It runs no query: the one fact it needs from the site
(the pool of people who already have an account) comes in through `pools_of`.
Entries are checked in document order: format, challenge, users, ideas,
comments, views, votes, decisions.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import email_validator

from ideas.accounts.models import Pool
from ideas.accounts.rules import normalise_email
from ideas.accounts.services import normalise_tags
from ideas.challenges import permissions as challenge_permissions
from ideas.challenges.models import EXTERNAL_REF_MAX, Phase, PoolMode
from ideas.challenges.services import VOTING_POLICIES
from ideas.voting import weighting
from ideas.voting.batch import DISCOUNT_CODES

FORMAT = "ideas-archive/1"
KEY_MAX = EXTERNAL_REF_MAX  # an idea or challenge keeps its key as `external_ref`
# Imported texts (charter texts, summaries, bodies, comments, reasons) keep their full
# length: the web form's limits are for typing, not for history. This cap only stops
# a runaway document; beyond it the archive is refused, naming the text.
TEXT_MAX = 100_000
NAME_MAX = 120
EMAIL_MAX = 254
TITLE_MAX = 160
NETWORK_MAX = 1000
CRITERIA_MAX = 10
CHARTER_TEXTS = ("brief", "goal", "scope_in", "scope_out", "rules", "prize", "terms")
DECISIONS = ("accepted", "declined", "parked")


class ArchiveError(ValueError):
    """The document cannot be imported; `path` names the entry (`votes[17].voter`)."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True)
class CriterionEntry:
    name: str
    weight: int
    description: str


@dataclass
class ChallengeEntry:
    key: str | None
    title: str
    texts: dict[str, str]
    pool_mode: str
    pool_weights: dict[str, float]
    voting_policy: str
    allow_opposition: bool
    budget_k: int | None
    criteria: list[CriterionEntry]
    phase: str
    dates: dict[str, datetime | None]  # opens_at … closes_at, None where the document has none
    allow_overlap: bool


@dataclass(frozen=True)
class UserEntry:
    key: str
    name: str
    email: str
    pool: str
    joined_at: datetime
    verified: bool


@dataclass(frozen=True)
class IdeaEntry:
    key: str
    author: str
    co_authors: tuple[str, ...]
    title: str
    summary: str
    body: str
    tags: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True)
class CommentEntry:
    idea: str
    author: str
    body: str
    created_at: datetime


@dataclass(frozen=True)
class ViewEntry:
    idea: str
    user: str
    at: datetime


@dataclass(frozen=True)
class VoteEntry:
    index: int  # its place in the document, for messages and to keep ties in order
    idea: str
    voter: str
    at: datetime
    value: int
    reason: str
    ratings: dict[str, int]
    network: str | None

    @property
    def path(self) -> str:
        return f"votes[{self.index}]"


@dataclass(frozen=True)
class DecisionEntry:
    idea: str
    decision: str
    reason: str
    at: datetime


@dataclass
class Archive:
    challenge: ChallengeEntry
    users: list[UserEntry]
    ideas: list[IdeaEntry]
    comments: list[CommentEntry] = field(default_factory=list)
    views: list[ViewEntry] = field(default_factory=list)
    votes: list[VoteEntry] = field(default_factory=list)
    decisions: list[DecisionEntry] = field(default_factory=list)
    # The challenge's five dates once those the document lacks are derived (see `schedule`).
    dates: dict[str, datetime | None] = field(default_factory=dict)

    def votes_in_time_order(self) -> list[VoteEntry]:
        return sorted(self.votes, key=lambda v: (v.at, v.index))


# --- values ----------------------------------------------------------------------

def parse_time(value, path: str) -> datetime:
    """ISO 8601 with a zone (`Z` or an offset), returned in UTC."""
    if not isinstance(value, str):
        raise ArchiveError(path, "a time is an ISO 8601 string with a zone, such as 2026-09-04T09:01:00Z")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ArchiveError(path, f"{_show(value)} is not an ISO 8601 time") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ArchiveError(path, f"{_show(value)} has no zone; add Z or an offset such as +02:00")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ArchiveError(path, f"{_show(value)} is out of range") from None


def format_time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _show(value) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "…"


def _object(value, path: str) -> dict:
    if not isinstance(value, dict):
        raise ArchiveError(path, "must be a JSON object")
    return value


def _list(parent: dict, name: str, path: str, *, required: bool) -> list:
    if name not in parent or parent[name] is None:
        if required:
            raise ArchiveError(path, "missing; this list is required (it may be empty)")
        return []
    if not isinstance(parent[name], list):
        raise ArchiveError(path, "must be a JSON list")
    return parent[name]


def _text(parent: dict, name: str, path: str, *, required: bool = False, max_len: int, line: bool = False,
          default: str = "") -> str:
    """A string field; `line` ones (titles, names, keys) may hold no control characters at all."""
    value = parent.get(name)
    if value is None:
        if required:
            raise ArchiveError(path, "missing")
        return default
    if not isinstance(value, str):
        raise ArchiveError(path, "must be a string")
    if "\x00" in value or (line and any(c < " " or c == "\x7f" for c in value)):
        raise ArchiveError(path, "contains control characters")
    value = " ".join(value.split()) if line else value
    if required and not value.strip():
        raise ArchiveError(path, "must not be empty")
    if len(value) > max_len:
        what = "an imported text keeps" if max_len == TEXT_MAX else "this field takes"
        raise ArchiveError(path, f"is {len(value):,} characters long; {what} up to {max_len:,} characters")
    return value


def _key(parent: dict, name: str, path: str) -> str:
    value = parent.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # a numeric id from the source platform is a fine key
    return _text({name: value}, name, path, required=True, max_len=KEY_MAX, line=True)


def _ref(parent: dict, name: str, path: str, known: Mapping[str, object], what: str) -> str:
    key = _key(parent, name, path)
    if key not in known:
        raise ArchiveError(path, f"no {what} with key {json.dumps(key, ensure_ascii=False)}")
    return key


def _bool(parent: dict, name: str, path: str, default: bool) -> bool:
    value = parent.get(name, default)
    if not isinstance(value, bool):
        raise ArchiveError(path, "must be true or false")
    return value


def _whole(value, path: str, low: int, high: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ArchiveError(path, f"{what} is a whole number from {low} to {high}, not {_show(value)}")
    return value


def _choice(parent: dict, name: str, path: str, choices: Iterable[str], default: str | None = None) -> str:
    choices = [str(c) for c in choices]
    value = parent.get(name, default)
    if value is None:
        raise ArchiveError(path, f"missing; one of {', '.join(choices)}")
    if value not in choices:
        raise ArchiveError(path, f"unknown value {_show(value)}; one of {', '.join(choices)}")
    return value


# --- the document ------------------------------------------------------------------

def load_json(document: dict | str | bytes) -> dict:
    if isinstance(document, bytes):
        try:
            document = document.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ArchiveError("document", "is not UTF-8 text") from None
    if isinstance(document, str):
        try:
            document = json.loads(document.removeprefix("\ufeff"))
        except json.JSONDecodeError as error:
            raise ArchiveError("document", f"is not valid JSON (line {error.lineno}, column {error.colno}: "
                                           f"{error.msg})") from None
    return _object(document, "document")


def read(document: dict | str | bytes,
         pools_of: Callable[[list[str]], Mapping[str, str]] = lambda emails: {}) -> Archive:
    """The checked archive. `pools_of(emails)` gives the pool of each address that already
    has an account here: that account keeps its pool, which decides whom it may vote as."""
    doc = load_json(document)
    version = doc.get("format")
    if version != FORMAT:
        found = "missing" if version is None else f"unknown format {_show(version)}"
        raise ArchiveError("format", f"{found}; this site reads {json.dumps(FORMAT)}")
    challenge = _challenge(_object(doc.get("challenge"), "challenge"))
    users = _users(_list(doc, "users", "users", required=True))
    existing = pools_of([u.email for u in users.values()])
    pools = {u.key: existing.get(u.email, u.pool) for u in users.values()}
    ideas = _ideas(_list(doc, "ideas", "ideas", required=True), users)
    comments = [_comment(_object(item, f"comments[{i}]"), f"comments[{i}]", users, ideas)
                for i, item in enumerate(_list(doc, "comments", "comments", required=False))]
    views = [_view(_object(item, f"views[{i}]"), f"views[{i}]", users, ideas)
             for i, item in enumerate(_list(doc, "views", "views", required=False))]
    votes = _votes(_list(doc, "votes", "votes", required=True), challenge, users, ideas, pools)
    decisions = [_decision(_object(item, f"decisions[{i}]"), f"decisions[{i}]", ideas)
                 for i, item in enumerate(_list(doc, "decisions", "decisions", required=False))]
    _check_decisions(decisions)
    archive = Archive(challenge=challenge, users=list(users.values()), ideas=list(ideas.values()),
                      comments=comments, views=views, votes=votes, decisions=decisions)
    # Dates that cannot be put in order are refused here, before anything is written.
    archive.dates = schedule(archive)
    return archive


def _challenge(c: dict) -> ChallengeEntry:
    key = _key(c, "key", "challenge.key") if c.get("key") is not None else None
    title = _text(c, "title", "challenge.title", required=True, max_len=TITLE_MAX, line=True)
    texts = {name: _text(c, name, f"challenge.{name}", max_len=TEXT_MAX) for name in CHARTER_TEXTS}
    pool_mode = _choice(c, "pool_mode", "challenge.pool_mode", PoolMode)
    weights = _pool_weights(c.get("pool_weights"))
    voting_policy = _choice(c, "voting_policy", "challenge.voting_policy", VOTING_POLICIES)
    allow_opposition = _bool(c, "allow_opposition", "challenge.allow_opposition", False)
    budget_k = None
    if c.get("budget_k") is not None:
        budget_k = _whole(c["budget_k"], "challenge.budget_k", 1, 100, "a budget")
    criteria = _criteria(_list(c, "criteria", "challenge.criteria", required=False))
    phase = _choice(c, "phase", "challenge.phase", Phase)
    dates: dict[str, datetime | None] = {}
    for name in ("opens_at", "submission_ends_at", "voting_at", "review_at", "closes_at"):
        value = c.get(name)
        required = name in ("opens_at", "closes_at") and phase != Phase.DRAFT
        if value is None and required:
            raise ArchiveError(f"challenge.{name}", "missing; a published challenge has its dates")
        dates[name] = None if value is None else parse_time(value, f"challenge.{name}")
    if dates["opens_at"] and dates["closes_at"] and dates["closes_at"] <= dates["opens_at"]:
        raise ArchiveError("challenge.closes_at", "must be after opens_at")
    allow_overlap = _bool(c, "allow_overlap", "challenge.allow_overlap", False)
    return ChallengeEntry(key=key, title=title, texts=texts, pool_mode=pool_mode, pool_weights=weights,
                          voting_policy=voting_policy, allow_opposition=allow_opposition, budget_k=budget_k,
                          criteria=criteria, phase=phase, dates=dates, allow_overlap=allow_overlap)


def _pool_weights(value) -> dict[str, float]:
    path = "challenge.pool_weights"
    if value is None:
        return {"employee": 0.5, "external": 0.5}
    value = _object(value, path)
    if set(value) != {"employee", "external"}:
        raise ArchiveError(path, "give the weight of the employee and of the external pool, and nothing else")
    weights = {}
    for pool in ("employee", "external"):
        weight = value[pool]
        if isinstance(weight, bool) or not isinstance(weight, int | float) or math.isnan(weight) \
                or not 0 <= weight <= 1:
            raise ArchiveError(f"{path}.{pool}", f"a pool weight lies between 0 and 1, not {_show(weight)}")
        weights[pool] = float(weight)
    if abs(sum(weights.values()) - 1) > 1e-6:
        raise ArchiveError(path, "the two pool weights add up to 1")
    return weights


def _criteria(items: list) -> list[CriterionEntry]:
    if len(items) > CRITERIA_MAX:
        raise ArchiveError("challenge.criteria", f"at most {CRITERIA_MAX} criteria")
    found: list[CriterionEntry] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        path = f"challenge.criteria[{i}]"
        item = _object(item, path)
        name = _text(item, "name", f"{path}.name", required=True, max_len=60, line=True)
        if name.lower() in seen:
            raise ArchiveError(f"{path}.name", f"a second criterion named {_show(name)}")
        seen.add(name.lower())
        weight = _whole(item.get("weight", 1), f"{path}.weight", 1, 10, "a criterion's weight")
        description = _text(item, "description", f"{path}.description", max_len=300)
        found.append(CriterionEntry(name=name, weight=weight, description=description))
    return found


def _users(items: list) -> dict[str, UserEntry]:
    users: dict[str, UserEntry] = {}
    emails: dict[str, int] = {}
    for i, item in enumerate(items):
        path = f"users[{i}]"
        item = _object(item, path)
        key = _key(item, "key", f"{path}.key")
        if key in users:
            raise ArchiveError(f"{path}.key", f"a second user with key {_show(key)}")
        email = _email(item, f"{path}.email")
        if email in emails:
            raise ArchiveError(f"{path}.email", f"{email} is already users[{emails[email]}]")
        emails[email] = i
        name = _text(item, "name", f"{path}.name", max_len=NAME_MAX, line=True) or email.split("@", 1)[0]
        pool = _choice(item, "pool", f"{path}.pool", Pool)
        joined_at = parse_time(item.get("joined_at"), f"{path}.joined_at")
        verified = _bool(item, "verified", f"{path}.verified", True)
        users[key] = UserEntry(key=key, name=name[:NAME_MAX], email=email, pool=pool, joined_at=joined_at,
                               verified=verified)
    return users


def _email(item: dict, path: str) -> str:
    raw = _text(item, "email", path, required=True, max_len=EMAIL_MAX, line=True)
    try:
        # The registration form's check: what people may register with, an archive may bring.
        email_validator.validate_email(raw, check_deliverability=False)
    except email_validator.EmailNotValidError as error:
        raise ArchiveError(path, f"{_show(raw)} is not a valid e-mail address ({error})") from None
    return normalise_email(raw)


def _ideas(items: list, users: Mapping[str, UserEntry]) -> dict[str, IdeaEntry]:
    ideas: dict[str, IdeaEntry] = {}
    for i, item in enumerate(items):
        path = f"ideas[{i}]"
        item = _object(item, path)
        key = _key(item, "key", f"{path}.key")
        if key in ideas:
            raise ArchiveError(f"{path}.key", f"a second idea with key {_show(key)}")
        author = _ref(item, "author", f"{path}.author", users, "user")
        co_authors: list[str] = []
        for j in range(len(_list(item, "co_authors", f"{path}.co_authors", required=False))):
            co_path = f"{path}.co_authors[{j}]"
            co = _ref({"key": item["co_authors"][j]}, "key", co_path, users, "user")
            if co == author:
                raise ArchiveError(co_path, f"{_show(co)} is the idea's author")
            if co in co_authors:
                raise ArchiveError(co_path, f"{_show(co)} is listed twice")
            co_authors.append(co)
        title = _text(item, "title", f"{path}.title", required=True, max_len=TITLE_MAX, line=True)
        summary = _text(item, "summary", f"{path}.summary", max_len=TEXT_MAX).strip()
        body = _text(item, "body", f"{path}.body", max_len=TEXT_MAX)
        tags = []
        for j, tag in enumerate(_list(item, "tags", f"{path}.tags", required=False)):
            if not isinstance(tag, str) or "\x00" in tag:
                raise ArchiveError(f"{path}.tags[{j}]", "a tag is a string")
            tags.append(tag)
        created_at = parse_time(item.get("created_at"), f"{path}.created_at")
        ideas[key] = IdeaEntry(key=key, author=author, co_authors=tuple(co_authors), title=title, summary=summary,
                               body=body, tags=tuple(normalise_tags(tags)), created_at=created_at)
    return ideas


def _comment(item: dict, path: str, users, ideas) -> CommentEntry:
    idea = _ref(item, "idea", f"{path}.idea", ideas, "idea")
    author = _ref(item, "author", f"{path}.author", users, "user")
    body = _text(item, "body", f"{path}.body", required=True, max_len=TEXT_MAX).strip()
    created_at = parse_time(item.get("created_at"), f"{path}.created_at")
    return CommentEntry(idea=idea, author=author, body=body, created_at=created_at)


def _view(item: dict, path: str, users, ideas) -> ViewEntry:
    idea = _ref(item, "idea", f"{path}.idea", ideas, "idea")
    user = _ref(item, "user", f"{path}.user", users, "user")
    return ViewEntry(idea=idea, user=user, at=parse_time(item.get("at"), f"{path}.at"))


def _votes(items: list, challenge: ChallengeEntry, users: Mapping[str, UserEntry],
           ideas: Mapping[str, IdeaEntry], pools: Mapping[str, str]) -> list[VoteEntry]:
    criteria = {c.name for c in challenge.criteria}
    policy = weighting.get_policy(challenge.voting_policy)
    budget = (challenge.budget_k or 5) if policy.name == "budget" else None  # 5: the site's default
    audience = {PoolMode.EMPLOYEES_ONLY: "employee", PoolMode.EXTERNALS_ONLY: "external"}.get(challenge.pool_mode)
    votes: list[VoteEntry] = []
    cast: dict[tuple[str, str], int] = {}
    for i, item in enumerate(items):
        path = f"votes[{i}]"
        item = _object(item, path)
        if policy.name == "pairwise":
            raise ArchiveError(path, "this challenge votes by comparing pairs of ideas, and an archive carries "
                                     "no pair answers: import it with votes: []")
        idea = _ref(item, "idea", f"{path}.idea", ideas, "idea")
        voter = _ref(item, "voter", f"{path}.voter", users, "user")
        if voter == ideas[idea].author or voter in ideas[idea].co_authors:
            raise ArchiveError(f"{path}.voter", f"{_show(voter)} is an author of idea {_show(idea)}: "
                                                "nobody votes on their own idea")
        if (voter, idea) in cast:
            raise ArchiveError(path, f"a second vote by {_show(voter)} on idea {_show(idea)} "
                                     f"(the first is votes[{cast[voter, idea]}])")
        cast[voter, idea] = i
        if audience and pools[voter] != audience:
            raise ArchiveError(f"{path}.voter", f"{_show(voter)} is in the {pools[voter]} pool, and this "
                                                f"challenge is open to the {audience} pool only")
        at = parse_time(item.get("at"), f"{path}.at")
        value = item.get("value")
        if isinstance(value, bool) or value not in (1, -1):
            raise ArchiveError(f"{path}.value", f"a vote is 1 (support) or -1 (opposition), not {_show(value)}")
        if value < 0 and not challenge.allow_opposition:
            raise ArchiveError(f"{path}.value", "this challenge counts support only (opposition is not allowed)")
        reason = _text(item, "reason", f"{path}.reason", max_len=TEXT_MAX).strip()
        ratings: dict[str, int] = {}
        raw = item.get("ratings")
        if raw is not None:
            for name, rating in _object(raw, f"{path}.ratings").items():
                if name not in criteria:
                    known = ", ".join(sorted(criteria)) or "none"
                    raise ArchiveError(f"{path}.ratings.{name}",
                                       f"not one of the challenge's criteria (criteria: {known})")
                ratings[name] = _whole(rating, f"{path}.ratings.{name}", 1, 5, "a rating")
        _check_weight(item, path)
        network = None
        if item.get("network") is not None:
            network = _text(item, "network", f"{path}.network", max_len=NETWORK_MAX) or None
        votes.append(VoteEntry(index=i, idea=idea, voter=voter, at=at, value=value, reason=reason,
                               ratings=ratings, network=network))
    if budget is not None:
        _check_budget(votes, budget)
    return votes


def _check_weight(item: dict, path: str) -> None:
    """A vote's `weight` and `discounts`, where the source wrote them (an export does), are
    what that site computed. They are not trusted, since every vote is weighed again here
    by this site's rules, but they must make sense: a weight from 0 to 1, known codes."""
    weight = item.get("weight")
    if weight is not None and (isinstance(weight, bool) or not isinstance(weight, int | float)
                               or math.isnan(weight) or not 0 <= weight <= 1):
        raise ArchiveError(f"{path}.weight", f"a weight lies between 0 and 1, not {_show(weight)}")
    for k, code in enumerate(_list(item, "discounts", f"{path}.discounts", required=False)):
        if not isinstance(code, str) or code not in DISCOUNT_CODES:
            raise ArchiveError(f"{path}.discounts[{k}]", f"unknown discount code {_show(code)}; known codes: "
                                                        f"{', '.join(sorted(DISCOUNT_CODES))}")


def _check_budget(votes: list[VoteEntry], budget: int) -> None:
    used: dict[str, int] = {}
    for vote in sorted(votes, key=lambda v: (v.at, v.index)):
        if vote.value > 0:
            used[vote.voter] = used.get(vote.voter, 0) + 1
            if used[vote.voter] > budget:
                raise ArchiveError(vote.path, f"{_show(vote.voter)} gives more than the {budget} supports "
                                              "this challenge's budget allows")


def _decision(item: dict, path: str, ideas) -> DecisionEntry:
    idea = _ref(item, "idea", f"{path}.idea", ideas, "idea")
    decision = _choice(item, "decision", f"{path}.decision", DECISIONS)
    # A decision is owed a reason the author can read (principle 1), as on the site.
    reason = _text(item, "reason", f"{path}.reason", required=True, max_len=TEXT_MAX).strip()
    return DecisionEntry(idea=idea, decision=decision, reason=reason, at=parse_time(item.get("at"), f"{path}.at"))


def _check_decisions(decisions: list[DecisionEntry]) -> None:
    """Per idea, in time order, every decision but the last is `parked`: only a parked
    idea goes back into review and is decided again."""
    last: dict[str, tuple[int, DecisionEntry]] = {}
    for index, entry in sorted(enumerate(decisions), key=lambda pair: (pair[1].at, pair[0])):
        if entry.idea in last and last[entry.idea][1].decision != "parked":
            before, earlier = last[entry.idea]
            raise ArchiveError(f"decisions[{index}]", f"idea {_show(entry.idea)} was already {earlier.decision} "
                                                      f"(decisions[{before}]); only a parked idea is decided again")
        last[entry.idea] = (index, entry)


# --- the schedule ------------------------------------------------------------------

def schedule(archive: Archive, now: datetime | None = None) -> dict[str, datetime | None]:
    """The challenge's five dates: those the archive gives, and voting_at / review_at derived
    where it gives none.

    A derived voting_at starts a third of the way from opens_at to closes_at, and
    review_at two thirds; voting_at moves back to the first vote when that came
    earlier, review_at past the last vote when that came later (votes are cast while
    voting is open). When the challenge is running at the time of the import, the
    derived dates also agree with the archive's phase, so the scheduler keeps it
    there: for `submission` voting starts after now, for `voting` it started by now
    and review starts after now, for `review` review started by now.
    """
    from ideas import clock

    c = archive.challenge
    dates = dict(c.dates)
    opens, closes = dates["opens_at"], dates["closes_at"]
    if opens is not None and closes is not None:
        now = now or clock.now()
        times = [v.at for v in archive.votes]
        first, last = (min(times), max(times)) if times else (None, None)
        derive_voting, derive_review = dates["voting_at"] is None, dates["review_at"] is None
        voting = dates["voting_at"] or opens + (closes - opens) / 3
        review = dates["review_at"] or opens + (closes - opens) * 2 / 3
        if derive_voting and first is not None and opens < first < voting:
            voting = first
        if derive_review and last is not None and review <= last < closes - timedelta(seconds=1):
            review = last + timedelta(seconds=1)
        if opens <= now < closes:
            if c.phase == Phase.SUBMISSION:
                if derive_voting and voting <= now:
                    voting = now + (closes - now) / 3
                if derive_review and review <= voting:
                    review = voting + (closes - voting) / 2
            elif c.phase == Phase.VOTING:
                if derive_voting and voting > now > opens:
                    voting = now
                if derive_review and review <= now:
                    review = now + (closes - now) / 2
            elif c.phase == Phase.REVIEW and derive_review and review > now > voting:
                review = now
        dates["voting_at"], dates["review_at"] = voting, review
    problems = challenge_permissions.schedule_problems(challenge_permissions.Schedule(**dates, allow_overlap=c.allow_overlap))
    if problems:
        name, message = next(iter(problems.items()))
        given = "" if c.dates[name] is not None else " (derived from the other dates and the votes)"
        raise ArchiveError(f"challenge.{name}", f"{message.rstrip('.')}{given}")
    return dates
