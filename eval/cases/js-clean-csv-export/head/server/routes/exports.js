const express = require("express");
const { pipeline } = require("stream/promises");
const { Readable } = require("stream");
const { requireUser } = require("../auth");
const db = require("../db");

const router = express.Router();

const COLUMNS = ["number", "customer", "issued_on", "total", "currency", "status"];

/** Quote a CSV field (RFC 4180) and neutralise spreadsheet formulas (=, +, -, @ at the start). */
function csvField(value) {
  if (value === null || value === undefined) return "";
  let s = String(value);
  if (typeof value === "string" && /^[=+\-@\t\r]/.test(s)) s = "'" + s;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

async function* csvLines(rows) {
  yield COLUMNS.join(",") + "\r\n";
  for await (const row of rows) {
    yield COLUMNS.map((c) => csvField(row[c])).join(",") + "\r\n";
  }
}

router.get("/exports/invoices.csv", requireUser, async (req, res, next) => {
  res.type("text/csv");
  res.attachment("invoices.csv");
  try {
    const rows = db.invoices.streamForAccount(req.user.accountId);
    await pipeline(Readable.from(csvLines(rows)), res);
  } catch (err) {
    next(err);
  }
});

module.exports = router;
