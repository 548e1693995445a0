// Image references parsed as Docker parses them (distribution/reference ParseNormalizedNamed):
// `postgres` is docker.io/library/postgres:latest, `index.docker.io` is docker.io, a first
// component with `.` or `:` (or `localhost`, or any uppercase letter) names a registry.
import { UserError } from '../errors.js';

/** Docker Hub's name in references. */
export const DOCKER_HUB = 'docker.io';
/** Docker Hub's API host (what `docker.io` means on the wire). */
export const DOCKER_HUB_API = 'registry-1.docker.io';
/** The longest repository name with its registry, as Docker counts it. */
export const NAME_MAX = 255;
/** The tag Docker adds when a reference has neither tag nor digest. */
export const DEFAULT_TAG = 'latest';

/** A parsed image reference. */
export interface ImageReference {
  /** Registry host[:port], e.g. `docker.io`, `ghcr.io`, `localhost:5000`. */
  readonly registry: string;
  /** Path in the registry, e.g. `library/postgres`. */
  readonly repository: string;
  /** The tag; `latest` when the reference had neither tag nor digest. */
  readonly tag?: string;
  /** `algorithm:hex`; when present it wins over the tag for pulling. */
  readonly digest?: string;
  /** The short name `docker images` shows in REPOSITORY, e.g. `postgres`, `ghcr.io/o/n`. */
  readonly familiarName: string;
  /** The short form with tag and digest, e.g. `postgres:16`. */
  readonly familiar: string;
  /** The full form, e.g. `docker.io/library/postgres:16`. */
  readonly canonical: string;
  /** What to ask the registry for: the digest if any, else the tag. */
  readonly pullReference: string;
}

// The grammar (lowercase path components joined by `/`, separators `.`, `_`, `__`, `-+`; a domain
// of DNS labels, an IPv4 or a bracketed IPv6, with an optional port).
const ALNUM = '[a-z0-9]+';
const SEP = '(?:[._]|__|-+)';
const PATH_COMPONENT = `${ALNUM}(?:${SEP}${ALNUM})*`;
const REMOTE = `${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const LABEL = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${LABEL}(?:\\.${LABEL})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const REFERENCE_RE = new RegExp(`^((?:${DOMAIN}/)?${REMOTE})(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const NAME_RE = new RegExp(`^(?:(${DOMAIN})/)?(${REMOTE})$`);
const TAG_RE = new RegExp(`^${TAG}$`);
const HEX64_RE = /^[a-f0-9]{64}$/;

/** Digest algorithms and their hex lengths (go-digest's registered ones). */
export const DIGEST_ALGORITHMS: Readonly<Record<string, number>> = { sha256: 64, sha384: 96, sha512: 128 };

// Hostile input: nothing longer than a name, a tag and a sha512 digest together can be valid, and
// a regular expression never sees a string longer than that.
const INPUT_MAX = NAME_MAX + 1 + 128 + 1 + 7 + 128 + 32;

const HINT = 'an image reference looks like `postgres`, `postgres:16`, `ghcr.io/owner/name:tag` or `localhost:5000/name@sha256:<64 hex digits>`';

function bad(ref: string, what: string, hint = HINT): UserError {
  return new UserError('BAD_IMAGE_REFERENCE', `image reference ${show(ref)}: ${what}`, hint);
}

/** The reference quoted for a message: JSON-escaped and cut short when it is huge. */
function show(ref: string): string {
  return JSON.stringify(ref.length > 120 ? `${ref.slice(0, 100)}…(${ref.length} characters)` : ref);
}

/** Checks a digest's algorithm and hex length (lowercase hex only); returns why not, or undefined. */
export function digestProblem(digest: string): string | undefined {
  const colon = digest.indexOf(':');
  if (colon <= 0) return `digest ${show(digest)} is not algorithm:hex`;
  const algorithm = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  const length = DIGEST_ALGORITHMS[algorithm];
  if (length === undefined) return `digest algorithm ${show(algorithm)} is not one of ${Object.keys(DIGEST_ALGORITHMS).join(', ')}`;
  if (hex.length !== length) return `a ${algorithm} digest has ${length} hex digits, this one has ${hex.length}`;
  if (!/^[a-f0-9]+$/.test(hex)) return `a ${algorithm} digest is lowercase hex digits`;
  return undefined;
}

/** Splits off the registry as Docker does (splitDockerDomain), normalizing Docker Hub. */
function splitDomain(name: string): [domain: string, remainder: string] {
  const slash = name.indexOf('/');
  let domain: string;
  let remainder: string;
  const first = slash === -1 ? '' : name.slice(0, slash);
  if (slash === -1 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = DOCKER_HUB;
    remainder = name;
  } else {
    domain = first;
    remainder = name.slice(slash + 1);
  }
  if (domain === 'index.docker.io') domain = DOCKER_HUB;
  if (domain === DOCKER_HUB && !remainder.includes('/')) remainder = `library/${remainder}`;
  return [domain, remainder];
}

/** The short name of a repository, as `docker images` shows it. */
export function familiarName(registry: string, repository: string): string {
  if (registry !== DOCKER_HUB) return `${registry}/${repository}`;
  const rest = repository.startsWith('library/') ? repository.slice('library/'.length) : undefined;
  return rest !== undefined && !rest.includes('/') ? rest : repository;
}

/** Parses a reference as `docker pull` does; throws UserError BAD_IMAGE_REFERENCE. */
export function parseImageReference(ref: string): ImageReference {
  if (typeof ref !== 'string' || ref === '') throw bad(String(ref ?? ''), 'it is empty');
  if (ref.length > INPUT_MAX) throw bad(ref, `it is ${ref.length} characters long; a repository name is at most ${NAME_MAX}`);
  if (HEX64_RE.test(ref)) {
    throw bad(ref, 'a 64-digit hexadecimal string is an image ID, not a repository name', 'name the image by repository, e.g. `postgres@sha256:<digest>`');
  }
  const [domain, remainder] = splitDomain(ref);
  const colon = remainder.indexOf(':');
  const remote = colon === -1 ? remainder : remainder.slice(0, colon);
  if (remote.toLowerCase() !== remote) {
    throw bad(ref, `repository name ${show(remote)} must be lowercase`, lowercaseHint(ref, remote, remainder.slice(remote.length)));
  }
  const full = `${domain}/${remainder}`;
  const m = REFERENCE_RE.exec(full);
  if (!m) {
    throw bad(ref, describeInvalid(remainder));
  }
  const name = m[1]!;
  if (name.length > NAME_MAX) throw bad(ref, `the repository name with its registry (${name}) is ${name.length} characters long; the limit is ${NAME_MAX}`);
  const parts = NAME_RE.exec(name);
  if (!parts) throw bad(ref, 'it is not a valid repository name');
  const registry = parts[1] ?? DOCKER_HUB;
  const repository = parts[2]!;
  const digest = m[3];
  if (digest !== undefined) {
    const problem = digestProblem(digest);
    if (problem) throw bad(ref, problem);
  }
  const tag = m[2] ?? (digest === undefined ? DEFAULT_TAG : undefined);
  const suffix = `${tag === undefined ? '' : `:${tag}`}${digest === undefined ? '' : `@${digest}`}`;
  const short = familiarName(registry, repository);
  return {
    registry,
    repository,
    ...(tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
    familiarName: short,
    familiar: `${short}${suffix}`,
    canonical: `${registry}/${repository}${suffix}`,
    pullReference: digest ?? tag!,
  };
}

/**
 * The hint for an uppercase repository path: the reference with the path lowercased when that is a
 * valid reference, else the general hint (`Bad:Name::x` lowercased is still not a reference).
 * `remote` may carry a `library/` the user did not write; `tail` is the `:tag@digest` as written.
 */
function lowercaseHint(ref: string, remote: string, tail: string): string {
  const head = ref.slice(0, ref.length - tail.length);
  const written = head.endsWith(remote) ? remote : remote.slice('library/'.length);
  const suggestion = `${head.slice(0, head.length - written.length)}${written.toLowerCase()}${tail}`;
  try {
    parseImageReference(suggestion);
    return `write it as ${show(suggestion)}`;
  } catch {
    return HINT;
  }
}

/** Says what is wrong with a reference the grammar refused (the part after the registry). */
function describeInvalid(remainder: string): string {
  if (/[^\x21-\x7e]/.test(remainder)) return 'it has whitespace, control or non-ASCII characters';
  const at = remainder.indexOf('@');
  const beforeDigest = at === -1 ? remainder : remainder.slice(0, at);
  if (at !== -1 && !new RegExp(`^${DIGEST}$`).test(remainder.slice(at + 1))) {
    return `${show(remainder.slice(at + 1))} after @ is not a digest (algorithm:hex)`;
  }
  const colon = beforeDigest.lastIndexOf(':');
  if (colon !== -1 && !beforeDigest.slice(colon + 1).includes('/')) {
    const tag = beforeDigest.slice(colon + 1);
    if (!TAG_RE.test(tag)) return `tag ${show(tag)} is not valid (letters, digits, _, . and -, not starting with . or -, at most 128)`;
  }
  return 'repository name components are lowercase letters and digits separated by `.`, `_`, `__` or `-`, joined by `/`';
}

/** The base URL of a registry's API: docker.io (or index.docker.io) is https://registry-1.docker.io; `insecure` speaks http. */
export function registryEndpoint(registry: string, insecure = false): string {
  const host = registry === DOCKER_HUB || registry === 'index.docker.io' ? DOCKER_HUB_API : registry;
  return `${insecure ? 'http' : 'https'}://${host}`;
}
