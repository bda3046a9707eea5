/**
 * Mosquitto's ACL file format (mosquitto.conf(5), `acl_file`), parsed and
 * checked the way Mosquitto 2 does, so the embedded broker enforces the very
 * file deploy/mosquitto/acl that a household's Mosquitto reads: one truth.
 *
 *   topic [read|write|readwrite|deny] <filter>     for the user of the
 *                                                  `user` line above it
 *                                                  (before any: anonymous)
 *   user <username>
 *   pattern [read|write|readwrite|deny] <filter>   for every user; %u is the
 *                                                  user name, %c the client id
 *
 * No access is granted unless an entry grants it; a matching `deny` wins.
 * A publish is checked as `write` on its topic, a delivery as `read` on its
 * topic, a subscription as `read` on its filter, where the filter must lie
 * within an entry's filter (a terminal allowed `a/%u/mail` may not subscribe
 * to `a/+/mail`), as Mosquitto's `mosquitto_sub_matches_acl`.
 */

export type AclAccess = 'read' | 'write' | 'readwrite' | 'deny';

interface AclEntry {
  access: AclAccess;
  filter: string;
}

export interface BrokerAcl {
  /** Entries of named users; key '' holds those before any `user` line (anonymous). */
  readonly users: ReadonlyMap<string, readonly AclEntry[]>;
  readonly patterns: readonly AclEntry[];
}

export class AclParseError extends Error {
  override readonly name = 'AclParseError';
}

/**
 * Parses the text of an ACL file. `topicPrefix` replaces the first level
 * `homegate` of every entry (the shipped file is written for the default
 * prefix; a gateway with another one needs no second file).
 */
export function parseBrokerAcl(text: string, topicPrefix = 'homegate'): BrokerAcl {
  const users = new Map<string, AclEntry[]>([['', []]]);
  const patterns: AclEntry[] = [];
  let current = '';
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [keyword, ...rest] = line.split(/\s+/);
    if (keyword === 'user') {
      current = rest.join(' ');
      if (!users.has(current)) users.set(current, []);
      continue;
    }
    if (keyword !== 'topic' && keyword !== 'pattern') throw new AclParseError(`ACL line ${i + 1}: unknown keyword "${keyword}"`);
    let access: AclAccess = 'readwrite';
    if (rest.length > 1 && ['read', 'write', 'readwrite', 'deny'].includes(rest[0]!)) access = rest.shift() as AclAccess;
    const filter = rest.join(' ');
    if (filter === '') throw new AclParseError(`ACL line ${i + 1}: no topic`);
    const entry = { access, filter: withPrefix(filter, topicPrefix) };
    if (keyword === 'pattern') patterns.push(entry);
    else users.get(current)!.push(entry);
  }
  return { users, patterns };
}

function withPrefix(filter: string, prefix: string): string {
  return filter === 'homegate' || filter.startsWith('homegate/') ? prefix + filter.slice('homegate'.length) : filter;
}

export type AclCheck = 'read' | 'write' | 'subscribe';

/** Whether `username` (undefined: anonymous) with `clientId` may do `check` on `topic` (a filter for `subscribe`). */
export function aclAllows(acl: BrokerAcl, username: string | undefined, clientId: string, check: AclCheck, topic: string): boolean {
  const entries: AclEntry[] = [...(acl.users.get(username ?? '') ?? [])];
  if (username !== undefined) {
    for (const p of acl.patterns) entries.push({ access: p.access, filter: substitute(p.filter, username, clientId) });
  }
  const matches = (e: AclEntry) => (check === 'subscribe' ? filterWithin(topic, e.filter) : topicMatches(e.filter, topic));
  let granted = false;
  for (const e of entries) {
    if (e.filter === '' || !matches(e)) continue;
    if (e.access === 'deny') return false;
    const needs = check === 'write' ? 'write' : 'read';
    if (e.access === 'readwrite' || e.access === needs) granted = true;
  }
  return granted;
}

/** %u and %c, replaced only where they are a whole level (Mosquitto 2); a name with / + # cannot match (empty filter). */
function substitute(filter: string, username: string, clientId: string): string {
  if (/[/+#]/.test(username) || /[/+#]/.test(clientId)) return filter.includes('%u') || filter.includes('%c') ? '' : filter;
  return filter
    .split('/')
    .map((level) => (level === '%u' ? username : level === '%c' ? clientId : level))
    .join('/');
}

/** MQTT 3.1.1 §4.7: does `filter` match the topic name `topic`? A `$` topic is not matched by a leading wildcard. */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** Does every topic the subscription `sub` matches also match `acl`? */
export function filterWithin(sub: string, acl: string): boolean {
  const s = sub.split('/');
  const a = acl.split('/');
  for (let i = 0; i < s.length; i++) {
    if (a[i] === '#') return true;
    if (i >= a.length) return false;
    if (s[i] === '#') return false; // only an acl '#' (above) covers a sub '#'
    if (a[i] === '+') continue;
    if (s[i] === '+' || s[i] !== a[i]) return false;
  }
  return s.length === a.length || (a.length === s.length + 1 && a[s.length] === '#');
}
