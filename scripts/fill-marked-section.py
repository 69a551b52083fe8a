#!/usr/bin/env python3
"""Replaces what stands between `<!-- NAME: begin -->` and `<!-- NAME: end -->`
in a markdown file with the content of another file: how the benchmark
scripts put their figures into hand-written documents.

    scripts/fill-marked-section.py DOCUMENT NAME CONTENT_FILE
"""
import sys

document, name, content_file = sys.argv[1:4]
content = open(content_file).read()
text = open(document).read()
begin, end = f"<!-- {name}: begin -->\n", f"<!-- {name}: end -->"
start, stop = text.index(begin) + len(begin), text.index(end)
open(document, "w").write(text[:start] + content + text[stop:])
