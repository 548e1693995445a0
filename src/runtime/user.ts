// Resolves a service's `user:` (name, uid, uid:gid, name:group) to numeric ids and
// supplementary groups against the host's /etc/passwd and /etc/group, with the rules of
// runc's GetExecUser that Docker applies. Parsing and resolving are pure; only loadUserDb reads.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';

/** One /etc/passwd line. */
export interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}

/** One /etc/group line. */
export interface GroupEntry {
  readonly name: string;
  readonly gid: number;
  readonly members: readonly string[];
}

/** The users and groups a `user:` resolves against. */
export interface UserDb {
  readonly passwd: readonly PasswdEntry[];
  readonly group: readonly GroupEntry[];
}

/** What the launcher switches to. */
export interface Identity {
  readonly uid: number;
  readonly gid: number;
  /** Supplementary groups (setgroups), the primary one not repeated unless listed. */
  readonly groups: readonly number[];
}

const MAX_ID = 0xfffffffe;

function id(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n <= MAX_ID ? n : undefined;
}

function lines(text: string): string[][] {
  return text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#')).map((l) => l.split(':'));
}

/** Parses /etc/passwd text; malformed lines are skipped as libc does. */
export function parsePasswd(text: string): PasswdEntry[] {
  return lines(text).flatMap(([name, , uid, gid, , home]) => {
    const u = id(uid);
    const g = id(gid);
    return name && u !== undefined && g !== undefined ? [{ name, uid: u, gid: g, home: home ?? '/' }] : [];
  });
}

/** Parses /etc/group text; malformed lines are skipped. */
export function parseGroup(text: string): GroupEntry[] {
  return lines(text).flatMap(([name, , gid, members]) => {
    const g = id(gid);
    return name && g !== undefined ? [{ name, gid: g, members: (members ?? '').split(',').filter(Boolean) }] : [];
  });
}

/** The host's users and groups (or those under `root`, for tests). */
export function loadUserDb(root = '/'): UserDb {
  const read = (file: string): string => {
    try {
      return readFileSync(join(root, 'etc', file), 'utf8');
    } catch {
      return '';
    }
  };
  return { passwd: parsePasswd(read('passwd')), group: parseGroup(read('group')) };
}

/**
 * `user:` → ids. No user means root (uid 0). A known user brings its primary group and the
 * groups that list it as a member; an explicit group replaces both; an unknown numeric uid
 * runs with gid 0 and no groups (Docker's behaviour); an unknown name is a UserError.
 */
export function resolveUser(service: string, spec: string | undefined, db: UserDb): Identity {
  const [userPart = '', groupPart] = (spec ?? '0').split(':', 2) as [string, string | undefined];
  const uidNumber = id(userPart);
  const entry = db.passwd.find((p) => (uidNumber !== undefined ? p.uid === uidNumber : p.name === userPart));
  if (!entry && uidNumber === undefined) {
    throw new UserError(
      'USER_UNKNOWN',
      `service "${service}": user "${userPart}" is not in /etc/passwd`,
      'name a user that exists on this host, or give a numeric uid[:gid]',
    );
  }
  const uid = entry?.uid ?? (uidNumber as number);
  if (groupPart !== undefined && groupPart !== '') {
    const gidNumber = id(groupPart);
    const group = db.group.find((g) => (gidNumber !== undefined ? g.gid === gidNumber : g.name === groupPart));
    if (!group && gidNumber === undefined) {
      throw new UserError(
        'GROUP_UNKNOWN',
        `service "${service}": group "${groupPart}" is not in /etc/group`,
        'name a group that exists on this host, or give a numeric gid',
      );
    }
    return { uid, gid: group?.gid ?? (gidNumber as number), groups: [] };
  }
  if (!entry) return { uid, gid: 0, groups: [] };
  const groups = db.group.filter((g) => g.members.includes(entry.name)).map((g) => g.gid);
  return { uid, gid: entry.gid, groups: [...new Set(groups)] };
}
