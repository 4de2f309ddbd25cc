"""Fingerprints survive line shifts and rewording, and tell different findings apart."""

from __future__ import annotations

import pytest

from hunkwise.review.findings import Finding
from hunkwise.review.fingerprint import (
    Fingerprint,
    FingerprintError,
    fingerprint,
    fingerprints,
    same_finding,
)


def _f(
    line: int, title: str = "Bare except swallows every error", category: str = "error_handling"
) -> Finding:
    return Finding("app/db.py", line, line, "medium", category, title)


def test_a_line_shift_and_reindentation_keep_the_fingerprint() -> None:
    before = fingerprint(_f(10), {"app/db.py": {10: "    except:"}})
    after = fingerprint(_f(42), {"app/db.py": {42: "        except:   "}})
    assert before == after


def test_a_reworded_title_is_the_same_finding_a_different_concern_is_not() -> None:
    code = {"app/db.py": {10: "except:"}}
    a = fingerprint(_f(10), code)
    reworded = fingerprint(_f(10, "[sim] Bare except swallows errors"), code)
    other = fingerprint(_f(10, "Retry loop never ends"), code)
    assert a != reworded and same_finding(a, reworded)
    assert not same_finding(a, other)


def test_other_code_path_or_category_is_another_finding() -> None:
    a = fingerprint(_f(10), {"app/db.py": {10: "except:"}})
    b = fingerprint(_f(10), {"app/db.py": {10: "except ValueError:"}})
    c = fingerprint(_f(10, category="maintainability"), {"app/db.py": {10: "except:"}})
    assert not same_finding(a, b) and not same_finding(a, c)


def test_equal_code_twice_in_a_file_gets_two_fingerprints_in_file_order() -> None:
    code = {"app/db.py": {5: "# TODO", 9: "# TODO", 30: "# TODO"}}
    first, second = fingerprints([_f(9, "TODO"), _f(5, "TODO")], code)
    assert first != second
    shifted = fingerprints([_f(12, "TODO"), _f(8, "TODO")], {"app/db.py": {8: "# TODO", 12: "# TODO"}})
    assert (shifted[0], shifted[1]) == (first, second)


def test_text_form_round_trips_and_junk_is_refused() -> None:
    fp = fingerprint(_f(3), {"app/db.py": {3: "except:"}})
    assert Fingerprint.parse(fp.text) == fp
    for junk in ("", "zz.title", "0123456789abcdef.Title With Caps", "0123456789abcdef. -->"):
        with pytest.raises(FingerprintError):
            Fingerprint.parse(junk)
