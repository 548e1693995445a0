// The kernel objects that carry the project's names (docs/architecture.md "Names and places"), read
// straight from /run, /sys and /proc so the check needs no tool of ours to be correct.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';

/** One line per object, e.g. `netns stk-web-1a2b`, `link stk1a2b`, `cgroup memory/stack/p/web`, `cgroup unified/stack.monitors/p`. */
export function inventory(): string[] {
  const found: string[] = [];
  for (const n of list('/run/netns')) if (n.startsWith('stk-')) found.push(`netns ${n}`);
  for (const n of list('/sys/class/net')) if (n.startsWith('stk')) found.push(`link ${n}`);
  for (const controller of list('/sys/fs/cgroup')) {
    const dir = join('/sys/fs/cgroup', controller, 'stack');
    for (const project of existsSync(dir) ? subdirs(dir) : []) {
      found.push(`cgroup ${controller}/stack/${project}`);
      for (const service of subdirs(join(dir, project))) found.push(`cgroup ${controller}/stack/${project}/${service}`);
    }
    // Monitor groups (src/runtime/cgroup/monitors.ts): the monitors and supervisor of a project.
    for (const project of subdirs(join('/sys/fs/cgroup', controller, 'stack.monitors'))) found.push(`cgroup ${controller}/stack.monitors/${project}`);
  }
  // The tests' own state roots are temp folders named stack-*: a volume's driver_opts mount
  // left on one of them is a leak too.
  const roots = ['/run/stack', '/var/lib/stack', '/run/netns/stk-', join(tmpdir(), 'stack-')];
  if (process.env.STACK_ROOT) roots.push(process.env.STACK_ROOT);
  for (const line of safeRead('/proc/self/mountinfo').split('\n')) {
    const mountPoint = line.split(' ')[4];
    if (mountPoint && roots.some((r) => mountPoint.startsWith(r))) found.push(`mount ${mountPoint}`);
  }
  for (const table of nftTables()) if (table.startsWith('stack')) found.push(`nft ${table}`);
  return found.sort();
}

function nftTables(): string[] {
  try {
    const out = execFileSync('nft', ['list', 'tables'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return out.split('\n').map((l) => l.trim().split(/\s+/)[2] ?? '').filter(Boolean);
  } catch {
    return [];
  }
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    return [];
  }
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
