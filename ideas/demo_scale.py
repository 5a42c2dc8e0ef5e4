"""Scale data: `flask --app wsgi ideas demo --scale small|medium|large`.

Fills an empty database with a site the size of a large organisation, to measure
pages against: at `large`, 50,000 people in both pools, 200 challenges in every
phase and pool mode, 100,000 ideas (one challenge holding 20,000), 300,000
comments, 1,000,000 votes, reviews and handoffs; then the search index.

Rows go in set-based (Core `insert()` executemany in batches, ids assigned here),
never through the ORM one object at a time. Votes carry what the live path would
store: their signals as the site measures them, effort and standing from
`weighting.weight_for` under the weighted rules, collusion from
`collusion.collusion_factors` over each whole challenge (the set-based form of
the rules a cast vote runs), the weight and discounts under the challenge's own
policy, and the stored aggregates and scores from `voting.services.rebuild_scores`.
The weighing is memoised per distinct signal set, so it costs thousands of calls,
not millions.

Vote skew: each challenge's ideas get votes by a Zipf law (a few ideas take most
of them); voters are drive-by likers (one click, often without opening the idea),
reasoned voters (opened and read it, wrote a reason) and rated voters (criteria
ratings too); a few accounts are fresh or unverified, people share office or
home networks, and now and then a reason is copied.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import random
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, inspect, select, text

from ideas import clock, create_app, search
from ideas.accounts.models import EmployeeDomain, User, UserExpertise, UserRole
from ideas.accounts.services import hash_password
from ideas.challenges.models import (
    Challenge,
    ChallengeStaff,
    ChallengeTag,
    Comment,
    Criterion,
    Idea,
    IdeaTag,
)
from ideas.extensions import UTCDateTime, db
from ideas.review.models import (
    Handoff,
    IdeaReview,
    ReviewerAssignment,
    ReviewTransition,
    ScorecardEntry,
)
from ideas.text import word_count
from ideas.voting import collusion as collusion_rules
from ideas.voting import services as voting
from ideas.voting import weighting
from ideas.voting.models import IdeaScore, IdeaView, Vote, VoteRating


class ScaleError(Exception):
    """The scale data cannot be loaded as asked."""


@dataclass(frozen=True)
class Scale:
    people: int
    challenges: int
    ideas: int
    biggest: int  # ideas in the one big challenge
    comments: int
    votes: int


SCALES: dict[str, Scale] = {
    "small": Scale(people=500, challenges=20, ideas=1_000, biggest=200, comments=3_000, votes=10_000),
    "medium": Scale(people=5_000, challenges=60, ideas=10_000, biggest=2_000, comments=30_000, votes=100_000),
    "large": Scale(people=50_000, challenges=200, ideas=100_000, biggest=20_000, comments=300_000,
                   votes=1_000_000),
}
PASSWORD = "scale-demo-password"
BATCH = 5_000
EMPLOYEE_DOMAIN = "staff.example"
EXTERNAL_DOMAINS = ("customers.example", "partners.example", "mail.example")
PHASES = ("draft", "submission", "voting", "review", "closed")
POOL_MODES = ("employees_only", "externals_only", "separate", "blended")
POLICIES = ("weighted", "weighted", "weighted", "simple", "budget")
# The share of the votes that goes to the big challenge (the launch-day rush).
BIGGEST_VOTE_SHARE = 0.3
IDEA_LENGTHS = (20, 30, 40, 55, 70, 90, 120, 160)
COMMENT_LENGTHS = (6, 10, 15, 20, 30, 45)
# VoteSignals' fields, in the order of the memo keys built in `_challenge_votes`.
SIGNAL_FIELDS = ("kind", "value", "viewed_before", "seconds_since_view", "idea_word_count", "reason_word_count",
                 "reason_is_near_copy", "criteria_rated", "has_criteria", "identity", "account_age_seconds",
                 "contributions_90d", "is_author_or_coauthor")
VOTER_KINDS = (("support", 0.55), ("reason", 0.30), ("ratings", 0.15))

TOPICS = {
    "check-in": ["counter", "queue", "desk", "kiosk", "baggage", "boarding", "passport", "terminal"],
    "energy": ["energy", "heating", "lighting", "solar", "battery", "insulation", "meter", "cooling"],
    "onboarding": ["onboarding", "training", "mentor", "laptop", "badge", "handbook", "buddy", "welcome"],
    "support": ["support", "ticket", "chat", "callback", "refund", "complaint", "warranty", "repair"],
    "packaging": ["packaging", "cardboard", "recycling", "label", "parcel", "pallet", "plastic", "returns"],
    "canteen": ["canteen", "lunch", "menu", "coffee", "waste", "vegetarian", "queue", "tray"],
    "mobility": ["bike", "shuttle", "parking", "carpool", "train", "charging", "commute", "scooter"],
    "safety": ["safety", "helmet", "forklift", "ladder", "alarm", "inspection", "incident", "signage"],
}
VERBS = ["Automate", "Simplify", "Share", "Track", "Replace", "Pilot", "Bundle", "Schedule", "Measure", "Reuse",
         "Digitise", "Rethink", "Pool", "Standardise", "Publish"]
ADJECTIVES = ["automatic", "weekly", "shared", "mobile", "quiet", "faster", "cheaper", "local", "open",
              "smarter", "seasonal", "modular", "paperless", "visible", "simple"]
FILLER = ("the a we our team customers staff every week month cost time saves less more because when before "
          "after during could would should pilot trial measure result data app screen form step process "
          "desk office site store warehouse plant people hours minutes budget tool list board").split()
FIRST = ["Aiko", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Kira", "Liam",
         "Mara", "Nils", "Olga", "Pavel", "Quinn", "Rosa", "Sami", "Tara", "Uma", "Viktor", "Wen", "Yara", "Zoe"]
LAST = ["Tanaka", "Ortiz", "Martin", "Patel", "Rossi", "Haddad", "Kim", "Silva", "Weber", "Berg", "Novak",
        "Byrne", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Horvat", "Ivanova", "Jensen"]


def is_empty() -> bool:
    return not db.session.scalar(select(func.count()).select_from(User))


def load_scale(name: str, *, force: bool = False, seed: int = 1, echo=print) -> str:
    """Fill the database with the named scale; the text to print. Commits as it goes."""
    if name not in SCALES:
        raise ScaleError(f"Unknown scale {name!r}: choose one of {', '.join(SCALES)}.")
    missing = {"users", "ideas", "votes"} - set(inspect(db.engine).get_table_names())
    if missing:
        raise ScaleError("The database has no tables yet: run `flask --app wsgi db upgrade` first.")
    if not is_empty() and not force:
        raise ScaleError("The database already holds data: scale data goes into an empty database. "
                         "Use an empty one, or add --force to add the scale data to what is there.")
    started = time.perf_counter()
    builder = _Builder(SCALES[name], random.Random(seed), echo)
    builder.run()
    total = time.perf_counter() - started
    import resource

    cpu = sum(getattr(resource.getrusage(who), field) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
              for field in ("ru_utime", "ru_stime"))
    return "\n".join([
        f"Scale data “{name}” loaded in {total:.0f} s ({cpu:.0f} s of CPU in all): " + ", ".join(
            f"{count:,} {what}" for what, count in builder.counts.items()) + ".",
        f"Every account's password is {PASSWORD!r}; for example {builder.sample_logins()}.",
    ])


class _Builder:
    def __init__(self, scale: Scale, rng: random.Random, echo) -> None:
        self.scale, self.rng, self.echo = scale, rng, echo
        self.now = clock.now().replace(minute=0, second=0, microsecond=0)
        self.counts: dict[str, int] = {}
        self.next_id: dict[str, int] = {}
        self.users: list[tuple[int, str, datetime, bool]] = []  # id, pool, created_at, verified
        self.by_pool: dict[str, list[int]] = {"employee": [], "external": []}
        self.user_index: dict[int, int] = {}
        self.staff: dict[str, list[int]] = {}
        self.challenges: list[dict] = []
        self.ideas: list[tuple[int, int, int, str, int, str, datetime]] = []  # id, ch, author, pool, words, status, at
        self.contributions: dict[int, int] = defaultdict(int)
        self.networks = [hashlib.sha256(f"scale-network-{n}".encode()).hexdigest()[:32] for n in range(4_000)]
        self._weights: dict = {}
        self.weighings = 0
        self._stamps: dict = {}

    # --- helpers ------------------------------------------------------------------

    def _ids(self, table: str, count: int) -> range:
        if table not in self.next_id:
            column = db.metadata.tables[table].c.id
            self.next_id[table] = (db.session.scalar(select(func.max(column))) or 0) + 1
        start = self.next_id[table]
        self.next_id[table] += count
        return range(start, start + count)

    def _insert(self, model, rows, label: str | None = None) -> None:
        """Rows straight to the driver: executemany on SQLite, COPY on PostgreSQL. The
        ORM's per-value processing costs more than the insert itself at a million rows;
        the one conversion it would make (aware datetimes to the column's format) is
        done here, for the datetime columns only."""
        table = model.__table__
        iterator = iter(rows)
        first = next(iterator, None)
        if first is None:
            return
        columns = list(first)
        stamps = [i for i, name in enumerate(columns) if isinstance(table.c[name].type, UTCDateTime)]
        postgres = db.engine.dialect.name == "postgresql"
        connection = db.session.connection()
        count = 0

        cache = self._stamps

        def stamp(value: datetime):
            found = cache.get(value)
            if found is None:
                found = value.astimezone(UTC)
                if not postgres:  # SQLAlchemy's SQLite format, so comparisons in SQL stay right
                    found = found.replace(tzinfo=None).isoformat(" ")
                    found = found if "." in found else f"{found}.000000"
                cache[value] = found
            return found

        def converted(row: dict) -> tuple:
            values = [row[name] for name in columns]
            for i in stamps:
                if values[i] is not None:
                    values[i] = stamp(values[i])
            return tuple(values)

        if postgres:
            raw = connection.connection.driver_connection
            names = ", ".join(f'"{c}"' for c in columns)
            with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
                for row in itertools.chain([first], iterator):
                    copy.write_row(converted(row))
                    count += 1
        else:
            sql = f'INSERT INTO "{table.name}" ({", ".join(columns)}) VALUES ({", ".join("?" * len(columns))})'
            cursor = connection.connection.driver_connection.cursor()
            batch = []
            for row in itertools.chain([first], iterator):
                batch.append(converted(row))
                if len(batch) >= BATCH:
                    cursor.executemany(sql, batch)
                    count += len(batch)
                    batch = []
            if batch:
                cursor.executemany(sql, batch)
                count += len(batch)
            cursor.close()
        if label:
            self.counts[label] = self.counts.get(label, 0) + count

    def _step(self, what: str, started: float) -> None:
        db.session.commit()
        self.echo(f"  {what} ({time.perf_counter() - started:.1f} s)")

    def _words(self, topic: str, count: int) -> str:
        vocab = TOPICS[topic]
        words = self.rng.choices(FILLER, k=count)
        for i in range(0, count, 6):
            words[i] = self.rng.choice(vocab)
        return " ".join(words)

    def sample_logins(self) -> str:
        return ", ".join(f"{role} {email}" for role, email in self.logins)

    # --- the run ------------------------------------------------------------------

    def run(self) -> None:
        for step in (self.people, self.challenges_, self.ideas_, self.comments):
            step()
        # The index holds ideas and comments only: it is built in a second process while
        # the votes go in (the two take about as long; one machine has at least two cores).
        indexing = self.start_search_index()
        for step in (self.votes, self.scores, self.reviews, self.sequences):
            step()
        self.finish_search_index(indexing)

    def people(self) -> None:
        started = time.perf_counter()
        password = hash_password(PASSWORD)
        if not db.session.scalar(select(EmployeeDomain.id).where(EmployeeDomain.domain == EMPLOYEE_DOMAIN)):
            self._insert(EmployeeDomain, [{"id": self._ids("employee_domains", 1)[0], "domain": EMPLOYEE_DOMAIN,
                                           "created_at": self.now}])
        count = self.scale.people
        ids = self._ids("users", count)
        rows = []
        tag = self.next_id["users"]
        for n, user_id in enumerate(ids):
            pool = "employee" if n % 2 == 0 else "external"
            fresh = self.rng.random() < 0.05
            created = self.now - (timedelta(hours=self.rng.randrange(2, 24 * 10)) if fresh
                                  else timedelta(days=self.rng.randrange(60, 1500)))
            verified = pool == "employee" or self.rng.random() < 0.85
            name = f"{self.rng.choice(FIRST)} {self.rng.choice(LAST)}"
            domain = EMPLOYEE_DOMAIN if pool == "employee" else EXTERNAL_DOMAINS[n % len(EXTERNAL_DOMAINS)]
            email = f"{name.split()[0].lower()}.{name.split()[1].lower()}.{tag}-{n}@{domain}"
            rows.append({"id": user_id, "email": email, "name": name, "password_hash": password, "pool": pool,
                         "pool_source": "domain", "email_verified_at": created if verified else None,
                         "terms_accepted_at": created, "active": True, "session_version": 1, "bio": "",
                         "digest": "none", "created_at": created, "last_login_at": None})
            self.user_index[user_id] = len(self.users)
            self.users.append((user_id, pool, created, verified))
            self.by_pool[pool].append(user_id)
        # Staff: employees with old, verified accounts, in proportion to the site's size.
        employees = [u for u in ids[::2]]
        per = max(3, count // 1000)
        self.staff = {"admin": employees[:1], "manager": employees[1:1 + per], "reviewer":
                      employees[1 + per:1 + 4 * per], "owner": employees[1 + 4 * per:1 + 6 * per]}
        old = self.now - timedelta(days=1000)
        staff_ids = {u for group in self.staff.values() for u in group}
        for row in rows:
            if row["id"] in staff_ids:
                row["created_at"] = row["email_verified_at"] = old
        for user_id in staff_ids:
            u = self.users[self.user_index[user_id]]
            self.users[self.user_index[user_id]] = (u[0], u[1], old, True)
        self.everyone = [u for u, *_ in self.users]
        self._insert(User, rows, "people")
        self._insert(UserRole, ({"user_id": u, "role": role} for role, group in self.staff.items() for u in group))
        topics = list(TOPICS)
        self._insert(UserExpertise, ({"user_id": u, "tag": topics[i % len(topics)]}
                                     for i, u in enumerate(self.staff["reviewer"] + self.staff["owner"])))
        emails = {row["id"]: row["email"] for row in rows if row["id"] in staff_ids}
        external = next(row["email"] for row in rows if row["pool"] == "external" and row["email_verified_at"])
        self.logins = [("administrator", emails[self.staff["admin"][0]]),
                       ("manager", emails[self.staff["manager"][0]]),
                       ("reviewer", emails[self.staff["reviewer"][0]]), ("external participant", external)]
        self._step(f"{count:,} people", started)

    def challenges_(self) -> None:
        started = time.perf_counter()
        count = self.scale.challenges
        ids = self._ids("challenges", count)
        topics = list(TOPICS)
        rows, staff, criteria, tags = [], [], [], []
        day = timedelta(days=1)
        for n, challenge_id in enumerate(ids):
            # The first is the big one: voting, blended, weighted. The others go round every
            # phase and pool mode, so each combination appears at every scale.
            phase = "voting" if n == 0 else PHASES[n % len(PHASES)]
            mode = "blended" if n == 0 else POOL_MODES[(n // len(PHASES)) % len(POOL_MODES)]
            policy = "weighted" if n == 0 else POLICIES[n % len(POLICIES)]
            topic = topics[n % len(topics)]
            now = self.now
            dates = {
                "draft": (None, now + 10 * day, now + 20 * day, now + 30 * day, now + 40 * day),
                "submission": (now - 10 * day, now + 5 * day, now + 5 * day, now + 20 * day, now + 30 * day),
                "voting": (now - 40 * day, now - 21 * day, now - 20 * day, now + 10 * day, now + 20 * day),
                "review": (now - 60 * day, now - 41 * day, now - 40 * day, now - 10 * day, now + 20 * day),
                "closed": (now - 80 * day, now - 61 * day, now - 60 * day, now - 30 * day, now - 5 * day),
            }[phase]
            manager = self.staff["manager"][n % len(self.staff["manager"])]
            rows.append({
                "id": challenge_id, "title": f"How could we improve {topic} {'' if n < len(topics) else f'(round {n // len(topics) + 1})'}".strip(),
                "brief": f"Ideas on {topic}: {self._words(topic, 40)}.", "goal": f"Better {topic} within a year.",
                "scope_in": self._words(topic, 12), "scope_out": self._words(topic, 8), "rules": "Be kind; be specific.",
                "prize": "A day with the team that builds it.", "terms": "" if mode == "employees_only" else
                "Ideas you submit may be used by the organisation.", "pool_mode": mode,
                "cross_visibility": mode == "separate" and n % 2 == 0, "pool_weight_employee": 0.5,
                "pool_weight_external": 0.5, "voting_policy": policy, "voting_policy_version": 1, "budget_k": 5,
                "hide_counts_until_voted": True, "randomise_order": n % 3 != 0, "allow_opposition": n % 7 == 3,
                "review_capacity": 10, "reviewers_per_idea": 2, "blind_review": False, "flag_threshold": 3,
                "escalation_contact_id": None, "phase": phase, "opens_at": dates[0],
                "submission_ends_at": dates[1], "voting_at": dates[2], "review_at": dates[3],
                "closes_at": dates[4], "allow_overlap": False,
                "published_at": None if phase == "draft" else (dates[0] or now) - day,
                "created_by_id": manager, "created_at": (dates[0] or now) - 5 * day,
                "updated_at": (dates[0] or now) - 5 * day, "external_ref": None,
            })
            staff.append({"challenge_id": challenge_id, "user_id": manager, "role": "manager"})
            moderator = self.staff["reviewer"][n % len(self.staff["reviewer"])]
            staff.append({"challenge_id": challenge_id, "user_id": moderator, "role": "moderator"})
            criterion_ids = list(self._ids("criteria", 2))
            for position, (cid, (cname, weight)) in enumerate(zip(criterion_ids, (("Impact", 2), ("Feasibility", 1)),
                                                                  strict=True)):
                criteria.append({"id": cid, "challenge_id": challenge_id, "name": cname, "weight": weight,
                                 "description": "", "position": position})
            tags += [{"challenge_id": challenge_id, "tag": t} for t in sorted({topic, TOPICS[topic][1]})]
            self.challenges.append({"id": challenge_id, "phase": phase, "mode": mode, "policy": policy,
                                    "topic": topic, "dates": dates, "criteria": criterion_ids,
                                    "opposition": n % 7 == 3, "cross": mode == "separate" and n % 2 == 0})
        self._insert(Challenge, rows, "challenges")
        self._insert(ChallengeStaff, staff)
        self._insert(Criterion, criteria)
        self._insert(ChallengeTag, tags)
        self._step(f"{count:,} challenges", started)

    def _authors(self, mode: str) -> list[int]:
        if mode == "employees_only":
            return self.by_pool["employee"]
        if mode == "externals_only":
            return self.by_pool["external"]
        return self.everyone

    def ideas_(self) -> None:
        started = time.perf_counter()
        open_ = [c for c in self.challenges if c["phase"] != "draft"]
        rest = self.scale.ideas - self.scale.biggest
        shares = [1.0 / (i + 1) ** 0.5 for i in range(len(open_) - 1)]
        total = sum(shares)
        plan = {open_[0]["id"]: self.scale.biggest}
        for challenge, share in zip(open_[1:], shares, strict=True):
            plan[challenge["id"]] = max(1, int(rest * share / total))
        plan[open_[1]["id"]] += self.scale.ideas - sum(plan.values())
        ids = iter(self._ids("ideas", self.scale.ideas))
        rows, tags = [], []
        for challenge in open_:
            authors = self._authors(challenge["mode"])
            start = challenge["dates"][0]
            end = min(challenge["dates"][1], self.now)
            span = max(1, int((end - start).total_seconds() // 3600))
            topic = challenge["topic"]
            for _ in range(plan[challenge["id"]]):
                idea_id = next(ids)
                author = self.rng.choice(authors)
                pool = self.users[self.user_index[author]][1]
                created = max(start + timedelta(hours=self.rng.randrange(span)),
                              self.users[self.user_index[author]][2] + timedelta(hours=1))
                roll = self.rng.random()
                status = "draft" if roll < 0.03 else ("withdrawn" if roll < 0.05 else "published")
                words = self.rng.choice(IDEA_LENGTHS)
                body = self._words(topic, words)
                title = (f"{self.rng.choice(VERBS)} {self.rng.choice(ADJECTIVES)} {self.rng.choice(TOPICS[topic])} "
                         f"{self.rng.choice(('for', 'at', 'in', 'with'))} {self.rng.choice(TOPICS[topic])}")
                summary = self._words(topic, 20)
                rows.append({
                    "id": idea_id, "challenge_id": challenge["id"], "author_id": author, "pool": pool,
                    "title": title[:160], "summary": summary, "body": body, "status": status, "hidden_at": None,
                    "merged_into_id": None, "word_count": word_count(title, summary, body),
                    "comment_count": 0, "revision": 1, "external_ref": None, "created_at": created,
                    "published_at": None if status == "draft" else created, "updated_at": created,
                    "withdrawn_at": created + timedelta(days=1) if status == "withdrawn" else None,
                })
                tags += [{"idea_id": idea_id, "tag": t} for t in {topic, self.rng.choice(TOPICS[topic])}]
                if status != "draft":
                    self.contributions[author] += 1
                self.ideas.append((idea_id, challenge["id"], author, pool, rows[-1]["word_count"], status, created))
            if len(rows) >= BATCH:
                self._insert(Idea, rows, "ideas")
                self._insert(IdeaTag, tags)
                rows, tags = [], []
        self._insert(Idea, rows, "ideas")
        self._insert(IdeaTag, tags)
        self._step(f"{self.scale.ideas:,} ideas", started)

    def _zipf_counts(self, total: int, n: int, exponent: float = 1.05) -> list[int]:
        weights = [1.0 / (i + 1) ** exponent for i in range(n)]
        self.rng.shuffle(weights)
        scale = total / sum(weights)
        return [int(w * scale) for w in weights]

    def comments(self) -> None:
        started = time.perf_counter()
        published = [i for i in self.ideas if i[5] != "draft"]
        counts = self._zipf_counts(self.scale.comments, len(published), 0.8)
        short = self.scale.comments - sum(counts)
        for k in range(short):
            counts[k % len(counts)] += 1
        ids = iter(self._ids("comments", self.scale.comments))
        topic_of = {c["id"]: c["topic"] for c in self.challenges}
        authors_of = {c["id"]: self._authors(c["mode"]) for c in self.challenges}
        per_idea: list[dict] = []
        rows = []
        for idea, count in zip(published, counts, strict=True):
            if not count:
                continue
            idea_id, challenge_id, _, _, _, _, created = idea
            tops: list[int] = []
            for k in range(count):
                comment_id = next(ids)
                author = self.rng.choice(authors_of[challenge_id])
                parent = self.rng.choice(tops) if tops and self.rng.random() < 0.4 else None
                at = created + timedelta(hours=1 + k)
                body = self._words(topic_of[challenge_id], self.rng.choice(COMMENT_LENGTHS))
                rows.append({"id": comment_id, "idea_id": idea_id, "author_id": author, "parent_id": parent,
                             "body": body, "created_at": min(at, self.now), "edited_at": None, "hidden_at": None})
                if parent is None:
                    tops.append(comment_id)
                if len(body) >= voting.SUBSTANTIVE_COMMENT_WORDS * 5:
                    self.contributions[author] += 1
            per_idea.append({"idea": idea_id, "count": count})
            if len(rows) >= BATCH:
                self._insert(Comment, rows, "comments")
                rows = []
        self._insert(Comment, rows, "comments")
        db.session.execute(text("UPDATE ideas SET comment_count = (SELECT count(*) FROM comments "
                                "WHERE comments.idea_id = ideas.id) WHERE id >= :first"),
                           {"first": self.ideas[0][0]})
        self._step(f"{self.scale.comments:,} comments", started)

    # --- votes --------------------------------------------------------------------

    def _voters(self, mode: str, idea_pool: str, cross: bool) -> list[int]:
        if mode == "employees_only":
            return self.by_pool["employee"]
        if mode == "externals_only":
            return self.by_pool["external"]
        if mode == "separate" and not cross:
            return self.by_pool[idea_pool]
        return self.everyone

    def _weigh(self, key: tuple, policy, found, memo: dict) -> tuple:
        """`weighting.weight_for` for the signals in `key` (SIGNAL_FIELDS' values), memoised:
        (effort, standing, collusion, weight, discounts as stored, policy label). Keyed by
        plain tuples in one memo per policy (`memo`), as hashing the dataclasses costs
        more than most weighings."""
        found_key = (found.factor, found.discounts)
        weight = memo.get((key, found_key))
        if weight is None:
            signals = weighting.VoteSignals(**dict(zip(SIGNAL_FIELDS, key, strict=True)))
            w = weighting.weight_for(signals, policy, found)
            weight = memo[(key, found_key)] = (w.effort, w.standing, w.collusion, w.value,
                                               json.dumps([list(d) for d in w.discounts]), w.policy)
            self.weighings += 1
        return weight

    def votes(self) -> None:
        started = time.perf_counter()
        voting_challenges = [c for c in self.challenges if c["phase"] in ("voting", "review", "closed")]
        published = defaultdict(list)
        for idea in self.ideas:
            if idea[5] == "published":
                published[idea[1]].append(idea)
        voting_challenges = [c for c in voting_challenges if published[c["id"]]]
        big = voting_challenges[0]
        others = voting_challenges[1:]
        plan = {big["id"]: int(self.scale.votes * BIGGEST_VOTE_SHARE)}
        rest = self.scale.votes - plan[big["id"]]
        sizes = sum(len(published[c["id"]]) for c in others)
        for challenge in others:
            plan[challenge["id"]] = int(rest * len(published[challenge["id"]]) / sizes)
        plan[big["id"]] += self.scale.votes - sum(plan.values())
        self.counts["votes"] = 0
        self.first_vote = self._ids("votes", 0).start
        for challenge in voting_challenges:
            self._challenge_votes(challenge, published[challenge["id"]], plan[challenge["id"]])
        # Externals took part only after accepting each challenge's terms.
        db.session.execute(text(
            "INSERT INTO challenge_terms_acceptances (challenge_id, user_id, accepted_at) "
            "SELECT challenge_id, user_id, min(at) FROM ("
            " SELECT votes.challenge_id, votes.voter_id AS user_id, votes.created_at AS at FROM votes"
            " JOIN users ON users.id = votes.voter_id WHERE users.pool = 'external' AND votes.id >= :vote"
            " UNION ALL SELECT ideas.challenge_id, ideas.author_id, ideas.created_at FROM ideas"
            " JOIN users ON users.id = ideas.author_id WHERE users.pool = 'external' AND ideas.id >= :idea"
            ") AS taking_part GROUP BY challenge_id, user_id ON CONFLICT DO NOTHING"),
            {"vote": self.first_vote, "idea": self.ideas[0][0]})
        self._step(f"{self.counts['votes']:,} votes ({self.weighings:,} distinct weighings)", started)

    def _challenge_votes(self, challenge: dict, ideas: list, wanted: int) -> None:
        rng = self.rng
        from types import SimpleNamespace

        policy = voting.active_policy(SimpleNamespace(voting_policy=challenge["policy"], budget_k=5,
                                                      allow_opposition=challenge["opposition"]))
        # One memo per distinct policy, looked up once per challenge (hashing a policy is dear).
        measured_memo = self._weights.setdefault(weighting.WEIGHTED, {})
        policy_memo = self._weights.setdefault(policy, {})
        if policy.name == "budget":
            wanted = min(wanted, len(self.users) * policy.budget_k // 4)
        start, end = challenge["dates"][2], min(challenge["dates"][3], self.now)
        span_hours = max(1, int((end - start).total_seconds() // 3600))
        counts = self._zipf_counts(wanted, len(ideas))
        budget_used: dict[int, int] = defaultdict(int)
        pending: list[dict] = []
        seen: set[tuple[int, int]] = set()
        for idea, count in zip(ideas, counts, strict=True):
            idea_id, _, author, pool, words, _, _ = idea
            candidates = self._voters(challenge["mode"], pool, challenge["cross"])
            count = min(count, len(candidates) - 1)
            if count <= 0:
                continue
            reasons_here: list[str] = []
            for voter in rng.sample(candidates, count + 1):
                if voter == author or (voter, idea_id) in seen:
                    continue
                if policy.name == "budget" and budget_used[voter] >= policy.budget_k:
                    continue
                seen.add((voter, idea_id))
                budget_used[voter] += 1
                _, voter_pool, created, verified = self.users[self.user_index[voter]]
                at = start + timedelta(hours=rng.randrange(span_hours), minutes=rng.randrange(60))
                if at <= created:
                    at = created + timedelta(minutes=rng.randrange(5, 600))
                    if at > end:
                        continue
                kind = rng.choices([k for k, _ in VOTER_KINDS], [w for _, w in VOTER_KINDS])[0]
                viewed = kind != "support" or rng.random() < 0.35
                seconds = float(rng.choice((4, 12, 45, 90, 240, 900))) if viewed else None
                reason, near_copy = "", False
                if kind != "support":
                    if reasons_here and rng.random() < 0.03:
                        reason, near_copy = rng.choice(reasons_here), True  # copied: the live path spots it
                    else:
                        reason = self._words(challenge["topic"], rng.choice((6, 12, 22, 30, 45)))
                        reasons_here.append(reason)
                identity = ("employee_verified" if voter_pool == "employee" else "external_verified") \
                    if verified else "unverified"
                age = max(0.0, (at - created).total_seconds())
                # Whole hours in the first week (where age changes standing), whole months after.
                age = float(int(age // 3600) * 3600) if age < 8 * 86400 else float(int(age // (30 * 86400)) * 30 * 86400)
                value = -1 if policy.allows_opposition and rng.random() < 0.08 else 1
                network = self.networks[voter % 40] if voter_pool == "employee" else \
                    self.networks[40 + voter % (len(self.networks) - 40)]
                rated = kind == "ratings"
                pending.append({
                    "challenge_id": challenge["id"], "idea_id": idea_id, "voter_id": voter, "pool": voter_pool,
                    "kind": kind, "value": value, "reason": reason, "created_at": at, "updated_at": at,
                    "viewed_before": viewed, "seconds_since_view": seconds, "idea_word_count": words,
                    "reason_words": weighting.word_count(reason), "reason_near_copy": near_copy,
                    "criteria_rated": rated, "identity": identity, "account_age_seconds": age,
                    "contributions_90d": min(self.contributions.get(voter, 0), 50), "is_author": False,
                    "network": network,
                })
        if not pending:
            return
        ids = self._ids("votes", len(pending))
        authors = {i[0]: frozenset({i[2]}) for i in ideas}
        has_criteria = bool(challenge["criteria"])
        facts, keys = [], []
        for vote_id, row in zip(ids, pending, strict=True):
            row["id"] = vote_id
            key = (row["kind"], row["value"], row["viewed_before"], row["seconds_since_view"],
                   row["idea_word_count"], row["reason_words"], row["reason_near_copy"], row["criteria_rated"],
                   has_criteria, row["identity"], row["account_age_seconds"], row["contributions_90d"], False)
            keys.append(key)
            alone = self._weigh(key, weighting.WEIGHTED, weighting.NO_COLLUSION, measured_memo)
            facts.append(collusion_rules.VoteFact(
                vote_id=vote_id, voter_id=row["voter_id"], idea_id=row["idea_id"],
                author_ids=authors[row["idea_id"]], at=row["created_at"], standing=alone[1], effort=alone[0],
                network=row["network"], value=row["value"]))
        factors = collusion_rules.collusion_factors(facts, weighting.WEIGHTED)
        views, ratings = [], []
        for row, key in zip(pending, keys, strict=True):
            found = factors.get(row["id"], weighting.NO_COLLUSION)
            measured = self._weigh(key, weighting.WEIGHTED, found, measured_memo)
            weight = self._weigh(key, policy, found, policy_memo)
            row.update(effort=measured[0], standing=measured[1], collusion=measured[2], weight=weight[3],
                       discounts=weight[4], policy=weight[5])
            if row["viewed_before"]:
                first = row["created_at"] - timedelta(seconds=row["seconds_since_view"])
                views.append({"idea_id": row["idea_id"], "user_id": row["voter_id"], "first_at": first,
                              "last_at": row["created_at"]})
            if row["criteria_rated"]:
                ratings += [{"vote_id": row["id"], "criterion_id": c, "rating": self.rng.randrange(1, 6)}
                            for c in challenge["criteria"]]
        self._insert(Vote, pending, "votes")
        self._insert(IdeaView, views, "views")
        self._insert(VoteRating, ratings)
        db.session.commit()

    def scores(self) -> None:
        """The stored aggregates and scores: the score rows go in set-based, then the
        voting package's own `rebuild_scores` fills them per challenge (grouped sums in
        the database, the pools' scales, the blend and the pools-disagree flags), so they
        are what the live rules make whatever those rules become."""
        started = time.perf_counter()
        db.session.execute(text(
            "INSERT INTO idea_scores (idea_id, challenge_id, support_employee, oppose_employee, raw_employee, "
            "support_external, oppose_external, raw_external, score_employee, score_external, score_blended, "
            "disagree, pair_appearances, score_pairwise, updated_at) "
            "SELECT id, challenge_id, 0, 0, 0, 0, 0, 0, 0, 0, 0, :false, 0, 0.5, :now FROM ideas "
            "WHERE id >= :first AND status = 'published'"),
            {"first": self.ideas[0][0], "now": self._stamp_now(), "false": False})
        for challenge in self.challenges:
            model = db.session.get(Challenge, challenge["id"])
            voting.rebuild_scores(model)
            db.session.commit()
            db.session.expunge_all()
        self._step("stored scores and rankings", started)

    def _stamp_now(self):
        if db.engine.dialect.name == "postgresql":
            return self.now
        return self.now.astimezone(UTC).replace(tzinfo=None).isoformat(" ") + ".000000"

    # --- review -------------------------------------------------------------------

    def reviews(self) -> None:
        started = time.perf_counter()
        reviews, assignments, entries, transitions, handoffs = [], [], [], [], []
        reviewers, owners = self.staff["reviewer"], self.staff["owner"]
        manager_of = {c["id"]: self.staff["manager"][i % len(self.staff["manager"])]
                      for i, c in enumerate(self.challenges)}
        for challenge in self.challenges:
            if challenge["phase"] not in ("review", "closed"):
                continue
            top = db.session.execute(select(IdeaScore.idea_id).where(IdeaScore.challenge_id == challenge["id"])
                                     .order_by(IdeaScore.score_blended.desc(), IdeaScore.idea_id).limit(8)).scalars()
            begin = challenge["dates"][3]
            manager = manager_of[challenge["id"]]
            for k, idea_id in enumerate(top):
                path = _REVIEW_PATHS[k % len(_REVIEW_PATHS)]
                review_id = self._ids("idea_reviews", 1)[0]
                at = begin + timedelta(hours=2)
                owner = owners[(idea_id + k) % len(owners)] if "handed_off" in path else None
                state = path[-1]
                decision = next((s for s in path if s in ("accepted", "declined", "parked")), None)
                reviews.append({
                    "id": review_id, "idea_id": idea_id, "challenge_id": challenge["id"], "state": state,
                    "state_since": at + timedelta(days=len(path)), "decision": decision,
                    "decision_reason": "Weighed against the criteria by the review panel." if decision else "",
                    "decided_at": at + timedelta(days=2) if decision else None, "internal_note": "",
                    "owner_id": owner, "handoff_count": 1 if owner else 0,
                    "ack_due_at": at + timedelta(days=6) if owner else None,
                    "close_reason": "", "closed_at": None, "created_at": at, "created_by_id": manager,
                })
                previous = None
                for step, state_name in enumerate(path):
                    transitions.append({"id": self._ids("review_transitions", 1)[0], "review_id": review_id,
                                        "from_state": previous, "to_state": state_name, "actor_id": manager,
                                        "at": at + timedelta(days=step), "internal": False,
                                        "reason": "" if step == 0 else "Weighed against the criteria.",
                                        "note": ""})
                    previous = state_name
                for r in range(2):
                    assignment_id = self._ids("review_assignments", 1)[0]
                    submitted = at + timedelta(days=1) if path.index(state) >= 1 and len(path) > 2 else None
                    assignments.append({"id": assignment_id, "review_id": review_id,
                                        "reviewer_id": reviewers[(idea_id + r) % len(reviewers)],
                                        "assigned_by_id": manager, "assigned_at": at, "automatic": True,
                                        "due_at": at + timedelta(days=7), "submitted_at": submitted,
                                        "conflict_declared_at": None, "conflict_reason": ""})
                    if submitted:
                        entries += [{"id": self._ids("scorecard_entries", 1)[0], "assignment_id": assignment_id,
                                     "criterion_id": c, "rating": self.rng.randrange(2, 6),
                                     "comment": "Clear case, checked against our numbers.", "updated_at": submitted}
                                    for c in challenge["criteria"]]
                if owner:
                    handed = at + timedelta(days=3)
                    acknowledged = handed + timedelta(days=1) if state in ("acknowledged", "in_progress") else None
                    handoffs.append({"id": self._ids("review_handoffs", 1)[0], "review_id": review_id,
                                     "number": 1, "owner_id": owner, "handed_by_id": manager, "handed_at": handed,
                                     "ack_due_at": handed + timedelta(days=5), "over_wip_confirmed": False,
                                     "note": "", "acknowledged_at": acknowledged, "declined_at": None,
                                     "decline_reason": ""})
        self._insert(IdeaReview, reviews, "reviews")
        self._insert(ReviewTransition, transitions)
        self._insert(ReviewerAssignment, assignments)
        self._insert(ScorecardEntry, entries)
        self._insert(Handoff, handoffs, "handoffs")
        self._step(f"{len(reviews):,} reviews, {len(handoffs):,} handoffs", started)

    def sequences(self) -> None:
        """On PostgreSQL, ids were given here: move each sequence past them."""
        if db.engine.dialect.name != "postgresql":
            return
        for table in self.next_id:
            db.session.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
        db.session.commit()

    def start_search_index(self):
        import multiprocessing

        from flask import current_app

        config = current_app.config
        overrides = {"IDEAS_ENV": config["IDEAS_ENV"], "IDEAS_INSTANCE_PATH": config["INSTANCE_PATH"],
                     "SQLALCHEMY_DATABASE_URI": config["SQLALCHEMY_DATABASE_URI"],
                     "IDEAS_SEARCH_INDEX": config["IDEAS_SEARCH_INDEX"], "SECRET_KEY": config["SECRET_KEY"]}
        context = multiprocessing.get_context("spawn")
        results = context.Queue()
        process = context.Process(target=_reindex, args=(overrides, results), daemon=True)
        process.start()
        return process, results, time.perf_counter()

    def finish_search_index(self, indexing) -> None:
        process, results, started = indexing
        self.echo("  waiting for the search index …")
        import queue

        try:
            outcome = results.get(timeout=None if process.is_alive() else 5)
        except queue.Empty:
            outcome = "the indexing process ended without a result"
        process.join()
        if not isinstance(outcome, int):
            raise ScaleError(f"The data is loaded but the search index failed: {outcome}. "
                             "Run `flask --app wsgi ideas reindex`.")
        self.counts["ideas in the search index"] = outcome
        self.echo(f"  search index: {outcome:,} ideas (ready {time.perf_counter() - started:.1f} s after it began)")


def _reindex(overrides: dict, results) -> None:
    """In its own process: rebuild the search index from the database (one bulk writer)."""
    try:
        app = create_app(dict(overrides))
        with app.app_context():
            results.put(search.reindex())
    except Exception as error:  # reported by the parent
        results.put(f"{type(error).__name__}: {error}")


# The paths shortlisted ideas take in the scale data (each a legal sequence of states).
_REVIEW_PATHS = (
    ("shortlisted",),
    ("shortlisted", "in_review"),
    ("shortlisted", "in_review", "declined"),
    ("shortlisted", "in_review", "parked"),
    ("shortlisted", "in_review", "accepted"),
    ("shortlisted", "in_review", "accepted", "handed_off"),
    ("shortlisted", "in_review", "accepted", "handed_off", "acknowledged"),
    ("shortlisted", "in_review", "accepted", "handed_off", "acknowledged", "in_progress"),
)
