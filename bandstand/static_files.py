"""The file system `/static/` is served from: Litestar's local one, except that a path that can
name no file is a file not found.

Litestar 2.25's static files answer 500, with a traceback in the log, for a request path that
the operating system refuses outright: a NUL in it (`ValueError: embedded null byte`), a name
longer than the file system allows (ENAMETOOLONG), or a file used as a folder
(`/static/site.css/x`, ENOTDIR). Each is a path to nothing, as any other missing file: 404.
"""

from __future__ import annotations

import errno
from typing import Any

from litestar.file_system import BaseLocalFileSystem
from litestar.types import PathType
from litestar.types.file_types import FileInfo

# What `stat` fails with on a path that exists nowhere because it cannot.
NO_SUCH_PATH = frozenset({errno.ENAMETOOLONG, errno.ENOTDIR, errno.ELOOP})


class StaticFileSystem(BaseLocalFileSystem):
    async def info(self, path: PathType, **kwargs: Any) -> FileInfo:
        try:
            return await super().info(path, **kwargs)
        except ValueError as error:  # a NUL in the path
            raise FileNotFoundError(errno.ENOENT, "No such file", str(path)) from error
        except OSError as error:
            if error.errno in NO_SUCH_PATH:
                raise FileNotFoundError(errno.ENOENT, "No such file", str(path)) from error
            raise
