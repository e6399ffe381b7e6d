#!/usr/bin/env python3
"""Functions a reader can hold: print every C/C++ function in the given
files (or the whole tree's fcgi/, batch/, lib/) longer than LIMIT lines,
counted from the line with its name to its closing brace, and exit 1 when
there is one.  The tree's style puts the name at the start of a line and
the body's braces in column 0, which is what is looked for.

    tests/funclen.py [--limit N] [FILE...]
"""
import glob
import re
import sys

NAME = re.compile(r'^(?:[A-Za-z_][\w:~]*\s*\*?\s*)*?([A-Za-z_][\w:~]*)\s*\(')


def functions(path):
    """(name, first line, last line) of each function in PATH."""
    with open(path, encoding='utf-8', errors='replace') as f:
        lines = f.read().split('\n')
    out = []
    i = 0
    while i < len(lines):
        if lines[i].startswith('{'):
            # the header: back to the line whose first word is the name
            j = i - 1
            while j >= 0 and not NAME.match(lines[j]) and j > i - 12:
                j -= 1
            m = NAME.match(lines[j]) if j >= 0 else None
            k = i + 1
            while k < len(lines) and not lines[k].startswith('}'):
                k += 1
            if m and not lines[j].startswith(('struct', 'enum', 'union',
                                              'static const', 'const')):
                out.append((m.group(1), j + 1, k + 1))
            i = k
        i += 1
    return out


def main(argv):
    limit = 120
    if len(argv) >= 2 and argv[0] == '--limit':
        limit = int(argv[1])
        argv = argv[2:]
    files = argv or sorted(f for d in ('lib', 'fcgi', 'batch')
                           for ext in ('c', 'cpp')
                           for f in glob.glob(d + '/**/*.' + ext,
                                              recursive=True))
    bad = 0
    for path in files:
        for name, first, last in functions(path):
            n = last - first + 1
            if n > limit:
                print('%s:%d: %s() is %d lines (limit %d)' %
                      (path, first, name, n, limit))
                bad += 1
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
