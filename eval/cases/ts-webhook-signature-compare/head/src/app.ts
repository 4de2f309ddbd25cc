import express from "express";
import { apiRouter } from "./api";
import { paymentWebhook } from "./payments/webhook";

export function createApp() {
  const app = express();
  app.use(express.json());
  app.use("/api", apiRouter);
  app.post("/webhooks/payments", paymentWebhook);
  return app;
}
