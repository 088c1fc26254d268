"""A sync run inside the service: each committed page also changes the live matcher in place,
so the very next lookup sees its additions and withdrawals (a sync run elsewhere, such as
``jikimi exchange sync``, reaches a running service through its index watcher)."""

from __future__ import annotations

from collections.abc import Callable

from jikimi.banks.exchanges.apply import PageChanges
from jikimi.banks.service import BankStore
from jikimi.matching.matcher import Matcher

ApplyInPlace = Callable[[Callable[[Matcher], None]], None]


def in_place(apply_in_place: ApplyInPlace, banks: BankStore) -> Callable[[PageChanges], None]:
    """An ``on_applied`` callback for :meth:`ExchangeSync.run` from the service's
    ``apply_in_place`` (:meth:`jikimi.web.service.Service.apply_in_place`). A bank the live
    matcher does not know yet (the exchange was added elsewhere and the watcher has not
    rebuilt) is added to it first, from ``banks``."""

    def apply(changes: PageChanges) -> None:
        if not changes.added and not changes.withdrawn:
            return
        names = {e.bank for e in changes.added}
        specs = [banks.get(name).spec() for name in sorted(names)]

        def change(matcher: Matcher) -> None:
            for spec in specs:
                if spec.name not in matcher.banks:
                    matcher.add_bank(spec)
            for entry_id in changes.withdrawn:
                matcher.withdraw(entry_id)
            matcher.add_entries(changes.added)

        apply_in_place(change)

    return apply
