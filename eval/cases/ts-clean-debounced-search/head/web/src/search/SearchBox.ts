import { renderResults, renderError } from "./render";
import type { SearchResult } from "./types";

const DEBOUNCE_MS = 250;

export class SearchBox {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private inflight: AbortController | undefined;

  constructor(
    private readonly input: HTMLInputElement,
    private readonly results: HTMLElement,
  ) {
    input.addEventListener("input", () => this.schedule(input.value));
  }

  private schedule(query: string): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.search(query), DEBOUNCE_MS);
  }

  private async search(query: string): Promise<void> {
    this.inflight?.abort();
    if (query.trim().length < 2) {
      this.inflight = undefined;
      this.results.replaceChildren();
      return;
    }
    const controller = new AbortController();
    this.inflight = controller;
    try {
      const res = await fetch(`/api/search?q=${encodeURIComponent(query)}`, { signal: controller.signal });
      if (!res.ok) {
        throw new Error(`search failed with HTTP ${res.status}`);
      }
      const data = (await res.json()) as SearchResult[];
      renderResults(this.results, data);
    } catch (err) {
      if (controller.signal.aborted) {
        return; // a newer query replaced this one
      }
      renderError(this.results, err instanceof Error ? err.message : String(err));
    } finally {
      if (this.inflight === controller) {
        this.inflight = undefined;
      }
    }
  }
}
