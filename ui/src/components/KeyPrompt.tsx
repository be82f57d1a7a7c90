import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState, useSyncExternalStore, type FormEvent } from 'react';
import { keyPrompt, onKeyChange, setApiKey } from '../api/key.js';

/** Asks for the API key when the service answered 401 (API_KEYS is set); keeps it for this tab. */
export function KeyPrompt() {
  const prompt = useSyncExternalStore(onKeyChange, keyPrompt);
  const [value, setValue] = useState('');
  const input = useRef<HTMLInputElement>(null);
  const client = useQueryClient();
  useEffect(() => {
    if (prompt) input.current?.focus();
  }, [prompt]);
  if (!prompt) return null;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!value.trim()) return;
    setApiKey(value.trim());
    setValue('');
    void client.invalidateQueries();
  };
  return (
    <div className="overlay">
      <form className="dialog" role="dialog" aria-modal="true" aria-labelledby="key-title" onSubmit={submit}>
        <h2 id="key-title">API key</h2>
        <p>{prompt.reason} It is kept in this tab only (session storage) and sent with every request.</p>
        <label htmlFor="api-key">Key</label>
        <input id="api-key" ref={input} type="password" autoComplete="off" value={value} onChange={(e) => setValue(e.target.value)} />
        <div className="actions">
          <button type="submit" className="primary">
            Use this key
          </button>
        </div>
      </form>
    </div>
  );
}
