import type { Request, Response } from "express";
import { prisma } from "../prisma";
import { config } from "../config";

interface Activity {
  kind: string;
  at: string;
}

export async function teamOverview(req: Request, res: Response): Promise<void> {
  const team = await prisma.team.findUnique({
    where: { id: req.params.teamId },
    include: { members: { select: { id: true, name: true, role: true } } },
  });
  if (!team) {
    res.status(404).json({ error: "team not found" });
    return;
  }
  const members = [];
  for (const m of team.members) {
    const r = await fetch(`${config.activityUrl}/users/${m.id}/latest`);
    const activity = (await r.json()) as Activity | null;
    members.push({ ...m, lastActivity: activity });
  }
  res.json({ id: team.id, name: team.name, members });
}
