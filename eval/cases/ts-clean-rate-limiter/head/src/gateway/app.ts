import express from "express";
import { authenticate } from "./auth";
import { proxy } from "./proxy";
import { rateLimit, TokenBucketLimiter } from "./rateLimit";

export function createApp() {
  const app = express();
  const limiter = new TokenBucketLimiter(10, 20);
  setInterval(() => limiter.evictIdle(), 60_000).unref();
  app.use(express.json({ limit: "1mb" }));
  app.use("/v1", authenticate, rateLimit(limiter), proxy);
  return app;
}
