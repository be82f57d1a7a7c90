/** API_KEYS: named keys with roles (`name:key:role`, or a bare `key` = an admin key), parsed without ever echoing a key. */

/** What a key may do, each role including the ones before it (see README "Security"). */
export const KEY_ROLES = ['read', 'operate', 'admin'] as const;
export type KeyRole = (typeof KEY_ROLES)[number];

export interface ApiKeyEntry {
  /** Recorded as `actor` on what the key changes; never the key itself. */
  name: string;
  key: string;
  role: KeyRole;
}

const NAME = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Parses API_KEYS. Entries are comma-separated; `name:key:role`, or a bare `key`, which is an admin
 * key named `key<position>` (`key1`, `key2`, ...). Returns the entries or the problems, each naming
 * the entry by position only: a key never appears in a message.
 */
export function parseApiKeys(raw: string | undefined): { entries: ApiKeyEntry[]; problems: string[] } {
  const entries: ApiKeyEntry[] = [];
  const problems: string[] = [];
  const items = (raw ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  items.forEach((item, index) => {
    const at = `API_KEYS entry ${index + 1}`;
    const parts = item.split(':');
    let entry: ApiKeyEntry;
    if (parts.length === 1) entry = { name: `key${index + 1}`, key: item, role: 'admin' };
    else if (parts.length === 3) entry = { name: parts[0]!, key: parts[1]!, role: parts[2] as KeyRole };
    else return problems.push(`${at}: expected "name:key:role" or a bare key (keys may not contain ":" or ",")`);
    if (!NAME.test(entry.name)) problems.push(`${at}: the name must be 1-64 characters of A-Z a-z 0-9 . _ -`);
    if (entry.key.length === 0) problems.push(`${at}: the key is empty`);
    if (!KEY_ROLES.includes(entry.role)) problems.push(`${at}: the role must be one of ${KEY_ROLES.join(', ')}`);
    if (entries.some((e) => e.name === entry.name)) problems.push(`${at}: the name "${entry.name}" is used twice`);
    if (entries.some((e) => e.key === entry.key)) problems.push(`${at}: its key is the same as another entry's`);
    entries.push(entry);
  });
  return { entries, problems };
}
