/** REST calls to the service (same origin), with the API key and the service's error shape. */
import { apiKey, askForKey } from './key.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const key = apiKey();
  return { accept: 'application/json', ...(key ? { 'x-api-key': key } : {}), ...extra };
}

async function failure(response: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    /* not JSON */
  }
  const b = (body ?? {}) as { code?: unknown; message?: unknown };
  const message = Array.isArray(b.message) ? b.message.join('; ') : typeof b.message === 'string' ? b.message : response.statusText;
  const code = typeof b.code === 'string' ? b.code : `HTTP_${response.status}`;
  if (response.status === 401) askForKey(apiKey() ? 'The key was refused.' : 'This service needs an API key.');
  return new ApiError(response.status, code, message || `HTTP ${response.status}`, body);
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    headers: headers(body === undefined ? {} : { 'content-type': 'application/json' }),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw await failure(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

export const get = <T>(path: string) => request<T>('GET', path);

export async function getText(path: string): Promise<string> {
  const response = await fetch(path, { headers: headers({ accept: 'text/plain' }) });
  if (!response.ok) throw await failure(response);
  return response.text();
}

/** A query string from a record; arrays become comma-separated lists, empty values are left out. */
export function query(params: Record<string, string | string[] | number | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === null || value === undefined) continue;
    const text = Array.isArray(value) ? value.join(',') : String(value);
    if (text !== '') search.set(name, text);
  }
  const s = search.toString();
  return s ? `?${s}` : '';
}
