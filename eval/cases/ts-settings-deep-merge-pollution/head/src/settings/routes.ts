import { Router } from "express";
import { requireWorkspaceAdmin } from "../auth";
import { settingsRepo } from "./repo";

export const settingsRouter = Router();

type Json = { [key: string]: unknown };

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function deepMerge(target: Json, patch: Json): Json {
  for (const key of Object.keys(patch)) {
    const value = patch[key];
    if (isObject(value)) {
      if (!isObject(target[key])) target[key] = {};
      deepMerge(target[key] as Json, value);
    } else {
      target[key] = value;
    }
  }
  return target;
}

settingsRouter.get("/workspaces/:id/settings", requireWorkspaceAdmin, async (req, res) => {
  res.json(await settingsRepo.get(req.params.id));
});

settingsRouter.patch("/workspaces/:id/settings", requireWorkspaceAdmin, async (req, res) => {
  const current = await settingsRepo.get(req.params.id);
  const merged = deepMerge(current, req.body);
  await settingsRepo.save(req.params.id, merged);
  res.json(merged);
});
