// The environment of a Node program of ours that stack spawns (the supervisor, the one-off
// reaper): the caller's, without NODE_EXTRA_CA_CERTS. Node reads and parses that bundle of
// certificates when it starts, before any of the program runs: with Debian's bundle
// (/etc/ssl/certs/ca-certificates.crt, ~140 certificates) `node -e 0` took 153.8 ms instead of
// 91.5 (30 alternating runs on this 2-core kind). Neither program opens a TLS connection (only
// image/registry.ts does, in the CLI), and a fresh `up` waits for the supervisor's start.

/** `env` without what only a TLS client of Node reads. */
export function nodeHelperEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { NODE_EXTRA_CA_CERTS: _certificates, ...rest } = env;
  return rest;
}
