import type { NextFunction, Request, Response } from "express";

interface Bucket {
  tokens: number;
  updatedAt: number; // ms
}

export class TokenBucketLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    if (ratePerSec <= 0 || burst < 1) {
      throw new RangeError("ratePerSec must be > 0 and burst >= 1");
    }
  }

  /** Take one token for `key`; returns 0 when allowed, else the seconds until a token is available. */
  take(key: string): number {
    const t = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.burst, updatedAt: t };
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.updatedAt) / 1000) * this.ratePerSec);
    b.updatedAt = t;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return (1 - b.tokens) / this.ratePerSec;
  }

  /** Drop buckets that have been idle long enough to be full again, bounding memory. */
  evictIdle(): void {
    const fullAfterMs = (this.burst / this.ratePerSec) * 1000;
    const t = this.now();
    for (const [key, b] of this.buckets) {
      if (t - b.updatedAt >= fullAfterMs) this.buckets.delete(key);
    }
  }

  get size(): number {
    return this.buckets.size;
  }
}

export function rateLimit(limiter: TokenBucketLimiter) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const key = req.get("x-api-key");
    if (!key) {
      res.status(401).json({ error: "missing X-API-Key header" });
      return;
    }
    const wait = limiter.take(key);
    if (wait > 0) {
      res.set("Retry-After", String(Math.ceil(wait)));
      res.status(429).json({ error: "rate limit exceeded", retryAfterSeconds: Math.ceil(wait) });
      return;
    }
    next();
  };
}
