# SPDX-License-Identifier: GPL-2.0-or-later
"""ASan's start-up note in a sanitizer build's QEMU.

QEMU's coroutines switch stacks, which ASan says it cannot follow, once per
process and before anything else. It is expected and not part of QEMU's
own output: tests that compare QEMU's output drop it first.
"""

import re

SANITIZER_NOTE = re.compile(
    r"^(==\d+==WARNING: ASan (doesn't fully support makecontext/swapcontext"
    r"|is ignoring requested __asan_handle_no_return)|False positive error "
    r"reports may follow$|For details see https://github.com/google/"
    r"sanitizers/issues/189$)")


def without_sanitizer_note(text):
    """@text without the note's lines."""
    return ''.join(ln for ln in text.splitlines(True)
                   if not SANITIZER_NOTE.match(ln))
