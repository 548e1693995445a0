// Resolves names' A records through one server and prints one JSON array in argument order:
// {"addresses":[...]} or {"code":...}. Usage: node resolve.mjs <server> <name>...
import { Resolver } from 'node:dns/promises';

const [server, ...names] = process.argv.slice(2);
const resolver = new Resolver({ timeout: 1500, tries: 1 });
resolver.setServers([server]);
const results = await Promise.all(
  names.map((name) =>
    resolver.resolve4(name).then(
      (addresses) => ({ addresses }),
      (e) => ({ code: e.code }),
    ),
  ),
);
console.log(JSON.stringify(results));
