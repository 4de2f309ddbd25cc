const express = require("express");
const { exec } = require("child_process");
const path = require("path");
const crypto = require("crypto");
const { requireUser } = require("../auth");
const repos = require("../repos");
const builds = require("../builds");

const router = express.Router();
const WORK_ROOT = process.env.PREVIEW_WORK_ROOT || "/srv/previews";

router.get("/previews", requireUser, async (req, res) => {
  res.json(await builds.listForUser(req.user.id));
});

router.post("/previews", requireUser, async (req, res) => {
  const { repoId, branch } = req.body;
  const repo = await repos.findForUser(repoId, req.user.id);
  if (!repo) {
    return res.status(404).json({ error: "repository not found" });
  }
  const dir = path.join(WORK_ROOT, crypto.randomUUID());
  const cmd = `git clone --depth 1 --branch ${branch} ${repo.cloneUrl} ${dir}`;
  exec(cmd, { timeout: 120000 }, () => {
    builds.start({ repoId: repo.id, branch, dir, userId: req.user.id });
  });
  res.status(202).json({ status: "queued" });
});

module.exports = router;
