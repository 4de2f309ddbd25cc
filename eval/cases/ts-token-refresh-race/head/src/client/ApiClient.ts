interface TokenSet {
  accessToken: string;
  refreshToken: string;
  expiresAt: number; // epoch ms
}

export class ApiClient {
  constructor(
    private readonly baseUrl: string,
    private readonly tokenUrl: string,
    private readonly clientId: string,
    private tokens: TokenSet,
  ) {}

  private async refresh(): Promise<void> {
    const res = await fetch(this.tokenUrl, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: this.tokens.refreshToken,
        client_id: this.clientId,
      }),
    });
    const body = await res.json();
    this.tokens = {
      accessToken: body.access_token,
      refreshToken: body.refresh_token ?? this.tokens.refreshToken,
      expiresAt: Date.now() + body.expires_in * 1000,
    };
  }

  async request<T>(path: string, init: RequestInit = {}): Promise<T> {
    if (Date.now() > this.tokens.expiresAt - 30_000) {
      await this.refresh();
    }
    const res = await fetch(`${this.baseUrl}${path}`, {
      ...init,
      headers: { ...init.headers, Authorization: `Bearer ${this.tokens.accessToken}` },
    });
    if (!res.ok) {
      throw new Error(`${init.method ?? "GET"} ${path} failed: ${res.status}`);
    }
    return (await res.json()) as T;
  }
}
