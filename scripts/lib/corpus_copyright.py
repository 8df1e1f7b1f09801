"""Licence look-up in a Debian copyright file, for scripts/lib/corpus_select.py.

Machine-readable files (DEP-5, "Format: https://www.debian.org/doc/packaging-manuals/
copyright-format/1.0/") are read stanza by stanza: the licence of a file is the
`License:` of the LAST `Files:` stanza whose pattern matches it (the DEP-5 rule).
Patterns name paths in the upstream source tree, which differ from the installed
paths by a prefix (`/usr/share/games/wesnoth/1.16/` ...), so a pattern matches when it
matches the installed path or any of its suffixes that start at a `/`. In patterns
`*` matches any run of characters, `/` included, and `?` one character.

Files that are not machine-readable give no per-file answer (None); the caller then
uses the licence written down by hand for that source in corpus_sources.py.
"""

import re


def _glob_re(pat):
    out = []
    for ch in pat:
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out) + r"\Z", re.S)


class Copyright:
    def __init__(self, text):
        self.machine_readable = text.lstrip().startswith("Format:")
        self.stanzas = []  # (list of compiled patterns, licence)
        if not self.machine_readable:
            return
        for para in re.split(r"\n\s*\n", text):
            fields = {}
            key = None
            for line in para.splitlines():
                if line.startswith("#"):
                    continue
                if line[:1] in (" ", "\t"):
                    if key:
                        fields[key] += "\n" + line.strip()
                    continue
                m = re.match(r"([A-Za-z-]+):\s*(.*)", line)
                if m:
                    key = m.group(1).lower()
                    fields[key] = m.group(2)
            if "files" in fields and "license" in fields:
                pats = [_glob_re(p) for p in fields["files"].split()]
                licence = fields["license"].split("\n")[0].strip()
                self.stanzas.append((pats, licence))

    def licence(self, path):
        """Licence of `path` (installed path, relative or absolute), or None."""
        if not self.stanzas:
            return None
        path = path.lstrip("./")
        parts = path.split("/")
        suffixes = ["/".join(parts[i:]) for i in range(len(parts))]
        found = None
        for pats, lic in self.stanzas:
            if any(p.match(s) for p in pats for s in suffixes):
                found = lic
        return found
