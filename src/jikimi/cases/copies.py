"""Identical copies: items whose media are byte-for-byte the same as another item's.

Three keys say "the same file": its SHA-256, its MD5 (what some hash lists and older tools
give), and the platform's own file id (Telegram's ``file_unique_id``; free, and known even when
the file was too large to fetch). Ids are only compared within one platform. Keys are followed
until nothing new turns up, so an item known only by file id still leads to the copies that
were fetched and hashed elsewhere.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from jikimi.store.models import Item, ItemMedia

__all__ = ["with_identical_copies"]

# Each round follows the keys the last round found; real chains are one or two long.
MAX_ROUNDS = 8


def with_identical_copies(session: Session, item_ids: Collection[int]) -> list[Item]:
    """The items named and every item holding an identical copy of one of their media, by id."""
    found: dict[int, Item] = {
        item.id: item for item in session.scalars(select(Item).where(Item.id.in_(item_ids)))
    }
    fresh = set(found)
    seen: tuple[set[str], set[str], set[tuple[str, str]]] = (set(), set(), set())
    for _ in range(MAX_ROUNDS):
        condition = _new_keys(session, fresh, seen)
        if condition is None:
            break
        copies = session.scalars(
            select(Item)
            .where(Item.id.in_(select(ItemMedia.item_id).join(Item).where(condition)))
            .where(Item.id.not_in(found))
        ).all()
        fresh = {item.id for item in copies}
        found.update((item.id, item) for item in copies)
        if not fresh:
            break
    return [found[k] for k in sorted(found)]


def _new_keys(
    session: Session,
    item_ids: Collection[int],
    seen: tuple[set[str], set[str], set[tuple[str, str]]],
) -> ColumnElement[bool] | None:
    """A condition matching media by the keys of ``item_ids`` not followed before."""
    sha256s, md5s, file_ids = seen
    rows = session.execute(
        select(ItemMedia.media_sha256, ItemMedia.media_md5, ItemMedia.file_id, Item.platform)
        .join(Item, Item.id == ItemMedia.item_id)
        .where(ItemMedia.item_id.in_(item_ids))
    ).all()
    new_sha = {r.media_sha256 for r in rows if r.media_sha256} - sha256s
    new_md5 = {r.media_md5 for r in rows if r.media_md5} - md5s
    new_ids = {(r.platform, r.file_id) for r in rows if r.file_id} - file_ids
    sha256s |= new_sha
    md5s |= new_md5
    file_ids |= new_ids
    conditions: list[ColumnElement[bool]] = []
    if new_sha:
        conditions.append(ItemMedia.media_sha256.in_(new_sha))
    if new_md5:
        conditions.append(ItemMedia.media_md5.in_(new_md5))
    for platform in {p for p, _ in new_ids}:
        ids = [f for p, f in new_ids if p == platform]
        conditions.append(and_(Item.platform == platform, ItemMedia.file_id.in_(ids)))
    return or_(*conditions) if conditions else None
