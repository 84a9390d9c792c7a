"""The site's request class: htmx's, without the reference cycle it makes on every request.

litestar-htmx's `HTMXRequest` keeps `HTMXDetails(self)` on itself: the request and its details
point at each other, so neither is freed when the request ends. Everything the request holds
(its scope, the middleware's closures around `send`) waited for the garbage collector, whose
passes then ran every few requests (docs/performance.md has what it cost). Here the details
are made when asked for and hold the only reference.
"""

from __future__ import annotations

from litestar import Request
from litestar.connection.base import empty_receive, empty_send
from litestar.plugins.htmx import HTMXDetails, HTMXRequest
from litestar.types import Receive, Scope, Send


class SiteRequest(HTMXRequest):
    __slots__ = ()

    def __init__(
        self, scope: Scope, receive: Receive = empty_receive, send: Send = empty_send
    ) -> None:
        # Not HTMXRequest's: it stores the details, which is the cycle.
        Request.__init__(self, scope, receive, send)

    # Read-only where HTMXRequest's is an attribute: nothing assigns it.
    @property
    def htmx(self) -> HTMXDetails:  # type: ignore[override]
        return HTMXDetails(self)
