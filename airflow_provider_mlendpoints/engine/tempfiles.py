"""Removing the temporary files that killed runs left behind in a local output folder.

Local writes go to a ``.mlendpoints-tmp-*`` file beside their target and are renamed into
place (see :mod:`.storage.local`); a process killed in between (SIGKILL during the merge,
say) leaves that file behind. Planning (a new run or a resume) removes them: from the output
folder itself and everything below ``_mlendpoints/``. Blob storage has nothing to remove: a
write that never committed leaves only uncommitted blocks, which Azure discards on its own.
"""

from __future__ import annotations

import os
from contextlib import suppress

from .layout import STATE_DIR
from .storage import LocalStorage
from .storage.base import Storage
from .storage.local import TEMP_PREFIX


def remove_stale_temp_files(out: Storage) -> tuple[int, int]:
    """Delete the temporary files of earlier attempts below ``out``; return (files, bytes) removed."""
    if not isinstance(out, LocalStorage) or not os.path.isdir(out.root):
        return 0, 0
    folders = [out.root]
    for folder, _, _ in os.walk(os.path.join(out.root, STATE_DIR)):
        folders.append(folder)
    files = size = 0
    for folder in folders:
        with suppress(OSError), os.scandir(folder) as entries:
            for entry in entries:
                if not entry.name.startswith(TEMP_PREFIX) or not entry.is_file(follow_symlinks=False):
                    continue
                with suppress(OSError):
                    length = entry.stat(follow_symlinks=False).st_size
                    os.unlink(entry.path)
                    files += 1
                    size += length
    return files, size
