// Cron expressions, always evaluated in UTC. Five fields have minute
// precision; six start with a seconds field; the @hourly-style aliases work.

import { CronExpressionParser } from "cron-parser";

/** What is wrong with a cron expression, or undefined when it parses and fires at some point. */
export function cronProblem(cron: string): string | undefined {
  const trimmed = cron.trim();
  if (!trimmed.startsWith("@")) {
    const fields = trimmed.split(/\s+/).filter((f) => f.length > 0).length;
    if (fields !== 5 && fields !== 6) {
      return `must have 5 fields (minute hour day-of-month month day-of-week) or 6 (with a leading seconds field), got ${fields}`;
    }
  }
  try {
    CronExpressionParser.parse(trimmed, { tz: "UTC", currentDate: 0 }).next();
    return undefined;
  } catch (err) {
    return `does not parse: ${(err as Error).message}`;
  }
}

/** The fire times strictly after `after`, one per call; undefined once there are no more. */
export function cronTimes(cron: string, after: number): () => number | undefined {
  let expression: ReturnType<typeof CronExpressionParser.parse> | undefined;
  try {
    expression = CronExpressionParser.parse(cron.trim(), { tz: "UTC", currentDate: after });
  } catch {
    expression = undefined;
  }
  return () => {
    if (expression === undefined) return undefined;
    try {
      return expression.next().getTime();
    } catch {
      expression = undefined;
      return undefined;
    }
  };
}

/** The first fire time strictly after `after`. */
export function nextCronTime(cron: string, after: number): number | undefined {
  return cronTimes(cron, after)();
}
