"""Language of a changed file, named in the prompt so the model applies the right idioms.

A table, not a library: the names only need to be what a reviewer would call the language,
and a miss is harmless (the header simply carries no language).
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from hunkwise.review.diff import FileDiff

_BY_EXT: dict[str, str] = {
    "py": "python",
    "pyi": "python",
    "pyx": "cython",
    "ts": "typescript",
    "tsx": "typescript",
    "mts": "typescript",
    "cts": "typescript",
    "js": "javascript",
    "jsx": "javascript",
    "mjs": "javascript",
    "cjs": "javascript",
    "go": "go",
    "rs": "rust",
    "java": "java",
    "kt": "kotlin",
    "kts": "kotlin",
    "scala": "scala",
    "groovy": "groovy",
    "gradle": "groovy",
    "c": "c",
    "h": "c",
    "cc": "cpp",
    "cpp": "cpp",
    "cxx": "cpp",
    "hpp": "cpp",
    "hh": "cpp",
    "hxx": "cpp",
    "m": "objective-c",
    "mm": "objective-cpp",
    "cs": "csharp",
    "fs": "fsharp",
    "vb": "vbnet",
    "swift": "swift",
    "rb": "ruby",
    "php": "php",
    "pl": "perl",
    "pm": "perl",
    "lua": "lua",
    "r": "r",
    "jl": "julia",
    "dart": "dart",
    "ex": "elixir",
    "exs": "elixir",
    "erl": "erlang",
    "hs": "haskell",
    "ml": "ocaml",
    "mli": "ocaml",
    "clj": "clojure",
    "zig": "zig",
    "nim": "nim",
    "sh": "shell",
    "bash": "shell",
    "zsh": "shell",
    "fish": "fish",
    "ps1": "powershell",
    "bat": "batch",
    "cmd": "batch",
    "sql": "sql",
    "html": "html",
    "htm": "html",
    "vue": "vue",
    "svelte": "svelte",
    "css": "css",
    "scss": "scss",
    "sass": "sass",
    "less": "less",
    "json": "json",
    "jsonc": "json",
    "yaml": "yaml",
    "yml": "yaml",
    "toml": "toml",
    "ini": "ini",
    "cfg": "ini",
    "xml": "xml",
    "proto": "protobuf",
    "graphql": "graphql",
    "gql": "graphql",
    "tf": "terraform",
    "hcl": "hcl",
    "md": "markdown",
    "rst": "restructuredtext",
    "tex": "latex",
    "ipynb": "jupyter",
    "sol": "solidity",
    "nix": "nix",
    "cmake": "cmake",
    "mk": "makefile",
    "j2": "jinja",
    "jinja": "jinja",
}

_BY_NAME: dict[str, str] = {
    "dockerfile": "dockerfile",
    "containerfile": "dockerfile",
    "makefile": "makefile",
    "gnumakefile": "makefile",
    "cmakelists.txt": "cmake",
    "justfile": "just",
    "rakefile": "ruby",
    "gemfile": "ruby",
    "podfile": "ruby",
    "vagrantfile": "ruby",
    "jenkinsfile": "groovy",
    "build": "starlark",
    "build.bazel": "starlark",
    "workspace": "starlark",
    ".bashrc": "shell",
    ".zshrc": "shell",
    ".profile": "shell",
}

_SHEBANG_RE = re.compile(r"^#!\s*(?:\S*/)?(?:env\s+(?:-\S+\s+)*)?(?P<prog>[A-Za-z]+)")
_BY_INTERPRETER: dict[str, str] = {
    "python": "python",
    "sh": "shell",
    "bash": "shell",
    "zsh": "shell",
    "dash": "shell",
    "ksh": "shell",
    "node": "javascript",
    "deno": "typescript",
    "bun": "javascript",
    "ruby": "ruby",
    "perl": "perl",
    "php": "php",
    "lua": "lua",
    "fish": "fish",
    "pwsh": "powershell",
    "Rscript": "r",
}


def detect_language(path: str, first_line: str | None = None) -> str | None:
    """Language for ``path``; ``first_line`` (line 1 of the new file) resolves shebang scripts
    without an extension, e.g. ``bin/deploy`` starting with ``#!/usr/bin/env bash``."""
    name = PurePosixPath(path).name
    lower = name.lower()
    if lower in _BY_NAME:
        return _BY_NAME[lower]
    if lower.startswith(("dockerfile.", "containerfile.")) or lower.endswith(".dockerfile"):
        return "dockerfile"
    if lower.startswith("makefile."):
        return "makefile"
    if "." in lower.lstrip("."):
        ext = lower.rsplit(".", 1)[1]
        if ext in _BY_EXT:
            return _BY_EXT[ext]
    if first_line and (m := _SHEBANG_RE.match(first_line)):
        prog = m.group("prog")
        return _BY_INTERPRETER.get(prog) or _BY_INTERPRETER.get(prog.rstrip("0123456789"))
    return None


def language_of(file: FileDiff) -> str | None:
    """Language of a parsed file, using its first line when the diff shows it."""
    first: str | None = None
    if file.hunks and file.hunks[0].new_start <= 1:
        first = next((ln.text for ln in file.hunks[0].lines if ln.new_no == 1), None)
    return detect_language(file.path, first)
