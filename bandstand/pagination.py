"""Page numbers for list pages and list endpoints."""

from __future__ import annotations

import msgspec

# Far past any real list; a larger number overflowed the query's OFFSET (a 500).
MAX_PAGE = 1_000_000_000


def within_pages(number: int) -> int:
    """A page number from a list page's URL, kept within what a query can skip: a person's
    typo or an old bookmark gets the nearest page, not an error."""
    return min(max(number, 1), MAX_PAGE)


class Page(msgspec.Struct, frozen=True):
    """Page `number` (from 1) of `total` items, `size` per page. A number past the end is
    the last page, as a person who bookmarked page 9 of what is now 8 would want."""

    number: int
    size: int
    total: int

    @classmethod
    def of(cls, number: int, size: int, total: int) -> Page:
        pages = max(1, -(-total // size))
        return cls(number=min(max(number, 1), pages), size=size, total=total)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages
