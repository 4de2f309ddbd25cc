import { db } from "../db";
import { currentPeriod } from "./period";

export async function usageThisPeriod(subscriptionId: string): Promise<number> {
  const sub = await db.subscription.findUniqueOrThrow({ where: { id: subscriptionId } });
  const { start, end } = currentPeriod(sub.anchorDay);
  const agg = await db.usageEvent.aggregate({
    where: { subscriptionId, at: { gte: start, lt: end } },
    _sum: { units: true },
  });
  return agg._sum.units ?? 0;
}
