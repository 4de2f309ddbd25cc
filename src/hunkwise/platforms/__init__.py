"""Where changes come from and where reviews go: local git, GitHub, GitLab.

Submodules are imported directly (``hunkwise.platforms.local_git``) so that using one platform
never imports another's HTTP client.
"""
