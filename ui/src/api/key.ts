/**
 * The API key (when the service has API_KEYS set): kept in sessionStorage, so it lives as long as
 * the tab and is never written to disk by the page. A 401 (REST) or a refused handshake (socket)
 * asks for it again.
 */
const STORAGE_KEY = 'draconic.apiKey';

type Listener = () => void;
const listeners = new Set<Listener>();
let prompt: { reason: string } | null = null;

export function apiKey(): string | null {
  try {
    return sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

export function setApiKey(key: string): void {
  sessionStorage.setItem(STORAGE_KEY, key);
  prompt = null;
  emit();
}

export function forgetApiKey(reason: string): void {
  sessionStorage.removeItem(STORAGE_KEY);
  askForKey(reason);
}

/** Shows the key prompt (a 401 said the key is missing or wrong). */
export function askForKey(reason: string): void {
  if (prompt?.reason === reason) return;
  prompt = { reason };
  emit();
}

export function keyPrompt(): { reason: string } | null {
  return prompt;
}

export function onKeyChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function emit(): void {
  for (const listener of listeners) listener();
}
