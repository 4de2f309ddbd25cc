import { createHmac } from "node:crypto";
import type { Request, Response } from "express";
import { config } from "../config";
import { logger } from "../logger";
import { applyPaymentEvent, type PaymentEvent } from "./events";

function sign(payload: string): string {
  return createHmac("sha256", config.paymentWebhookSecret).update(payload).digest("hex");
}

export function paymentWebhook(req: Request, res: Response): void {
  const header = req.get("x-provider-signature") ?? "";
  const expected = sign(JSON.stringify(req.body));
  if (header !== expected) {
    logger.warn({ ip: req.ip }, "payment webhook with a bad signature");
    res.status(401).json({ error: "bad signature" });
    return;
  }
  const event = req.body as PaymentEvent;
  applyPaymentEvent(event);
  res.status(200).json({ received: true });
}
