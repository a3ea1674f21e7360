"""Limits on the anonymous routes that hash a password: sign-in and registration.

- Every sign-in attempt from one address (any outcome): ``attempts``.
- Failed sign-ins for one account from one address: ``failures``. Keyed by both, so a
  stranger guessing from elsewhere can never lock the owner out, staff included.
- Failed sign-ins from one address across accounts (one password tried on many):
  ``spraying``.
- Registrations from one address: ``registrations``.
- Reset mails per account (``resets``): nobody can fill a customer's inbox; the anonymous
  request answers the same either way.
- Registrations from one address answered 409 (that e-mail or CPF is a customer): ``conflicts``.
  The contract fixes those answers, so they are an oracle; this bounds how often one
  address may consult it (docs/security.md, account enumeration).

Failure tokens are taken before the password is checked (one atomic upsert each), so
parallel guesses cannot all get through before a bucket runs dry, and given back when the
password was right, or when the attempt is refused without being checked, so a bucket
under attack stays near empty rather than sinking further: it refills within its window.
Keys hold blind indexes of the account and the address, never either in clear.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mercado_shared.ratelimit import RateLimiter, TooManyRequests


@dataclass(frozen=True)
class SignInLimits:
    attempts: RateLimiter
    failures: RateLimiter
    spraying: RateLimiter
    registrations: RateLimiter
    conflicts: RateLimiter
    resets: RateLimiter  # reset mails per account

    def before_sign_in(self, account: str, address: str) -> Callable[[bool], None]:
        """Refuses with 429 (TOO_MANY_ATTEMPTS), or returns what to call with the outcome."""
        wait = self.attempts.take(f"sign-in-from:{address}")
        if wait is not None:
            raise TooManyRequests("TOO_MANY_ATTEMPTS", "too many sign-ins from this address; wait", wait)
        reserved = [(self.failures, f"login:{account}:{address}"), (self.spraying, f"login-failed-from:{address}")]
        waits = [w for limiter, key in reserved if (w := limiter.take(key)) is not None]
        if waits:
            self._give_back(reserved)
            raise TooManyRequests("TOO_MANY_ATTEMPTS", "too many failed sign-ins; wait", max(waits))

        def outcome(succeeded: bool) -> None:
            if succeeded:
                self._give_back(reserved)

        return outcome

    def before_registration(self, address: str) -> Callable[[bool], None]:
        """Refuses with 429 (TOO_MANY_REQUESTS), or returns what to call with whether the
        registration was refused as a duplicate."""
        wait = self.registrations.take(f"register-from:{address}")
        if wait is None:
            conflict = [(self.conflicts, f"register-conflict-from:{address}")]
            wait = self.conflicts.take(conflict[0][1])
            if wait is None:

                def outcome(duplicate: bool) -> None:
                    if not duplicate:
                        self._give_back(conflict)

                return outcome
        raise TooManyRequests("TOO_MANY_REQUESTS", "too many registrations from this address; wait", wait)

    def before_reset_request(self, account: str, address: str) -> bool:
        """Refuses with 429 per address; returns whether the account may get another reset
        mail now (if not, the caller answers as if it had sent one)."""
        wait = self.attempts.take(f"reset-from:{address}")
        if wait is not None:
            raise TooManyRequests("TOO_MANY_REQUESTS", "too many reset requests from this address; wait", wait)
        return self.resets.take(f"reset:{account}") is None

    def before_reset(self, address: str) -> None:
        wait = self.attempts.take(f"reset-with-token-from:{address}")
        if wait is not None:
            raise TooManyRequests("TOO_MANY_REQUESTS", "too many resets from this address; wait", wait)

    @staticmethod
    def _give_back(reserved: list[tuple[RateLimiter, str]]) -> None:
        for limiter, key in reserved:
            limiter.give_back(key)
