import { db } from "../db";
import { mailer } from "../mail/mailer";
import { logger } from "../logger";
import type { Order } from "./types";

async function sendConfirmation(order: Order): Promise<void> {
  await mailer.send({
    to: order.customerEmail,
    template: "order-confirmation",
    data: { orderId: order.id, total: order.totalCents / 100, items: order.items },
  });
}

export async function notifyCheckout(orders: Order[]): Promise<void> {
  try {
    orders.forEach(async (order) => {
      await sendConfirmation(order);
    });
  } catch (err) {
    logger.error({ err }, "confirmation e-mail failed");
    throw err;
  }
  await db.order.updateMany({
    where: { id: { in: orders.map((o) => o.id) } },
    data: { notifiedAt: new Date() },
  });
  logger.info({ count: orders.length }, "checkout completed and customers notified");
}
