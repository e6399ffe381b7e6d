#!/usr/bin/env python3
"""The include graph of the tree: print every #include "..." that points
from a part to one it must not know, and exit 1 when there is one.

    lib/    includes from lib/ only
    fcgi/   from fcgi/ and lib/
    batch/  from batch/ and lib/

An include is resolved as the compiler resolves it: the including file's
own folder first, then lib/, batch/ and fcgi/ (the union of every part's
-I flags, so that a name that would only resolve through another part's
folder is caught too).  A name found nowhere (a generated header in
build/) is left alone.

    tests/layout.py [TOP]
"""
import glob
import os
import re
import sys

ALLOWED = {'lib': {'lib'}, 'fcgi': {'fcgi', 'lib'}, 'batch': {'batch', 'lib'}}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def part(top, path):
    rel = os.path.relpath(path, top)
    head = rel.split(os.sep)[0]
    return head if head in ALLOWED else None


def resolve(top, src, name):
    for d in (os.path.dirname(src), os.path.join(top, 'lib'),
              os.path.join(top, 'batch'), os.path.join(top, 'fcgi')):
        p = os.path.normpath(os.path.join(d, name))
        if os.path.isfile(p):
            return p
    return None


def main(argv):
    top = os.path.abspath(argv[0] if argv else '.')
    bad = 0
    for p in sorted(ALLOWED):
        for src in sorted(glob.glob(os.path.join(top, p, '**', '*'),
                                    recursive=True)):
            if not src.endswith(('.c', '.h', '.cpp')):
                continue
            with open(src, encoding='utf-8', errors='replace') as f:
                for n, line in enumerate(f, 1):
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    got = resolve(top, src, m.group(1))
                    to = part(top, got) if got else None
                    if got and to not in ALLOWED[p]:
                        print('%s:%d: %s/ includes "%s" from %s/' %
                              (os.path.relpath(src, top), n, p,
                               m.group(1), to or
                               os.path.relpath(got, top)))
                        bad += 1
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
