#!/usr/bin/env python3
"""Checks every relative link of the built book (mdbook's HTML output): the file it names exists
in the book, and its #fragment is an id on that page. Prints each broken link and exits 1.

The Markdown is checked by `cargo test` (tests/it/docs.rs), README included; this checks what a
reader of the built site clicks: links after mdbook rewrote `.md` into `.html`, links in raw
HTML, and anchors as mdbook made them. Python's standard library only (html.parser), as the rest
of .ci: mdbook-linkcheck would be one more crate to build on every CI run, and it checks the
Markdown, which the test already does.

Usage: check-book-links.py BOOK_DIR
"""

import os
import sys
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit


class Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids = set()
        self.links = []  # (attribute value, line)

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value is None:
                continue
            if name == "id" or (tag == "a" and name == "name"):
                self.ids.add(value)
            elif name in ("href", "src") and tag != "base":
                # (404.html's <base href="/"> is the site's root, where that page lives.)
                self.links.append((value, self.getpos()[0]))


def parse(path):
    page = Page()
    with open(path, encoding="utf-8") as f:
        page.feed(f.read())
    page.close()
    return page


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    root = os.path.realpath(sys.argv[1])
    pages = {}
    for folder, _, files in os.walk(root):
        for name in files:
            if name.endswith(".html"):
                path = os.path.join(folder, name)
                pages[path] = parse(path)
    if not pages:
        print(f"{root}: no HTML pages: was the book built?", file=sys.stderr)
        return 2
    broken = []
    checked = 0
    for path, page in sorted(pages.items()):
        for link, line in page.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith("javascript:"):
                continue
            checked += 1
            where = f"{os.path.relpath(path, root)}:{line}"
            target = path
            if parts.path:
                target = os.path.normpath(os.path.join(os.path.dirname(path), unquote(parts.path)))
                if os.path.isdir(target):
                    target = os.path.join(target, "index.html")
                if not target.startswith(root + os.sep):
                    broken.append(f"{where}: {link}: leaves the book")
                    continue
                if not os.path.exists(target):
                    broken.append(f"{where}: {link}: no file {os.path.relpath(target, root)}")
                    continue
            if parts.fragment and target.endswith(".html"):
                ids = pages[target].ids if target in pages else parse(target).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(
                        f"{where}: {link}: no id {parts.fragment!r} in {os.path.relpath(target, root)}"
                    )
    for b in broken:
        print(b)
    print(f"{len(pages)} pages, {checked} relative links, {len(broken)} broken")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
