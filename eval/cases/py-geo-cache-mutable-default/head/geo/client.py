"""A small client for the geocoding HTTP API."""

from __future__ import annotations

import httpx

from geo.settings import GEOCODER_KEY, GEOCODER_URL

_cache: dict[tuple[str, str], tuple[float, float] | None] = {}


def geocode(address: str, options: dict[str, str] = {}) -> tuple[float, float] | None:
    """Latitude and longitude of an address, or None when the geocoder finds nothing."""
    options["q"] = address
    options.setdefault("key", GEOCODER_KEY)
    cache_key = (address, options.get("country", ""))
    if cache_key in _cache:
        return _cache[cache_key]
    resp = httpx.get(GEOCODER_URL, params=options, timeout=5.0)
    resp.raise_for_status()
    results = resp.json().get("results", [])
    if not results:
        _cache[cache_key] = None
        return None
    loc = results[0]["geometry"]["location"]
    _cache[cache_key] = (loc["lat"], loc["lng"])
    return _cache[cache_key]
