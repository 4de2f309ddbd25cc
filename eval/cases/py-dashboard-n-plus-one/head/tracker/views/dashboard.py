"""The team dashboard."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tracker.models import Issue, Project


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Every project of the user's team, most recently active first."""
    projects = Project.objects.filter(team=request.user.team, archived=False).order_by("-updated_at")
    rows = []
    for p in projects:
        owner = p.owner
        open_issues = Issue.objects.filter(project=p, state="open").count()
        rows.append(
            {
                "id": p.id,
                "name": p.name,
                "updated_at": p.updated_at,
                "owner": owner.get_full_name() or owner.username,
                "open_issues": open_issues,
            }
        )
    return render(request, "tracker/dashboard.html", {"projects": rows})
