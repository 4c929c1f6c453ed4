"""Domain errors: every way a command on a policy can be refused.

Each error names the policy, the rule and the invariant in plain words, so the
message alone tells a learner what went wrong. All of them subclass
:class:`DomainError`, so callers can catch the whole family in one place.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base class for every refusal raised by the domain or its repositories."""


class InvalidRule(DomainError, ValueError):
    """A value object was built from a bad value.

    Raised when a rule id, policy id, metric, window or threshold breaks its
    own validation rule. The message names the field and why it is wrong.
    """

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"invalid {field}: {problem}")


class InvalidReason(DomainError, ValueError):
    """A rule was retired without a reason a human could read later."""

    def __init__(self, policy_id: str, rule_id: str, problem: str = "must not be blank") -> None:
        self.policy_id = policy_id
        self.rule_id = rule_id
        self.problem = problem
        super().__init__(
            f"policy {policy_id!r} cannot retire rule {rule_id!r}: the reason {problem}; "
            "it is the audit trail for the retirement"
        )


class DuplicateRuleId(DomainError):
    """Invariant broken: rule ids are unique within a policy, retired ids included."""

    def __init__(self, policy_id: str, rule_id: str, *, retired: bool) -> None:
        self.policy_id = policy_id
        self.rule_id = rule_id
        self.retired = retired
        where = "a retired rule" if retired else "an active rule"
        super().__init__(
            f"policy {policy_id!r} already has {where} with id {rule_id!r}: "
            "rule ids are unique within a policy, forever"
        )


class DuplicateMetricWindow(DomainError):
    """Invariant broken: no two active rules watch the same (metric, window)."""

    def __init__(self, policy_id: str, rule_id: str, existing_rule_id: str, watch: str) -> None:
        self.policy_id = policy_id
        self.rule_id = rule_id
        self.existing_rule_id = existing_rule_id
        super().__init__(
            f"policy {policy_id!r} cannot activate rule {rule_id!r}: "
            f"active rule {existing_rule_id!r} already watches {watch}; "
            "no two active rules may watch the same (metric, window)"
        )


class UnknownRule(DomainError):
    """The command names a rule that is not active in this policy.

    A rule that was already retired counts as unknown: it cannot be retired twice.
    """

    def __init__(self, policy_id: str, rule_id: str, *, retired: bool) -> None:
        self.policy_id = policy_id
        self.rule_id = rule_id
        self.retired = retired
        why = "it is already retired" if retired else "no rule has that id"
        super().__init__(f"policy {policy_id!r} has no active rule {rule_id!r} to retire: {why}")


class PolicyNotFound(DomainError):
    """A repository was asked to load a policy it has never stored."""

    def __init__(self, policy_id: str) -> None:
        self.policy_id = policy_id
        super().__init__(f"no policy with id {policy_id!r} is stored")


class ConcurrencyConflict(DomainError):
    """Optimistic concurrency refused a save: someone else saved first.

    ``expected`` is the version the saving copy was loaded at (0 for a new
    policy); ``actual`` is the version in the store. Nothing was written:
    load the policy again, repeat the command and save once more.
    """

    def __init__(self, policy_id: str, expected: int, actual: int) -> None:
        self.policy_id = policy_id
        self.expected = expected
        self.actual = actual
        if expected == 0:
            detail = f"a policy with that id is already stored at version {actual}"
        else:
            detail = f"this copy was loaded at version {expected}, but the store is at {actual}"
        super().__init__(
            f"policy {policy_id!r} was not saved: {detail}; "
            "reload it, repeat the command and save again"
        )
