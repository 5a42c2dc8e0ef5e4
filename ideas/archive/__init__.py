"""Challenge archives: one JSON document holds one challenge with its people and history
(format `ideas-archive/1`, described in docs/archive-format.md), so a challenge can
move in from another platform, be backed up, or be replayed in a benchmark.

    import_archive(document) -> Challenge      all or nothing; ArchiveError names the entry
    export_challenge(challenge) -> dict        the same format, back to the same ranking

Beyond the format's example, these optional fields are read when present and
written by export, because the weights or the schedule depend on them:

    challenge.goal, scope_in, scope_out, rules, prize, terms    the rest of the charter
    challenge.allow_opposition (false)    whether -1 votes are allowed; without it they are refused
    challenge.budget_k (5)                supports per voter under the `budget` policy
    challenge.allow_overlap (false), submission_ends_at, voting_at, review_at
                                          the schedule (voting_at / review_at derived when absent:
                                          see document.schedule)
    challenge.criteria[].description
    users[].verified (true)               false for people whose address was never confirmed

Decisions (each with the reason the author reads) become the idea's review in the
review module, with the log the site would have written (ideas/archive/decisions.py);
where that module is absent they are checked but not imported, and the command says so.
"""
from ideas.archive.document import FORMAT, ArchiveError
from ideas.archive.exporting import export_challenge, export_with_result
from ideas.archive.importing import default_manager, import_archive, import_with_result

__all__ = ["FORMAT", "ArchiveError", "default_manager", "export_challenge", "export_with_result",
           "import_archive", "import_with_result"]
