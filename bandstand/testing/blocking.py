"""The blocking-call detector's known, safe exceptions, one by one, each with why it is safe."""

from __future__ import annotations

from blockbuster import BlockBuster


def allow_known_safe_blocking(detector: BlockBuster) -> None:
    # asyncpg's sslmode=prefer/allow (libpq's default) looks for a client certificate and key
    # under ~/.postgresql when it opens a connection: a path resolve and a stat in the home
    # folder, per new connection rather than per query (the pool keeps its connections). The
    # alternative, an SSL context, would lose prefer's fallback to plaintext.
    for function in detector.functions.values():
        function.can_block_in("asyncpg/connect_utils.py", {"_dot_postgresql_path"})
    detector.functions["os.stat"].can_block_in(
        "asyncpg/connect_utils.py", {"_parse_connect_dsn_and_args"}
    )
    # With no S3 keys set, the S3 storage walks botocore's credential chain, which reads
    # ~/.aws/credentials, ~/.aws/config and ~/.boto from inside coroutines. It does that once,
    # in a worker thread, on an event loop of that thread's own that nothing else runs on; the
    # detector sees "a running loop" there and would flag it. The app's loop never blocks.
    for function in detector.functions.values():
        function.can_block_in("bandstand/storage/s3.py", {"walk_credential_chain"})
    # Litestar 2.25 spools a multipart upload in memory and, when it passes 1 MB, moves it to
    # a temporary file inside the spooled file's own write, on the event loop: one page-cache
    # write of that first megabyte per upload (Litestar offloads every later write to a
    # thread). Its UploadFile offers no way to set the threshold from outside.
    for function in detector.functions.values():
        function.can_block_in("tempfile.py", {"rollover"})
