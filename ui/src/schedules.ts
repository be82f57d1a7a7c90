/** Pure helpers of the Schedules page: a cron expression in words, with its zone. */
import cronstrue from 'cronstrue';

export type CronWords = { ok: true; text: string } | { ok: false; text: string };

/**
 * "0 9 * * *" + "Europe/Berlin" → "At 09:00 (Europe/Berlin)". The wording comes from cronstrue
 * (24-hour clock, Monday-based names as the server's cron parser reads them); an expression it
 * cannot read gives `ok: false` with its reason, so the form can say so while typing.
 */
export function describeCron(cron: string, timezone?: string): CronWords {
  const expression = cron.trim();
  if (!expression) return { ok: false, text: 'Enter a cron expression, e.g. 0 9 * * *.' };
  try {
    const words = cronstrue.toString(expression, { use24HourTimeFormat: true, throwExceptionOnParseError: true, verbose: false });
    const zone = timezone?.trim() || 'UTC';
    return { ok: true, text: `${words} (${zone})` };
  } catch (error) {
    const reason = typeof error === 'string' ? error : error instanceof Error ? error.message : 'not a cron expression';
    return { ok: false, text: `Not readable: ${reason.replace(/^Error:\s*/, '')}` };
  }
}

/** The body of POST /schedules from the form; throws a readable message when the payload is not a JSON object. */
export function createBody(form: { name: string; cron: string; timezone: string; type: string; payload: string }) {
  let payload: unknown = {};
  if (form.payload.trim()) {
    try {
      payload = JSON.parse(form.payload);
    } catch (error) {
      throw new Error(`Payload is not valid JSON: ${(error as Error).message}`);
    }
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) throw new Error('Payload must be a JSON object, e.g. {"report_type": "daily"}.');
  }
  return {
    name: form.name.trim(),
    cron: form.cron.trim(),
    ...(form.timezone.trim() ? { timezone: form.timezone.trim() } : {}),
    job: { type: form.type.trim(), payload },
  };
}
