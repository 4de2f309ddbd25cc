"""A change in, findings out: diff parsing and filtering, packing into token budgets, prompts,
parsing and anchoring the model's findings, de-duplication, and reports.

Entry point: ``hunkwise.review.engine.run_review(diff, router, ReviewOptions(...))`` returns a
``ReviewReport``; ``hunkwise.review.reports.render(report, fmt)`` formats it. Submodules are
imported directly so that parsing a diff never imports the gateway's SDKs.
"""
