export interface Period {
  start: Date;
  end: Date; // exclusive
}

/** The monthly period containing `now` for a subscription started on day `anchorDay` (1-31). */
export function currentPeriod(anchorDay: number, now: Date = new Date()): Period {
  let year = now.getFullYear();
  let month = now.getMonth();
  if (now.getDate() < anchorDay) {
    month -= 1;
    if (month < 0) {
      month = 11;
      year -= 1;
    }
  }
  const start = new Date(year, month, anchorDay);
  const end = new Date(year, month + 1, anchorDay);
  return { start, end };
}
