// Resolves a name's A records through one server; prints {"addresses":[...]} or {"code":...}.
// Usage: node resolve.mjs <server> <name>
import { Resolver } from 'node:dns/promises';

const [server, name] = process.argv.slice(2);
const resolver = new Resolver({ timeout: 1500, tries: 1 });
resolver.setServers([server]);
resolver.resolve4(name).then(
  (addresses) => console.log(JSON.stringify({ addresses })),
  (e) => console.log(JSON.stringify({ code: e.code })),
);
