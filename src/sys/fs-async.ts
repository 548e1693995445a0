// Promise forms of the node:fs calls the modules of every command make. Not node:fs/promises:
// that module brings ten of Node's own (FileHandle, streams, readline, the file watchers), 1.4-2.6
// ms of each command's start on this 2-core kind, where node:fs is loaded by Node before any
// code of ours. The same calls on libuv's threads, the same errors (code, syscall, path). The
// image modules, which read and write through FileHandle, keep node:fs/promises: they load with a
// pull, not with every command.
import * as fs from 'node:fs';
import type * as fsp from 'node:fs/promises';
import { promisify } from 'node:util';

export const readFile = promisify(fs.readFile) as typeof fsp.readFile;
export const writeFile = promisify(fs.writeFile) as (file: string | number, data: string | Uint8Array, options?: fs.WriteFileOptions) => Promise<void>;
export const readdir = promisify(fs.readdir) as typeof fsp.readdir;
export const readlink = promisify(fs.readlink) as typeof fsp.readlink;
/** realpath(3), as node:fs/promises calls it (fs.realpath itself walks the path in JavaScript). */
export const realpath = promisify(fs.realpath.native) as typeof fsp.realpath;
export const mkdir = promisify(fs.mkdir) as typeof fsp.mkdir;
export const mkdtemp = promisify(fs.mkdtemp) as typeof fsp.mkdtemp;
export const rename = promisify(fs.rename) as typeof fsp.rename;
export const rm = promisify(fs.rm) as typeof fsp.rm;
export const stat = promisify(fs.stat) as typeof fsp.stat;
export const lstat = promisify(fs.lstat) as typeof fsp.lstat;
export const chmod = promisify(fs.chmod) as typeof fsp.chmod;
export const chown = promisify(fs.chown) as typeof fsp.chown;
/** open(2): a descriptor, not a FileHandle (close it with close()). */
export const open = promisify(fs.open) as (path: string, flags: string | number, mode?: number) => Promise<number>;
export const fsync = promisify(fs.fsync) as (fd: number) => Promise<void>;
export const close = promisify(fs.close) as (fd: number) => Promise<void>;
