"""Reading an archive document: every rule checked before anything is written.

Each entry of the document is a pydantic record declared once below, built from the
field types the API validates with (ideas.fields): the same text rule, the same
integer bounds, the same column lengths (with archive texts allowed up to `TEXT_MAX`).
The records are what the import reads. The rules that span entries (keys that must
exist, duplicates, votes on one's own idea, the budget, the schedule) follow each
record's check.

`read()` turns the JSON document into those records, or raises ArchiveError naming
the first bad entry by its JSON path (`votes[17].voter: no user with key "u99"`). It
runs no query: the one fact it needs from the site (the pool of people who already
have an account) comes in through `pools_of`. Entries are checked in document order:
format, challenge, users, ideas, comments, views, votes, decisions.
"""
from __future__ import annotations

import json
import math
import re
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar

import email_validator
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ideas import clock
from ideas.accounts.models import Pool
from ideas.accounts.rules import normalise_email
from ideas.accounts.services import normalise_tags
from ideas.challenges import permissions as challenge_permissions
from ideas.challenges.models import EXTERNAL_REF_MAX, Phase, PoolMode
from ideas.challenges.services import VOTING_POLICIES
from ideas.fields import (
    EMAIL_MAX,
    NAME_MAX,
    TITLE_MAX,
    CriterionDescription,
    CriterionName,
    CriterionWeight,
    Int,
    Text,
    Time,
)
from ideas.sanitising import SURROGATE, UNTYPED, has_untyped, without_surrogates
from ideas.voting import weighting
from ideas.voting.batch import DISCOUNT_CODES

FORMAT = "ideas-archive/1"
KEY_MAX = EXTERNAL_REF_MAX  # an idea or challenge keeps its key as `external_ref`
# Imported texts (charter texts, summaries, bodies, comments, reasons) keep their full
# length: the web form's limits are for typing, not for history. This cap only stops
# a runaway document; beyond it the archive is refused, naming the text.
TEXT_MAX = 100_000
NETWORK_MAX = 1000
CRITERIA_MAX = 10
CHARTER_TEXTS = ("brief", "goal", "scope_in", "scope_out", "rules", "prize", "terms")
DATES = ("opens_at", "submission_ends_at", "voting_at", "review_at", "closes_at")
DECISIONS = ("accepted", "declined", "parked")


class ArchiveError(ValueError):
    """The document cannot be imported; `path` names the entry (`votes[17].voter`)."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


# --- field types -------------------------------------------------------------------

def _one_line(value: Any) -> Any:
    """Titles, names and keys: no control characters at all (nor tabs and line breaks),
    runs of spaces read as one."""
    if isinstance(value, str):
        if has_untyped(value) or any(c in value for c in "\t\n\r"):
            raise PydanticCustomError("control_character", "contains control characters")
        return " ".join(value.split())
    return value


def Line(max_length: int, *, min_length: int | None = None) -> Any:
    return Annotated[Text(max_length, min_length=min_length), BeforeValidator(_one_line)]


def _key_text(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # a numeric id from the source platform is a fine key
    return value


Key = Annotated[Line(KEY_MAX, min_length=1), BeforeValidator(_key_text)]


def _null_is_empty(value: Any) -> Any:
    return "" if value is None else value


def _none_if_empty(value: str | None) -> str | None:
    return value or None


def _stripped(value: str) -> str:
    return value.strip()


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("blank", "must not be empty")
    return value


# An imported text: Markdown or plain, line breaks kept, up to the hard cap; null is empty.
ArchiveText = Annotated[Text(TEXT_MAX), BeforeValidator(_null_is_empty)]
Reason = Annotated[ArchiveText, AfterValidator(_stripped)]
RequiredText = Annotated[Text(TEXT_MAX), AfterValidator(_not_blank), AfterValidator(_stripped)]


def _share(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value) or not 0 <= value <= 1:
        raise PydanticCustomError("share", "lies between 0 and 1, not {shown}", {"shown": _show(value)})
    return float(value)


Share = Annotated[float, BeforeValidator(_share), Field(json_schema_extra={"minimum": 0, "maximum": 1})]


def _vote_value(value: Any) -> Any:
    if isinstance(value, bool) or value not in (1, -1):
        raise PydanticCustomError("vote_value", "a vote is 1 (support) or -1 (opposition), not {shown}",
                                  {"shown": _show(value)})
    return value


VoteValue = Annotated[Literal[1, -1], BeforeValidator(_vote_value)]


def _discount_code(value: Any) -> Any:
    if not isinstance(value, str) or value not in DISCOUNT_CODES:
        raise PydanticCustomError("discount_code", "unknown discount code {shown}; known codes: {known}",
                                  {"shown": _show(value), "known": ", ".join(sorted(DISCOUNT_CODES))})
    return value


DiscountCode = Annotated[str, BeforeValidator(_discount_code)]


def _email(value: str) -> str:
    try:
        # The registration form's check: what people may register with, an archive may bring.
        email_validator.validate_email(value, check_deliverability=False)
    except email_validator.EmailNotValidError as error:
        raise PydanticCustomError("email", "{shown} is not a valid e-mail address ({why})",
                                  {"shown": _show(value), "why": str(error)}) from None
    return normalise_email(value)


Email = Annotated[Line(EMAIL_MAX, min_length=1), AfterValidator(_email)]


def _tags(value: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(normalise_tags(value))


def _choices(values) -> Any:
    return Literal[tuple(str(v) for v in values)]


# --- the records -------------------------------------------------------------------

class Record(BaseModel):
    """One entry of the document, checked. Fields the format does not know are ignored:
    another platform's export may carry more than this site reads."""

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")


class CriterionEntry(Record):
    # The API's criterion fields (ideas.fields), the name on one line.
    name: Annotated[CriterionName, BeforeValidator(_one_line)]
    weight: CriterionWeight = 1
    description: Annotated[CriterionDescription, BeforeValidator(_null_is_empty)] = ""


class PoolWeights(Record):
    employee: Share
    external: Share

    @model_validator(mode="before")
    @classmethod
    def _both_pools(cls, data: Any) -> Any:
        if isinstance(data, dict) and set(data) != {"employee", "external"}:
            raise PydanticCustomError("pool_weights", "give the weight of the employee and of the external pool, "
                                                      "and nothing else")
        return data

    @model_validator(mode="after")
    def _add_up(self) -> PoolWeights:
        if abs(self.employee + self.external - 1) > 1e-6:
            raise PydanticCustomError("pool_weights", "the two pool weights add up to 1")
        return self



EVEN = PoolWeights(employee=0.5, external=0.5)


def _even_if_none(value: Any) -> Any:
    return EVEN if value is None else value


def _empty_if_none(value: Any) -> Any:
    """A list of the document, read as a tuple; absent or null, an empty one."""
    if value is None:
        return ()
    return tuple(value) if isinstance(value, list) else value


class ChallengeEntry(Record):
    key: Key | None = None
    title: Line(TITLE_MAX, min_length=1)
    brief: ArchiveText = ""
    goal: ArchiveText = ""
    scope_in: ArchiveText = ""
    scope_out: ArchiveText = ""
    rules: ArchiveText = ""
    prize: ArchiveText = ""
    terms: ArchiveText = ""
    pool_mode: _choices(PoolMode)
    pool_weights: Annotated[PoolWeights, BeforeValidator(_even_if_none)] = EVEN
    voting_policy: _choices(VOTING_POLICIES)
    allow_opposition: bool = False
    budget_k: Int(1, 100) | None = None
    criteria: Annotated[tuple[CriterionEntry, ...], BeforeValidator(_empty_if_none),
                        Field(max_length=CRITERIA_MAX)] = ()
    phase: _choices(Phase)
    opens_at: Time | None = None
    submission_ends_at: Time | None = None
    voting_at: Time | None = None
    review_at: Time | None = None
    closes_at: Time | None = None
    allow_overlap: bool = False

    @property
    def texts(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in CHARTER_TEXTS}

    @property
    def dates(self) -> dict[str, datetime | None]:
        """opens_at … closes_at, None where the document has none."""
        return {name: getattr(self, name) for name in DATES}


class UserEntry(Record):
    key: Key
    email: Email
    name: Annotated[Line(NAME_MAX), BeforeValidator(_null_is_empty)] = ""
    pool: _choices(Pool)
    joined_at: Time
    verified: bool = True


class IdeaEntry(Record):
    key: Key
    author: Key
    co_authors: Annotated[tuple[Key, ...], BeforeValidator(_empty_if_none)] = ()
    title: Line(TITLE_MAX, min_length=1)
    summary: Reason = ""
    body: ArchiveText = ""
    tags: Annotated[tuple[Text(TEXT_MAX), ...], BeforeValidator(_empty_if_none), AfterValidator(_tags)] = ()
    created_at: Time


class CommentEntry(Record):
    idea: Key
    author: Key
    body: RequiredText
    created_at: Time


class ViewEntry(Record):
    idea: Key
    user: Key
    at: Time


def _no_ratings(value: Any) -> Any:
    return {} if value is None else value


class VoteEntry(Record):
    idea: Key
    voter: Key
    at: Time
    value: VoteValue
    reason: Reason = ""
    ratings: Annotated[dict[str, Int(1, 5)], BeforeValidator(_no_ratings)] = {}
    network: Annotated[Text(NETWORK_MAX) | None, AfterValidator(_none_if_empty)] = None
    # What the source site computed (an export writes them): not trusted, since every vote is
    # weighed again here by this site's rules, but they must make sense.
    weight: Share | None = None
    discounts: Annotated[tuple[DiscountCode, ...], BeforeValidator(_empty_if_none)] = ()
    _index: int = PrivateAttr(0)

    @property
    def index(self) -> int:
        """Its place in the document, for messages and to keep ties in order."""
        return self._index

    @property
    def path(self) -> str:
        return f"votes[{self.index}]"


class DecisionEntry(Record):
    idea: Key
    decision: Literal[DECISIONS]
    # A decision is owed a reason the author can read (principle 1), as on the site.
    reason: RequiredText
    at: Time


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


# --- checking a record -------------------------------------------------------------

R = TypeVar("R", bound=Record)


def check(record: type[R], value: Any, path: str) -> R:
    """`value` read as `record`, or ArchiveError naming its first bad field by its path."""
    if not isinstance(value, dict):
        raise ArchiveError(path, "must be a JSON object")
    try:
        return record.model_validate(value)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        where = path + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in first["loc"])
        raise ArchiveError(where, _say(first, record)) from None


def _say(error: dict, record: type[Record] | None) -> str:
    kind, ctx, value = error["type"], error.get("ctx", {}), error.get("input")
    if kind == "missing":
        choices = _field_choices(record, error["loc"])
        return f"missing; one of {', '.join(choices)}" if choices else "missing"
    if kind == "literal_error":
        choices = _field_choices(record, error["loc"]) or []
        return f"unknown value {_show(value)}; one of {', '.join(choices)}"
    if kind == "string_too_long":
        what = "an imported text keeps" if ctx["max_length"] == TEXT_MAX else "this field takes"
        return f"is {len(value):,} characters long; {what} up to {ctx['max_length']:,} characters"
    if kind == "int_range":
        return f"must be a whole number from {ctx['low']:,} to {ctx['high']:,}, not {_show(value)}"
    if kind == "control_character" and isinstance(value, str):
        where = next((i for i, c in enumerate(value) if c in UNTYPED), None)
        if where is None:  # a line break or tab where one line is wanted
            where = next(i for i, c in enumerate(value) if c in "\t\n\r")
        return f"contains control characters (U+{ord(value[where]):04X} at character {where + 1})"
    if kind == "too_long":
        return f"at most {ctx['max_length']:,} entries"
    if kind in ("time_format", "time_zone", "time_range"):
        said = {"time_format": "is not an ISO 8601 time", "time_zone": "has no zone; add Z or an offset such as "
                "+02:00", "time_range": "is out of range"}[kind]
        return f"{_show(value)} {said}"
    fixed = {
        "string_type": "must be a string", "string_too_short": "must not be empty", "bool_type": "must be true or false",
        "int_type": "must be a whole number", "list_type": "must be a JSON list", "tuple_type": "must be a JSON list",
        "dict_type": "must be a JSON object", "model_type": "must be a JSON object",
        "model_attributes_type": "must be a JSON object", "surrogate": "contains a lone surrogate",
        "time_type": "a time is an ISO 8601 string with a zone, such as 2026-09-04T09:01:00Z",
    }
    return fixed.get(kind, error["msg"])


def _field_choices(record: type[Record] | None, loc: tuple) -> list[str] | None:
    """The values a Literal field takes, for messages; None for other fields."""
    if record is None or len(loc) != 1 or loc[0] not in record.model_fields:
        return None
    annotation = record.model_fields[loc[0]].annotation
    if typing.get_origin(annotation) is Literal:
        return [str(v) for v in typing.get_args(annotation)]
    return None


# --- values ------------------------------------------------------------------------

def parse_time(value, path: str) -> datetime:
    """ISO 8601 with a zone (`Z` or an offset), returned in UTC."""
    try:
        return _TIME.validate_python(value)
    except ValidationError as error:
        raise ArchiveError(path, _say(error.errors(include_url=False)[0], None)) from None


_TIME = TypeAdapter(Time)


def format_time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _show(value) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "…"


def _list(parent: dict, name: str, *, required: bool) -> list:
    if name not in parent or parent[name] is None:
        if required:
            raise ArchiveError(name, "missing; this list is required (it may be empty)")
        return []
    if not isinstance(parent[name], list):
        raise ArchiveError(name, "must be a JSON list")
    return parent[name]


def _known(key: str, path: str, known: Mapping[str, object], what: str) -> None:
    if key not in known:
        raise ArchiveError(path, f"no {what} with key {json.dumps(key, ensure_ascii=False)}")


# --- the document ------------------------------------------------------------------

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def load_json(document: dict | str | bytes) -> dict:
    if isinstance(document, bytes):
        try:
            document = document.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ArchiveError("document", "is not UTF-8 text") from None
    if isinstance(document, str):
        text = document
        try:
            document = json.loads(text.removeprefix("\ufeff"))
        except json.JSONDecodeError as error:
            raise ArchiveError("document", f"is not valid JSON (line {error.lineno}, column {error.colno}: "
                                           f"{error.msg})") from None
        except RecursionError:
            raise ArchiveError("document", "is nested too deeply to read") from None
        # As the API reads a body: JSON may spell a lone surrogate, which no encoder can write
        # (only an escape can put one in a decoded text, so a document without any is not walked).
        if _SURROGATE_ESCAPE.search(text) or SURROGATE.search(text):
            document = without_surrogates(document)
    if not isinstance(document, dict):
        raise ArchiveError("document", "must be a JSON object")
    return document


def read(document: dict | str | bytes,
         pools_of: Callable[[list[str]], Mapping[str, str]] = lambda emails: {}) -> Archive:
    """The checked archive. `pools_of(emails)` gives the pool of each address that already
    has an account here: that account keeps its pool, which decides whom it may vote as."""
    doc = load_json(document)
    version = doc.get("format")
    if version != FORMAT:
        found = "missing" if version is None else f"unknown format {_show(version)}"
        raise ArchiveError("format", f"{found}; this site reads {json.dumps(FORMAT)}")
    challenge = _challenge(doc.get("challenge"))
    users = _users(_list(doc, "users", required=True))
    existing = pools_of([u.email for u in users.values()])
    pools = {u.key: existing.get(u.email, u.pool) for u in users.values()}
    ideas = _ideas(_list(doc, "ideas", required=True), users)
    comments = [_comment(item, f"comments[{i}]", users, ideas)
                for i, item in enumerate(_list(doc, "comments", required=False))]
    views = [_view(item, f"views[{i}]", users, ideas) for i, item in enumerate(_list(doc, "views", required=False))]
    votes = _votes(_list(doc, "votes", required=True), challenge, users, ideas, pools)
    decisions = [_decision(item, f"decisions[{i}]", ideas)
                 for i, item in enumerate(_list(doc, "decisions", required=False))]
    _check_decisions(decisions)
    archive = Archive(challenge=challenge, users=list(users.values()), ideas=list(ideas.values()),
                      comments=comments, views=views, votes=votes, decisions=decisions)
    # Dates that cannot be put in order are refused here, before anything is written.
    archive.dates = schedule(archive)
    return archive


def _challenge(value: Any) -> ChallengeEntry:
    c = check(ChallengeEntry, value, "challenge")
    seen: dict[str, int] = {}
    for i, criterion in enumerate(c.criteria):
        if criterion.name.lower() in seen:
            raise ArchiveError(f"challenge.criteria[{i}].name", f"a second criterion named {_show(criterion.name)}")
        seen[criterion.name.lower()] = i
    if c.phase != Phase.DRAFT:
        for name in ("opens_at", "closes_at"):
            if getattr(c, name) is None:
                raise ArchiveError(f"challenge.{name}", "missing; a published challenge has its dates")
    if c.opens_at and c.closes_at and c.closes_at <= c.opens_at:
        raise ArchiveError("challenge.closes_at", "must be after opens_at")
    return c


def _users(items: list) -> dict[str, UserEntry]:
    users: dict[str, UserEntry] = {}
    emails: dict[str, int] = {}
    for i, item in enumerate(items):
        path = f"users[{i}]"
        user = check(UserEntry, item, path)
        if user.key in users:
            raise ArchiveError(f"{path}.key", f"a second user with key {_show(user.key)}")
        if user.email in emails:
            raise ArchiveError(f"{path}.email", f"{user.email} is already users[{emails[user.email]}]")
        emails[user.email] = i
        if not user.name:
            user = user.model_copy(update={"name": user.email.split("@", 1)[0][:NAME_MAX]})
        users[user.key] = user
    return users


def _ideas(items: list, users: Mapping[str, UserEntry]) -> dict[str, IdeaEntry]:
    ideas: dict[str, IdeaEntry] = {}
    for i, item in enumerate(items):
        path = f"ideas[{i}]"
        idea = check(IdeaEntry, item, path)
        if idea.key in ideas:
            raise ArchiveError(f"{path}.key", f"a second idea with key {_show(idea.key)}")
        _known(idea.author, f"{path}.author", users, "user")
        for j, co in enumerate(idea.co_authors):
            co_path = f"{path}.co_authors[{j}]"
            _known(co, co_path, users, "user")
            if co == idea.author:
                raise ArchiveError(co_path, f"{_show(co)} is the idea's author")
            if co in idea.co_authors[:j]:
                raise ArchiveError(co_path, f"{_show(co)} is listed twice")
        ideas[idea.key] = idea
    return ideas


def _comment(item: Any, path: str, users, ideas) -> CommentEntry:
    comment = check(CommentEntry, item, path)
    _known(comment.idea, f"{path}.idea", ideas, "idea")
    _known(comment.author, f"{path}.author", users, "user")
    return comment


def _view(item: Any, path: str, users, ideas) -> ViewEntry:
    view = check(ViewEntry, item, path)
    _known(view.idea, f"{path}.idea", ideas, "idea")
    _known(view.user, f"{path}.user", users, "user")
    return view


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
        if policy.name == "pairwise":
            raise ArchiveError(path, "this challenge votes by comparing pairs of ideas, and an archive carries "
                                     "no pair answers: import it with votes: []")
        vote = check(VoteEntry, item, path)
        vote._index = i
        idea, voter = vote.idea, vote.voter
        _known(idea, f"{path}.idea", ideas, "idea")
        _known(voter, f"{path}.voter", users, "user")
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
        if vote.value < 0 and not challenge.allow_opposition:
            raise ArchiveError(f"{path}.value", "this challenge counts support only (opposition is not allowed)")
        for name in vote.ratings:
            if name not in criteria:
                known = ", ".join(sorted(criteria)) or "none"
                raise ArchiveError(f"{path}.ratings.{name}", f"not one of the challenge's criteria (criteria: {known})")
        votes.append(vote)
    if budget is not None:
        _check_budget(votes, budget)
    return votes


def _check_budget(votes: list[VoteEntry], budget: int) -> None:
    used: dict[str, int] = {}
    for vote in sorted(votes, key=lambda v: (v.at, v.index)):
        if vote.value > 0:
            used[vote.voter] = used.get(vote.voter, 0) + 1
            if used[vote.voter] > budget:
                raise ArchiveError(vote.path, f"{_show(vote.voter)} gives more than the {budget} supports "
                                              "this challenge's budget allows")


def _decision(item: Any, path: str, ideas) -> DecisionEntry:
    decision = check(DecisionEntry, item, path)
    _known(decision.idea, f"{path}.idea", ideas, "idea")
    return decision


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
